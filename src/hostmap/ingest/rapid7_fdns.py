"""Rapid7 Project Sonar Forward DNS (FDNS) and Reverse DNS (RDNS) JSON lines, maybe gzip.

Sonar publishes its DNS studies as gzip-compressed JSON lines (`*-fdns_a.json.gz`,
`*-fdns_any.json.gz`, `*-rdns.json.gz`), one answer per line:

    {"timestamp":"1655164800","name":"www.example.com","type":"a","value":"192.0.2.1"}

`timestamp` is epoch seconds as a string (the time of the lookup); `type`
is the record type in lower case.  Each line becomes a `Resolution` (source
PASSIVE_DNS, first_seen = last_seen = timestamp): A, AAAA, CNAME, NS and PTR
as such, any other type (mx, txt, soa, ...) as OTHER with its raw text.  An
RDNS line names the address itself (`"name":"192.0.2.1","type":"ptr"`); it
is read as the PTR of the address's reverse name, which also gives
host -> address (see `zone_file.record_resolutions`).

The files are huge (hundreds of millions of lines): they are streamed line
by line and never held in memory.  Locator "line N"; a bad line becomes a
`ReadIssue` and reading goes on; damaged gzip data raises `TruncatedInput`
after everything before it has been yielded.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from io import BufferedIOBase
from pathlib import Path

from hostmap.errors import MalformedInput
from hostmap.hostnames import is_address
from hostmap.ingest._lines import (
    OverlongLine,
    bounded_lines,
    inflated_head,
    json_loads,
    open_maybe_gzip,
)
from hostmap.ingest._reader import ReadItem
from hostmap.ingest.passive_dns import parse_time
from hostmap.ingest.zone_file import record_resolutions
from hostmap.model import Provenance, ReadIssue, Resolution, ResolutionSource

__all__ = ["Rapid7FdnsReader", "reader"]

_KEYS = frozenset({"timestamp", "name", "type", "value"})


class Rapid7FdnsReader:
    """Reads Rapid7 Sonar FDNS/RDNS JSON lines; see the module docstring."""

    format = "rapid7-fdns"
    description = "Rapid7 Project Sonar forward/reverse DNS JSON lines (fdns_*.json.gz, rdns)"
    suffixes = (".json.gz", ".json", ".jsonl")
    signature = "JSON lines with exactly timestamp/name/type/value keys, maybe gzip"

    def sniff(self, head: bytes, path: Path) -> float:
        inflated = inflated_head(head)
        if inflated is None:
            return 0.0
        head = inflated
        head = head.removeprefix(b"\xef\xbb\xbf").lstrip()
        if head[:1] != b"{":
            return 0.0
        try:
            record = json_loads(head.split(b"\n", 1)[0])
        except ValueError:
            return 0.0
        if not isinstance(record, dict) or not _KEYS <= record.keys():
            return 0.0
        return 1.0 if record.keys() == _KEYS else 0.7

    def read(self, path: Path) -> Iterator[ReadItem]:
        with open_maybe_gzip(path) as stream:
            yield from self._read_stream(stream, path)

    def _read_stream(self, stream: BufferedIOBase, path: Path) -> Iterator[ReadItem]:
        for number, raw in enumerate(bounded_lines(stream), 1):
            at = Provenance(file=str(path), format=self.format, locator=f"line {number}")
            if isinstance(raw, OverlongLine):
                yield ReadIssue(provenance=at, message=raw.message())
                continue
            if not raw.strip():
                continue
            try:
                record = json_loads(raw)
            except ValueError as exc:
                yield ReadIssue(provenance=at, message=f"not JSON: {exc}")
                continue
            try:
                yield from _resolutions(record, at)
            except (MalformedInput, ValueError, OverflowError, OSError) as exc:
                yield ReadIssue(provenance=at, message=str(exc))


def _resolutions(record: object, at: Provenance) -> list[Resolution]:
    """The Resolution(s) of one Sonar line; raises MalformedInput/ValueError when unusable."""
    if not isinstance(record, dict):
        raise MalformedInput(f"expected a JSON object, found {type(record).__name__}")
    missing = sorted(key for key in _KEYS if key not in record)
    if missing:
        raise MalformedInput(f"no {', '.join(missing)}")
    name, rtype, value = record["name"], record["type"], record["value"]
    if not all(isinstance(field, str) and field for field in (name, rtype, value)):
        raise MalformedInput("name, type and value must be non-empty strings")
    seen = parse_time(record["timestamp"])
    if seen is None:
        raise MalformedInput("empty timestamp")
    if rtype.lower() == "ptr" and is_address(name):
        # Sonar RDNS names the address, not its in-addr.arpa / ip6.arpa name.
        name = ipaddress.ip_address(name).reverse_pointer
    return record_resolutions(
        name,
        rtype.upper(),
        value,
        provenance=at,
        source=ResolutionSource.PASSIVE_DNS,
        first_seen=seen,
        last_seen=seen,
    )


reader = Rapid7FdnsReader()
