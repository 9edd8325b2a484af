"""The Reader protocol every input format implements."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from hostmap.model import Observation, ReadIssue

__all__ = ["BulkLoader", "Reader", "ReadItem"]

ReadItem = Observation | ReadIssue


class Reader(Protocol):
    """One input format.  A module in `hostmap.ingest` ends with `reader = ...Reader()`."""

    format: str
    """The name users see and type, e.g. "har"."""
    description: str
    """One line for `hostmap formats`: what produces such files."""
    suffixes: tuple[str, ...]
    """File-name endings that hint at the format; a hint, never the sole test."""
    signature: str
    """One line for `hostmap formats`: the content the sniffer recognises."""

    def sniff(self, head: bytes, path: Path) -> float:
        """Score the first bytes of a file: 1.0 certain, 0.5 plausible, <= 0 not mine."""
        ...

    def read(self, path: Path) -> Iterator[ReadItem]:
        """Yield observations and per-record issues, streaming.

        A record that cannot be read becomes a `ReadIssue` (with the record's
        locator) and reading goes on.  A file that is unusable as a whole
        raises `hostmap.errors.InputError`; the caller records it.
        """
        ...


class BulkLoader(Protocol):
    """Optional, beside `Reader.read`: load a whole file straight into the store.

    A reader whose format the store's engine reads natively (DuckDB's JSON
    reader for passive-DNS lines) may offer this; the pipeline then calls it
    instead of `read`.  It must store exactly the rows `read` would yield and
    return (records stored, issues) — the same issues `read` would yield.
    """

    def load_into(self, path: Path, store: Any, input_id: int) -> tuple[int, list[ReadIssue]]:
        ...
