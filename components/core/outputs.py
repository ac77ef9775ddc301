"""Atomic stage outputs: write into a staging directory, rename when complete.

A crash or a bad input leaves the previous output (or nothing) in place, never
a half-written directory that looks finished.
"""

from __future__ import annotations

import json
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from components.core.errors import PipelineError


@contextmanager
def staged_output(dst: Path) -> Iterator[Path]:
    """Yield a fresh staging directory that replaces ``dst`` only on success."""
    dst = Path(dst)
    staging = dst.with_name(f".{dst.name}.partial")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if dst.exists():
        shutil.rmtree(dst) if dst.is_dir() else dst.unlink()
    staging.rename(dst)


def write_json(path: Path, data: Any) -> Path:
    """Write JSON deterministically (sorted keys, two-space indent, trailing newline) and atomically."""
    from components.core.shards import write_atomic

    write_atomic(path, (json.dumps(data, indent=2, sort_keys=True, default=str) + "\n").encode())
    return path


def read_json(path: Path) -> dict[str, Any]:
    """Read a JSON file another stage wrote; a clear error when that stage has not run."""
    if not path.is_file():
        raise PipelineError(f"{path}: not found; run the stage that writes it first")
    return json.loads(path.read_text())
