"""Print the project's requirements (dependencies plus the named extras), one per line.

Used by the Dockerfiles to install the dependency stack in a layer of its own,
from pyproject.toml alone, before the package source is copied in: a code
change then rebuilds only the small source layer.

    python pyproject_requirements.py pyproject.toml [EXTRA[,EXTRA...]]

An extra that pyproject.toml does not define is an error (exit status 2).
Standard library only (tomllib: Python 3.11+).
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path


SELF_REFERENCE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*\[([^\]]*)\]\s*$")


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(pyproject: Path, extras: list[str]) -> list[str]:
    """The dependencies of ``[project]`` followed by those of each extra, in order, without repeats.

    An extra that names the project itself (``test = ["<project>[orchestration]"]``)
    is expanded in place: pip must never look for the project on an index.
    """
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    optional = project.get("optional-dependencies", {})
    unknown = [e for e in extras if e not in optional]
    if unknown:
        raise KeyError(f"unknown extra(s) {', '.join(unknown)}; pyproject.toml defines: "
                       f"{', '.join(sorted(optional)) or 'none'}")
    out: list[str] = []
    seen: set[str] = set()

    def add(reqs: list[str]) -> None:
        for req in reqs:
            match = SELF_REFERENCE.match(req)
            if match and _normalise(match[1]) == _normalise(project["name"]):
                for extra in parse_extras(match[2]):
                    if extra not in seen:
                        seen.add(extra)
                        add(optional.get(extra, []))
            elif req not in out:
                out.append(req)

    add(list(project.get("dependencies", [])))
    for extra in extras:
        if extra not in seen:
            seen.add(extra)
            add(optional[extra])
    return out


def parse_extras(text: str) -> list[str]:
    """``"gpu, tpu"`` or ``"gpu,tpu"`` -> ``["gpu", "tpu"]``; empty -> ``[]``."""
    return [e.strip() for e in text.split(",") if e.strip()]


def main(argv: list[str]) -> int:
    if not 1 <= len(argv) <= 2:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    try:
        reqs = requirements(Path(argv[0]), parse_extras(argv[1] if len(argv) == 2 else ""))
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    print("\n".join(reqs))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
