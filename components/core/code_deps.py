"""The code a stage actually runs: the closure of its imports inside ``components``.

Read statically (``ast``), including imports inside functions, so nothing is
imported to find it. dvc.yaml lists these files as a stage's deps, and the
runner fingerprints them, so changing a shared module reruns exactly the stages
that import it.
"""

from __future__ import annotations

import ast
import hashlib
from functools import lru_cache
from pathlib import Path

PACKAGE = "components"
ROOT = Path(__file__).resolve().parents[2]


def module_file(module: str, root: Path = ROOT) -> Path | None:
    """The source file of a ``components.*`` module or package, or None."""
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name == PACKAGE or name.startswith(PACKAGE + ".")}


def _with_parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(2, len(parts) + 1)]


@lru_cache(maxsize=None)
def code_files(package: str, root: Path = ROOT) -> tuple[str, ...]:
    """Posix paths (relative to ``root``) of every module the package's modules import, transitively."""
    start = root.joinpath(*package.split("."))
    todo = [p for p in sorted(start.rglob("*.py"))] if start.is_dir() else [module_file(package, root)]
    seen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path is None or path in seen:
            continue
        seen.add(path)
        for module in _imported_modules(path):
            todo.extend(module_file(m, root) for m in _with_parents(module))
    return tuple(sorted(p.relative_to(root).as_posix() for p in seen))


def code_fingerprint(package: str, root: Path = ROOT) -> str:
    """SHA-256 over the package's code files (paths and bytes)."""
    digest = hashlib.sha256()
    for name in code_files(package, root):
        digest.update(name.encode() + b"\0" + (root / name).read_bytes() + b"\0")
    return digest.hexdigest()
