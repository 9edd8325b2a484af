"""ip2region xdb lookups: both record layouts, IPv4 and IPv6 files, damage."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from hostmap.enrich.ip2region import (
    HEADER_LENGTH,
    Ip2regionLookup,
    RegionFields,
    database,
    parse_header,
    parse_region,
)
from hostmap.errors import InputError, MalformedInput
from hostmap.model import Provenance
from tests.enrich.address_dbs import (
    XDB_V4_OLD_RECORDS,
    XDB_V4_RECORDS,
    XDB_V6_RECORDS,
    corrupt,
    write_xdb,
)

VECTOR_CELL_117_160 = HEADER_LENGTH + (117 * 256 + 160) * 8


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("xdb")


@pytest.fixture(scope="module")
def v4_db(folder: Path) -> Path:
    return write_xdb(folder / "ip2region_v4.xdb", XDB_V4_RECORDS)


@pytest.fixture(scope="module")
def v6_db(folder: Path) -> Path:
    return write_xdb(folder / "ip2region_v6.xdb", XDB_V6_RECORDS, ip_version=6)


@pytest.fixture(scope="module")
def old_db(folder: Path) -> Path:
    return write_xdb(folder / "ip2region.xdb", XDB_V4_OLD_RECORDS, structure=2)


def opened(path: Path) -> Iterator[Ip2regionLookup]:
    lookup = database.open(path)
    yield lookup
    lookup.close()


@pytest.fixture
def v4(v4_db: Path) -> Iterator[Ip2regionLookup]:
    yield from opened(v4_db)


@pytest.fixture
def v6(v6_db: Path) -> Iterator[Ip2regionLookup]:
    yield from opened(v6_db)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("中国|河南省|平顶山市|移动|CN", RegionFields("CN", "河南省", "平顶山市", "移动")),
        ("中国|0|河南省|平顶山市|移动", RegionFields("中国", "河南省", "平顶山市", "移动")),
        ("Australia|Queensland|Brisbane|0|AU", RegionFields("AU", "Queensland", "Brisbane")),
        ("澳大利亚|0|维多利亚|墨尔本|0", RegionFields("澳大利亚", "维多利亚", "墨尔本")),
        ("0|0|0|内网IP|内网IP", RegionFields(None, None, "内网IP", "内网IP")),
        ("中国|河南省|郑州市|中国移动", RegionFields("中国", "河南省", "郑州市", "中国移动")),
        ("0|0|0|0|0", RegionFields()),
        ("", RegionFields()),
    ],
    ids=[
        "newer",
        "older",
        "newer-no-isp",
        "older-abroad",
        "intranet",
        "four-fields",
        "unknown",
        "empty",
    ],
)
def test_both_record_layouts(text: str, expected: RegionFields) -> None:
    assert parse_region(text) == expected


def test_ipv4_lookup_keeps_chinese_names(v4: Ip2regionLookup, v4_db: Path) -> None:
    info = v4.lookup("117.160.200.1")
    assert info is not None
    assert (info.country, info.region, info.city) == ("CN", "河南省", "平顶山市")
    assert (info.operator, info.asn) == ("移动", None)
    assert (info.range_start, info.range_end) == ("117.160.200.1", "117.160.200.1")
    assert info.provenance == Provenance(
        file=str(v4_db), format="ip2region", locator="record for 117.160.200.1"
    )


def test_older_structure_and_layout(old_db: Path) -> None:
    for lookup in opened(old_db):
        info = lookup.lookup("117.160.192.0")
        assert info is not None
        assert (info.country, info.region, info.city, info.operator) == (
            "中国",
            "河南省",
            "平顶山市",
            "移动",
        )
        assert lookup.lookup("2409:8a28::1") is None


def test_ipv6_lookup(v6: Ip2regionLookup) -> None:
    info = v6.lookup("2409:8A28:0:0::1")
    assert info is not None
    assert (info.country, info.region, info.city, info.operator) == (
        "CN",
        "河南省",
        "郑州市",
        "移动",
    )
    assert info.provenance.locator == "record for 2409:8a28::1"
    abroad = v6.lookup("2604:a840:3::a04d")
    assert abroad is not None and (abroad.country, abroad.operator) == ("US", "xTom")


@pytest.mark.parametrize("address", ["8.8.8.8", "0.0.0.0", "255.255.255.255", "117.160.224.0"])
def test_an_address_outside_every_network_has_no_answer(v4: Ip2regionLookup, address: str) -> None:
    assert v4.lookup(address) is None


def test_a_file_holds_one_address_family(v4: Ip2regionLookup, v6: Ip2regionLookup) -> None:
    assert v4.lookup("2409:8a28::1") is None
    assert v6.lookup("117.160.200.1") is None
    assert v6.lookup("::") is None


def test_header_fields(v4_db: Path, v6_db: Path, old_db: Path) -> None:
    assert parse_header(v4_db.read_bytes()[:HEADER_LENGTH])[:2] == (3, 1)
    assert parse_header(v6_db.read_bytes()[:HEADER_LENGTH]).ip_version == 6
    assert parse_header(old_db.read_bytes()[:HEADER_LENGTH]).ip_version == 4


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ((0, struct.pack("<H", 4)), "structure version 4"),
        ((2, struct.pack("<H", 9)), "index policy 9"),
        ((16, struct.pack("<H", 5)), "IP version 5"),
        ((8, struct.pack("<I", 100)), "starts inside the vector index"),
        ((12, struct.pack("<I", 600_001)), "not made of 14-byte blocks"),
        ((12, struct.pack("<I", 524_600)), "before it starts"),
    ],
)
def test_a_bad_header_is_malformed_input_naming_the_file(
    v4_db: Path, tmp_path: Path, patch: tuple[int, bytes], message: str
) -> None:
    bad = corrupt(v4_db, tmp_path / "bad.xdb", overwrite=[patch])
    with pytest.raises(
        MalformedInput, match=f"bad.xdb: not a usable ip2region xdb file.*{message}"
    ):
        database.open(bad)


@pytest.mark.parametrize("keep", [0, 100, 600_000])
def test_a_truncated_file_is_malformed_input_naming_the_file(
    v4_db: Path, tmp_path: Path, keep: int
) -> None:
    cut = corrupt(v4_db, tmp_path / "cut.xdb", keep=keep)
    with pytest.raises(MalformedInput, match="cut.xdb: not a usable ip2region xdb file"):
        database.open(cut)


def test_an_index_pointing_past_the_end_is_malformed_input_at_lookup(
    v4_db: Path, tmp_path: Path
) -> None:
    past = v4_db.stat().st_size + 1000
    bad = corrupt(
        v4_db,
        tmp_path / "bad.xdb",
        overwrite=[(VECTOR_CELL_117_160, struct.pack("<II", past, past + 14))],
    )
    for lookup in opened(bad):
        assert lookup.lookup("117.161.0.1") is None  # other cells are intact
        with pytest.raises(MalformedInput, match="bad.xdb: record for 117.160.200.1"):
            lookup.lookup("117.160.200.1")


def test_a_record_that_is_not_utf8_is_malformed_input_at_lookup(
    v4_db: Path, tmp_path: Path
) -> None:
    at = v4_db.read_bytes().index("中国|河南省".encode())
    bad = corrupt(v4_db, tmp_path / "bad.xdb", overwrite=[(at, b"\xff\xfe")])
    for lookup in opened(bad):
        with pytest.raises(MalformedInput, match="bad.xdb: record for 117.160.200.1"):
            lookup.lookup("117.160.200.1")


def test_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="absent.xdb"):
        database.open(tmp_path / "absent.xdb")
