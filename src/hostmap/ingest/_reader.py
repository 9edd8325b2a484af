"""The Reader protocol every input format implements."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from hostmap.model import Observation, ReadIssue

__all__ = ["WHOLE_FILE", "BulkLoader", "Part", "PartOverrun", "PartReader", "Reader", "ReadItem",
           "parts_from_starts"]

ReadItem = Observation | ReadIssue


class Part(NamedTuple):
    """A run of whole records of one file: bytes [start, end) (end None: to the file's end),
    whose first record is the file's record number `first_record` (0-based), or None when
    the cut cannot know it (the part's records are then numbered from 0, and whoever
    puts the parts together shifts the numbers)."""

    start: int
    end: int | None
    first_record: int | None


WHOLE_FILE = Part(0, None, 0)
"""The one part of a file that is not cut."""


def parts_from_starts(starts: list[Part]) -> list[Part]:
    """`starts` (ends not yet set) with each part ending where the next begins, the last
    at the end of the file."""
    ends = [following.start for following in starts[1:]] + [None]
    return [part._replace(end=end) for part, end in zip(starts, ends, strict=True)]


class PartOverrun(Exception):  # noqa: N818 - a finding about the cut, not a reader error
    """A part did not end where a record starts (a cut found by looking, not by reading,
    was wrong): the records after it cannot be trusted to the next part."""


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


class PartReader(Protocol):
    """Optional, beside `Reader.read`: a file cut into runs of whole records, each read
    on its own (by another process: `hostmap.parts`).

    Reading the parts one after the other must yield exactly what `read` yields:
    the same items with the same locators, in the same order.
    """

    locator_prefix: str
    """Record N's locator is f"{locator_prefix}{N}" (how a part numbered from 0 is shifted)."""

    def parts(self, path: Path, count: int) -> list[Part]:
        """Up to `count` parts of about equal size covering the whole file, in order;
        one part (the whole file) when it cannot be cut."""
        ...

    def read_part(self, path: Path, part: Part, *,
                  to_end: bool = True) -> Generator[ReadItem, None, int]:
        """Yield the items of `part`'s records, as `read` yields them; return the number
        of the record after the part.

        When the part does not end where a record starts, raise `PartOverrun`: with
        `to_end`, after reading on to the end of the file; without, at once.
        """
        ...
