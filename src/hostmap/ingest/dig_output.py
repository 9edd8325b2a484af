"""Output of ISC BIND's `dig`, saved as text: one run or many concatenated.

What is read:

- the ANSWER SECTION of normal runs; QUESTION, AUTHORITY and ADDITIONAL
  sections (glue, referrals) are not resolutions and are skipped;
- records printed with no section header: an AXFR transfer (between
  '; <<>> DiG' and ';; Query time') and `+noall +answer` output;
- `+short` output (values only, one per line).  dig does not print the
  query name there, so the file must give it: a comment line
  `; name: <host> [TYPE]` (or `# <host> [TYPE]`) above the values, or a
  file name `dig-<host>.txt`.  Without a TYPE, addresses are A/AAAA records
  and names are CNAME steps, each step becoming the owner of what follows
  (`www.cnn.com` -> `turner-tls.map.fastly.net.` -> `151.101.189.67`); a
  reverse name (or an address) as the query name makes the values PTR targets.

Records are in master-file syntax and parsed by `zone_file.parse_record`
(dnspython); `+multiline` records spanning lines in parentheses are joined.
A PTR from a full reverse name also yields target -> address, as in zone files.

Time: each run ends with `;; WHEN: Wed Oct 30 05:13:22 PDT 2019` (strftime
"%a %b %d %H:%M:%S %Z %Y"); its records get first_seen = last_seen = that
time, so records are held until the run's WHEN line (or the next run, or the
end of the file: then no time).  Month names are read without the locale.
A numeric offset ('+0800') or an ISO 8601 time is accepted too.
Abbreviations are read from a fixed table (`TIME_ZONES`); an unknown one
leaves the run without a time and yields one WARNING.  "CST" is ambiguous
(US Central -06:00, China +08:00, Cuba -05:00): hostmap's captures come from
China, so CST is read as +08:00 (`DigOutputReader(cst_offset=...)` changes
it) and a WARNING per file says so.  "EST" is read as US Eastern (-05:00);
Australian dig prints AEST.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.reversename

from hostmap.hostnames import is_address, normalize_hostname
from hostmap.ingest._reader import ReadItem
from hostmap.ingest.zone_file import (
    RecordError,
    paren_depth,
    parse_record,
    rdata_fields,
    record_resolutions,
)
from hostmap.model import Provenance, ReadIssue, ResolutionSource, Severity

__all__ = ["TIME_ZONES", "DigOutputReader", "reader"]

# fmt: off
TIME_ZONES: dict[str, float] = {
    "UTC": 0, "UT": 0, "GMT": 0, "Z": 0, "WET": 0, "WEST": 1, "BST": 1, "CET": 1, "CEST": 2,
    "EET": 2, "EEST": 3, "MSK": 3, "PKT": 5, "ICT": 7, "WIB": 7, "HKT": 8, "SGT": 8,
    "AWST": 8, "PHT": 8, "JST": 9, "KST": 9, "ACST": 9.5, "ACDT": 10.5, "AEST": 10, "AEDT": 11,
    "NZST": 12, "NZDT": 13, "HST": -10, "AKST": -9, "AKDT": -8, "PST": -8, "PDT": -7,
    "MST": -7, "MDT": -6, "CDT": -5, "EST": -5, "EDT": -4, "ADT": -3, "NST": -3.5, "NDT": -2.5,
}
# fmt: on
"""Hours east of UTC for the abbreviations dig prints; CST is handled apart."""

_MONTHS = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}
_WHEN = re.compile(
    r"(?:[A-Za-z]{3}\s+)?(?P<mon>[A-Za-z]{3})\s+(?P<day>\d{1,2})\s+"
    r"(?P<h>\d{1,2}):(?P<m>\d{2}):(?P<s>\d{2})\s+(?:(?P<tz>\S+)\s+)?(?P<year>\d{4})"
)
_OFFSET = re.compile(r"(?:UTC|GMT)?([+-])(\d{2}):?(\d{2})")
_SECTION = re.compile(r";; ([A-Z ]+) (?:SECTION|PSEUDOSECTION):")
_NAME_COMMENT = re.compile(r"(?:; *name:|#)\s*(\S+)(?:\s+([A-Za-z][A-Za-z0-9]*))?\s*$")
_HOST = re.compile(r"(?:[\w*-][\w-]*\.)*[\w-]+\.?")
_MARKER = re.compile(rb"^(?:\xef\xbb\xbf)?[ \t]*(?:; <<>> DiG|;; ANSWER SECTION:|;; Got answer:"
                     rb"|;; QUESTION SECTION:)", re.MULTILINE)
"""A line dig begins (not the same text quoted in a script that writes dig output)."""
_DIG_RECORD = re.compile(rb"^\S+\.[ \t]+\d+[ \t]+(?:IN|CH|HS)[ \t]+[A-Z][A-Z0-9-]*[ \t]+\S")
_ZONE_HINTS = (".zone", ".db", ".root", ".hints")


class DigOutputReader:
    """Reads dig's text output; see the module docstring."""

    format = "dig"
    description = "dig (ISC BIND) output saved as text: normal runs, AXFR, +noall +answer, +short"
    suffixes = (".dig", ".txt")
    signature = "'; <<>> DiG' banner, ';; ANSWER SECTION:', or lines 'name. TTL IN TYPE rdata'"

    def __init__(self, cst_offset: timedelta = timedelta(hours=8)) -> None:
        self.cst_offset = cst_offset

    def sniff(self, head: bytes, path: Path) -> float:
        if _MARKER.search(head):
            return 1.0
        if path.name.lower().endswith(_ZONE_HINTS):
            return 0.0
        lines = [line.strip() for line in head.splitlines()[:50]]
        if head and not head.endswith(b"\n"):
            lines = lines[:-1]
        lines = [line for line in lines if line]
        if not lines or lines[0][:1] in (b"{", b"["):
            return 0.0
        records = [line for line in lines if not line.startswith(b";;")]
        if records and all(_DIG_RECORD.match(line) for line in records):
            return 0.7 if b"dig" in path.name.lower().encode() else 0.6
        named = _short_name_from_file(path) is not None or lines[0].startswith(b"; name:")
        values = [line for line in lines if not line.startswith((b";", b"#"))]
        if named and values and all(b"\t" not in v and len(v.split()) <= 8 for v in values):
            return 0.8
        return 0.0

    def read(self, path: Path) -> Iterator[ReadItem]:
        run = _Run(path, self.format, self.cst_offset)
        yield from run.read()


class _Run:
    """The reading state: section, held records of the current run, +short chain."""

    def __init__(self, path: Path, fmt: str, cst_offset: timedelta) -> None:
        self.path, self.format, self.cst_offset = path, fmt, cst_offset
        self.section: str | None = None
        self.in_sections = False
        self.held: list[tuple[int, str, str, str]] = []
        """(line, name, type, value) of the current run's records, until its WHEN line."""
        self.cst_warned = False
        self.query = _short_name_from_file(path)
        self.query_type: str | None = None
        self.chain = self.query

    def at(self, line: int) -> Provenance:
        return Provenance(file=str(self.path), format=self.format, locator=f"line {line}")

    def read(self) -> Iterator[ReadItem]:
        pending: list[str] = []
        start = depth = 0
        with self.path.open("rb") as stream:
            for number, raw in enumerate(stream, 1):
                try:
                    line = raw.decode("utf-8").rstrip("\r\n").removeprefix("\ufeff")
                except UnicodeDecodeError as exc:
                    yield ReadIssue(provenance=self.at(number), message=f"not UTF-8 ({exc.reason})")
                    continue
                if pending:
                    pending.append(line)
                    depth = paren_depth(line, depth)
                    if depth <= 0:
                        yield from self.record("\n".join(pending), start)
                        pending = []
                    continue
                stripped = line.strip()
                if not stripped:
                    self.section = None  # dig ends every section with a blank line
                elif stripped.startswith(("#", ";")):
                    yield from self.comment(stripped, number)
                elif not self.in_sections or self.section == "ANSWER":
                    depth = paren_depth(line)
                    if depth > 0:
                        pending, start = [line], number
                    else:
                        yield from self.record(line, number)
        if pending:
            yield ReadIssue(provenance=self.at(start), message="'(' is never closed")
        yield from self.flush(None)

    def comment(self, text: str, number: int) -> Iterator[ReadItem]:
        if text.startswith("; <<>> DiG") or text.startswith(";; Got answer:"):
            yield from self.flush(None)
            self.in_sections = text.startswith(";; Got")
            self.section = None
        elif section := _SECTION.match(text):
            self.in_sections, self.section = True, section.group(1)
        elif text.startswith(";; WHEN:"):
            when, problem = self.parse_when(text.removeprefix(";; WHEN:").strip())
            if problem:
                warning = ReadIssue(
                    provenance=self.at(number), severity=Severity.WARNING, message=problem
                )
                yield warning
            yield from self.flush(when)
            self.in_sections, self.section = False, None
        elif (named := _NAME_COMMENT.match(text)) and _is_query(named.group(1), named.group(2)):
            yield from self.flush(None)
            self.query = self.chain = named.group(1)
            self.query_type = named.group(2).upper() if named.group(2) else None

    def record(self, text: str, number: int) -> Iterator[ReadItem]:
        try:
            owner, rdata = parse_record(text, dns.name.root)
        except RecordError as exc:
            if self.query is not None and not self.in_sections:  # +short output has no sections
                yield from self.short_value(text.strip(), number)
                return
            message = f"cannot read record {' '.join(text.split())[:60]!r}: {exc}"
            if len(text.split()) == 1:
                message = (
                    f"{text.strip()[:60]!r} is not a record; for +short output put "
                    "'; name: <host>' above the values or name the file dig-<host>.txt"
                )
            yield ReadIssue(provenance=self.at(number + exc.line_offset), message=message)
            return
        self.held.append((number, *rdata_fields(owner, rdata)))

    def short_value(self, value: str, number: int) -> Iterator[ReadItem]:
        """One +short line: a value of `query_type`, or a step of the A/CNAME chain."""
        assert self.query is not None and self.chain is not None
        query = self.query
        if is_address(query):
            query = dns.reversename.from_address(query).to_text()
        kind = self.query_type
        if kind is None and query.lower().rstrip(".").endswith(".arpa"):
            kind = "PTR"
        if kind is not None:
            try:
                rdata = dns.rdata.from_text(dns.rdataclass.IN, kind, value, dns.name.root)
            except (dns.exception.DNSException, ValueError, TypeError) as exc:
                message = f"not a {kind} value: {value[:60]!r} ({exc})"
                yield ReadIssue(provenance=self.at(number), message=message)
                return
            self.held.append((number, query, dns.rdatatype.to_text(rdata.rdtype), rdata.to_text()))
        elif is_address(value):
            self.held.append((number, self.chain, "AAAA" if ":" in value else "A", value))
        elif _HOST.fullmatch(value):
            self.held.append((number, self.chain, "CNAME", value))
            self.chain = normalize_hostname(value)
        else:
            message = f"not an address or host name: {value[:60]!r}"
            yield ReadIssue(provenance=self.at(number), message=message)

    def flush(self, when: datetime | None) -> Iterator[ReadItem]:
        """Yield the held records of the run that just ended, stamped with its time."""
        held, self.held = self.held, []
        for number, name, type_text, value in held:
            yield from record_resolutions(
                name,
                type_text,
                value,
                provenance=self.at(number),
                source=ResolutionSource.DIG,
                first_seen=when,
                last_seen=when,
            )

    def parse_when(self, text: str) -> tuple[datetime | None, str | None]:
        """The run's time and, if it could not be read fully, why."""
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            if moment.tzinfo is not None:
                return moment, None
            return None, f"WHEN {text!r} has no time zone: these records have no time"
        match = _WHEN.fullmatch(text)
        if not match or match.group("mon").lower() not in _MONTHS:
            return None, f"WHEN {text!r} not understood: these records have no time"
        zone_name = match.group("tz") or ""
        offset: timedelta | None = None
        problem = None
        if zone_name.upper() == "CST":
            offset = self.cst_offset
            if not self.cst_warned:
                self.cst_warned = True
                problem = (
                    f"time zone CST read as {timezone(offset)} (China); US Central is UTC-06:00"
                )
        elif zone_name.upper() in TIME_ZONES:
            offset = timedelta(hours=TIME_ZONES[zone_name.upper()])
        elif numeric := _OFFSET.fullmatch(zone_name):
            sign = -1 if numeric.group(1) == "-" else 1
            offset = sign * timedelta(hours=int(numeric.group(2)), minutes=int(numeric.group(3)))
        if offset is None:
            return None, f"time zone {zone_name or '(none)'!r} unknown: these records have no time"
        year, day, hour, minute, second = map(int, match.group("year", "day", "h", "m", "s"))
        month = _MONTHS[match.group("mon").lower()]
        try:
            moment = datetime(year, month, day, hour, minute, second, tzinfo=timezone(offset))
        except ValueError as exc:
            return None, f"WHEN {text!r}: {exc}: these records have no time"
        return moment.astimezone(UTC), problem


def _is_query(name: str, type_text: str | None) -> bool:
    """Whether a '; name: <host> [TYPE]' comment names a query (a dotted name or an address)."""
    if not (is_address(name) or ("." in name and _HOST.fullmatch(name))):
        return False
    if type_text is None:
        return True
    try:
        dns.rdatatype.from_text(type_text)
    except dns.exception.DNSException:
        return False
    return True


def _short_name_from_file(path: Path) -> str | None:
    """The query name in a file name 'dig-<host>.txt' (+short output), else None."""
    name = path.name
    if not name.lower().startswith("dig-"):
        return None
    host = name[4:].removesuffix(".txt")
    return host if "." in host and _HOST.fullmatch(host) else None


reader = DigOutputReader()
