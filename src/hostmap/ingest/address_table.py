"""Address tables in the iptoasn.com TSV layout: which AS and country own an address range.

iptoasn.com publishes `ip2asn-combined.tsv` (and -v4/-v6), one range per line:

    range_start<TAB>range_end<TAB>AS_number<TAB>country_code<TAB>AS_description

AS number 0 means "Not routed": such ranges get asn None and no operator;
country "None" (iptoasn's spelling for unknown) becomes None.  Addresses may
be text or, as in iptoasn's `ip2asn-v4-u32.tsv`, IPv4 as a 32-bit integer.
An "AS" prefix on the number ("AS13335") is accepted.

hostmap extension: optional columns 6 and 7 give the region (province) and
city, so a small hand-made table can name the place an operator serves:

    192.0.2.0<TAB>192.0.2.255<TAB>64500<TAB>CN<TAB>Example Net<TAB>Henan<TAB>Zhengzhou

iptoasn ships the tables gzip-compressed (.tsv.gz); those are read as they are.
Lines starting with '#', and a header row whose first field is not an
address, are skipped.  Each row becomes an `AddressInfo` (locator "line N");
a bad row becomes a `ReadIssue` and reading goes on.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from io import BufferedIOBase
from pathlib import Path

from hostmap.errors import MalformedInput
from hostmap.ingest._lines import OverlongLine, bounded_lines, inflated_head, open_maybe_gzip
from hostmap.ingest._reader import ReadItem
from hostmap.model import AddressInfo, Provenance, ReadIssue

__all__ = ["AddressTableReader", "parse_row", "reader"]

_HEADER_WORDS = ("start", "range", "first", "from", "network")


def _address(text: str) -> str:
    """Text or 32-bit-integer IPv4 address as canonical text; MalformedInput if neither."""
    text = text.strip()
    try:
        if text.isdigit():
            return str(ipaddress.IPv4Address(int(text)))
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise MalformedInput(f"{text!r} is not an address") from None


def parse_row(fields: list[str], provenance: Provenance) -> AddressInfo:
    """One table row (5 to 7 fields) as AddressInfo; raises MalformedInput."""
    if not 5 <= len(fields) <= 7:
        raise MalformedInput(f"expected 5 to 7 tab-separated columns, found {len(fields)}")
    start, end = _address(fields[0]), _address(fields[1])
    asn_text = fields[2].strip().upper().removeprefix("AS")
    if not asn_text.isdigit():
        raise MalformedInput(f"AS number {fields[2]!r} is not a number")
    asn = int(asn_text) or None
    country = fields[3].strip().upper()
    operator = fields[4].strip()
    extra = [field.strip() or None for field in fields[5:]] + [None, None]
    try:
        return AddressInfo(
            provenance=provenance,
            range_start=start,
            range_end=end,
            asn=asn,
            operator=None if asn is None and operator.lower() in ("", "not routed") else operator,
            country=None if country in ("", "NONE", "-", "ZZ") else country,
            region=extra[0],
            city=extra[1],
        )
    except ValueError as exc:
        raise MalformedInput(str(exc)) from exc


class AddressTableReader:
    """Reads iptoasn-style TSV tables; see the module docstring."""

    format = "iptoasn"
    description = (
        "address-to-AS tables in iptoasn.com TSV layout (ip2asn-combined.tsv), +region/city"
    )
    suffixes = (".tsv", ".tsv.gz")
    signature = "tab-separated rows: range_start range_end AS_number country description"

    def sniff(self, head: bytes, path: Path) -> float:
        inflated = inflated_head(head)
        if inflated is None:
            return 0.0
        head = inflated
        lines = head.splitlines()
        if head and not head.endswith(b"\n"):
            lines = lines[:-1]
        rows = [line for line in lines[:100] if line.strip() and not line.startswith(b"#")]
        if not rows:
            return 0.0
        good = 0
        for index, line in enumerate(rows):
            try:
                fields = line.decode("utf-8").rstrip("\r").split("\t")
                parse_row(fields, Provenance(file=str(path), format=self.format, locator=""))
            except (MalformedInput, UnicodeDecodeError):
                if index == 0 and _is_header(line.decode("utf-8", "replace").split("\t")):
                    continue
                return 0.0
            good += 1
        return 1.0 if good >= 2 else 0.8 if good else 0.0

    def read(self, path: Path) -> Iterator[ReadItem]:
        with open_maybe_gzip(path) as stream:
            yield from self._read_lines(stream, path)

    def _read_lines(self, stream: BufferedIOBase, path: Path) -> Iterator[ReadItem]:
        seen_data = False
        for number, raw in enumerate(bounded_lines(stream), 1):
            at = Provenance(file=str(path), format=self.format, locator=f"line {number}")
            if isinstance(raw, OverlongLine):
                yield ReadIssue(provenance=at, message=raw.message())
                continue
            try:
                line = raw.decode("utf-8").removeprefix("\ufeff").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                yield ReadIssue(provenance=at, message=f"not UTF-8 text ({exc.reason})")
                continue
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.split("\t")
            if not seen_data and _is_header(fields):
                continue
            seen_data = True
            try:
                yield parse_row(fields, at)
            except MalformedInput as exc:
                yield ReadIssue(provenance=at, message=str(exc))


def _is_header(fields: list[str]) -> bool:
    """A column-name row such as 'range_start  range_end  AS_number ...'."""
    first = fields[0].strip().lower()
    return any(word in first for word in _HEADER_WORDS) and not first[:1].isdigit()


reader = AddressTableReader()
