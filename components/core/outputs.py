"""Atomic stage outputs: write into a staging directory, rename when complete.

A crash or a bad input leaves the previous output (or nothing) in place, never
a half-written directory that looks finished.
"""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


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
