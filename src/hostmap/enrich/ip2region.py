"""ip2region xdb address databases, read with the official `py-ip2region` binding.

The xdb layout (ip2region maker, "xdb structure" comment in maker.go):

    | header space | vector index   | data payload | segment index |
    | 256 bytes    | 512 KiB, fixed | region texts | fixed blocks  |

Header, little-endian: u16 structure version (2 = IPv4 only; 3 = since IPv6
support, 2025), u16 index policy (1 vector, 2 b-tree), u32 creation time,
u32 first and u32 last segment-index block offset; from version 3 on also
u16 IP version (4 or 6) and u16 "runtime pointer bytes"; zero padding after.
The sniffer checks that these fields are consistent (the index lies after the
vector index, spans whole 14- or 38-byte blocks, and ends inside the file);
the ``.xdb`` suffix only adds confidence.  One file holds IPv4 or IPv6, never
both: asking it about the other family answers None.

Each record is one ``|``-separated text; ``0`` means unknown:

- older data (ip2region 2.x): ``country|area|province|city|ISP``,
  e.g. ``中国|0|河南省|平顶山市|移动``;
- newer data (since 2025): ``country|province|city|ISP|ISO-3166 code``,
  e.g. ``中国|河南省|平顶山市|移动|CN``.

Both have five fields; a last field of two capital letters marks the newer
layout (no ISP is named so), anything else the older one.  Four fields are read
as ``country|province|city|ISP`` (a maker run that kept four fields).  The
country is the ISO code when the record has one, else the name as given; names
stay as the data gives them (河南省, 移动).  The operator is the ISP; xdb has
no AS numbers.  The binding returns only the record text, not the segment that
holds the address, so an answer spans the looked-up address alone and cites it
(locator ``record for 117.160.200.1``).
"""

from __future__ import annotations

import importlib.util
import ipaddress
import re
import struct
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from hostmap.errors import InputError, MalformedInput
from hostmap.model import AddressInfo, Provenance, normalize_address

if TYPE_CHECKING:
    from ip2region.searcher import Searcher

__all__ = [
    "Ip2regionDatabase",
    "Ip2regionLookup",
    "RegionFields",
    "XdbHeader",
    "database",
    "parse_header",
    "parse_region",
]

HEADER_LENGTH = 256
VECTOR_INDEX_LENGTH = 256 * 256 * 8
"""One (first block, end block) offset pair per value of an address's first two bytes."""
SEGMENT_INDEX_SIZE = {4: 14, 6: 38}
"""Start address, end address, u16 record length, u32 record offset."""

_ISO_CODE = re.compile(r"[A-Z]{2}")


class XdbHeader(NamedTuple):
    """The header fields; for structure 2, ip_version 4 and runtime_ptr_bytes 4 are implied."""

    structure: int
    index_policy: int
    created_at: int
    start_index_ptr: int
    end_index_ptr: int
    ip_version: int
    runtime_ptr_bytes: int

    @property
    def index_size(self) -> int:
        return SEGMENT_INDEX_SIZE[self.ip_version]

    def check_size(self, size: int) -> None:
        """MalformedInput unless a file of `size` bytes can hold what the header points to."""
        needed = self.end_index_ptr + self.index_size
        if size < needed:
            raise MalformedInput(
                f"truncated: the segment index ends at byte {needed}, the file has {size} bytes"
            )
        if size >= 1 << (8 * self.runtime_ptr_bytes):
            raise MalformedInput(
                f"{size} bytes is too big for {self.runtime_ptr_bytes}-byte pointers"
            )


def parse_header(head: bytes) -> XdbHeader:
    """The header at the start of an xdb file; MalformedInput says what is wrong."""
    if len(head) < HEADER_LENGTH:
        raise MalformedInput(f"shorter than the {HEADER_LENGTH}-byte xdb header")
    fields = struct.unpack_from("<HHIIIHH", head)
    structure, policy, created, start, end, ip_version, pointer_bytes = fields
    if structure == 2:  # before IPv6 support the header ended at byte 16
        ip_version, pointer_bytes = 4, 4
    elif structure != 3:
        raise MalformedInput(f"xdb structure version {structure}, expected 2 or 3")
    if policy not in (1, 2):
        raise MalformedInput(f"index policy {policy}, expected 1 (vector) or 2 (b-tree)")
    if ip_version not in SEGMENT_INDEX_SIZE:
        raise MalformedInput(f"IP version {ip_version}, expected 4 or 6")
    if not 4 <= pointer_bytes <= 8:
        raise MalformedInput(f"runtime pointer size {pointer_bytes} bytes, expected 4 to 8")
    header = XdbHeader(structure, policy, created, start, end, ip_version, pointer_bytes)
    if start < HEADER_LENGTH + VECTOR_INDEX_LENGTH:
        raise MalformedInput(f"segment index at byte {start} starts inside the vector index")
    if end < start:
        raise MalformedInput(f"segment index ends (byte {end}) before it starts (byte {start})")
    if (end - start) % header.index_size:
        raise MalformedInput(
            f"segment index {start}..{end} is not made of {header.index_size}-byte blocks"
        )
    return header


class RegionFields(NamedTuple):
    """What hostmap reads from one record; None where the record says 0 (unknown)."""

    country: str | None = None
    region: str | None = None
    city: str | None = None
    isp: str | None = None


def parse_region(text: str) -> RegionFields:
    """Country, province, city and ISP from a record in either layout (module docstring)."""
    fields = [None if f.strip() in ("", "0") else f.strip() for f in text.split("|")]
    if len(fields) >= 5 and fields[4] and _ISO_CODE.fullmatch(fields[4]):
        return RegionFields(fields[4], fields[1], fields[2], fields[3])
    if len(fields) >= 5:
        return RegionFields(fields[0], fields[2], fields[3], fields[4])
    return RegionFields(*(fields + [None] * 4)[:4])


class Ip2regionLookup:
    """An open xdb file; see the module docstring."""

    def __init__(self, path: Path, header: XdbHeader, searcher: Searcher) -> None:
        self._path = path
        self._header = header
        self._searcher = searcher

    def lookup(self, address: str) -> AddressInfo | None:
        ip = ipaddress.ip_address(normalize_address(address))
        if ip.version != self._header.ip_version:
            return None
        try:
            text = self._searcher.search(ip.packed)
        except (IndexError, ValueError, struct.error) as exc:
            # Offsets that point past the end, or record bytes that are not UTF-8.
            raise MalformedInput(f"{self._path}: record for {ip}: damaged xdb ({exc})") from exc
        except OSError as exc:
            raise InputError(f"{self._path}: cannot read ({exc})") from exc
        fields = parse_region(text)
        if fields == RegionFields():
            return None
        return AddressInfo(
            provenance=Provenance(
                file=str(self._path), format="ip2region", locator=f"record for {ip}"
            ),
            range_start=str(ip),
            range_end=str(ip),
            operator=fields.isp,
            country=fields.country,
            region=fields.region,
            city=fields.city,
        )

    def close(self) -> None:
        self._searcher.close()


class Ip2regionDatabase:
    """ip2region xdb files; see the module docstring."""

    format = "ip2region"
    description = "ip2region xdb files (ip2region_v4.xdb, ip2region_v6.xdb; structure 2 and 3)"
    suffixes: tuple[str, ...] = (".xdb",)
    signature = "256-byte header: structure 2/3, index policy, segment-index offsets, IP version"
    available = importlib.util.find_spec("ip2region.searcher") is not None

    def sniff(self, head: bytes, tail: bytes, path: Path) -> float:
        try:
            header = parse_header(head)
        except MalformedInput:
            return 0.0
        score = 0.9 if not any(head[20:HEADER_LENGTH]) else 0.6
        try:
            header.check_size(path.stat().st_size)
        except MalformedInput:
            score = 0.5  # an xdb, but damaged: `open` will say how
        except OSError:
            pass
        return min(1.0, score + 0.1) if path.suffix.lower() in self.suffixes else score

    def open(self, path: Path) -> Ip2regionLookup:
        from ip2region import searcher, util

        try:
            with path.open("rb") as f:
                head = f.read(HEADER_LENGTH)
                vector_index = f.read(VECTOR_INDEX_LENGTH)
                size = f.seek(0, 2)
        except OSError as exc:
            raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from exc
        try:
            header = parse_header(head)
            header.check_size(size)
        except MalformedInput as exc:
            raise MalformedInput(f"{path}: not a usable ip2region xdb file ({exc})") from exc
        version = util.IPv4 if header.ip_version == 4 else util.IPv6
        try:
            found = searcher.new_with_vector_index(version, str(path), vector_index)
        except OSError as exc:
            raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from exc
        return Ip2regionLookup(path, header, found)


database = Ip2regionDatabase()
