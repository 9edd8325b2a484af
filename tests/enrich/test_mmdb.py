"""MaxMind DB lookups: GeoLite2 ASN and City layouts, other writers' layouts, damage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import maxminddb
import pytest

from hostmap.enrich.mmdb import METADATA_MARKER, MmdbLookup, RecordFields, database, record_fields
from hostmap.errors import InputError, MalformedInput
from hostmap.model import Provenance
from tests.enrich.address_dbs import (
    ASN_RECORDS,
    CHINA_MOBILE,
    CITY_RECORDS,
    corrupt,
    write_mmdb,
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mmdb")


@pytest.fixture(scope="module")
def asn_db(folder: Path) -> Path:
    return write_mmdb(folder / "GeoLite2-ASN.mmdb", ASN_RECORDS)


@pytest.fixture(scope="module")
def city_db(folder: Path) -> Path:
    return write_mmdb(folder / "GeoLite2-City.mmdb", CITY_RECORDS)


@pytest.fixture
def asn(asn_db: Path) -> Iterator[MmdbLookup]:
    lookup = database.open(asn_db)
    yield lookup
    lookup.close()


@pytest.fixture
def city(city_db: Path) -> Iterator[MmdbLookup]:
    lookup = database.open(city_db)
    yield lookup
    lookup.close()


def test_asn_layout_names_the_operator_of_the_network(asn: MmdbLookup, asn_db: Path) -> None:
    info = asn.lookup("117.160.200.1")
    assert info is not None
    assert (info.asn, info.operator) == (24445, CHINA_MOBILE)
    assert (info.range_start, info.range_end) == ("117.160.192.0", "117.160.223.255")
    assert info.provenance == Provenance(
        file=str(asn_db), format="mmdb", locator="network 117.160.192.0/19"
    )
    assert (info.country, info.region, info.city) == (None, None, None)


def test_asn_layout_answers_for_ipv6(asn: MmdbLookup) -> None:
    info = asn.lookup("2001:DB8::1")
    assert info is not None
    assert (info.asn, info.range_start) == (64497, "2001:db8::")
    assert info.range_end == "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"
    assert info.provenance.locator == "network 2001:db8::/32"


def test_city_layout_keeps_chinese_names_next_to_english(city: MmdbLookup) -> None:
    info = city.lookup("117.160.223.255")
    assert info is not None
    assert (info.country, info.region, info.city) == ("CN", "Henan 河南", "Pingdingshan 平顶山")
    assert info.asn is None and info.operator is None


def test_city_layout_uses_whichever_language_there_is(city: MmdbLookup) -> None:
    info = city.lookup("2001:db8:1::5")
    assert info is not None
    assert (info.country, info.region, info.city) == ("CN", "河南", "Zhengzhou")


@pytest.mark.parametrize("address", ["8.8.8.8", "117.160.224.0", "2001:4860::8888", "::1"])
def test_an_address_outside_every_network_has_no_answer(asn: MmdbLookup, address: str) -> None:
    assert asn.lookup(address) is None


def test_an_ipv4_only_database_has_no_answer_for_ipv6(tmp_path: Path) -> None:
    path = write_mmdb(tmp_path / "v4.mmdb", {"192.0.2.0/24": {"asn": "AS64496"}}, ip_version=4)
    lookup = database.open(path)
    assert lookup.lookup("2001:db8::1") is None
    info = lookup.lookup("192.0.2.9")
    lookup.close()
    assert info is not None and info.asn == 64496 and info.range_end == "192.0.2.255"


def test_a_record_with_nothing_hostmap_reads_is_no_answer(tmp_path: Path) -> None:
    path = write_mmdb(tmp_path / "odd.mmdb", {"192.0.2.0/24": {"location": {"latitude": 1}}})
    lookup = database.open(path)
    assert lookup.lookup("192.0.2.1") is None
    lookup.close()


def test_a_non_address_is_a_programming_error(asn: MmdbLookup) -> None:
    with pytest.raises(ValueError):
        asn.lookup("a.example")


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (
            {"asn": "AS24445", "as_name": CHINA_MOBILE, "country": "China", "country_code": "cn"},
            RecordFields(asn=24445, operator=CHINA_MOBILE, country="CN"),
        ),
        (
            {"ASN": 24445, "ISP": "中国移动", "Country": "CN", "Province": "河南", "City": "郑州"},
            RecordFields(asn=24445, operator="中国移动", country="CN", region="河南", city="郑州"),
        ),
        (
            {
                "country_short": "CN",
                "country_long": "China",
                "region": "Henan",
                "city": "-",
                "isp": "China Mobile",
            },
            RecordFields(operator="China Mobile", country="CN", region="Henan"),
        ),
        (
            {
                "country": "中国",
                "province": {"name": "河南省"},
                "city": {"zh-CN": "平顶山"},
                "isp": "移动",
                "asn": 0,
            },
            RecordFields(operator="移动", country="中国", region="河南省", city="平顶山"),
        ),
        (
            {
                "autonomous_system_number": 64496,
                "isp": "Example ISP",
                "organization": "Example Org",
                "autonomous_system_organization": "Example AS",
            },
            RecordFields(asn=64496, operator="Example AS"),
        ),
        ({"registered_country": {"iso_code": "CN"}}, RecordFields()),
        ("a bare string", RecordFields()),
    ],
    ids=[
        "ipinfo",
        "upper-case-keys",
        "ip2location",
        "chinese-names",
        "geoip2-isp",
        "registered-only",
        "not-a-map",
    ],
)
def test_other_writers_layouts(record: Any, expected: RecordFields) -> None:
    assert record_fields(record) == expected


def test_a_truncated_database_is_malformed_input_naming_the_file(
    asn_db: Path, tmp_path: Path
) -> None:
    cut = corrupt(asn_db, tmp_path / "cut.mmdb", keep=asn_db.stat().st_size // 2)
    with pytest.raises(MalformedInput, match="cut.mmdb: not a usable MaxMind DB file"):
        database.open(cut)


def test_an_empty_file_is_malformed_input(tmp_path: Path) -> None:
    (tmp_path / "empty.mmdb").write_bytes(b"")
    with pytest.raises(MalformedInput, match="empty.mmdb"):
        database.open(tmp_path / "empty.mmdb")


def test_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="absent.mmdb"):
        database.open(tmp_path / "absent.mmdb")


@pytest.mark.parametrize(
    "mode", [maxminddb.MODE_AUTO, maxminddb.MODE_MMAP], ids=["default-reader", "pure-python-reader"]
)
def test_a_damaged_search_tree_is_malformed_input_at_lookup(
    asn_db: Path, tmp_path: Path, mode: int
) -> None:
    marker = asn_db.read_bytes().index(METADATA_MARKER)
    damaged = corrupt(asn_db, tmp_path / "damaged.mmdb", overwrite=[(0, b"\xff" * (marker - 16))])
    lookup = MmdbLookup(damaged, maxminddb.open_database(str(damaged), mode))
    with pytest.raises(MalformedInput, match="damaged.mmdb: looking up 117.160.200.1"):
        lookup.lookup("117.160.200.1")
    lookup.close()
