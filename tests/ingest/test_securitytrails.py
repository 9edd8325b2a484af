"""The SecurityTrails reader: DNS history pages (a, aaaa, ns, mx), bad records, sniffing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from hostmap.errors import MalformedInput
from hostmap.ingest import READERS
from hostmap.ingest.securitytrails import host_from_file_name, reader
from hostmap.model import ReadIssue, RecordType, Resolution, ResolutionSource, Severity
from tests.conftest import CORPUS, HENAN

DATA = Path(__file__).resolve().parents[1] / "data" / "securitytrails"
SNIFF_BYTES = 64 * 1024


def read(path: Path) -> tuple[list[Resolution], list[ReadIssue]]:
    items = list(reader.read(path))
    return (
        [item for item in items if isinstance(item, Resolution)],
        [item for item in items if isinstance(item, ReadIssue)],
    )


def head(path: Path) -> bytes:
    return path.read_bytes()[:SNIFF_BYTES]


def test_a_history_gives_each_address_with_whole_day_spans() -> None:
    resolutions, issues = read(DATA / "good" / "history-www.example.com-a.json")
    assert issues == []
    assert [(r.name, r.rtype, r.value, r.provenance.locator) for r in resolutions] == [
        ("www.example.com", RecordType.A, "192.0.2.1", "records[0].values[0]"),
        ("www.example.com", RecordType.A, "192.0.2.2", "records[0].values[1]"),
        ("www.example.com", RecordType.A, "198.51.100.7", "records[1].values[0]"),
    ]
    first = resolutions[0]
    assert first.source is ResolutionSource.PASSIVE_DNS
    assert first.first_seen == datetime(2021, 12, 29, tzinfo=UTC)
    assert first.last_seen == datetime(2022, 6, 14, 23, 59, 59, tzinfo=UTC)
    assert first.count is None  # ip_count counts hosts sharing the address, not sightings


def test_aaaa_page_without_endpoint_takes_the_host_from_the_file_name() -> None:
    [resolution], issues = read(DATA / "good" / "www.example.net_dns_aaaa.json")
    assert issues == []
    assert (resolution.name, resolution.rtype, resolution.value) == (
        "www.example.net",
        RecordType.AAAA,
        "2001:db8::10",
    )


def test_pages_saved_one_per_line_give_ns_and_mx_history() -> None:
    resolutions, issues = read(DATA / "good" / "pages-ns-mx.jsonl")
    assert issues == []
    assert [(r.rtype, r.raw_type, r.value, r.provenance.locator) for r in resolutions] == [
        (RecordType.NS, None, "ns1.example.org", "line 1: records[0].values[0]"),
        (RecordType.NS, None, "ns2.example.org", "line 1: records[0].values[1]"),
        (RecordType.OTHER, "MX", "10 mail.example.org", "line 2: records[0].values[0]"),
    ]
    assert {r.name for r in resolutions} == {"example.org"}


def test_bad_records_and_values_are_issues_and_the_rest_is_read() -> None:
    resolutions, issues = read(DATA / "bad" / "bad-records.json")
    assert [(r.value, r.provenance.locator) for r in resolutions] == [
        ("192.0.2.20", "records[0].values[0]"),
        ("192.0.2.21", "records[3].values[1]"),
        ("192.0.2.24", "records[7].values[0]"),
    ]
    assert [(i.provenance.locator, i.severity) for i in issues] == [
        ("records[1]", Severity.ERROR),  # not an object
        ("records[2]", Severity.ERROR),  # no values
        ("records[3].values[0]", Severity.ERROR),  # 192.0.2.999
        ("records[4].values[0]", Severity.ERROR),  # last seen before first seen
        ("records[5]", Severity.ERROR),  # srv is no SecurityTrails history type
        ("records[6]", Severity.ERROR),  # 2022-02-30
    ]
    messages = [i.message for i in issues]
    assert "192.0.2.999" in messages[2] and "srv" in messages[4] and "2022-02-30" in messages[5]


def test_an_api_error_answer_is_malformed_and_says_what_the_api_said() -> None:
    with pytest.raises(MalformedInput, match="exceeded the usage limits"):
        list(reader.read(DATA / "bad" / "api-error.json"))


def test_a_page_without_endpoint_or_host_in_the_file_name_is_malformed(tmp_path: Path) -> None:
    path = tmp_path / "history.json"
    path.write_text('{"records": [{"type": "a", "values": [{"ip": "192.0.2.1"}]}]}')
    with pytest.raises(MalformedInput, match="no host name"):
        list(reader.read(path))


def test_host_from_file_name_forms() -> None:
    assert host_from_file_name(Path("www.example.com.json")) == "www.example.com"
    assert host_from_file_name(Path("securitytrails-www.example.com-a.json")) == "www.example.com"
    assert host_from_file_name(Path("history-example.org_dns_aaaa.json")) == "example.org"
    assert host_from_file_name(Path("history.json")) is None


@pytest.mark.parametrize("path", sorted(DATA.glob("good/*")), ids=lambda p: p.name)
def test_sniff_claims_good_pages_and_no_other_reader_does(path: Path) -> None:
    assert reader.sniff(head(path), path) > 0.5
    for other in READERS:
        if other is not reader:
            assert other.sniff(head(path), path) <= 0, other.format


@pytest.mark.parametrize(
    "path",
    sorted(p for root in (CORPUS, HENAN) for p in root.rglob("*") if p.is_file()),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_sniff_leaves_the_corpus_and_the_henan_captures_to_their_readers(path: Path) -> None:
    assert reader.sniff(head(path), path) <= 0
