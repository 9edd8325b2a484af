"""The passive-DNS reader: the corpus pdns/ files, hand-made exports, gzip, bad lines."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hostmap.errors import MalformedInput, TruncatedInput
from hostmap.ingest import address_table, dig_output, reverse_ip, zone_file
from hostmap.ingest.passive_dns import parse_time, reader
from hostmap.model import ReadIssue, Resolution, ResolutionSource, Severity
from tests.conftest import CORPUS

DATA = Path(__file__).resolve().parents[1] / "data" / "passive-dns"
SNIFF_BYTES = 64 * 1024
OTHER_READERS = (address_table.reader, dig_output.reader, reverse_ip.reader, zone_file.reader)

CORPUS_COUNTS = {
    "cisco-tr05-dnsdb-domain-fixture.json": 7,
    "cisco-tr05-dnsdb-ip-fixture.json": 2,
    "cisco-tr05-dnsdb-ipv6-fixture.json": 2,
    "pdns-qof-cof-testdata.jsonl": 2,
}


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def read(path: Path) -> tuple[list[Resolution], list[ReadIssue]]:
    items = list(reader.read(path))
    return (
        [item for item in items if isinstance(item, Resolution)],
        [item for item in items if isinstance(item, ReadIssue)],
    )


def facts(resolutions: list[Resolution]) -> set[tuple[str, str, str]]:
    return {(r.name, r.raw_type or r.rtype.value, r.value) for r in resolutions}


def head(path: Path) -> bytes:
    return path.read_bytes()[:SNIFF_BYTES]


def test_corpus_table_names_every_pdns_file(corpus_dir: Path) -> None:
    assert sorted(p.name for p in (corpus_dir / "pdns").iterdir()) == sorted(CORPUS_COUNTS)


@pytest.mark.parametrize("name", sorted(CORPUS_COUNTS))
def test_corpus_pdns_file_reads_cleanly_with_times(corpus_dir: Path, name: str) -> None:
    resolutions, issues = read(corpus_dir / "pdns" / name)
    assert issues == []
    assert len(resolutions) == CORPUS_COUNTS[name]
    assert {r.source for r in resolutions} == {ResolutionSource.PASSIVE_DNS}
    assert all(r.first_seen is not None and r.last_seen is not None for r in resolutions)


def test_circl_cof_lines_give_the_cname_history(corpus_dir: Path) -> None:
    first, second = read(corpus_dir / "pdns" / "pdns-qof-cof-testdata.jsonl")[0]
    assert (first.name, first.rtype.value, first.value) == ("www.circl.lu", "CNAME", "cpa.circl.lu")
    assert first.first_seen is not None and first.first_seen.date().isoformat() == "2011-09-09"
    assert (first.first_seen, first.last_seen) == (
        datetime.fromtimestamp(1315586409, UTC),
        datetime.fromtimestamp(1449566799, UTC),
    )
    assert (first.count, first.provenance.locator) == (1909, "line 1")
    assert (second.value, second.count, second.provenance.locator) == (
        "cpab.circl.lu",
        2560,
        "line 2",
    )


def test_cisco_input_list_gives_dnsdb_records_with_iso_times(corpus_dir: Path) -> None:
    resolutions, _ = read(corpus_dir / "pdns" / "cisco-tr05-dnsdb-domain-fixture.json")
    assert facts(resolutions) == {
        ("google.com", "A", "74.125.224.64"),
        ("google.com", "A", "74.125.224.65"),
        ("google.com", "A", "173.194.220.100"),
        ("google.com", "A", "173.194.220.101"),
        ("google.com", "NS", "ns1.google.com"),
        ("google.com", "NS", "ns2.google.com"),
        ("google.com", "AAAA", "2001:4860:4001:802::1008"),
    }
    [first] = [r for r in resolutions if r.value == "74.125.224.64"]
    assert first.first_seen == first.last_seen == utc(2013, 1, 14, 19, 23, 53)
    assert (first.count, first.provenance.locator) == (5, "input[0]")
    [zone_timed] = [r for r in resolutions if r.value == "173.194.220.100"]  # zone_time_* only
    assert (zone_timed.first_seen, zone_timed.last_seen) == (
        utc(2010, 4, 24, 16, 12, 21),
        utc(2010, 12, 31, 17, 9, 16),
    )


def test_cisco_ip_fixtures_take_rdata_as_a_string(corpus_dir: Path) -> None:
    v4, _ = read(corpus_dir / "pdns" / "cisco-tr05-dnsdb-ip-fixture.json")
    assert facts(v4) == {("ns2.gestiondeeventos.app", "A", "127.0.0.1")}
    v6, _ = read(corpus_dir / "pdns" / "cisco-tr05-dnsdb-ipv6-fixture.json")
    assert facts(v6) == {
        ("dns2.tacnet.org", "AAAA", "2001:db8:85a3::8a2e:370:7334"),
        ("dns3.tacnet.org", "AAAA", "2001:db8:85a3::8a2e:370:7334"),
    }


def test_dnsdb_stream_unwraps_obj_lines_and_warns_when_limited() -> None:
    resolutions, issues = read(DATA / "good" / "dnsdb-saf.jsonl")
    assert facts(resolutions) == {
        ("www.example.com", "A", "192.0.2.1"),
        ("www.example.com", "A", "192.0.2.2"),
        ("example.com", "MX", "10 mail.example.com."),
        ("7.2.0.192.in-addr.arpa", "PTR", "host7.example.com"),
        ("host7.example.com", "A", "192.0.2.7"),
    }
    [limited] = issues
    assert limited.severity is Severity.WARNING and limited.provenance.locator == "line 5"


def test_pretty_printed_list_with_naive_and_offset_iso_times() -> None:
    [resolution], issues = read(DATA / "good" / "pretty-list.json")
    assert issues == []
    assert resolution.provenance.locator == "record[0]"
    assert resolution.first_seen == utc(2022, 6, 14, 10, 0, 0)  # no offset: UTC
    assert resolution.last_seen == utc(2022, 6, 15, 2, 0, 0)  # +08:00


def test_gzip_compressed_lines_are_sniffed_and_read(corpus_dir: Path, tmp_path: Path) -> None:
    packed = tmp_path / "cof.jsonl.gz"
    packed.write_bytes(
        gzip.compress((corpus_dir / "pdns" / "pdns-qof-cof-testdata.jsonl").read_bytes())
    )
    assert reader.sniff(head(packed), packed) == 1.0
    resolutions, issues = read(packed)
    assert issues == [] and {r.value for r in resolutions} == {"cpa.circl.lu", "cpab.circl.lu"}


def test_truncated_gzip_keeps_what_was_read_then_raises(tmp_path: Path) -> None:
    lines = b"".join(
        b'{"rrname":"h%d.example.com","rrtype":"A","rdata":"192.0.2.1"}\n' % i for i in range(2000)
    )
    packed = tmp_path / "cut.jsonl.gz"
    packed.write_bytes(gzip.compress(lines)[:-200])
    items: list[object] = []
    with pytest.raises(TruncatedInput):
        for item in reader.read(packed):
            items.append(item)
    assert len(items) > 0


def test_bad_lines_are_issues_and_the_good_lines_around_them_are_read() -> None:
    resolutions, issues = read(DATA / "bad" / "bad-lines.jsonl")
    assert [(r.name, r.provenance.locator) for r in resolutions] == [
        ("a.example.com", "line 1"),
        ("g.example.com", "line 7"),
    ]
    assert [i.provenance.locator for i in issues] == [f"line {n}" for n in range(2, 7)]
    messages = [i.message for i in issues]
    assert "not JSON" in messages[0] and "rdata" in messages[1] and "192.0.2.999" in messages[2]
    assert "before first seen" in messages[3] and "yesterday" in messages[4]


def test_json_without_passive_dns_records_is_malformed(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{\n  "log": {"entries": []}\n}\n')
    with pytest.raises(MalformedInput):
        list(reader.read(path))


def test_parse_time_accepts_epoch_numbers_strings_and_iso() -> None:
    assert parse_time(0) == utc(1970, 1, 1)
    assert parse_time("1315586409") == datetime.fromtimestamp(1315586409, UTC)
    assert parse_time("2013-01-14T19:23:53Z") == utc(2013, 1, 14, 19, 23, 53)
    assert parse_time(None) is None
    with pytest.raises(MalformedInput):
        parse_time(True)


@pytest.mark.parametrize("name", sorted(CORPUS_COUNTS))
def test_sniff_claims_corpus_pdns_files_and_the_other_readers_do_not(
    corpus_dir: Path, name: str
) -> None:
    path = corpus_dir / "pdns" / name
    assert reader.sniff(head(path), path) >= 0.6
    for other in OTHER_READERS:
        assert other.sniff(head(path), path) <= 0, other.format


@pytest.mark.parametrize(
    "path", sorted(p for p in DATA.rglob("*") if p.is_file()), ids=lambda p: p.name
)
def test_sniff_claims_hand_made_exports_and_the_other_readers_do_not(path: Path) -> None:
    assert reader.sniff(head(path), path) > 0.5
    for other in OTHER_READERS:
        assert other.sniff(head(path), path) <= 0, other.format


@pytest.mark.parametrize(
    "path",
    sorted(
        p
        for p in CORPUS.rglob("*")
        if p.is_file() and p.parent.name != "pdns" and p.suffix != ".md"
    ),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_sniff_rejects_files_of_other_formats(path: Path) -> None:
    assert reader.sniff(head(path), path) <= 0


SAF_RECORD = (
    '{"obj":{"count":2,"time_first":1654000000,"time_last":1655000000,'
    '"rrname":"www.example.com.","rrtype":"A","rdata":["192.0.2.1"]}}\n'
)


def test_dnsdb_stream_that_succeeded_reads_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "saf.jsonl"
    path.write_text('{"cond":"begin"}\n' + SAF_RECORD + '{"cond":"succeeded"}\n')
    items = list(reader.read(path))
    assert [type(i) for i in items] == [Resolution]
    assert reader.sniff(path.read_bytes(), path) >= 0.9


def test_dnsdb_stream_without_a_final_condition_warns_it_may_be_incomplete(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cut.jsonl"
    path.write_text('{"cond":"begin"}\n' + SAF_RECORD)
    issues = [i for i in reader.read(path) if isinstance(i, ReadIssue)]
    assert [(i.severity, i.provenance.locator) for i in issues] == [(Severity.WARNING, "line 2")]
    assert "succeeded" in issues[0].message


def test_dnsdb_failed_condition_is_an_error_issue(tmp_path: Path) -> None:
    path = tmp_path / "failed.jsonl"
    path.write_text('{"cond":"begin"}\n' + SAF_RECORD + '{"cond":"failed","msg":"timeout"}\n')
    [issue] = [i for i in reader.read(path) if isinstance(i, ReadIssue)]
    assert issue.severity is Severity.ERROR and "timeout" in issue.message
    assert issue.provenance.locator == "line 3"
