"""The Rapid7 Sonar FDNS/RDNS reader: record types, PTR of addresses, gzip, bad lines, sniffing."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hostmap.errors import TruncatedInput
from hostmap.ingest import READERS
from hostmap.ingest.rapid7_fdns import reader
from hostmap.model import ReadIssue, RecordType, Resolution, ResolutionSource
from tests.conftest import CORPUS, HENAN

DATA = Path(__file__).resolve().parents[1] / "data" / "rapid7-fdns"
SNIFF_BYTES = 64 * 1024
FDNS = DATA / "good" / "2022-06-14-1655164800-fdns_any.json"


def read(path: Path) -> tuple[list[Resolution], list[ReadIssue]]:
    items = list(reader.read(path))
    return (
        [item for item in items if isinstance(item, Resolution)],
        [item for item in items if isinstance(item, ReadIssue)],
    )


def head(path: Path) -> bytes:
    return path.read_bytes()[:SNIFF_BYTES]


def test_fdns_lines_keep_a_aaaa_cname_ns_and_others_as_raw_text() -> None:
    resolutions, issues = read(FDNS)
    assert issues == []
    assert [(r.name, r.rtype, r.raw_type, r.value) for r in resolutions] == [
        ("www.example.com", RecordType.A, None, "192.0.2.1"),
        ("www.example.com", RecordType.AAAA, None, "2001:db8::1"),
        ("cdn.example.com", RecordType.CNAME, None, "edge.example.net"),
        ("example.com", RecordType.OTHER, "MX", "10 mail.example.com"),
        ("example.com", RecordType.NS, None, "ns1.example.com"),
        ("example.com", RecordType.OTHER, "TXT", '"v=spf1 -all"'),
    ]
    assert {r.source for r in resolutions} == {ResolutionSource.PASSIVE_DNS}
    first = resolutions[0]
    moment = datetime.fromtimestamp(1655164800, UTC)
    assert (first.first_seen, first.last_seen, first.provenance.locator) == (
        moment,
        moment,
        "line 1",
    )


def test_rdns_ptr_of_an_address_gives_the_reverse_name_and_host_to_address() -> None:
    resolutions, issues = read(DATA / "good" / "2022-06-14-1655164800-rdns.json")
    assert issues == []
    facts = {(r.name, r.rtype, r.value) for r in resolutions}
    assert ("7.2.0.192.in-addr.arpa", RecordType.PTR, "host7.example.com") in facts
    assert ("host7.example.com", RecordType.A, "192.0.2.7") in facts
    assert ("host8.example.com", RecordType.AAAA, "2001:db8::8") in facts
    assert len(resolutions) == 4


def test_gzip_files_are_sniffed_and_streamed(tmp_path: Path) -> None:
    packed = tmp_path / "2022-06-14-1655164800-fdns_a.json.gz"
    packed.write_bytes(gzip.compress(FDNS.read_bytes()))
    assert reader.sniff(head(packed), packed) == 1.0
    resolutions, issues = read(packed)
    assert issues == [] and len(resolutions) == 6


def test_truncated_gzip_keeps_what_was_read_then_raises(tmp_path: Path) -> None:
    lines = b"".join(
        b'{"timestamp":"1655164800","name":"h%d.example.com","type":"a","value":"192.0.2.1"}\n' % i
        for i in range(3000)
    )
    packed = tmp_path / "cut.json.gz"
    packed.write_bytes(gzip.compress(lines)[:-200])
    items: list[object] = []
    with pytest.raises(TruncatedInput):
        for item in reader.read(packed):
            items.append(item)
    assert len(items) > 0


def test_bad_lines_are_issues_and_the_good_lines_around_them_are_read() -> None:
    resolutions, issues = read(DATA / "bad" / "bad-lines.json")
    assert [(r.name, r.provenance.locator) for r in resolutions] == [
        ("a.example.com", "line 1"),
        ("g.example.com", "line 7"),
    ]
    assert [i.provenance.locator for i in issues] == [f"line {n}" for n in range(2, 7)]
    messages = [i.message for i in issues]
    assert messages[0].startswith("not JSON") and "value" in messages[1]
    assert "192.0.2.999" in messages[2] and "yesterday" in messages[3]
    assert "list" in messages[4]


@pytest.mark.parametrize("path", sorted(DATA.glob("good/*")), ids=lambda p: p.name)
def test_sniff_claims_sonar_files_and_no_other_reader_does(path: Path) -> None:
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
