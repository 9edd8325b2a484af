"""Line-oriented input with bounds: lines of limited length, JSON of limited nesting.

Readers of JSON lines and tab-separated tables use these so that hostile
input costs a bounded amount of memory and ends as one issue per record:

- `bounded_lines(stream)` yields the lines of a binary stream like iterating
  it would, except that a line longer than `MAX_LINE_BYTES` is skipped while
  it is read (at most one chunk of it is held) and comes out as an
  `OverlongLine` holding its size.  A gzip stream whose one line inflates to
  a gigabyte is so read in bounded memory.
- `json_loads(data)` is `json.loads`, except that input nested deeper than
  the interpreter's recursion limit raises `ValueError` (like any other JSON
  error) instead of `RecursionError`.
- `open_maybe_gzip(path)` and `inflated_head(head)`: the same file plain or
  gzip-compressed, for the readers of exports that come either way.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from hostmap.errors import TruncatedInput

__all__ = ["GZIP_MAGIC", "MAX_LINE_BYTES", "OverlongLine", "bounded_lines", "inflated_head",
           "json_loads", "open_maybe_gzip"]

GZIP_MAGIC = b"\x1f\x8b"

MAX_LINE_BYTES = 16 * 2**20
"""The longest line a line reader keeps: far beyond any DNS or table record."""
_SKIP_CHUNK = 2**20


@dataclass(frozen=True, slots=True)
class OverlongLine:
    """A line skipped because it is longer than the limit."""

    size: int
    """Its length in bytes, newline included."""
    limit: int

    def message(self) -> str:
        return f"line of {self.size:,} bytes, over the {self.limit >> 20} MiB limit: skipped"


def bounded_lines(stream: IO[bytes], limit: int | None = None) -> Iterator[bytes | OverlongLine]:
    """The lines of `stream` (newline kept); one over `limit` (default `MAX_LINE_BYTES`) bytes
    as an `OverlongLine`."""
    limit = limit or MAX_LINE_BYTES
    readline = stream.readline
    while True:
        line = readline(limit)
        if not line:
            return
        if len(line) < limit or line.endswith(b"\n"):
            yield line
            continue
        size = len(line)
        del line
        while True:
            more = readline(_SKIP_CHUNK)
            size += len(more)
            if not more or more.endswith(b"\n"):
                break
        yield OverlongLine(size, limit)


def json_loads(data: bytes | str) -> Any:
    """`json.loads`, with nesting too deep for the parser reported as a ValueError."""
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("nested too deeply to read") from None


def inflated_head(head: bytes) -> bytes | None:
    """A file's first bytes as a sniffer should see them: inflated when they start a gzip
    stream (as far as they go); None when that stream does not inflate."""
    if not head.startswith(GZIP_MAGIC):
        return head
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head)
    except zlib.error:
        return None


@contextmanager
def open_maybe_gzip(path: Path) -> Iterator[IO[bytes]]:
    """`path` open for reading, inflated when it is gzip; a compressed stream that is
    damaged or ends early, while the block reads it, raises TruncatedInput."""
    with path.open("rb") as probe:
        compressed = probe.read(2) == GZIP_MAGIC
    try:
        with gzip.open(path, "rb") if compressed else path.open("rb") as stream:
            yield stream
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise TruncatedInput(f"compressed data ends early or is damaged ({exc})") from exc
