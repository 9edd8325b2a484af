"""HackerTarget API text output: host search ("host,address" lines) and its error answers.

`https://api.hackertarget.com/hostsearch/?q=example.com` answers with the
host names it knows under a domain and the address each resolved to, one
per line, no header:

    www.example.com,192.0.2.1
    mail.example.com,192.0.2.25

Each line becomes `Resolution(name=host, rtype=A or AAAA by the address,
value=address, source=PASSIVE_DNS)`, without times (HackerTarget gives none).

The reverse-IP lookup (`/reverseiplookup/?q=<address>`) answers with host
names only, one per line: saved as `reverse-ip-<address>.txt` that is the
`reverse-ip` format and `reverse_ip` reads it.  Instead of data the API may
answer with one line of text: "API count exceeded - Increase Quota with
Membership", "error check your search parameter", "error invalid key",
"No DNS A records found".  A file holding such a line is this format: the
line becomes a `ReadIssue` (WARNING for "no records found", where nothing was
lost; ERROR otherwise), never a host.  Host-only lines in such a file are read
as `reverse_ip` would, with the address from the file name.  Locator
"line N"; a bad line becomes a `ReadIssue` and reading goes on.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from hostmap.hostnames import is_address
from hostmap.ingest._reader import ReadItem
from hostmap.ingest.reverse_ip import address_from_file_name, is_plausible_host
from hostmap.model import (
    Provenance,
    ReadIssue,
    RecordType,
    Resolution,
    ResolutionSource,
    Severity,
    normalize_address,
)

__all__ = ["HackerTargetReader", "api_message", "reader"]

# The one-line answers HackerTarget's API gives instead of data.
_NOTHING_FOUND = re.compile(r"no (?:dns a )?records found\.?", re.IGNORECASE)
_API_ERROR = re.compile(
    r"api count exceeded\b.*|error (?:check your search parameter|invalid \w+|getting results)\b.*",
    re.IGNORECASE,
)


def api_message(line: str) -> Severity | None:
    """The severity of a HackerTarget API error or empty answer, None for any other line."""
    if _NOTHING_FOUND.fullmatch(line):
        return Severity.WARNING
    if _API_ERROR.fullmatch(line):
        return Severity.ERROR
    return None


def _host_and_address(line: str) -> tuple[str, str] | None:
    """('www.example.com', '192.0.2.1') from a host search line, else None."""
    host, comma, address = line.partition(",")
    host, address = host.strip(), address.strip()
    if comma and is_plausible_host(host) and is_address(address):
        return host, address
    return None


class HackerTargetReader:
    """Reads HackerTarget API text answers; see the module docstring."""

    format = "hackertarget"
    description = "HackerTarget API answers saved as text: hostsearch 'host,address' lines"
    suffixes = (".txt", ".csv")
    signature = "'host,address' lines, or a HackerTarget API message ('API count exceeded')"

    def sniff(self, head: bytes, path: Path) -> float:
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError as exc:
            text = head[: exc.start].decode("utf-8")
        lines = text.removeprefix("\ufeff").splitlines()
        if head and not head.endswith(b"\n"):
            lines = lines[:-1] or lines  # a one-line answer often has no newline
        lines = [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
        pairs = messages = hosts = 0
        for line in lines[:200]:
            if _host_and_address(line):
                pairs += 1
            elif api_message(line) is not None:
                messages += 1
            elif is_plausible_host(line):
                hosts += 1
            else:
                return 0.0
        if pairs and not hosts:
            return 0.9
        if messages and (not hosts or address_from_file_name(path) is not None):
            return 0.9  # reverse_ip turns such a file down: the message is no host name
        return 0.0

    def read(self, path: Path) -> Iterator[ReadItem]:
        address = address_from_file_name(path)
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
                yield _line_item(at, line, address)


def _line_item(at: Provenance, line: str, address: str | None) -> ReadItem:
    """What one non-blank line says: an API message, a host search pair, or a listed host."""
    if (severity := api_message(line)) is not None:
        return ReadIssue(provenance=at, severity=severity, message=f"HackerTarget answered: {line}")
    if pair := _host_and_address(line):
        return _resolution(at, pair[0], pair[1], ResolutionSource.PASSIVE_DNS)
    if is_plausible_host(line) and address is not None:
        return _resolution(at, line, address, ResolutionSource.REVERSE_IP)
    if is_plausible_host(line):
        message = f"host {line!r} has no address: name the file reverse-ip-<address>.txt"
        return ReadIssue(provenance=at, message=message)
    host, comma, address = line.partition(",")
    if not comma:
        message = f"neither 'host,address' nor an API answer: {line[:80]!r}"
    elif not is_plausible_host(host.strip()):
        message = f"not a host name: {host.strip()[:80]!r}"
    else:
        message = f"not an address: {address.strip()[:80]!r}"
    return ReadIssue(provenance=at, message=message)


def _resolution(at: Provenance, host: str, address: str, source: ResolutionSource) -> Resolution:
    value = normalize_address(address)
    rtype = RecordType.AAAA if ":" in value else RecordType.A
    return Resolution(provenance=at, name=host, rtype=rtype, value=value, source=source)


reader = HackerTargetReader()
