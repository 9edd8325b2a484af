"""Reverse-IP listings: the host names once bound to one address, saved as plain text.

Sites such as ip138.com ("IP反查域名") and viewdns.info list, for one
address, the names that resolved to it, each with the span in which they
did.  hostmap reads them saved as text, one host per line:

    2022-01-05-----2022-06-30   www.example.com
    2021-11-02-----2021-12-31
    mail.example.com
    old.example.com

A date range 'YYYY-MM-DD-----YYYY-MM-DD' (ip138's layout; any run of dashes,
the end date may be missing) may precede the host on its line or stand on
the line before it.  The address comes from the file name,
`reverse-ip-<address>.txt` (IPv6 with ':' or '_' between groups), or from a
first line that holds only the address (it wins if both are present, with a
WARNING when they differ).

Each host becomes `Resolution(name=host, rtype=A or AAAA by the address
family, value=address, source=REVERSE_IP)` with first_seen = the start date
at 00:00:00 UTC and last_seen = the end date at 23:59:59 UTC (the listings
give no time zone; whole UTC days are the stated convention).  Blank lines
and '#' comments are skipped; a line that is not a plausible host name
becomes a `ReadIssue` and reading goes on.  No address at all raises
`MalformedInput`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, time
from pathlib import Path

from hostmap.errors import MalformedInput
from hostmap.hostnames import is_address
from hostmap.ingest._reader import ReadItem
from hostmap.model import (
    Provenance,
    ReadIssue,
    RecordType,
    Resolution,
    ResolutionSource,
    Severity,
    normalize_address,
)

__all__ = ["ReverseIpReader", "address_from_file_name", "reader"]

_FILE_NAME = re.compile(r"reverse-ip-(?P<address>[0-9A-Fa-f.:_]+?)(?:\.txt)?", re.IGNORECASE)
_DATE = r"\d{4}-\d{1,2}-\d{1,2}"
_RANGE = re.compile(rf"(?P<start>{_DATE})\s*-+\s*(?P<end>{_DATE})?(?:\s+|$)(?P<rest>.*)")
_LABEL = re.compile(r"(?!-)[\w-]{1,63}(?<!-)")
_NO_ADDRESS = (
    "no address: name the file reverse-ip-<address>.txt or put the address on the first line"
)


def address_from_file_name(path: Path) -> str | None:
    """The address in a file name 'reverse-ip-<address>.txt', else None."""
    match = _FILE_NAME.fullmatch(path.name)
    if not match:
        return None
    try:
        return normalize_address(match.group("address").replace("_", ":"))
    except ValueError:
        return None


def is_plausible_host(text: str) -> bool:
    """A dotted DNS name: labels of letters, digits, '-' or '_', a leading '*' allowed."""
    labels = text.rstrip(".").split(".")
    if len(labels) < 2 or len(text) > 253 or is_address(text):
        return False
    if labels[0] == "*":
        labels = labels[1:]
    return all(_LABEL.fullmatch(label) for label in labels)


class ReverseIpReader:
    """Reads reverse-IP listings; see the module docstring."""

    format = "reverse-ip"
    description = (
        "reverse-IP listings saved as text (ip138.com, viewdns.info): hosts of one address"
    )
    suffixes = (".txt",)
    signature = "host names one per line, maybe after 'YYYY-MM-DD-----YYYY-MM-DD', one address"

    def sniff(self, head: bytes, path: Path) -> float:
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError as exc:
            text = head[: exc.start].decode("utf-8")
        lines = text.splitlines()
        if head and not head.endswith(b"\n"):
            lines = lines[:-1]
        lines = [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
        if not lines:
            return 0.0
        has_address = is_address(lines[0])
        if has_address:
            lines = lines[1:]
        ranges = hosts = bad = 0
        first_good: bool | None = None
        for line in lines[:200]:
            match = _RANGE.fullmatch(line)
            if match:
                ranges += 1
                line = match.group("rest")
                if not line:
                    continue
            good = is_plausible_host(line)
            hosts += good
            bad += not good
            first_good = good if first_good is None else first_good
        # A listing is recognised by its first host line, and by its file name or most of its
        # lines: a line that is not a host name (hostile or damaged) is an issue `read`
        # reports, not a reason to refuse the whole file.
        if not hosts or not first_good:
            return 0.0
        if address_from_file_name(path) is not None:
            return 0.85 if bad else 1.0  # below a hackertarget reply (hosts and an API message)
        if has_address and hosts > bad:
            return (0.8 if ranges else 0.5) if not bad else 0.4
        return 0.0

    def read(self, path: Path) -> Iterator[ReadItem]:
        address = address_from_file_name(path)
        pending: tuple[datetime, datetime | None, int] | None = None
        first_content = True
        with path.open("rb") as stream:
            for number, raw in enumerate(stream, 1):
                at = Provenance(file=str(path), format=self.format, locator=f"line {number}")
                try:
                    line = raw.decode("utf-8").removeprefix("\ufeff").strip()
                except UnicodeDecodeError as exc:
                    yield ReadIssue(provenance=at, message=f"not UTF-8 text ({exc.reason})")
                    continue
                if not line or line.startswith("#"):
                    continue
                if first_content:
                    first_content = False
                    if is_address(line):
                        listed = normalize_address(line)
                        if address is not None and address != listed:
                            note = f"the file name says {address}, the first line {listed}: "
                            yield ReadIssue(
                                provenance=at,
                                severity=Severity.WARNING,
                                message=note + f"using {listed}",
                            )
                        address = listed
                        continue
                    if address is None:
                        raise MalformedInput(_NO_ADDRESS)
                span: tuple[datetime, datetime | None, int] | None = None
                if match := _RANGE.fullmatch(line):
                    try:
                        span = (*_span(match.group("start"), match.group("end")), number)
                    except ValueError as exc:
                        yield ReadIssue(provenance=at, message=f"bad date range: {exc}")
                        pending = None
                        continue
                    line = match.group("rest").strip()
                    if pending is not None:
                        yield _unused_range(path, self.format, pending[2])
                        pending = None
                    if not line:
                        pending = span
                        continue
                span, pending = span or pending, None
                if not is_plausible_host(line):
                    yield ReadIssue(provenance=at, message=f"not a host name: {line[:80]!r}")
                    continue
                assert address is not None
                yield Resolution(
                    provenance=at,
                    name=line,
                    rtype=RecordType.AAAA if ":" in address else RecordType.A,
                    value=address,
                    source=ResolutionSource.REVERSE_IP,
                    first_seen=span[0] if span else None,
                    last_seen=span[1] if span else None,
                )
        if first_content and address is None:
            raise MalformedInput(_NO_ADDRESS)
        if pending is not None:
            yield _unused_range(path, self.format, pending[2])


def _span(start: str, end: str | None) -> tuple[datetime, datetime | None]:
    """Whole UTC days: the start date's first second to the end date's last one."""
    first = datetime.combine(datetime.strptime(start, "%Y-%m-%d").date(), time.min, UTC)
    if end is None:
        return first, None
    last = datetime.combine(datetime.strptime(end, "%Y-%m-%d").date(), time(23, 59, 59), UTC)
    if last < first:
        raise ValueError(f"{end} is before {start}")
    return first, last


def _unused_range(path: Path, fmt: str, number: int) -> ReadIssue:
    at = Provenance(file=str(path), format=fmt, locator=f"line {number}")
    return ReadIssue(
        provenance=at, severity=Severity.WARNING, message="date range with no host name after it"
    )


reader = ReverseIpReader()
