# distil-pipeline, TPU image: PyTorch's CPU build with PyTorch/XLA and libtpu, for Cloud TPU VMs.
#
# Build from the repository root (the context must hold pyproject.toml and components/):
#   podman build -f containers/tpu.Dockerfile --ignorefile containers/.containerignore -t distil-pipeline:tpu .
#   (docker build reads containers/tpu.Dockerfile.dockerignore by itself)
# `make image` does this, and more: see containers/README.md.
#
# torch_xla must match torch's version exactly, and the newest torch_xla on PyPI is
# 2.9.0: so this image has torch 2.9.0 (the CPU build: XLA brings the TPU runtime,
# libtpu, through the `tpu` extra), not the 2.13.0 of the other images. Not built by
# `make image` (no TPU here); checked by tests/test_containers.py.
#
# torch: TORCH_VERSION pins the CPU build (a "+cpu" local version). PyPI has only the
# multi-GB CUDA build of the same version, so pip must find the CPU wheel either in
# containers/wheels/ (bind-mounted, never copied into a layer) or on an extra index
# given as --build-arg PIP_EXTRA_INDEX_URL=...; with neither, the build stops there
# instead of silently pulling CUDA.
#
# BASE: a Debian bookworm image. The pinned Python slim image, or a plain Debian
# bookworm one (no Python: python3 then comes from apt). Python must be 3.11 to match
# the cp311 torch wheel.
ARG BASE=python:3.11.14-slim-bookworm
FROM ${BASE} AS system

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ARG DEBIAN_FRONTEND=noninteractive

# System packages the stages call: ffmpeg (MP3/Opus decoding and encoding), libsndfile1
# (soundfile), sox (FLAC/SPH in the demo corpora), espeak-ng (make-demo-data's voices).
# python3 + python3-venv only when the base has no Python (plain Debian).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates espeak-ng ffmpeg libsndfile1 sox \
 && if ! command -v python3 >/dev/null; then apt-get install -y --no-install-recommends python3 python3-venv; fi \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 --user-group --shell /bin/bash app \
 && install -d -o app -g app /work

ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python3 -m venv /opt/venv

# The requirement list alone, in a stage of its own: the dependency layer below is
# cached on this list, so edits elsewhere in pyproject.toml do not reinstall the stack.
FROM system AS requirements
# EXTRAS: pyproject.toml extras, comma-separated. `orchestration` brings kfp: Kubeflow's
# lightweight components run `python3 -m kfp.dsl.executor_main` in this image.
ARG EXTRAS=tpu,orchestration
COPY containers/pyproject_requirements.py pyproject.toml /tmp/
RUN python /tmp/pyproject_requirements.py /tmp/pyproject.toml "${EXTRAS}" > /tmp/requirements.txt

FROM system

# Optional, never stored in the image: PIP_CERT (a CA bundle path mounted with
# `podman build -v`), PIP_INDEX_URL / PIP_EXTRA_INDEX_URL (mirrors, the CPU wheel index).
ARG PIP_CERT
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL

# Layer 1: torch alone (the largest, changes least).
ARG TORCH_VERSION=2.9.0+cpu
RUN --mount=type=bind,source=containers/wheels,target=/tmp/wheels \
    pip install --no-cache-dir --find-links /tmp/wheels "torch==${TORCH_VERSION}"

# Layer 2: the dependency stack (pyproject.toml's dependencies and EXTRAS), with torch
# held at the version just installed (pip may not swap it for another build) and torch_xla at its twin.
ARG TORCH_XLA_VERSION=2.9.0
COPY --from=requirements /tmp/requirements.txt /tmp/requirements.txt
RUN python -c 'import importlib.metadata as m; print("torch==" + m.version("torch"))' > /tmp/constraints.txt \
 && echo "torch_xla==${TORCH_XLA_VERSION}" >> /tmp/constraints.txt \
 && pip install --no-cache-dir -r /tmp/requirements.txt -c /tmp/constraints.txt \
 && rm /tmp/requirements.txt /tmp/constraints.txt

# Layer 3: the package itself (small; the only layer a code change rebuilds).
COPY pyproject.toml README.md /tmp/src/
COPY components /tmp/src/components
RUN pip install --no-cache-dir --no-deps --no-build-isolation /tmp/src \
 && rm -rf /tmp/src \
 && distil-pipeline --version

LABEL org.opencontainers.image.title="distil-whisper-pipeline (TPU)" \
      org.opencontainers.image.description="distil-pipeline CLI: Distil-Whisper stages for DVC, Airflow and Kubeflow" \
      org.opencontainers.image.licenses="MIT"

ENV HOME=/home/app \
    HF_HOME=/home/app/.cache/huggingface \
    DVC_NO_ANALYTICS=1 \
    HF_HUB_DISABLE_TELEMETRY=1 \
    PJRT_DEVICE=TPU
USER 10001:10001
WORKDIR /work
ENTRYPOINT ["distil-pipeline"]
CMD ["--help"]
