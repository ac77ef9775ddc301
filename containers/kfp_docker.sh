#!/usr/bin/env bash
# Run the Kubeflow pipeline's components inside the image they name: `make test-kfp-image` calls this.
#
#   containers/kfp_docker.sh            (from the repository root)
#
# Builds the CPU image with containers/make_image.sh when it is missing (SMOKE=0), installs the
# Docker SDK that kfp.local.DockerRunner needs, serves podman's Docker-compatible API on a socket
# of its own (`podman system service`, DOCKER_HOST), runs tests/test_kfp_image.py (the smallest
# demo with kfp.local.DockerRunner, compared with the kfp.local.SubprocessRunner run), then stops
# the service it started.
#
# Environment (all optional): IMAGE (default distil-pipeline:cpu), PYTHON (default .venv/bin/python).
set -euo pipefail

cd "$(dirname "$0")/.."
IMAGE=${IMAGE:-distil-pipeline:cpu}
PYTHON=${PYTHON:-.venv/bin/python}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/containers/containers.conf}
log() { printf '[kfp docker] %s\n' "$*" >&2; }

command -v podman >/dev/null || { log "podman missing: run \`make image\` first (it installs podman)"; exit 1; }
if ! podman image exists "$IMAGE"; then
    log "$IMAGE not built yet: building it (containers/make_image.sh)"
    IMAGE=$IMAGE SMOKE=0 bash containers/make_image.sh
fi
"$PYTHON" -c 'import docker' 2>/dev/null || "$PYTHON" -m pip install -q 'docker>=7,<8'
# podman names a local build localhost/<name>; the Docker API lists it so, and KFP looks it up by that name.
IMAGE=$(podman image inspect --format '{{index .RepoTags 0}}' "$IMAGE")

sockdir=$(mktemp -d)
podman system service --time=0 "unix://$sockdir/podman.sock" &
service=$!
trap 'kill "$service" 2>/dev/null; wait "$service" 2>/dev/null; rm -rf "$sockdir"' EXIT
for _ in $(seq 50); do [ -S "$sockdir/podman.sock" ] && break; sleep 0.2; done
[ -S "$sockdir/podman.sock" ] || { log "podman system service did not start"; exit 1; }

log "kfp.local.DockerRunner on $IMAGE through podman's Docker API (unix://$sockdir/podman.sock)"
DOCKER_HOST="unix://$sockdir/podman.sock" DISTIL_PIPELINE_TEST_IMAGE="$IMAGE" \
    "$PYTHON" -m pytest -q -s tests/test_kfp_image.py
