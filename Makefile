# Two commands for a newcomer: `make demo` (set up + run the pipeline on the
# built-in demo) and `make test` (set up + run the tests). Both are idempotent.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SYSTEM_PACKAGES := espeak-ng ffmpeg sox libsndfile1
export DVC_NO_ANALYTICS := 1
export HF_HUB_DISABLE_TELEMETRY := 1
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: setup system-deps demo test clean

setup: system-deps $(STAMP)

system-deps:
	@missing=""; for tool in espeak-ng ffmpeg sox; do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo="sudo"; \
	  { $$sudo apt-get update -qq && $$sudo apt-get install -y -qq $(SYSTEM_PACKAGES); } >/dev/null || { \
	    echo "error: could not install$$missing; install them yourself: apt-get install $(SYSTEM_PACKAGES)"; exit 1; }; \
	fi

# torch is pinned first so pip takes the 2.13.0 CPU build, never the multi-GB CUDA one.
$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

demo: setup
	dvc repro
	distil-pipeline report

test: setup
	$(PY) -m pytest -q

clean:
	rm -rf data/raw data/ingested data/normalised data/pseudo_labelled data/filtered data/models data/evaluation data/release

# Container image, kept out of `make test`: builds containers/cpu.Dockerfile with podman
# (making a Debian base with debootstrap when no registry is reachable), then smoke-runs
# the CLI and three stages inside it. Variables: see containers/make_image.sh.
.PHONY: image
image:
	@start=$$(date +%s); bash containers/make_image.sh \
	  && echo "[make image] done in $$(( $$(date +%s) - start )) s"

# The Kubeflow components inside the image they name, kept out of `make test` (it needs the image:
# built when missing): kfp.local.DockerRunner on podman's Docker-compatible API runs the smallest
# demo and compares its outputs with the kfp.local.SubprocessRunner run (containers/kfp_docker.sh).
.PHONY: test-kfp-image
test-kfp-image: setup
	@start=$$(date +%s); bash containers/kfp_docker.sh \
	  && echo "[make test-kfp-image] done in $$(( $$(date +%s) - start )) s"

# The compiled Kubeflow pipeline (pipelines/distil_whisper.yaml, committed): regenerate it after
# changing the registry, the adapters or params.yaml; a test fails while it is stale.
.PHONY: pipeline
pipeline: setup
	$(PY) -m pipelines.distil_whisper
