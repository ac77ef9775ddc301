"""Reader for CTranslate2's binary model spec (``model.bin``, binary version 6).

Layout: u32 version, string spec name, u32 revision, u32 variable count, then per
variable: string name, u8 rank, u32 dims, u8 dtype, u32 byte count, raw bytes;
then u32 alias count and (alias, target) string pairs. Strings are u16 length
(including a trailing NUL) followed by UTF-8 bytes. All little-endian.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from components.core.errors import PipelineError

SUPPORTED_VERSIONS = (5, 6)
# CTranslate2 DataType enum: FLOAT32, INT8, INT16, INT32, FLOAT16, BFLOAT16.
DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}


@dataclass(frozen=True)
class Ct2Model:
    """Variables of a CTranslate2 model, aliases resolved."""

    spec: str
    revision: int
    variables: dict[str, np.ndarray]


def _unpack(handle: BinaryIO, fmt: str) -> int:
    size = struct.calcsize("<" + fmt)
    return struct.unpack("<" + fmt, handle.read(size))[0]


def _string(handle: BinaryIO) -> str:
    length = _unpack(handle, "H")
    return handle.read(length)[:-1].decode("utf-8")


def _variable(handle: BinaryIO, path: Path, name: str) -> np.ndarray:
    rank = _unpack(handle, "B")
    shape = tuple(_unpack(handle, "I") for _ in range(rank))
    dtype_id = _unpack(handle, "B")
    n_bytes = _unpack(handle, "I")
    if dtype_id not in DTYPES:
        raise PipelineError(f"{path}: variable {name} has dtype id {dtype_id} (bfloat16/quantised models are not supported; re-export in float16 or float32)")
    raw = handle.read(n_bytes)
    return np.frombuffer(raw, dtype=DTYPES[dtype_id]).reshape(shape)


def read_ct2_model(path: Path) -> Ct2Model:
    """Parse a CTranslate2 ``model.bin`` into numpy arrays."""
    with path.open("rb") as handle:
        version = _unpack(handle, "I")
        if version not in SUPPORTED_VERSIONS:
            raise PipelineError(f"{path}: CTranslate2 binary version {version} is not supported (expected {SUPPORTED_VERSIONS})")
        spec = _string(handle)
        revision = _unpack(handle, "I")
        variables = {}
        for _ in range(_unpack(handle, "I")):
            name = _string(handle)
            variables[name] = _variable(handle, path, name)
        for _ in range(_unpack(handle, "I")):
            alias, target = _string(handle), _string(handle)
            variables[alias] = variables[target]
    return Ct2Model(spec=spec, revision=revision, variables=variables)
