"""Input formats: one module per format, listed in READERS, chosen by content.

`detect_format` asks every reader to score the first bytes of a file and takes
the best score above zero; `read_file` is the one place where a reader's
failure on a whole file becomes a `ReadIssue` instead of an exception.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from hostmap.errors import InputError, UnknownFormat
from hostmap.ingest import (
    address_table,
    dig_output,
    hackertarget,
    har,
    ip138_page,
    mitmproxy_format,
    passive_dns,
    pcap,
    rapid7_fdns,
    reverse_ip,
    saz,
    securitytrails,
    zeek_logs,
    zone_file,
)
from hostmap.ingest._reader import WHOLE_FILE, Part, PartOverrun, PartReader, Reader, ReadItem
from hostmap.model import Provenance, ReadIssue, Severity

__all__ = [
    "READERS",
    "WHOLE_FILE",
    "Part",
    "PartOverrun",
    "PartReader",
    "Reader",
    "ReadItem",
    "add_reader",
    "detect_format",
    "discover",
    "read_file",
    "reader_named",
]

READERS: list[Reader] = [
    address_table.reader,
    dig_output.reader,
    hackertarget.reader,
    har.reader,
    ip138_page.reader,
    mitmproxy_format.reader,
    passive_dns.reader,
    pcap.reader,
    rapid7_fdns.reader,
    reverse_ip.reader,
    saz.reader,
    securitytrails.reader,
    zeek_logs.reader,
    zone_file.reader,
]

SNIFF_BYTES = 64 * 1024
"""How much of a file the sniffers see."""


def add_reader(reader: Reader) -> None:
    """Register a reader from outside the package (it competes on `sniff` like ours)."""
    READERS.append(reader)


def reader_named(name: str) -> Reader:
    """The reader whose `format` is `name`; KeyError lists the known names."""
    for reader in READERS:
        if reader.format == name:
            return reader
    raise KeyError(f"unknown format {name!r}; known: {', '.join(r.format for r in READERS)}")


def detect_format(path: Path) -> Reader:
    """The reader that scores the file's first bytes highest; UnknownFormat if none wants it."""
    with path.open("rb") as f:
        head = f.read(SNIFF_BYTES)
    best: tuple[float, Reader] | None = None
    for reader in READERS:
        score = reader.sniff(head, path)
        if score > 0 and (best is None or score > best[0]):
            best = (score, reader)
    if best is None:
        raise UnknownFormat("not a capture or DNS format hostmap recognises "
                            "(see `hostmap formats`; --format forces one)")
    return best[1]


def discover(paths: Iterable[Path]) -> Iterator[tuple[Path, bool]]:
    """Files to read, in a stable order: (path, given_explicitly).

    Folders are walked recursively in sorted order; hidden files and folders
    are left out.  A path that does not exist is yielded as given, so the
    caller reports it.
    """
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                relative = child.relative_to(path)
                if child.is_file() and not any(p.startswith(".") for p in relative.parts):
                    yield child, False
        else:
            yield path, True


def read_file(path: Path, reader: Reader, items: Iterable[ReadItem] | None = None,
              records_before: int = 0) -> Iterator[ReadItem]:
    """Stream `reader.read(path)`, turning a whole-file failure into a final ReadIssue.

    This is the boundary where a reader's exception meets the file name:
    whatever was read before the failure has already been yielded.  `items`
    stands for `reader.read(path)` when the file is read in parts
    (`hostmap.parts`), `records_before` of its records having been read before.
    """
    count = records_before
    try:
        for item in reader.read(path) if items is None else items:
            if not isinstance(item, ReadIssue):
                count += 1
            yield item
    except InputError as exc:
        yield _whole_file_issue(path, reader, f"{exc}", count)
    except (OSError, ValueError, KeyError, TypeError, IndexError, UnicodeError) as exc:
        # A reader bug or an input it did not foresee: keep the run going, name the type.
        yield _whole_file_issue(path, reader, f"{type(exc).__name__}: {exc}", count)


def _whole_file_issue(path: Path, reader: Reader, message: str, count: int) -> ReadIssue:
    prefix = f"read {count} records, then: " if count else ""
    return ReadIssue(
        provenance=Provenance(file=str(path), format=reader.format, locator=""),
        message=prefix + message,
        severity=Severity.ERROR,
    )
