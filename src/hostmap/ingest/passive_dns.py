"""Passive-DNS exports in the Passive DNS Common Output Format (COF).

COF is the IETF draft "draft-dulaunoy-dnsop-passive-dns-cof": one JSON
object per line with `rrname`, `rrtype`, `rdata` (a string or a list of
strings), `time_first`/`time_last` (epoch seconds), `count`, and optionally
`bailiwick`, `sensor_id`.  Farsight DNSDB, CIRCL pDNS and others export it.
Accepted on top of the draft:

- `zone_time_first`/`zone_time_last` (DNSDB: seen in a zone file rather than
  by a sensor) when `time_first`/`time_last` are missing;
- times as ISO 8601 strings ('2013-01-14T19:23:53Z'; no offset means UTC)
  as well as epoch numbers;
- DNSDB API v2 "streaming application format" lines: `{"cond":"begin"}`,
  `{"obj":{...record...}}`, `{"cond":"succeeded"}`; "limited"/"failed"
  conditions become issues;
- one JSON document instead of lines: a list of records, a single record, or
  an object whose `"input"` key is a list of records (the Cisco threat
  response test fixtures, `cisco-tr05-dnsdb-*-fixture.json`; their
  `"output*"` keys are ignored);
- gzip-compressed files (.jsonl.gz), recognised by the 1f8b magic.

One `Resolution` per rdata value (source PASSIVE_DNS, with the times and
count).  Locators: "line N" for JSON lines, "input[i]" (or "record[i]") for a
JSON document.  A PTR from a full reverse name also yields target -> address
(see `zone_file`).  A bad line becomes a `ReadIssue` and reading goes on.

`load_into` (the optional `BulkLoader` protocol) has DuckDB read COF lines,
plain or gzip, straight into the store's `resolution` table; lines and files
it cannot reproduce exactly go through `read` (see `_pdns_bulk`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from io import BufferedIOBase
from pathlib import Path
from typing import Any

from hostmap.errors import MalformedInput
from hostmap.ingest._lines import (
    OverlongLine,
    bounded_lines,
    inflated_head,
    json_loads,
    open_maybe_gzip,
)
from hostmap.ingest._reader import ReadItem
from hostmap.ingest.zone_file import record_resolutions
from hostmap.model import Provenance, ReadIssue, ResolutionSource, Severity

__all__ = ["PassiveDnsReader", "parse_time", "reader"]

_KEYS = (b'"rrname"', b'"rrtype"', b'"rdata"')


def parse_time(value: object) -> datetime | None:
    """A COF time (epoch seconds, or ISO 8601 text) as UTC; None when absent.

    Raises MalformedInput when the value is present but is not a time.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise MalformedInput(f"time {value!r} is not a time")
    if isinstance(value, int | float):
        return _from_epoch(value, value)
    if isinstance(value, str):
        text = value.strip()
        if text.replace(".", "", 1).isdigit():
            return _from_epoch(float(text), value)
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise MalformedInput(f"time {value!r} is neither epoch seconds nor ISO 8601") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    raise MalformedInput(f"time {value!r} is not a time")


def _from_epoch(seconds: float, value: object) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise MalformedInput(f"time {value!r} is out of range") from None


class PassiveDnsReader:
    """Reads passive-DNS COF JSON; see the module docstring."""

    format = "passive-dns"
    description = "passive-DNS exports in COF JSON lines (Farsight DNSDB, CIRCL pDNS), maybe gzip"
    suffixes = (".jsonl", ".json", ".jsonl.gz", ".ndjson")
    signature = "JSON objects with rrname/rrtype/rdata keys (lines, an 'input' list, or DNSDB SAF)"

    def sniff(self, head: bytes, path: Path) -> float:
        inflated = inflated_head(head)
        if inflated is None:
            return 0.0
        head = inflated
        head = head.removeprefix(b"\xef\xbb\xbf").lstrip()
        if head[:1] not in (b"{", b"["):
            return 0.0
        first = head.split(b"\n", 1)[0]
        try:
            record = json_loads(first)
        except ValueError:
            record = None
        if isinstance(record, dict):
            if {"rrname", "rrtype"} <= record.keys() or "obj" in record:
                return 1.0
            if record.get("cond") == "begin":
                return 0.9
        if all(key in head for key in _KEYS):
            return 0.8 if b'"input"' in head or head[:1] == b"[" else 0.6
        return 0.0

    def read(self, path: Path) -> Iterator[ReadItem]:
        with open_maybe_gzip(path) as stream:
            yield from self._read_stream(stream, path)

    def _read_stream(self, stream: BufferedIOBase, path: Path) -> Iterator[ReadItem]:
        lines = bounded_lines(stream)
        first_line, skipped = b"", 0
        for raw in lines:
            if isinstance(raw, OverlongLine) or raw.strip():
                first_line = raw
                break
            skipped += 1
        if isinstance(first_line, bytes):
            first_line = first_line.removeprefix(b"\xef\xbb\xbf")
            try:
                first = json_loads(first_line)
            except ValueError:
                first = None
            if not isinstance(first, dict) or isinstance(first.get("input"), list):
                # One JSON document (pretty-printed, a list, or the 'input' form).
                yield from self._read_document(first_line + stream.read(), path)
                return
        number = 0
        conditions: list[str] = []
        for number, raw in enumerate(itertools.chain([first_line], lines), skipped + 1):
            at = self._at(path, f"line {number}")
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
            if isinstance(record, dict) and "cond" in record:
                conditions.append(str(record["cond"]))
                yield from self._condition(record, at)
                continue
            if isinstance(record, dict) and isinstance(record.get("obj"), dict):
                record = record["obj"]
            yield from self._record(record, at)
        if conditions and conditions[-1] not in ("succeeded", "limited", "failed"):
            yield ReadIssue(
                provenance=self._at(path, f"line {number}"),
                severity=Severity.WARNING,
                message="DNSDB stream ends without a 'succeeded' line: results may be incomplete",
            )

    def _read_document(self, data: bytes, path: Path) -> Iterator[ReadItem]:
        try:
            document = json_loads(data)
        except ValueError as exc:
            raise MalformedInput(f"neither JSON lines nor one JSON document: {exc}") from exc
        label = "record"
        if isinstance(document, dict) and isinstance(document.get("input"), list):
            records, label = document["input"], "input"
        elif isinstance(document, list):
            records = document
        elif isinstance(document, dict) and "rrname" in document:
            records = [document]
        else:
            raise MalformedInput("JSON without passive-DNS records (rrname/rrtype/rdata)")
        for index, record in enumerate(records):
            yield from self._record(record, self._at(path, f"{label}[{index}]"))

    def load_into(self, path: Path, store: Any, input_id: int) -> tuple[int, list[ReadIssue]]:
        """Load the whole file into `store` through DuckDB; same rows and issues as `read`."""
        from hostmap.ingest._pdns_bulk import load_into

        return load_into(self, path, store, input_id)

    def _condition(self, record: Mapping[str, Any], at: Provenance) -> Iterator[ReadItem]:
        """DNSDB SAF: 'limited' means results were cut short, 'failed' that the query failed."""
        cond, message = record.get("cond"), record.get("msg") or ""
        if cond == "limited":
            note = f"DNSDB results were limited: {message}".rstrip(": ")
            yield ReadIssue(provenance=at, severity=Severity.WARNING, message=note)
        elif cond == "failed":
            yield ReadIssue(provenance=at, message=f"DNSDB query failed: {message}".rstrip(": "))

    def _record(self, record: object, at: Provenance) -> Iterator[ReadItem]:
        try:
            found = _resolutions(record, at)
        except (MalformedInput, ValueError, OverflowError, OSError) as exc:
            yield ReadIssue(provenance=at, message=str(exc))
            return
        yield from found

    def _at(self, path: Path, locator: str) -> Provenance:
        return Provenance(file=str(path), format=self.format, locator=locator)


def _resolutions(record: object, at: Provenance) -> list[ReadItem]:
    """The Resolutions of one COF record; raises MalformedInput/ValueError when unusable."""
    if not isinstance(record, dict):
        raise MalformedInput(f"expected a JSON object, found {type(record).__name__}")
    missing = [key for key in ("rrname", "rrtype", "rdata") if key not in record]
    if missing:
        raise MalformedInput(f"no {', '.join(missing)}")
    name, rtype, rdata = record["rrname"], record["rrtype"], record["rdata"]
    if not isinstance(name, str) or not isinstance(rtype, str):
        raise MalformedInput("rrname and rrtype must be strings")
    values = rdata if isinstance(rdata, list) else [rdata]
    if not values or not all(isinstance(v, str) for v in values):
        raise MalformedInput(f"rdata {rdata!r} is not a string or a list of strings")
    first = parse_time(record.get("time_first"))
    last = parse_time(record.get("time_last"))
    if first is None and last is None:
        first = parse_time(record.get("zone_time_first"))
        last = parse_time(record.get("zone_time_last"))
    count = record.get("count")
    count = count if isinstance(count, int) and not isinstance(count, bool) else None
    found: list[ReadItem] = []
    for value in values:
        found.extend(
            record_resolutions(
                name,
                rtype,
                value,
                provenance=at,
                source=ResolutionSource.PASSIVE_DNS,
                first_seen=first,
                last_seen=last,
                count=count,
            )
        )
    return found


reader = PassiveDnsReader()
