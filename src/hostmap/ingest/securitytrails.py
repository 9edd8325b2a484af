"""SecurityTrails DNS history: the API v1 answer to `/v1/history/{hostname}/dns/{type}`.

One JSON page per request (SecurityTrails API reference, "DNS history by
record type"; `type` is a, aaaa, mx, ns, soa or txt):

    {"endpoint": "/v1/history/www.example.com/dns/a", "pages": 1, "type": "a/ipv4",
     "records": [{"first_seen": "2021-12-29", "last_seen": "2022-06-14",
                  "organizations": ["Example Net"], "type": "a",
                  "values": [{"ip": "192.0.2.1", "ip_count": 3}]}]}

Each value holds the record data under a key that depends on the type:
`ip` (a), `ipv6` (aaaa), `nameserver` (ns), `hostname` plus `priority` (mx),
`email` (soa), `value` (txt).  The host name comes from `endpoint`, or, when
the page was saved without it, from the file name: `<host>.json`, with an
optional `securitytrails-`/`history-` before and `-a`, `_dns_aaaa`, ... after
the host.  Several pages saved one per line (`jq -c`) are read as JSON lines.

Each value becomes a `Resolution(name=host, ..., source=PASSIVE_DNS)`: A and
AAAA with the address, NS with the name server, MX/SOA/TXT as OTHER with the
text.  Dates are whole UTC days (as in `reverse_ip`): first_seen at 00:00:00,
last_seen at 23:59:59.  `ip_count` is how many hosts share the address, not
how often it was seen, so it is not kept as `count`.  Locators:
"records[i].values[j]" (a whole record: "records[i]"), prefixed "line N: " for
pages saved one per line.  A bad
record becomes a `ReadIssue` and reading goes on; a page with no `records`
(an API error such as {"message": "..."}) raises `MalformedInput`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from hostmap.errors import MalformedInput
from hostmap.ingest._lines import OverlongLine, bounded_lines, json_loads
from hostmap.ingest._reader import ReadItem
from hostmap.ingest.passive_dns import parse_time
from hostmap.ingest.reverse_ip import _span, is_plausible_host
from hostmap.ingest.zone_file import record_resolutions
from hostmap.model import Provenance, ReadIssue, ResolutionSource

__all__ = ["SecurityTrailsReader", "host_from_file_name", "reader"]

_ENDPOINT = re.compile(r"/history/(?P<host>[^/?\s]+)/dns/(?P<type>[a-z]+)", re.IGNORECASE)
_FILE_NAME = re.compile(
    r"(?:securitytrails[-_.]|history[-_.])?(?P<host>.+?)"
    r"(?:[-_.](?:dns[-_.])?(?:a|aaaa|ns|mx|soa|txt))?\.json",
    re.IGNORECASE,
)
_DATE_ONLY = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
_VALUE_KEYS = {
    "a": "ip",
    "aaaa": "ipv6",
    "ns": "nameserver",
    "mx": "hostname",
    "soa": "email",
    "txt": "value",
}
_HEAD_ENDPOINT = re.compile(rb'"endpoint"\s*:\s*"/v1/history/[^"/]+/dns/')
_HEAD_KEYS = (b'"records"', b'"values"', b'"first_seen"')


def host_from_file_name(path: Path) -> str | None:
    """The host in a file name such as 'securitytrails-www.example.com-a.json', else None."""
    match = _FILE_NAME.fullmatch(path.name)
    if match and is_plausible_host(match.group("host")):
        return match.group("host")
    return None


class SecurityTrailsReader:
    """Reads SecurityTrails DNS history pages; see the module docstring."""

    format = "securitytrails"
    description = "SecurityTrails API v1 DNS history pages (/history/<host>/dns/a, aaaa, ns, mx)"
    suffixes = (".json",)
    signature = "JSON with 'records' of values/first_seen/last_seen, endpoint /v1/history/..."

    def sniff(self, head: bytes, path: Path) -> float:
        head = head.removeprefix(b"\xef\xbb\xbf").lstrip()
        if head[:1] != b"{":
            return 0.0
        if _HEAD_ENDPOINT.search(head) and b'"records"' in head:
            return 1.0
        if all(key in head for key in _HEAD_KEYS) and b'"rrname"' not in head:
            return 0.8
        return 0.0

    def read(self, path: Path) -> Iterator[ReadItem]:
        with path.open("rb") as stream:
            lines = bounded_lines(stream)
            first_line: bytes | OverlongLine = b""
            skipped = 0
            for raw in lines:
                if isinstance(raw, OverlongLine) or raw.strip():
                    first_line = raw
                    break
                skipped += 1
            first: object = None
            if isinstance(first_line, bytes):
                first_line = first_line.removeprefix(b"\xef\xbb\xbf")
                try:
                    first = json_loads(first_line)
                except ValueError:
                    first = None
            if isinstance(first_line, bytes) and not isinstance(first, dict):
                # One pretty-printed page: small (at most 100 records), read whole.
                try:
                    page = json_loads(first_line + stream.read())
                except ValueError as exc:
                    raise MalformedInput(f"not a JSON page: {exc}") from exc
                if not isinstance(page, dict):
                    raise MalformedInput("expected a JSON object, not a SecurityTrails page")
                yield from self._page(page, path, "")
                return
            # Compact pages, one per line (a single compact page is the one-line case).
            for number, raw in enumerate(itertools.chain([first_line], lines), skipped + 1):
                at = self._at(path, f"line {number}")
                if isinstance(raw, OverlongLine):
                    yield ReadIssue(provenance=at, message=raw.message())
                    continue
                if not raw.strip():
                    continue
                try:
                    page = json_loads(raw)
                except ValueError as exc:
                    yield ReadIssue(provenance=at, message=f"not JSON: {exc}")
                    continue
                if not isinstance(page, dict):
                    yield ReadIssue(provenance=at, message="expected a JSON object")
                    continue
                try:
                    yield from self._page(page, path, f"line {number}: ")
                except MalformedInput as exc:
                    if number == skipped + 1:
                        raise  # the first page is unusable: so is the file (an API error)
                    yield ReadIssue(provenance=at, message=str(exc))

    def _page(self, page: Mapping[str, Any], path: Path, prefix: str) -> Iterator[ReadItem]:
        records = page.get("records")
        if not isinstance(records, list):
            message = page.get("message") or page.get("error")
            if message:
                raise MalformedInput(f"SecurityTrails answered: {message}")
            raise MalformedInput("no 'records' list: not a SecurityTrails history page")
        endpoint = _ENDPOINT.search(str(page.get("endpoint") or ""))
        host = endpoint.group("host") if endpoint else host_from_file_name(path)
        if host is None:
            raise MalformedInput(
                "no host name: the page has no 'endpoint'; name the file <host>.json"
            )
        page_type = endpoint.group("type") if endpoint else str(page.get("type") or "")
        page_type = page_type.split("/", 1)[0].lower()
        for index, record in enumerate(records):
            at = self._at(path, f"{prefix}records[{index}]")
            try:
                yield from _record(record, host, page_type, at)
            except (MalformedInput, ValueError, OverflowError) as exc:
                yield ReadIssue(provenance=at, message=str(exc))

    def _at(self, path: Path, locator: str) -> Provenance:
        return Provenance(file=str(path), format=self.format, locator=locator)


def _record(record: object, host: str, page_type: str, at: Provenance) -> Iterator[ReadItem]:
    """The Resolutions of one history record (one span, several values)."""
    if not isinstance(record, dict):
        raise MalformedInput(f"expected a JSON object, found {type(record).__name__}")
    values = record.get("values")
    if not isinstance(values, list):
        raise MalformedInput("no 'values' list")
    rtype = str(record.get("type") or page_type).lower()
    key = _VALUE_KEYS.get(rtype)
    if key is None:
        raise MalformedInput(f"record type {rtype!r} is not one SecurityTrails documents")
    first, last = _seen(record.get("first_seen")), _seen(record.get("last_seen"), end=True)
    for index, value in enumerate(values):
        here = Provenance(file=at.file, format=at.format, locator=f"{at.locator}.values[{index}]")
        try:
            data = _value_text(value, key, rtype)
            found = record_resolutions(
                host,
                rtype.upper(),
                data,
                provenance=here,
                source=ResolutionSource.PASSIVE_DNS,
                first_seen=first,
                last_seen=last,
            )
        except (MalformedInput, ValueError) as exc:
            yield ReadIssue(provenance=here, message=str(exc))
            continue
        yield from found


def _value_text(value: object, key: str, rtype: str) -> str:
    if not isinstance(value, dict) or not isinstance(value.get(key), str) or not value[key]:
        raise MalformedInput(f"a {rtype} value needs a {key!r} string, found {value!r:.80}")
    text: str = value[key]
    if rtype == "mx" and isinstance(value.get("priority"), int):
        text = f"{value['priority']} {text}"  # the zone-file spelling of MX data
    return text


def _seen(value: object, *, end: bool = False) -> datetime | None:
    """A SecurityTrails date ('2022-06-14') as a whole UTC day; other times via parse_time."""
    if isinstance(value, str) and _DATE_ONLY.fullmatch(value.strip()):
        try:
            start, stop = _span(value.strip(), value.strip())
        except ValueError as exc:
            raise MalformedInput(f"date {value!r} is not a date: {exc}") from None
        return stop if end else start
    return parse_time(value)


reader = SecurityTrailsReader()
