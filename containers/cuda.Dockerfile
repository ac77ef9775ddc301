# distil-pipeline, CUDA image: PyPI's PyTorch build (CUDA 13.0), for NVIDIA GPUs.
#
# Build from the repository root (the context must hold pyproject.toml and components/):
#   podman build -f containers/cuda.Dockerfile --ignorefile containers/.containerignore -t distil-pipeline:gpu .
#   (docker build reads containers/cuda.Dockerfile.dockerignore by itself)
# `make image` does this, and more: see containers/README.md.
#
# torch: PyPI's torch 2.13.0 wheel is built for CUDA 13.0 and brings the CUDA runtime
# libraries (cuBLAS, cuDNN, NCCL, ...) as pip packages. The base image is therefore
# NVIDIA's small "base" flavour (CUDA 13.0, with the NVIDIA_* settings the container
# toolkit reads to mount the host driver): the "runtime" flavour would add about 2 GB
# of the same libraries a second time. The host needs a driver for CUDA 13.0 (580+).
# Not built by `make image` (no GPU and no registry here); checked by
# tests/test_containers.py.
#
# BASE: any Debian/Ubuntu image with or without Python 3.11+ (python3 comes from apt
# when missing: Ubuntu 24.04 has 3.12).
ARG BASE=nvidia/cuda:13.0.1-base-ubuntu24.04
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
ARG EXTRAS=orchestration
COPY containers/pyproject_requirements.py pyproject.toml /tmp/
RUN python /tmp/pyproject_requirements.py /tmp/pyproject.toml "${EXTRAS}" > /tmp/requirements.txt

FROM system

# Optional, never stored in the image: PIP_CERT (a CA bundle path mounted with
# `podman build -v`), PIP_INDEX_URL / PIP_EXTRA_INDEX_URL (mirrors, the CPU wheel index).
ARG PIP_CERT
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL

# Layer 1: torch alone (the largest, changes least).
ARG TORCH_VERSION=2.13.0
RUN --mount=type=bind,source=containers/wheels,target=/tmp/wheels \
    pip install --no-cache-dir --find-links /tmp/wheels "torch==${TORCH_VERSION}"

# Layer 2: the dependency stack (pyproject.toml's dependencies and EXTRAS), with torch
# held at the version just installed (pip may not swap it for another build).
COPY --from=requirements /tmp/requirements.txt /tmp/requirements.txt
RUN python -c 'import importlib.metadata as m; print("torch==" + m.version("torch"))' > /tmp/constraints.txt \
 && pip install --no-cache-dir -r /tmp/requirements.txt -c /tmp/constraints.txt \
 && rm /tmp/requirements.txt /tmp/constraints.txt

# Layer 3: the package itself (small; the only layer a code change rebuilds).
COPY pyproject.toml README.md /tmp/src/
COPY components /tmp/src/components
RUN pip install --no-cache-dir --no-deps --no-build-isolation /tmp/src \
 && rm -rf /tmp/src \
 && distil-pipeline --version

LABEL org.opencontainers.image.title="distil-whisper-pipeline (CUDA)" \
      org.opencontainers.image.description="distil-pipeline CLI: Distil-Whisper stages for DVC, Airflow and Kubeflow" \
      org.opencontainers.image.licenses="MIT"

ENV HOME=/home/app \
    HF_HOME=/home/app/.cache/huggingface \
    DVC_NO_ANALYTICS=1 \
    HF_HUB_DISABLE_TELEMETRY=1
USER 10001:10001
WORKDIR /work
ENTRYPOINT ["distil-pipeline"]
CMD ["--help"]
