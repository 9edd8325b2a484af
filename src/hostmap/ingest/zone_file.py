"""BIND master-format zone files (RFC 1035 §5.1), as BIND, NSD, Knot and octoDNS write them.

The file is cut into entries (one record, or several physical lines joined by
parentheses) and each entry is parsed on its own with dnspython's rdata
parser, so one bad record becomes a `ReadIssue` naming its line and the rest
of the zone still loads.  (A whole-file `dns.zone.from_file` stops at the
first bad record: the TLSA record on line 60 of the corpus file
`octodns-bind-unit.tests.zone`, the `ech="abcd"` SVCB/HTTPS records on lines
260 and 267 of `dnspython-tests-example.zone`.)

Directives: `$ORIGIN` (relative to the current origin, and it may change
anywhere), `$TTL`, and `$GENERATE` (expanded by dnspython) are honoured;
`$INCLUDE` is reported and not followed: hostmap reads only the files it is
given.  The origin, before any `$ORIGIN`, comes from an SOA with an absolute
owner, else from the file name ('unit.tests.zone' -> 'unit.tests.',
'db.example.com' -> 'example.com.', 'named.root' or '*.root' -> '.'); a
relative owner read under a file-name origin gets a WARNING once.  No SOA is
required (root hints load as they are).

Every record becomes a `Resolution` (source ZONE, no times, locator "line N"
of the entry's first line).  Types other than A/AAAA/CNAME/PTR/NS are kept as
`RecordType.OTHER` with the rdata text.  A PTR whose owner is a full reverse
name (x.y.z.w.in-addr.arpa or 32 nibbles of ip6.arpa) also yields the fact
the other way round: `Resolution(name=<PTR target>, rtype=A/AAAA,
value=<decoded address>)`, so analyses learn "host -> address" from reverse
zones.

Speed: most records are one line of a common shape (`www 300 IN A 192.0.2.1`);
`_zone_fast` reads those with string operations and dnspython's rdata classes
and hands everything else (parentheses, escapes, directives, SOA, odd TTLs or
classes, anything it would reject) to the full path below, so the items are the
same either way, in the same order.

dig prints records in this same syntax, and passive DNS carries the same
(name, type, rdata) triples, so `paren_depth`, `parse_record` and
`record_resolutions` are shared with `dig_output` and `passive_dns`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.reversename
import dns.tokenizer
import dns.ttl
import dns.zone

from hostmap.errors import MalformedInput
from hostmap.ingest import _zone_fast
from hostmap.ingest._reader import ReadItem
from hostmap.model import (
    Provenance,
    ReadIssue,
    RecordType,
    Resolution,
    ResolutionSource,
    Severity,
)

__all__ = [
    "RecordError",
    "ZoneFileReader",
    "paren_depth",
    "parse_record",
    "rdata_fields",
    "reader",
    "record_resolutions",
    "reverse_address",
]

_DIRECT_TYPES = {t.value: t for t in RecordType if t is not RecordType.OTHER}
_TOKEN = re.compile(r"(?:\\.|[^\s\\])+")
_ROOT_FILE_NAMES = ("named.root", "named.cache", "root.hints", "db.root", "db.cache", "root.zone")
_STRIP_SUFFIXES = (".zone", ".db", ".txt", ".dns", ".fwd", ".rev", ".hosts")
_DIG_MARKERS = (b"<<>> DiG", b";; ANSWER SECTION:", b";; Got answer:", b";; QUESTION SECTION:")
_DIRECTIVE = re.compile(rb"^\$(ORIGIN|TTL|INCLUDE|GENERATE)\s", re.MULTILINE | re.IGNORECASE)
_SOA_LINE = re.compile(rb"^\S*[ \t]+(?:\S+[ \t]+){0,2}SOA[ \t]", re.MULTILINE | re.IGNORECASE)
_RR_LINE = re.compile(
    rb"^\S+[ \t]+(?:\d+[ \t]+)?(?:IN[ \t]+)?(?:\d+[ \t]+)?(?:A|AAAA|NS|CNAME|PTR|MX|TXT)[ \t]",
    re.MULTILINE | re.IGNORECASE,
)


class RecordError(MalformedInput):
    """A record's text could not be parsed; `line_offset` counts lines into the entry."""

    def __init__(self, message: str, line_offset: int = 0) -> None:
        super().__init__(message)
        self.line_offset = line_offset


def paren_depth(text: str, depth: int = 0) -> int:
    """Open-parenthesis depth after `text`, skipping quoted strings, escapes and ; comments."""
    quoted = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif char == ";":
            break
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
    return depth


def parse_record(
    text: str, origin: dns.name.Name, last_owner: dns.name.Name | None = None
) -> tuple[dns.name.Name, dns.rdata.Rdata]:
    """Parse one master-file record `owner [ttl] [class] type rdata` (RFC 1035 §5.1).

    Text starting with white space has no owner and reuses `last_owner`.  TTL
    and class may come in either order and may be missing.  Raises `RecordError`.
    """
    tokens = list(_TOKEN.finditer(text))
    if not tokens:
        raise RecordError("empty record")
    index = 0
    try:
        if text[0].isspace():
            if last_owner is None:
                raise RecordError("no owner name, and no earlier record to take it from")
            owner = last_owner
        else:
            first = tokens[0].group()
            owner = origin if first == "@" else dns.name.from_text(first, origin)
            index = 1
        rdclass = dns.rdataclass.IN
        seen_ttl = seen_class = False
        while index < len(tokens) - 1 and not (seen_ttl and seen_class):
            token = tokens[index].group()
            if not seen_ttl and token[0].isdigit() and _parses(dns.ttl.from_text, token):
                seen_ttl = True
            elif not seen_class and _parses(dns.rdataclass.from_text, token):
                rdclass, seen_class = dns.rdataclass.from_text(token), True
            else:
                break
            index += 1
        if index >= len(tokens):
            raise RecordError("no record type")
        type_token = tokens[index]
        rdtype = dns.rdatatype.from_text(type_token.group())
    except dns.exception.DNSException as exc:
        raise RecordError(str(exc) or type(exc).__name__) from exc
    tok = dns.tokenizer.Tokenizer(text[type_token.end() :])
    try:
        rdata = dns.rdata.from_text(rdclass, rdtype, tok, origin, relativize=False)
    except (dns.exception.DNSException, ValueError, TypeError) as exc:
        detail = str(exc) or type(exc).__name__
        raise RecordError(detail, tok.where()[1] - 1) from exc
    return owner, rdata


def _parses(parse: Callable[[str], object], token: str) -> bool:
    try:
        parse(token)
    except dns.exception.DNSException:
        return False
    return True


def reverse_address(name: str) -> str | None:
    """The address a full reverse name stands for ('3.2.0.192.in-addr.arpa' -> '192.0.2.3')."""
    lowered = name.lower().rstrip(".")
    if not lowered.endswith(("in-addr.arpa", "ip6.arpa")):
        return None
    try:
        return dns.reversename.to_address(dns.name.from_text(lowered + "."))
    except (dns.exception.DNSException, ValueError):
        return None  # a partial or classless (RFC 2317) name: no single address


def record_resolutions(
    name: str,
    type_text: str,
    value: str,
    *,
    provenance: Provenance,
    source: ResolutionSource,
    first_seen: datetime | None = None,
    last_seen: datetime | None = None,
    count: int | None = None,
) -> list[Resolution]:
    """The Resolution(s) for one record; raises ValueError when an address is not one.

    A PTR from a full reverse name adds the target -> address Resolution.
    """
    make = functools.partial(Resolution, provenance=provenance, source=source, count=count)
    make = functools.partial(make, first_seen=first_seen, last_seen=last_seen)
    rtype = _DIRECT_TYPES.get(type_text.upper(), RecordType.OTHER)
    raw_type = type_text if rtype is RecordType.OTHER else None
    found = [make(name=name, rtype=rtype, value=value, raw_type=raw_type)]
    if rtype is RecordType.PTR and (address := reverse_address(name)) is not None:
        family = RecordType.AAAA if ":" in address else RecordType.A
        found.append(make(name=value, rtype=family, value=address))
    return found


def rdata_fields(owner: dns.name.Name, rdata: dns.rdata.Rdata) -> tuple[str, str, str]:
    """(name, type, value) texts of a parsed record; a non-IN class is kept ('CH TXT')."""
    type_text = dns.rdatatype.to_text(rdata.rdtype)
    if rdata.rdclass != dns.rdataclass.IN:
        type_text = f"{dns.rdataclass.to_text(rdata.rdclass)} {type_text}"
    return owner.to_text(), type_text, rdata.to_text()


def origin_from_file_name(path: Path) -> dns.name.Name | None:
    """The origin a file name suggests ('example.zone' -> 'example.'), or None."""
    name = path.name.lower()
    if name in _ROOT_FILE_NAMES or name.endswith((".root", ".hints")):
        return dns.name.root
    for suffix in _STRIP_SUFFIXES:
        name = name.removesuffix(suffix)
    name = name.removeprefix("db.").strip(".")
    if not name or not re.fullmatch(r"[a-z0-9_.-]+", name):
        return None
    try:
        return dns.name.from_text(name + ".")
    except dns.exception.DNSException:
        return None


class ZoneFileReader:
    """Reads zone files entry by entry; see the module docstring."""

    format = "zone"
    description = "DNS zone files in BIND master format (BIND, NSD, Knot, octoDNS, root hints)"
    suffixes = (".zone", ".db", ".root", ".hints")
    signature = "$ORIGIN/$TTL directives or an SOA record in master-file syntax"

    def sniff(self, head: bytes, path: Path) -> float:
        if any(marker in head for marker in _DIG_MARKERS) or head.lstrip()[:1] in (b"{", b"["):
            return 0.0
        if _DIRECTIVE.search(head):
            return 0.9
        if _SOA_LINE.search(head) and _RR_LINE.search(head):
            return 0.8
        if origin_from_file_name(path) == dns.name.root or path.name.lower().endswith(
            (".zone", ".db")
        ):
            return 0.6 if _RR_LINE.search(head) else 0.0
        return 0.0

    def read(self, path: Path) -> Iterator[ReadItem]:
        return _read(path, self.format, fast=True)


def _read(path: Path, fmt: str, *, fast: bool) -> Iterator[ReadItem]:
    """The reader's items; `fast=False` parses every entry with `parse_record` (the
    full path), `fast=True` first tries `_zone_fast` on one-line entries.  Both give
    the same items in the same order (tests/ingest/test_zone_file.py checks it)."""
    file_origin = origin_from_file_name(path)
    origin = file_origin or dns.name.root
    origin_set = warned = False
    # The previous owner: a Name, or made from (owner_token, owner_origin) when the
    # full path needs it; and its text, for the fast path.
    last_owner: dns.name.Name | None = None
    owner_token: str | None = None
    owner_origin = origin
    last_owner_text: str | None = None
    ttl = 0
    file = str(path)
    simple = _zone_fast.SimpleRecords() if fast else None
    zone = ResolutionSource.ZONE
    for item in _entries(path, fmt):
        if isinstance(item, ReadIssue):
            yield item
            continue
        first, last, text = item
        if (
            simple is not None
            and first == last
            and (found := simple.parse(text, origin, last_owner_text)) is not None
        ):
            token, name, (rtype, raw_type, value) = found
            at = Provenance(file=file, format=fmt, locator=f"line {first}")
            if token is not None:
                if not origin_set and not warned and token[-1] != ".":
                    warned = True
                    yield _origin_warning(at, origin, file_origin)
                owner_token, owner_origin, last_owner_text = token, origin, name
            if rtype is RecordType.PTR:
                yield from record_resolutions(name, "PTR", value, provenance=at, source=zone)
            else:
                yield Resolution(
                    provenance=at,
                    name=name,
                    rtype=rtype,
                    value=value,
                    source=zone,
                    raw_type=raw_type,
                )
            continue
        at = Provenance(file=file, format=fmt, locator=f"line {first}")
        if text.startswith("$"):
            try:
                origin, ttl, done = _directive(text, origin, ttl, at)
            except (MalformedInput, dns.exception.DNSException) as exc:
                yield ReadIssue(provenance=at, message=f"{text.split()[0]}: {exc}")
                continue
            origin_set = origin_set or text[:7].upper() == "$ORIGIN"
            yield from done
            continue
        if owner_token is not None:
            last_owner, owner_token = dns.name.from_text(owner_token, owner_origin), None
        try:
            owner, rdata = parse_record(text, origin, last_owner)
        except RecordError as exc:
            line = min(first + exc.line_offset, last)
            snippet = " ".join(text.split())[:60]
            where = Provenance(file=file, format=fmt, locator=f"line {line}")
            yield ReadIssue(provenance=where, message=f"cannot read record {snippet!r}: {exc}")
            continue
        relative = not text[0].isspace() and not text.split()[0].endswith(".")
        if not origin_set and rdata.rdtype == dns.rdatatype.SOA and not relative:
            origin, origin_set = owner, True
        if relative and not origin_set and not warned:
            warned = True
            yield _origin_warning(at, origin, file_origin)
        fields = rdata_fields(owner, rdata)
        last_owner, last_owner_text = owner, fields[0]
        yield from record_resolutions(*fields, provenance=at, source=zone)


def _origin_warning(
    at: Provenance, origin: dns.name.Name, file_origin: dns.name.Name | None
) -> ReadIssue:
    return ReadIssue(
        provenance=at,
        severity=Severity.WARNING,
        message=f"no $ORIGIN: relative names are read under {origin.to_text()!r}"
        + (" (from the file name)" if file_origin else ""),
    )


def _directive(
    text: str, origin: dns.name.Name, ttl: int, at: Provenance
) -> tuple[dns.name.Name, int, list[ReadItem]]:
    """Apply one $-directive: the new origin and default TTL, and what it yields."""
    words = text.split(";", 1)[0].split()
    keyword = words[0].upper()
    if keyword in ("$ORIGIN", "$TTL") and len(words) != 2:
        raise MalformedInput(f"expected one argument, found {len(words) - 1}")
    if keyword == "$ORIGIN":
        # RFC 1035 §5.1: a relative $ORIGIN is relative to the current origin.
        return dns.name.from_text(words[1], origin), ttl, []
    if keyword == "$TTL":
        return origin, dns.ttl.from_text(words[1]), []
    if keyword == "$INCLUDE":
        note = "not followed: hostmap reads only the files it is given; pass that file too"
        return origin, ttl, [ReadIssue(provenance=at, message=note, severity=Severity.WARNING)]
    if keyword == "$GENERATE":
        # dnspython expands $GENERATE (BIND's range/modifier syntax); one line, one small zone.
        zone = dns.zone.from_text(
            f"$ORIGIN {origin.to_text()}\n$TTL {ttl}\n{text}\n",
            origin=origin,
            relativize=False,
            check_origin=False,
        )
        found: list[ReadItem] = []
        for name, _ttl, rdata in zone.iterate_rdatas():
            fields = rdata_fields(name, rdata)
            found.extend(record_resolutions(*fields, provenance=at, source=ResolutionSource.ZONE))
        return origin, ttl, found
    raise MalformedInput("unknown directive")


def _entries(path: Path, fmt: str) -> Iterator[tuple[int, int, str] | ReadIssue]:
    """(first line, last line, text) per entry; comment-only and blank lines are skipped."""
    lines: list[str] = []
    first = depth = 0
    with path.open("rb") as stream:
        number = 0
        for number, raw in enumerate(stream, 1):
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                at = Provenance(file=str(path), format=fmt, locator=f"line {number}")
                message = f"not UTF-8 text ({exc.reason}); line skipped"
                yield ReadIssue(provenance=at, message=message)
                line = ""
            if number == 1:
                line = line.removeprefix("\ufeff")
            if not lines:
                content = line.strip()
                if not content or content.startswith(";"):
                    continue
                if "(" not in line and ")" not in line:
                    yield number, number, line  # one line, depth stays 0: the common case
                    continue
                first = number
            lines.append(line)
            if "(" in line or ")" in line:  # else paren_depth(line, depth) == depth
                depth = paren_depth(line, depth)
            if depth <= 0:
                yield first, number, "\n".join(lines)
                lines, depth = [], 0
        if lines:
            at = Provenance(file=str(path), format=fmt, locator=f"line {first}")
            yield ReadIssue(
                provenance=at, message=f"'(' opened here is still open at the end (line {number})"
            )


reader = ZoneFileReader()
