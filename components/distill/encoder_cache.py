"""An optional on-disk cache of frozen-encoder outputs (fp16, one file per record), bounded in size.

For small runs that see each record many times, reading a cached encoder
output is much cheaper than the 30 s encoder pass. With the cache on, every
encoder output is rounded to fp16, cached or not, so a run's result does not
depend on which records happened to fit or were cached before a resume.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch


class EncoderCache:
    """fp16 encoder outputs by record id under ``root``, adding files while under ``max_bytes``."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root, self.max_bytes = Path(root), max_bytes
        self._used: int | None = None

    def path(self, record_id: str) -> Path:
        """The file of one record: ``<2 hex>/<sha256 of the id>.pt`` (sharded into 256 folders)."""
        digest = hashlib.sha256(record_id.encode()).hexdigest()
        return self.root / digest[:2] / f"{digest}.pt"

    def get(self, record_id: str) -> torch.Tensor | None:
        """The cached output, or None."""
        path = self.path(record_id)
        return torch.load(path) if path.is_file() else None

    @property
    def used(self) -> int:
        """Bytes on disk now (counted once, then kept up to date by ``put``)."""
        if self._used is None:
            self._used = sum(p.stat().st_size for p in self.root.rglob("*.pt")) if self.root.is_dir() else 0
        return self._used

    def put(self, record_id: str, hidden: torch.Tensor) -> None:
        """Store one output (fp16, atomically) unless it is there or the size bound would be passed."""
        path = self.path(record_id)
        size = hidden.numel() * 2 + 1024
        if path.is_file() or self.used + size > self.max_bytes:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        torch.save(hidden.detach().to("cpu", torch.float16).clone(), tmp)
        os.replace(tmp, path)
        self._used = self.used + path.stat().st_size
