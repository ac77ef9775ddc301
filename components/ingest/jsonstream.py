"""Stream the items of one array in a large JSON object, one item in memory at a time.

GigaSpeech ships one ``GigaSpeech.json`` of several gigabytes whose
``audios`` array holds every recording with its segments; ``json.load`` would
hold it all in memory. This reads the top-level object key by key and decodes
the wanted array's items one by one with the standard library's C decoder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any, Iterator

from components.core.errors import PipelineError

CHUNK = 1 << 20


class _Buffer:
    """A growing window on a text file, decoded with ``raw_decode`` at a position."""

    def __init__(self, handle: IO[str], where: Path) -> None:
        self.handle, self.where, self.text, self.pos, self.eof = handle, where, "", 0, False

    def _more(self) -> bool:
        if self.eof:
            return False
        chunk = self.handle.read(max(CHUNK, len(self.text)))
        self.eof = not chunk
        self.text, self.pos = self.text[self.pos:] + chunk, 0
        return bool(chunk)

    def peek(self) -> str:
        """The next non-space character (consumed spaces only), or '' at the end of the file."""
        while True:
            while self.pos < len(self.text) and self.text[self.pos].isspace():
                self.pos += 1
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self._more():
                return ""

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise PipelineError(f"{self.where}: not valid JSON near offset {self.pos}: expected {char!r}")
        self.pos += 1

    def value(self, decoder: json.JSONDecoder) -> Any:
        self.peek()
        while True:
            try:
                value, end = decoder.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as err:
                if self._more():
                    continue
                raise PipelineError(f"{self.where}: not valid JSON: {err.msg}") from err
            if end == len(self.text) and not self.eof and self._more():
                continue  # a number may go on in the next chunk
            self.pos = end
            return value


def iter_array(path: Path, key: str) -> Iterator[Any]:
    """Each item of the array under top-level ``key`` of the JSON object in ``path``, in order."""
    decoder = json.JSONDecoder()
    with open(path, encoding="utf-8") as handle:
        buffer = _Buffer(handle, path)
        buffer.expect("{")
        while buffer.peek() not in ("}", ""):
            name = buffer.value(decoder)
            buffer.expect(":")
            if name == key:
                yield from _array_items(buffer, decoder)
                return
            buffer.value(decoder)
            if buffer.peek() == ",":
                buffer.expect(",")
    raise PipelineError(f"{path}: the JSON object has no {key!r} array")


def _array_items(buffer: _Buffer, decoder: json.JSONDecoder) -> Iterator[Any]:
    buffer.expect("[")
    while buffer.peek() != "]":
        yield buffer.value(decoder)
        if buffer.peek() == ",":
            buffer.expect(",")
        elif buffer.peek() != "]":
            buffer.expect("]")
