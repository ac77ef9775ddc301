#!/usr/bin/env bash
# Build the CPU image with podman and smoke-run it: `make image` calls this.
#
#   containers/make_image.sh            (from the repository root)
#
# Environment (all optional):
#   IMAGE            tag to build                       (default distil-pipeline:cpu)
#   DOCKERFILE       which Dockerfile                   (default containers/cpu.Dockerfile)
#   BASE             base image                         (default: the Dockerfile's ARG BASE)
#   FALLBACK_BASE    tag of the locally made Debian base (default localhost/debian:bookworm-minbase)
#   DEBIAN_MIRROR    mirror for debootstrap             (default: the one apt already uses here)
#   HOST_CA          CA bundle mounted for pip's TLS    (default the system bundle, when present)
#   PYTHON           python whose pip fetches the wheel (default .venv/bin/python, else python3)
#   PIP_INDEX_URL, PIP_EXTRA_INDEX_URL   passed on to pip, here and in the build
#   SMOKE=0          skip the smoke run
#
# Steps: install podman/runc (and debootstrap when needed) with apt-get; put the CPU
# torch wheel into containers/wheels/; use BASE if it is here or can be pulled, else
# make a Debian bookworm base with debootstrap + podman import; podman build; then run
# `distil-pipeline --help` and three real stages on a mounted temporary folder.
set -euo pipefail

cd "$(dirname "$0")/.."
DOCKERFILE=${DOCKERFILE:-containers/cpu.Dockerfile}
IMAGE=${IMAGE:-distil-pipeline:cpu}
FALLBACK_BASE=${FALLBACK_BASE:-localhost/debian:bookworm-minbase}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/containers/containers.conf}
dockerfile_arg() { sed -n "s/^ARG $1=//p" "$DOCKERFILE" | head -n1; }
BASE=${BASE:-$(dockerfile_arg BASE)}
TORCH_VERSION=$(dockerfile_arg TORCH_VERSION)
log() { printf '[make image] %s\n' "$*" >&2; }
die() { printf '[make image] error: %s\n' "$*" >&2; exit 1; }

SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
apt_install() {
    local missing=() tool
    for tool in "$@"; do command -v "$tool" >/dev/null || missing+=("$tool"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing Debian packages: ${missing[*]}"
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"; } >/dev/null \
        || die "could not install ${missing[*]}; install them yourself (apt-get install ${missing[*]})"
}
apt_install podman runc

# 1. The CPU torch wheel, for the container's Python (3.11, manylinux x86_64). Here pip
#    may find it in a local wheel folder or on PIP_EXTRA_INDEX_URL; "+cpu" makes sure
#    it is never PyPI's CUDA build. Already there: nothing to do.
if [ -n "$TORCH_VERSION" ] && ! ls containers/wheels/torch-"$TORCH_VERSION"-cp311-*.whl >/dev/null 2>&1; then
    PYTHON=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
    log "fetching torch==$TORCH_VERSION (CPU) into containers/wheels/"
    "$PYTHON" -m pip download -q --no-deps --only-binary=:all: --implementation cp --python-version 3.11 \
        --abi cp311 --platform manylinux_2_28_x86_64 -d containers/wheels "torch==$TORCH_VERSION" \
        || log "no torch==$TORCH_VERSION wheel found here: the build needs PIP_EXTRA_INDEX_URL (a PyTorch CPU wheel index) or the wheel in containers/wheels/"
fi

# 2. The base image: the pinned public one when it is here or can be pulled, else a
#    Debian bookworm made with debootstrap (no registry needed).
if podman image exists "$BASE" || timeout 300 podman pull -q "$BASE" >/dev/null 2>&1; then
    log "base image: $BASE"
elif podman image exists "$FALLBACK_BASE"; then
    log "base image $BASE cannot be pulled; using $FALLBACK_BASE made earlier"
    BASE=$FALLBACK_BASE
else
    log "base image $BASE cannot be pulled; making $FALLBACK_BASE with debootstrap"
    apt_install debootstrap
    if [ -z "${DEBIAN_MIRROR:-}" ]; then
        DEBIAN_MIRROR=$(apt-get indextargets --format '$(REPO_URI)' 'Identifier: Packages' 2>/dev/null \
                        | grep -E '/debian/?$' | head -n1 || true)
    fi
    [ -n "${DEBIAN_MIRROR:-}" ] || die "no Debian mirror found in apt's sources; set DEBIAN_MIRROR"
    rootfs=$(mktemp -d)
    trap 'rm -rf "$rootfs"' EXIT
    $SUDO debootstrap --variant=minbase bookworm "$rootfs" "$DEBIAN_MIRROR" >/dev/null \
        || die "debootstrap failed (mirror $DEBIAN_MIRROR)"
    $SUDO rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    $SUDO tar -C "$rootfs" -c . | podman import -q --change 'CMD ["/bin/bash"]' - "$FALLBACK_BASE" >/dev/null
    $SUDO rm -rf "$rootfs"; trap - EXIT
    BASE=$FALLBACK_BASE
fi

# 3. Build. The host CA bundle is mounted for pip (TLS through an intercepting proxy)
#    and stays out of the image.
build_args=(--build-arg "BASE=$BASE")
HOST_CA=${HOST_CA:-/etc/ssl/certs/ca-certificates.crt}
if [ -f "$HOST_CA" ]; then
    build_args+=(-v "$HOST_CA:/run/host-ca.crt:ro" --build-arg PIP_CERT=/run/host-ca.crt)
fi
for var in PIP_INDEX_URL PIP_EXTRA_INDEX_URL; do
    [ -z "${!var:-}" ] || build_args+=(--build-arg "$var=${!var}")
done
log "podman build -f $DOCKERFILE -t $IMAGE (base $BASE)"
podman build -f "$DOCKERFILE" --ignorefile containers/.containerignore "${build_args[@]}" -t "$IMAGE" .

# 4. Smoke run: the CLI, then make-demo-data -> ingest -> normalise on a mounted folder,
#    as the image's non-root user.
if [ "${SMOKE:-1}" != 0 ]; then
    log "smoke run: distil-pipeline --help"
    podman run --rm "$IMAGE" --help >/dev/null
    work=$(mktemp -d)
    trap 'rm -rf "$work" 2>/dev/null || podman unshare rm -rf "$work"' EXIT
    chmod 0777 "$work"
    printf 'make_demo_data:\n  train_per_corpus: 2\n  test_per_corpus: 1\n' > "$work/params.yaml"
    run() { podman run --rm -v "$work:/work" "$IMAGE" "$@"; }
    log "smoke run: make-demo-data, ingest, normalise on a mounted folder"
    run make-demo-data --out /work/raw --params /work/params.yaml
    run ingest --raw /work/raw --out /work/ingested --params /work/params.yaml
    run normalise --src /work/ingested --raw /work/raw --out /work/normalised --params /work/params.yaml
    [ -f "$work/normalised/summary.json" ] || die "smoke run: normalised/summary.json missing"
    log "smoke run passed: normalised/summary.json written inside the container"
fi
log "built $IMAGE: $(podman image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}')"
