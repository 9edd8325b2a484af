"""Zeek (formerly Bro) logs: dns.log, http.log, ssl.log, x509.log and conn.log.

Zeek writes a log as TSV under header blocks (`#separator \\x09`,
`#set_separator`, `#empty_field`, `#unset_field`, `#path`, `#fields`,
`#types`; a file may hold several) or as JSON lines with dotted keys
("id.resp_h") that leave unset fields out.  The kind is the TSV `#path` (or
a JSON `_path`), else told by the keys (`query` dns, `method`/`uri` http,
`server_name`/`cipher` ssl, `certificate.subject`/`fingerprint` x509,
`proto`+`conn_state` conn), else by the file name ('zat-json-dns.log').
Other kinds (weird, files, ...) get one WARNING and are not read.  Locators
are "line N" (1-based physical lines).

- dns: one `Resolution` (source CAPTURE, first_seen = last_seen = ts) per
  answer; rejected or unanswered queries give nothing.  Zeek flattens the
  answer section, so for A/AAAA/CNAME queries the names are the CNAME chain
  in order and the addresses belong to its end: query Q with answers
  [c1, c2, ip] gives Q CNAME c1, c1 CNAME c2, c2 A ip.  For PTR (and NS)
  queries a name answer is a PTR (NS) record; a PTR from a full reverse name
  also yields <name> A/AAAA <decoded address> (see `zone_file`).  Any other
  answer (TXT, SRV, MX, NB, or an answer to a response without a question
  type, as in mDNS) is kept as `RecordType.OTHER` with raw_type = qtype_name
  (None when unset).
- http: an `HttpExchange` (scheme http) for host (without a port; the
  address when there is no `host`), id.resp_p, id.resp_h, method, uri,
  status_code, ts and the User-Agent request header.
- ssl: an `HttpExchange` (https) for server_name (sni), else the address.
- x509: a `Certificate` for the first DNS SAN, else the subject CN; CA
  certificates (basic_constraints.ca) are skipped, being no endpoint's.
  `fingerprint` (Zeek 5+) is SHA-256 by default; a SHA-1 or MD5 value
  (X509::hash_function changed) is kept as "sha1:<hex>" / "md5:<hex>", which
  never equals a SHA-256, so it only matches itself.  Older logs carry just a
  file id: those certificates are skipped, with one WARNING for the file.
- conn: an `HttpExchange` per connection (scheme: the first confirmed
  service, else proto; "ssl" becomes "https"), so every responder address and port is
  known.
  Multicast responders (224.0.0.0/4, ff00::/8: mDNS, LLMNR, SSDP) are skipped
  silently; broadcast ones are kept (a log cannot tell x.y.z.255 from a host).

A masked `ts` ("XXXXXXXXXX.XXXXXX" in Zeek's BTest baselines) leaves the time
empty, with one WARNING for the file.  A bad line (wrong field count, bad
number, bad JSON, missing responder) becomes a `ReadIssue` and reading goes on.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from hostmap.errors import MalformedInput
from hostmap.hostnames import is_address
from hostmap.ingest._lines import OverlongLine, bounded_lines, json_loads
from hostmap.ingest._reader import ReadItem
from hostmap.ingest.passive_dns import parse_time
from hostmap.ingest.zone_file import record_resolutions
from hostmap.model import (
    Certificate,
    HttpExchange,
    Observation,
    Provenance,
    ReadIssue,
    RecordType,
    Resolution,
    ResolutionSource,
    Severity,
    normalize_address,
)

__all__ = ["ZeekLogsReader", "reader"]

_SERVICE_SCHEMES = {"ssl": "https"}

Record = Mapping[str, Any]

_ESCAPE = re.compile(r"\\x([0-9a-fA-F]{2})")
_NAME = re.compile(r"[A-Za-z0-9_*-]+(?:\.[A-Za-z0-9_*-]+)*\.?")
_CN = re.compile(r"(?:^|,)\s*CN=((?:\\.|[^,\\])*)")
_JSON_MARKS = ("uid", "id.orig_h", "fuid", "fingerprint", "certificate.subject", "_path")
_KINDS = ("dns", "http", "ssl", "x509", "conn")
_CHAIN_TYPES = frozenset({"A", "AAAA", "CNAME"})
_FINGERPRINT_ALGORITHMS = {64: "", 40: "sha1:", 32: "md5:"}


def _kind_from_keys(keys: Mapping[str, Any] | list[str]) -> str | None:
    """The log kind a record's (or a #fields line's) field names point to."""
    if "certificate.subject" in keys or "fingerprint" in keys or "san.dns" in keys:
        return "x509"
    if "query" in keys and ("qtype_name" in keys or "answers" in keys or "trans_id" in keys):
        return "dns"
    if ("method" in keys or "uri" in keys) and "call_id" not in keys:  # call_id: sip.log
        return "http"
    if "server_name" in keys or "cipher" in keys:
        return "ssl"
    if "proto" in keys and "conn_state" in keys:
        return "conn"
    return None


def _kind_from_name(path: Path) -> str | None:
    """'dns.log', 'zat-json-dns.log', 'http.00:00:00-01:00:00.log' name their kind."""
    tokens = re.split(r"[^a-z0-9]+", path.name.lower())
    return next((token for token in tokens if token in _KINDS), None)


def _unescape(text: str) -> str:
    """Zeek writes separators and non-printable bytes inside values as \\xNN."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text) if "\\x" in text else text


def _text(record: Record, key: str) -> str | None:
    value = record.get(key)
    if value is None or value == "" or isinstance(value, list | dict):
        return None
    return str(value)


def _required(record: Record, key: str) -> str:
    value = _text(record, key)
    if value is None:
        raise MalformedInput(f"no {key}")
    return value


def _list(record: Record, key: str) -> list[str]:
    """A set/vector field: a JSON list, a TSV list, or text with ',' between items."""
    value = record.get(key)
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    return [str(item) for item in items if item is not None and item != ""]


def _number(record: Record, key: str, *, required: bool = False) -> int | None:
    value = record.get(key)
    if value is None or value == "":
        if required:
            raise MalformedInput(f"no {key}")
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise MalformedInput(f"{key} is {value!r}, expected a number")


def _port(record: Record) -> int:
    return _number(record, "id.resp_p", required=True) or 0


def _is_name(text: str) -> bool:
    return _NAME.fullmatch(text) is not None and not is_address(text)


def _without_port(host: str) -> str:
    """The HTTP Host header may carry a port ('a.example:8080', '[2001:db8::1]:80')."""
    if host.startswith("[") and "]" in host:
        return host[1 : host.index("]")]
    name, colon, port = host.rpartition(":")
    return name if colon and port.isdigit() and ":" not in name else host


def _time(record: Record, key: str = "ts") -> tuple[datetime | None, bool]:
    """(time, masked): BTest baselines mask ts as 'XXXXXXXXXX.XXXXXX'."""
    value = record.get(key)
    if isinstance(value, str) and "X" in value and not value.strip("X."):
        return None, True
    try:
        return parse_time(value), False
    except (MalformedInput, ValueError, OverflowError, OSError) as exc:
        raise MalformedInput(f"{key} {value!r} is not a time") from exc


def _dns(record: Record, at: Provenance, when: datetime | None) -> Iterator[Observation]:
    query, answers = _text(record, "query"), _list(record, "answers")
    if not query or not answers or record.get("rejected") in (True, "T"):
        return
    qtype = _text(record, "qtype_name")
    make = functools.partial(
        Resolution, provenance=at, source=ResolutionSource.CAPTURE, first_seen=when, last_seen=when
    )
    tail = query  # the end of the CNAME chain so far
    for answer in answers:
        if qtype in _CHAIN_TYPES and is_address(answer):
            family = RecordType.AAAA if ":" in answer else RecordType.A
            yield make(name=tail, rtype=family, value=answer)
        elif qtype in _CHAIN_TYPES and _is_name(answer):
            yield make(name=tail, rtype=RecordType.CNAME, value=answer)
            tail = answer
        elif qtype in ("PTR", "NS") and _is_name(answer):
            yield from record_resolutions(
                query, qtype, answer, provenance=at, source=ResolutionSource.CAPTURE,
                first_seen=when, last_seen=when,
            )  # fmt: skip
        else:
            yield make(name=query, rtype=RecordType.OTHER, value=answer, raw_type=qtype)


def _exchange(
    record: Record, at: Provenance, when: datetime | None, scheme: str, name: str | None = None
) -> HttpExchange:
    """What http, ssl and conn records share: host `name` (else the responder) at id.resp_*."""
    address, agent = _required(record, "id.resp_h"), _text(record, "user_agent")
    return HttpExchange(
        provenance=at,
        host=name or address,
        port=_port(record),
        scheme=scheme,
        method=_text(record, "method"),
        path=_text(record, "uri"),
        status=_status(record),
        time=when,
        server_address=address,
        sni=name if scheme == "https" else None,
        request_headers=(("User-Agent", agent),) if agent else (),
    )


def _status(record: Record) -> int | None:
    """The HTTP status, or None when absent, 0 or no three-digit status (an 18-digit one)."""
    status = _number(record, "status_code")
    return status if status is not None and 100 <= status <= 999 else None


def _http(record: Record, at: Provenance, when: datetime | None) -> Iterator[ReadItem]:
    host = _text(record, "host")
    status = _number(record, "status_code")
    if status and _status(record) is None:
        yield ReadIssue(provenance=at, severity=Severity.WARNING,
                        message=f"status_code {status} is not an HTTP status: left empty")
    yield _exchange(record, at, when, "http", _without_port(host) if host else None)


def _ssl(record: Record, at: Provenance, when: datetime | None) -> Iterator[Observation]:
    yield _exchange(record, at, when, "https", _text(record, "server_name"))


def _fingerprint(record: Record) -> str | None:
    """The certificate hash as hex; non-SHA-256 hashes get an 'algo:' prefix."""
    value = (_text(record, "fingerprint") or "").replace(":", "").lower()
    prefix = _FINGERPRINT_ALGORITHMS.get(len(value))
    if prefix is None or not all(c in "0123456789abcdef" for c in value):
        return None
    return prefix + value


def _x509(record: Record, at: Provenance, when: datetime | None) -> Iterator[ReadItem]:
    fingerprint = _fingerprint(record)
    if fingerprint is None or record.get("basic_constraints.ca") in (True, "T"):
        return  # a CA certificate is no endpoint's; no fingerprint: counted by the caller
    subject, sans = _text(record, "certificate.subject"), tuple(_list(record, "san.dns"))
    match = _CN.search(subject or "")
    common_name = re.sub(r"\\(.)", r"\1", match.group(1)).strip() if match else ""
    host = sans[0] if sans else common_name
    if not _is_name(host):
        message = f"certificate with no DNS SAN and no host-name CN ({subject!r}): skipped"
        yield ReadIssue(provenance=at, message=message, severity=Severity.WARNING)
        return
    address = _text(record, "id.resp_h")
    yield Certificate(
        provenance=at,
        host=host,
        fingerprint_sha256=fingerprint,
        port=_port(record) if address else None,
        address=address,
        subject=subject,
        issuer=_text(record, "certificate.issuer"),
        sans=sans,
        not_before=_time(record, "certificate.not_valid_before")[0],
        not_after=_time(record, "certificate.not_valid_after")[0],
        time=when,
    )


def _conn(record: Record, at: Provenance, when: datetime | None) -> Iterator[Observation]:
    if ipaddress.ip_address(normalize_address(_required(record, "id.resp_h"))).is_multicast:
        return
    # Zeek 6.1+ lists services whose analyzer failed with a leading '-'.
    services = [s.strip() for s in _list(record, "service") if not s.startswith("-")]
    scheme = services[0] if services else _required(record, "proto")
    # Zeek names TLS "ssl"; calling it https lets a connection and its ssl.log record meet
    # as one endpoint.
    yield _exchange(record, at, when, _SERVICE_SCHEMES.get(scheme, scheme))


_Builder = Callable[[Record, Provenance, datetime | None], Iterator[Any]]
_BUILDERS: dict[str, _Builder] = dict(dns=_dns, http=_http, ssl=_ssl, x509=_x509, conn=_conn)


class _LogFile:
    """The reading state of one file: the current TSV header and the per-file warnings."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.separator, self.set_separator = "\t", ","
        self.empty_field, self.unset_field = "(empty)", "-"
        self.fields: list[str] | None = None
        self.types: list[str] = []
        self.path: str | None = None  # the block's #path
        self.kind: str | None = None
        self.json_kind: str | None = None
        self.warned: set[str] = set()
        self.unfingerprinted: list[int] = []

    def at(self, number: int) -> Provenance:
        return Provenance(file=str(self.file), format="zeek", locator=f"line {number}")

    def warn_once(self, key: str, number: int, message: str) -> Iterator[ReadIssue]:
        if key not in self.warned:
            self.warned.add(key)
            yield ReadIssue(provenance=self.at(number), message=message, severity=Severity.WARNING)

    def read(self, stream: Iterable[bytes]) -> Iterator[ReadItem]:
        for number, raw in enumerate(bounded_lines(stream), 1):
            if isinstance(raw, OverlongLine):
                yield ReadIssue(provenance=self.at(number), message=raw.message())
                continue
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if not line.strip():
                continue
            if line.startswith("#"):
                yield from self._header(line, number)
                continue
            try:
                kind, record = self._json(line) if line.startswith("{") else self._row(line)
            except MalformedInput as exc:
                yield ReadIssue(provenance=self.at(number), message=str(exc))
                continue
            yield from self._record(kind, record, number)
        if self.unfingerprinted:
            count, first = len(self.unfingerprinted), self.unfingerprinted[0]
            message = f"{count} x509 records without a fingerprint (Zeek < 5 logs): skipped"
            yield from self.warn_once("x509", first, message)

    def _header(self, line: str, number: int) -> Iterator[ReadItem]:
        if line.startswith("#separator "):
            self.separator = _unescape(line.removeprefix("#separator "))
            self.fields, self.path, self.kind = None, None, None  # a new header block
            return
        parts = line.split(self.separator) if self.separator in line else line.split()
        name, values = parts[0][1:], [_unescape(part) for part in parts[1:]]
        if name in ("set_separator", "empty_field", "unset_field", "path") and values:
            setattr(self, name, values[0])
        elif name == "types":
            self.types = values
        elif name == "fields":
            self.fields, self.types = values, []
            self.kind = self.path or _kind_from_keys(values) or _kind_from_name(self.file)
            yield from self._unused(self.kind, number)

    def _unused(self, kind: str | None, number: int) -> Iterator[ReadIssue]:
        if kind not in _BUILDERS:
            label = f"zeek {kind} log" if kind else "zeek log of a kind not told by keys or name"
            yield from self.warn_once(f"kind {kind}", number, f"{label}: not used by hostmap")

    def _json(self, line: str) -> tuple[str | None, Record]:
        try:
            record = json_loads(line)
        except ValueError as exc:
            raise MalformedInput(f"not JSON: {exc}") from None
        if not isinstance(record, dict):
            raise MalformedInput(f"expected a JSON object, found {type(record).__name__}")
        if self.json_kind is None:
            self.json_kind = _kind_from_keys(record) or _kind_from_name(self.file)
        return record.get("_path") or self.json_kind, record

    def _row(self, line: str) -> tuple[str | None, Record]:
        if self.fields is None:
            raise MalformedInput("a data line before any #fields header")
        values = line.split(self.separator)
        if len(values) != len(self.fields):
            raise MalformedInput(f"{len(values)} fields, expected {len(self.fields)}")
        types = self.types if len(self.types) == len(values) else [""] * len(values)
        record: dict[str, Any] = {}
        for name, type_name, value in zip(self.fields, types, values, strict=True):
            container = type_name.startswith(("set[", "vector[", "table["))
            if value == self.unset_field:
                continue
            if value == self.empty_field:
                record[name] = [] if container else ""
            elif container:
                record[name] = [_unescape(item) for item in value.split(self.set_separator)]
            else:
                record[name] = _unescape(value)
        return self.kind, record

    def _record(self, kind: str | None, record: Record, number: int) -> Iterator[ReadItem]:
        builder = _BUILDERS.get(kind or "")
        if builder is None:
            yield from self._unused(kind, number)
            return
        at = self.at(number)
        if kind == "x509" and _fingerprint(record) is None:
            self.unfingerprinted.append(number)
            return
        try:
            when, masked = _time(record)
            if masked:
                note = "ts is masked (XXXXXXXXXX.XXXXXX): times are left empty"
                yield from self.warn_once("masked", number, note)
            yield from list(builder(record, at, when))
        except (MalformedInput, ValueError) as exc:
            yield ReadIssue(provenance=at, message=str(exc))


class ZeekLogsReader:
    """Reads Zeek dns/http/ssl/x509/conn logs, TSV or JSON; see the module docstring."""

    format = "zeek"
    description = "Zeek (Bro) dns, http, ssl, x509 and conn logs, as TSV or JSON lines"
    suffixes = (".log",)
    signature = "TSV with '#separator'/'#fields' headers, or JSON lines with ts and uid/id.orig_h"

    def sniff(self, head: bytes, path: Path) -> float:
        head = head.removeprefix(b"\xef\xbb\xbf")
        rest = head.partition(b"\n")[2]
        if head.startswith(b"#separator ") or rest.startswith(b"#separator "):
            return 1.0  # the second line: BTest baselines open with a '### BTest' comment
        if head.startswith(b"#fields\t") or b"\n#fields\t" in head:
            return 1.0
        first = head.lstrip().split(b"\n", 1)[0]
        try:
            record = json_loads(first)
        except ValueError:
            return 0.0
        if isinstance(record, dict) and "ts" in record:
            return 0.95 if any(key in record for key in _JSON_MARKS) else 0.0
        return 0.0

    def read(self, path: Path) -> Iterator[ReadItem]:
        with path.open("rb") as stream:
            yield from _LogFile(path).read(stream)


reader = ZeekLogsReader()
