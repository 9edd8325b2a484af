"""Small address databases written at test time: MaxMind DB files and ip2region xdb files.

No database is downloaded or checked in.  MaxMind DB files are written with
`mmdb-writer` (a test-only dependency) in the GeoLite2 layouts.  py-ip2region
ships only the searcher (no maker and no sample .xdb), so `write_xdb` lays out
an xdb file itself, following the structure comment of ip2region's reference
maker (maker/golang/xdb/maker.go) section by section:

1. "header space", 256 bytes, little-endian: u16 version (2, or 3 since IPv6
   support), u16 index policy (1 = vector index), u32 creation time, u32 offset
   of the first and of the last segment-index block; version 3 adds u16 IP
   version (4/6) and u16 runtime pointer bytes (4).  The rest is zero.
2. "vector index", 256 x 256 x 8 bytes: for each value of an address's first two
   bytes, u32 offset of its first segment-index block and u32 offset just past
   its last one (the maker stores "last block + block size").
3. "data payload": each distinct record text once, UTF-8, no terminator.
4. "segment index": one block per segment piece, in address order: start and end
   address (IPv4 as a little-endian u32 "to stay compatible with the old
   searcher", IPv6 as 16 bytes in network order), u16 record length, u32 record
   offset.  The maker splits every segment so that no piece crosses a change in
   the first two address bytes; `_pieces` does the same.

Like ip2region's own source data, the segments cover the whole address space:
the gaps between the networks given are filled with an all-unknown record.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from mmdb_writer import MmdbU32, MMDBWriter
from netaddr import IPSet

CHINA_MOBILE = "China Mobile Communications Group Co., Ltd."
HENAN_NETWORK = "117.160.192.0/19"
DOC_NETWORK = "192.0.2.0/24"
DOC_NETWORK_V6 = "2001:db8::/32"

ASN_RECORDS: dict[str, dict[str, Any]] = {
    HENAN_NETWORK: {"autonomous_system_number": MmdbU32(24445),
                    "autonomous_system_organization": CHINA_MOBILE},
    DOC_NETWORK: {"autonomous_system_number": MmdbU32(64496),
                  "autonomous_system_organization": "Documentation Example (RFC 5737)"},
    DOC_NETWORK_V6: {"autonomous_system_number": MmdbU32(64497),
                     "autonomous_system_organization": "Documentation Example (RFC 3849)"},
}  # fmt: skip

CITY_RECORDS: dict[str, dict[str, Any]] = {
    HENAN_NETWORK: {
        "continent": {"code": "AS", "names": {"en": "Asia", "zh-CN": "亚洲"}},
        "country": {"iso_code": "CN", "names": {"en": "China", "zh-CN": "中国"}},
        "subdivisions": [{"iso_code": "HA", "names": {"en": "Henan", "zh-CN": "河南"}}],
        "city": {"names": {"en": "Pingdingshan", "zh-CN": "平顶山"}},
    },
    DOC_NETWORK: {"country": {"iso_code": "ZZ", "names": {"en": "Documentation"}}},
    DOC_NETWORK_V6: {
        "country": {"iso_code": "CN", "names": {"zh-CN": "中国"}},
        "subdivisions": [{"names": {"zh-CN": "河南"}}],
        "city": {"names": {"en": "Zhengzhou"}},
    },
}

XDB_UNKNOWN = "0|0|0|0|0"
XDB_V4_RECORDS = {  # the layout of ip2region data since 2025: country|province|city|ISP|ISO
    HENAN_NETWORK: "中国|河南省|平顶山市|移动|CN",
    "1.0.1.0/24": "中国|福建省|福州市|电信|CN",
}
XDB_V4_OLD_RECORDS = {  # the 2.x layout: country|area|province|city|ISP
    HENAN_NETWORK: "中国|0|河南省|平顶山市|移动",
}
XDB_V6_RECORDS = {
    "2409:8a28::/32": "中国|河南省|郑州市|移动|CN",
    "2604:a840:3::/48": "United States|California|San Jose|xTom|US",
}


def write_mmdb(path: Path, records: Mapping[str, Any], *, ip_version: int = 6) -> Path:
    """A MaxMind DB at `path` holding `records` ({network: record}); IPv4 rides in ::/96."""
    writer = MMDBWriter(
        ip_version=ip_version,
        database_type="hostmap-test",
        ipv4_compatible=ip_version == 6,
        description="hostmap test data",
    )
    for network, record in records.items():
        writer.insert_network(IPSet([network]), record)
    writer.to_db_file(str(path))
    return path


def write_xdb(
    path: Path, records: Mapping[str, str], *, ip_version: int = 4, structure: int = 3
) -> Path:
    """An ip2region xdb at `path` holding `records` ({network: record text})."""
    if structure == 2 and ip_version != 4:
        raise ValueError("xdb structure 2 holds IPv4 only")
    segments = _cover(records, ip_version)
    width = 4 if ip_version == 4 else 16
    block_size = 2 * width + 6
    vector = bytearray(256 * 256 * 8)
    payload, offsets = bytearray(), {}
    data_start = 256 + len(vector)
    for _, _, text in segments:
        if text not in offsets:
            offsets[text] = data_start + len(payload)
            payload += text.encode()
    index = bytearray()
    index_start = data_start + len(payload)
    for start, end, text in segments:
        for low, high in _pieces(start, end, width):
            at = index_start + len(index)
            index += _address_bytes(low, width) + _address_bytes(high, width)
            index += struct.pack("<HI", len(text.encode()), offsets[text])
            cell = (low >> (8 * width - 16)) * 8
            first = struct.unpack_from("<I", vector, cell)[0] or at
            struct.pack_into("<II", vector, cell, first, at + block_size)
    header = bytearray(256)
    last_block = index_start + len(index) - block_size
    struct.pack_into("<HHIII", header, 0, structure, 1, 1_700_000_000, index_start, last_block)
    if structure >= 3:
        struct.pack_into("<HH", header, 16, ip_version, 4)
    path.write_bytes(bytes(header + vector + payload + index))
    return path


def _cover(records: Mapping[str, str], ip_version: int) -> list[tuple[int, int, str]]:
    """The networks in address order with every gap (and the ends) filled with XDB_UNKNOWN."""
    networks = sorted(ipaddress.ip_network(n) for n in records)
    top = (1 << (32 if ip_version == 4 else 128)) - 1
    segments, next_start = [], 0
    for network in networks:
        low, high = int(network.network_address), int(network.broadcast_address)
        if low > next_start:
            segments.append((next_start, low - 1, XDB_UNKNOWN))
        segments.append((low, high, records[str(network)]))
        next_start = high + 1
    if next_start <= top:
        segments.append((next_start, top, XDB_UNKNOWN))
    return segments


def _pieces(start: int, end: int, width: int) -> Iterator[tuple[int, int]]:
    """Split start..end where the first two address bytes change (the vector index's unit)."""
    span = 1 << (8 * width - 16)
    while start <= end:
        piece_end = min(end, start | (span - 1))
        yield start, piece_end
        start = piece_end + 1


def _address_bytes(value: int, width: int) -> bytes:
    return value.to_bytes(4, "little") if width == 4 else value.to_bytes(16, "big")


def corrupt(
    path: Path,
    target: Path,
    *,
    keep: int | None = None,
    overwrite: Sequence[tuple[int, bytes]] = (),
) -> Path:
    """A damaged copy of `path`: cut after `keep` bytes and/or bytes overwritten at offsets."""
    data = bytearray(path.read_bytes()[:keep])
    for offset, chunk in overwrite:
        data[offset : offset + len(chunk)] = chunk
    target.write_bytes(bytes(data))
    return target
