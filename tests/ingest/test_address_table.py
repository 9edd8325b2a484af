"""The iptoasn address-table reader: hand-made tables, bad rows, sniffing."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from hostmap.ingest import dig_output, passive_dns, reverse_ip, zone_file
from hostmap.ingest.address_table import reader
from hostmap.model import AddressInfo, ReadIssue
from tests.conftest import CORPUS

DATA = Path(__file__).resolve().parents[1] / "data" / "iptoasn"
SNIFF_BYTES = 64 * 1024
OTHER_READERS = (dig_output.reader, passive_dns.reader, reverse_ip.reader, zone_file.reader)


def read(path: Path) -> tuple[list[AddressInfo], list[ReadIssue]]:
    items = list(reader.read(path))
    return (
        [item for item in items if isinstance(item, AddressInfo)],
        [item for item in items if isinstance(item, ReadIssue)],
    )


def head(path: Path) -> bytes:
    return path.read_bytes()[:SNIFF_BYTES]


def row(info: AddressInfo) -> tuple[object, ...]:
    return (
        info.range_start,
        info.range_end,
        info.asn,
        info.operator,
        info.country,
        info.region,
        info.city,
    )


def test_iptoasn_rows_become_address_info_with_region_and_city_extension() -> None:
    infos, issues = read(DATA / "good" / "ip2asn-sample.tsv")
    assert issues == []
    assert [row(i) for i in infos] == [
        ("192.0.2.0", "192.0.2.127", 64500, "EXAMPLE-NET Example Network", "CN", None, None),
        ("192.0.2.128", "192.0.2.255", 64501, "EXAMPLE-CDN", "CN", "Henan", "Zhengzhou"),
        ("198.51.100.0", "198.51.100.255", None, None, None, None, None),  # AS 0: not routed
        (
            "2001:db8::",
            "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
            64502,
            "EXAMPLE-V6",
            "US",
            None,
            None,
        ),
    ]
    assert [i.provenance.locator for i in infos] == ["line 2", "line 3", "line 4", "line 5"]
    assert {i.provenance.format for i in infos} == {"iptoasn"}


def test_integer_addresses_and_header_row_of_the_u32_table() -> None:
    [info], issues = read(DATA / "good" / "ip2asn-v4-u32.tsv")
    assert issues == []
    assert (info.range_start, info.range_end, info.asn) == ("192.0.2.0", "192.0.2.255", 64500)


def test_gzip_compressed_table_is_sniffed_and_read(tmp_path: Path) -> None:
    packed = tmp_path / "ip2asn-combined.tsv.gz"
    packed.write_bytes(gzip.compress((DATA / "good" / "ip2asn-sample.tsv").read_bytes()))
    assert reader.sniff(head(packed), packed) > 0.5
    infos, issues = read(packed)
    assert issues == [] and len(infos) == 4


def test_bad_rows_are_issues_and_the_good_rows_around_them_are_read() -> None:
    infos, issues = read(DATA / "bad" / "bad-rows.tsv")
    assert [(i.operator, i.provenance.locator) for i in infos] == [
        ("GOOD-ONE", "line 1"),
        ("GOOD-TWO", "line 6"),
    ]
    assert [i.provenance.locator for i in issues] == ["line 2", "line 3", "line 4", "line 5"]
    messages = [i.message for i in issues]
    assert "192.0.2.x" in messages[0] and "columns" in messages[1]
    assert "ASX" in messages[2] and "range" in messages[3]


@pytest.mark.parametrize("path", sorted(DATA.glob("good/*")), ids=lambda p: p.name)
def test_sniff_claims_good_tables_and_the_other_readers_do_not(path: Path) -> None:
    assert reader.sniff(head(path), path) > 0.5
    for other in OTHER_READERS:
        assert other.sniff(head(path), path) <= 0, other.format


@pytest.mark.parametrize(
    "path",
    sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix != ".md"),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_sniff_rejects_files_of_other_formats(path: Path) -> None:
    assert reader.sniff(head(path), path) <= 0
