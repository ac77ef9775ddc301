"""The Kubeflow components run inside the image they name: the smallest demo with
``kfp.local.DockerRunner`` on the project's CPU image (through podman's Docker-compatible API) gives
the same outputs as the ``kfp.local.SubprocessRunner`` run in the test's own Python.

Needs the image and a Docker API: ``make test-kfp-image`` builds the one, serves the other and runs
this module; without them it is skipped, saying so.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from _orchestrator_runs import answer, env, kfp_output, kfp_run, run_script, write_params

IMAGE = os.environ.get("DISTIL_PIPELINE_TEST_IMAGE")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not IMAGE or not os.environ.get("DOCKER_HOST"),
                                 reason="needs the CPU image and a Docker API: run `make test-kfp-image`")]

KFP_DOCKER_RUN = """
import json, logging, os, sys, time
from pathlib import Path
logging.basicConfig(level=logging.INFO)
from kfp import local
from kfp.local import docker_task_handler
from components.adapters.kfp import Images
from pipelines.distil_whisper import pipeline


def run_docker_container(client, image, command, volumes, **run_args):
    # kfp runs with auto_remove=True and then waits; podman's Docker API may have removed the
    # container by then (and answers 500, not 404): keep it until its exit code is read.
    print(f"Found image {image!r}", flush=True)
    container = client.containers.run(image=image, command=command, detach=True, stdout=True, stderr=True,
                                      volumes=volumes, **run_args)
    try:
        for line in container.logs(stream=True, follow=True):
            print(line.decode(), end="", flush=True)
        return container.wait()["StatusCode"]
    finally:
        container.remove(force=True)


docker_task_handler.run_docker_container = run_docker_container
# The image's entrypoint is the CLI; a component's command is `sh -c ...`: run it through env.
runner = local.DockerRunner(entrypoint=["/usr/bin/env"], user=f"{os.getuid()}:{os.getgid()}",
                            environment={"HF_HUB_OFFLINE": "1", "HF_HOME": "/tmp/hf", "HOME": "/tmp"})
local.init(runner=runner, pipeline_root=sys.argv[2], enable_caching=False)
start = time.perf_counter()
pipeline(Path(sys.argv[1]), Images(cpu=sys.argv[3], gpu=sys.argv[3]))()
print("KFP_RESULT", json.dumps({"seconds": round(time.perf_counter() - start, 1)}))
"""
SHARDED = ("ingest", "normalise", "pseudo-label", "filter")   # KFP task names


def test_every_component_runs_in_the_image_and_gives_the_subprocess_run_s_outputs(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    base = tmp_path_factory.mktemp("kfp-docker")
    params, root = write_params(base / "params.yaml"), base / "pipeline_root"
    root.mkdir()
    result, log = run_script(KFP_DOCKER_RUN, [str(params), str(root), IMAGE], "KFP_RESULT", base,
                             env(DOCKER_HOST=os.environ["DOCKER_HOST"]))
    ran = sorted(set(re.findall(r"^\s*Found image '([^']+)'", log, re.M)))  # kfp.local indents task output
    print(f"kfp.local.DockerRunner on {IMAGE}: {result['seconds']} s; images used: {ran}")
    assert ran and all(name.endswith(IMAGE.split("/")[-1]) for name in ran)

    sub = kfp_run(tmp_path_factory)["pipeline_root"]
    for stage in SHARDED:  # the fanned-out stages and their merge tasks: the same content
        hashes = [json.loads((kfp_output(r, stage) / "summary.json").read_text())["content_hashes"]
                  for r in (root, sub)]
        assert hashes[0] == hashes[1], stage
    in_image, in_process = (answer(kfp_output(r, "filter"), kfp_output(r, "distill"), kfp_output(r, "evaluate"))
                            for r in (root, sub))
    assert in_image == in_process
