"""Address databases: files that answer "who operates, and where is, this address" by lookup.

An iptoasn table (`hostmap.ingest.address_table`) is small enough to stream into
the store; a MaxMind DB or an ip2region xdb can hold millions of networks and is
built for point lookups, so it is opened once and asked about the addresses a
run actually saw::

    database = detect_address_database(Path("GeoLite2-ASN.mmdb"))
    lookup = database.open(Path("GeoLite2-ASN.mmdb"))
    lookup.lookup("117.160.200.1")
    # AddressInfo(asn=24445, operator='China Mobile Communications Group Co., Ltd.',
    #             range_start='117.160.192.0', range_end='117.160.223.255', ...)

Each format is one module with a module-level `database` object that satisfies
`AddressDatabase`, listed in `ADDRESS_DATABASES`.  Detection is by content, the
suffix only a hint: a MaxMind DB is recognised by the metadata marker near its
end, so the sniffers see the last `TAIL_BYTES` of a file as well as its first
`HEAD_BYTES`.  A format whose Python library is not installed is left out of
the list (STYLE 7.4, optional dependencies), so only formats that work are
offered.  Nothing here touches the network: databases are files the user gives.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from hostmap.enrich import ip2region, mmdb
from hostmap.model import AddressInfo

__all__ = [
    "ADDRESS_DATABASES",
    "HEAD_BYTES",
    "TAIL_BYTES",
    "AddressDatabase",
    "AddressLookup",
    "detect_address_database",
]

HEAD_BYTES = 64 * 1024
"""How much of the start of a file the sniffers see."""
TAIL_BYTES = 128 * 1024
"""How much of the end of a file the sniffers see: the MaxMind DB spec puts the
metadata (and its marker) within the last 128 KiB."""


class AddressLookup(Protocol):
    """An open address database."""

    def lookup(self, address: str) -> AddressInfo | None:
        """What the database says about `address`; None when no network in it holds it.

        Raises ValueError when `address` is not an address, and
        `hostmap.errors.MalformedInput` (naming the file) when the database
        turns out to be damaged.
        """
        ...

    def close(self) -> None:
        """Release the file; lookups after this are a programming error."""
        ...


class AddressDatabase(Protocol):
    """One address-database format.  Its module ends with `database = ...Database()`."""

    format: str
    """The name users see, e.g. "mmdb"."""
    description: str
    """One line: what produces such files."""
    suffixes: tuple[str, ...]
    """File-name endings that hint at the format; a hint, never the sole test."""
    signature: str
    """One line: the content the sniffer recognises."""
    available: bool
    """Whether the Python library this format needs is installed."""

    def sniff(self, head: bytes, tail: bytes, path: Path) -> float:
        """Score a file from its first and last bytes: 1.0 certain, 0.5 plausible, <= 0 not mine."""
        ...

    def open(self, path: Path) -> AddressLookup:
        """Open `path` for lookups.

        Raises `hostmap.errors.MalformedInput` (naming the file) when the file
        is not a usable database of this format, `InputError` when it cannot
        be read at all.
        """
        ...


ADDRESS_DATABASES: list[AddressDatabase] = [
    database for database in (ip2region.database, mmdb.database) if database.available
]


def detect_address_database(path: Path) -> AddressDatabase | None:
    """The format that scores the file's head and tail highest, or None if none wants it.

    Raises OSError when the file cannot be read.
    """
    with path.open("rb") as f:
        head = f.read(HEAD_BYTES)
        size = f.seek(0, 2)
        f.seek(max(0, size - TAIL_BYTES))
        tail = f.read(TAIL_BYTES)
    best: tuple[float, AddressDatabase] | None = None
    for database in ADDRESS_DATABASES:
        score = database.sniff(head, tail, path)
        if score > 0 and (best is None or score > best[0]):
            best = (score, database)
    return None if best is None else best[1]
