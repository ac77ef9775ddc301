"""The Distil-Whisper pipeline for Kubeflow Pipelines, and its compiled YAML beside this file.

    python -m pipelines.distil_whisper            # rewrite pipelines/distil_whisper.yaml
    python -m pipelines.distil_whisper --check    # exit 1 when it is stale

Built from the stage registry by ``components.adapters.kfp``; parameter
defaults come from params.yaml. Upload the YAML in the KFP UI (or with
``kfp.Client().upload_pipeline``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from components.adapters.kfp import IMAGES, Images, build_pipeline, compile_pipeline

ROOT = Path(__file__).resolve().parents[1]
PARAMS = ROOT / "params.yaml"
COMPILED = Path(__file__).with_suffix(".yaml")


def pipeline(params_file: Path = PARAMS, images: Images = IMAGES):
    """The pipeline function (for ``kfp.local`` runs or a ``kfp.Client``)."""
    return build_pipeline(params_file, images)


def is_current(target: Path = COMPILED, params_file: Path = PARAMS) -> bool:
    """Whether ``target`` is what compiling the pipeline now gives."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = compile_pipeline(params_file, Path(tmp) / "pipeline.yaml")
        return target.is_file() and target.read_text() == fresh.read_text()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.distil_whisper", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the compiled YAML is stale")
    parser.add_argument("--out", type=Path, default=COMPILED, help=f"compiled YAML (default {COMPILED.name})")
    parser.add_argument("--params", type=Path, default=PARAMS, help="params.yaml giving the parameter defaults")
    parser.add_argument("--cpu-image", default=IMAGES.cpu, help="image of the CPU stages")
    parser.add_argument("--gpu-image", default=IMAGES.gpu, help="image of the GPU stages")
    args = parser.parse_args(argv)
    if args.check:
        if not is_current(args.out, args.params):
            print(f"{args.out.name} is stale; run `python -m pipelines.distil_whisper` (or `make pipeline`)",
                  file=sys.stderr)
            return 1
        return 0
    compile_pipeline(args.params, args.out, Images(args.cpu_image, args.gpu_image))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
