"""Address-database detection by content, and the registry."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from hostmap.enrich import address_db, ip2region, mmdb
from hostmap.enrich.address_db import ADDRESS_DATABASES, detect_address_database
from tests.enrich.address_dbs import (
    ASN_RECORDS,
    XDB_V4_RECORDS,
    XDB_V6_RECORDS,
    corrupt,
    write_mmdb,
    write_xdb,
)


@pytest.fixture(scope="module")
def databases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("address-dbs")
    return {
        "mmdb": write_mmdb(folder / "asn.mmdb", ASN_RECORDS),
        "xdb-v4": write_xdb(folder / "ip2region_v4.xdb", XDB_V4_RECORDS),
        "xdb-v6": write_xdb(folder / "ip2region_v6.xdb", XDB_V6_RECORDS, ip_version=6),
    }


def test_registry_lists_both_formats_in_alphabetical_order() -> None:
    assert [database.format for database in ADDRESS_DATABASES] == ["ip2region", "mmdb"]
    assert ADDRESS_DATABASES == [ip2region.database, mmdb.database]
    for database in ADDRESS_DATABASES:
        assert database.available
        assert database.description and database.signature and database.suffixes


@pytest.mark.parametrize(
    ("name", "expected"), [("mmdb", "mmdb"), ("xdb-v4", "ip2region"), ("xdb-v6", "ip2region")]
)
def test_a_database_is_detected_by_content_whatever_its_name(
    databases: dict[str, Path], tmp_path: Path, name: str, expected: str
) -> None:
    renamed = Path(shutil.copy(databases[name], tmp_path / "data.bin"))
    for path in (databases[name], renamed):
        found = detect_address_database(path)
        assert found is not None and found.format == expected


def test_the_suffix_only_adds_confidence(databases: dict[str, Path], tmp_path: Path) -> None:
    head = databases["xdb-v4"].read_bytes()[: address_db.HEAD_BYTES]
    renamed = Path(shutil.copy(databases["xdb-v4"], tmp_path / "data.bin"))
    assert ip2region.database.sniff(head, b"", databases["xdb-v4"]) == 1.0
    assert ip2region.database.sniff(head, b"", renamed) == 0.9


def test_a_truncated_xdb_is_still_recognised_so_opening_it_can_say_why(
    databases: dict[str, Path], tmp_path: Path
) -> None:
    cut = corrupt(databases["xdb-v4"], tmp_path / "cut.xdb", keep=600_000)
    assert detect_address_database(cut) is ip2region.database


def write_har(path: Path) -> Path:
    entry = {"request": {"method": "GET", "url": "http://a.example/"}, "response": {"status": 200}}
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": [entry]}}))
    return path


def write_tsv(path: Path) -> Path:
    path.write_text(
        "117.160.192.0\t117.160.223.255\t24445\tCN\tCMNET-HENAN\n"
        "192.0.2.0\t192.0.2.255\t0\tNone\tNot routed\n"
    )
    return path


@pytest.mark.parametrize("writer", [write_har, write_tsv], ids=["har", "tsv"])
def test_capture_and_table_files_are_not_address_databases(
    tmp_path: Path, writer: Callable[[Path], Path]
) -> None:
    path = writer(tmp_path / "input.mmdb")
    assert detect_address_database(path) is None


@pytest.mark.parametrize(
    "content", [b"", b"\0" * 1000, bytes(range(256)) * 4096], ids=["empty", "zeros", "binary"]
)
def test_other_bytes_are_not_address_databases(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "data.xdb"
    path.write_bytes(content)
    assert detect_address_database(path) is None
