"""Every command shown in README.md and docs/ still names things that exist.

Each fenced ``bash`` block is read line by line, and so is every inline code span that starts with
``distil-pipeline``, ``python benchmarks/``, ``python -m`` or ``make``:

- ``distil-pipeline ...`` (also after ``accelerate launch``/``torchrun ... -m components.cli``) is parsed by
  the CLI's own parser, and every ``--set key=value`` is built into the stage's config, so a renamed
  option or param fails here;
- ``python benchmarks/X.py --flag`` needs the script and each flag in it; ``python -m pkg.mod`` the module;
- ``make target`` a Makefile target; ``pip install -e '.[extra]'`` a pyproject extra.

Other tools' commands (airflow, dvc, podman, kubectl, git, ...) are run by the orchestrator tests and the
demo; they are listed in ``OTHER_TOOLS`` so a new kind of command is noticed, not passed over.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import pytest

from components.cli import build_parser
from components.core.invoke import stage_config

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
OTHER_TOOLS = {"airflow", "dvc", "podman", "kubectl", "git", "cp", "export", "accelerate", "torchrun", "cd",
               "curl", "hf", "huggingface-cli", "tensorboard", "mlflow", "python3", "ct2-transformers-converter"}


def _commands(page: Path) -> list[str]:
    """The command lines of a page's ``bash`` blocks (comments and continuations joined)."""
    blocks = re.findall(r"```(?:bash|sh|console)\n(.*?)```", page.read_text(), flags=re.S)
    lines: list[str] = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line and not line.startswith("#"):
                lines.append(line)
    spans = re.findall(r"`((?:distil-pipeline [a-z-]|python benchmarks/|python -m |make )[^`]*)`", page.read_text())
    return lines + [s for s in spans if "<" not in s and "..." not in s]


ALL = [(page.relative_to(ROOT).as_posix(), cmd) for page in PAGES for cmd in _commands(page)]


def _cli_argv(words: list[str]) -> list[str] | None:
    if words[0] == "distil-pipeline":
        return words[1:]
    if "components.cli" in words:
        return words[words.index("components.cli") + 1:]
    return None


def _check_cli(argv: list[str]) -> None:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as done:  # --help and --version exit 0 after printing
        assert done.code == 0, f"distil-pipeline {' '.join(argv)}: refused by the CLI"
        return
    if args.command == "ablate":  # every experiment's config, as the command checks it before queueing
        from components.ablate.grids import check, resolve

        check(resolve(args.grid, args.grid_option, args.set), ROOT / "params.yaml")
        return
    sets = dict(item.split("=", 1) for item in getattr(args, "set", []) or [])
    if sets:
        import yaml

        params_file = ROOT / getattr(args, "params", "params.yaml")
        params = yaml.safe_load(params_file.read_text()) if params_file.is_file() else {}
        stage_config(args.command, params, {k: yaml.safe_load(v) for k, v in sets.items()})


def _check(cmd: str) -> None:
    words = shlex.split(cmd)
    while words and re.match(r"^[A-Z_]+=", words[0]):  # VAR=value command, or VAR=$(command ...)
        first = words.pop(0).split("=", 1)[1]
        if first.startswith("$("):
            words.insert(0, first[2:])
    if not words:
        return
    argv = _cli_argv(words)
    if argv is not None:
        _check_cli(argv)
    elif words[0] == "python" and words[1].endswith(".py"):
        script = ROOT / words[1]
        assert script.is_file(), f"{script} is missing"
        for flag in (w.split("=")[0] for w in words[2:] if w.startswith("--")):
            assert f'"{flag}"' in script.read_text(), f"{words[1]} has no option {flag}"
    elif words[0] == "python" and words[1] == "-m":
        module = words[2]
        assert (ROOT / (module.replace(".", "/") + ".py")).is_file(), f"no module {module}"
    elif words[0] == "make":
        targets = re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), flags=re.M)
        assert words[1] in targets, f"Makefile has no target {words[1]}"
    elif words[:2] == ["pip", "install"]:
        extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
        for spec in (w for w in words if w.startswith(".[")):
            for extra in spec[2:-1].split(","):
                assert extra in extras, f"pyproject.toml has no extra {extra!r}"
    else:
        assert words[0] in OTHER_TOOLS, f"unchecked kind of command: {cmd!r}"


def test_the_docs_show_commands() -> None:
    assert len(ALL) > 20 and any(cmd.startswith("distil-pipeline") for _, cmd in ALL)


@pytest.mark.parametrize("page,cmd", ALL, ids=[f"{p}:{c[:60]}" for p, c in ALL])
def test_command_names_what_exists(page: str, cmd: str) -> None:
    _check(cmd)


def test_a_renamed_option_is_caught() -> None:
    with pytest.raises(AssertionError, match="refused by the CLI"):
        _check("distil-pipeline distill --no-such-option 1")
    with pytest.raises(Exception, match="no_such_key"):
        _check("distil-pipeline distill --set no_such_key=1")
