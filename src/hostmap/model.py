"""The observations every reader produces and every analysis reads.

A reader turns a file into a stream of these small frozen records; each one
carries its `Provenance` (file, format, locator) so that any finding built on
it can cite the record it rests on.  Values are normalised once, here at the
edge: host names lower case without a trailing dot, addresses in their
canonical text form, times timezone-aware UTC.
"""

from __future__ import annotations

import enum
import functools
import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime

from hostmap.hostnames import normalize_hostname

__all__ = [
    "AddressInfo",
    "Certificate",
    "HttpExchange",
    "Observation",
    "Provenance",
    "ReadIssue",
    "RecordType",
    "Resolution",
    "ResolutionSource",
    "Severity",
    "normalize_address",
    "to_utc",
]


class RecordType(enum.StrEnum):
    A = "A"
    AAAA = "AAAA"
    CNAME = "CNAME"
    PTR = "PTR"
    NS = "NS"
    OTHER = "OTHER"


class ResolutionSource(enum.StrEnum):
    """Where a name-to-value record was seen; analyses weigh them differently."""

    CAPTURE = "capture"
    """A live DNS answer inside a traffic capture."""
    DIG = "dig"
    """A dig run saved as text: a snapshot at its `;; WHEN:` time."""
    ZONE = "zone"
    """A zone file: what the zone said, with no time of its own."""
    PASSIVE_DNS = "passive-dns"
    """Passive-DNS history: seen from time_first to time_last."""
    REVERSE_IP = "reverse-ip"
    """A reverse-IP listing: names bound to one address, optionally with date spans."""


class Severity(enum.StrEnum):
    WARNING = "warning"
    """Something was odd but nothing was lost."""
    ERROR = "error"
    """A record (or the rest of a file) could not be read."""


def to_utc(value: datetime) -> datetime:
    """Return `value` in UTC; a naive datetime is a programming error."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: readers must attach a time zone")
    return value.astimezone(UTC)


def normalize_address(text: str) -> str:
    """Canonical text of an IPv4/IPv6 address ('::ffff:1.2.3.4' stays IPv6).

    Raises ValueError when `text` is not an address.
    """
    if type(text) is str and len(text) <= _MEMO_LONGEST:
        return _memo_normalize_address(text)
    return _normalize_address(text)


def _normalize_address(text: str) -> str:
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return str(ipaddress.ip_address(text.split("%", 1)[0]))


_memo_normalize_address = functools.lru_cache(maxsize=16_384)(_normalize_address)
"""Captures repeat their addresses; a text that is not one raises each time (not memoized)."""
_MEMO_LONGEST = 64
"""Longer texts (an address is at most 45 characters, then a scope id) are not memoized."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Provenance:
    """Where an observation came from, precise enough to open the record again."""

    file: str
    """The input path as the user gave it (or as found under a given folder)."""
    format: str
    """The reader's format name, e.g. "har"."""
    locator: str
    """Where inside the file: "entry 17", "flow 3", "line 42", "frame 2041"."""

    def __str__(self) -> str:
        return f"{self.file}: {self.locator}" if self.locator else self.file


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpExchange:
    """At time t a client asked scheme://host:port/path; the server was at an address."""

    provenance: Provenance
    host: str
    """The requested host name (or address literal), normalised."""
    port: int
    scheme: str = "http"
    method: str | None = None
    path: str | None = None
    status: int | None = None
    time: datetime | None = None
    server_address: str | None = None
    """The address the client actually connected to, when the capture recorded it."""
    sni: str | None = None
    request_headers: tuple[tuple[str, str], ...] = ()
    response_headers: tuple[tuple[str, str], ...] = ()
    redirect_url: str | None = None
    """The response's Location (or HAR redirectURL), if any."""
    body_urls: tuple[str, ...] = ()
    """Absolute http(s) URLs found in the response body (JSON, HTML, JS)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "host", normalize_hostname(self.host))
        object.__setattr__(self, "scheme", self.scheme.lower())
        if self.sni is not None:
            object.__setattr__(self, "sni", normalize_hostname(self.sni) or None)
        if self.time is not None:
            object.__setattr__(self, "time", to_utc(self.time))
        if self.server_address is not None:
            object.__setattr__(self, "server_address", normalize_address(self.server_address))
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port {self.port} out of range")


@dataclass(frozen=True, slots=True, kw_only=True)
class Resolution:
    """Name N had record type T with value V, seen from t1 to t2, from source K."""

    provenance: Provenance
    name: str
    rtype: RecordType
    value: str
    """An address in canonical text, a target host name, or raw text for OTHER."""
    source: ResolutionSource
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    count: int | None = None
    """How often passive DNS saw it, where the source says."""
    raw_type: str | None = None
    """The record type as the source spelled it, kept when rtype is OTHER."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", normalize_hostname(self.name))
        if self.rtype in (RecordType.A, RecordType.AAAA):
            object.__setattr__(self, "value", normalize_address(self.value))
        elif self.rtype in (RecordType.CNAME, RecordType.PTR, RecordType.NS):
            object.__setattr__(self, "value", normalize_hostname(self.value))
        for name in ("first_seen", "last_seen"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, to_utc(value))
        if self.first_seen and self.last_seen and self.last_seen < self.first_seen:
            raise ValueError(f"last seen {self.last_seen} before first seen {self.first_seen}")


@dataclass(frozen=True, slots=True, kw_only=True)
class AddressInfo:
    """Addresses range_start..range_end belong to an operator (ASN), at a place."""

    provenance: Provenance
    range_start: str
    range_end: str
    asn: int | None = None
    operator: str | None = None
    country: str | None = None
    region: str | None = None
    city: str | None = None

    def __post_init__(self) -> None:
        start = ipaddress.ip_address(normalize_address(self.range_start))
        end = ipaddress.ip_address(normalize_address(self.range_end))
        if start.version != end.version or end < start:
            raise ValueError(f"bad address range {self.range_start}-{self.range_end}")
        object.__setattr__(self, "range_start", str(start))
        object.__setattr__(self, "range_end", str(end))


@dataclass(frozen=True, slots=True, kw_only=True)
class Certificate:
    """An endpoint presented a certificate (fingerprint, subject, SANs, validity)."""

    provenance: Provenance
    host: str
    """The host name the client asked for (SNI or request host)."""
    fingerprint_sha256: str
    port: int | None = None
    address: str | None = None
    subject: str | None = None
    issuer: str | None = None
    sans: tuple[str, ...] = ()
    not_before: datetime | None = None
    not_after: datetime | None = None
    time: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "host", normalize_hostname(self.host))
        if self.address is not None:
            object.__setattr__(self, "address", normalize_address(self.address))
        for name in ("not_before", "not_after", "time"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, to_utc(value))


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadIssue:
    """A record (or the rest of a file) that could not be read, and why."""

    provenance: Provenance
    message: str
    """One line: a message with line breaks (some library errors have them) is joined."""
    severity: Severity = Severity.ERROR

    def __post_init__(self) -> None:
        if "\n" in self.message or "\r" in self.message:
            object.__setattr__(self, "message", " ".join(self.message.split()))

    def __str__(self) -> str:
        return f"{self.provenance}: {self.message}"


Observation = HttpExchange | Resolution | AddressInfo | Certificate
