"""The dig reader: the corpus dig/ files, hand-made runs under tests/data/dig, bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hostmap.ingest import address_table, passive_dns, reverse_ip, zone_file
from hostmap.ingest.dig_output import DigOutputReader, reader
from hostmap.model import ReadIssue, RecordType, Resolution, ResolutionSource, Severity
from tests.conftest import CORPUS

DATA = Path(__file__).resolve().parents[1] / "data" / "dig"
SNIFF_BYTES = 64 * 1024
OTHER_READERS = (address_table.reader, passive_dns.reader, reverse_ip.reader, zone_file.reader)

# Resolutions and issues per corpus file, as ../shared/corpus/EXPECTED.md describes them
# (dig-x adds one: the PTR's reverse fact one.one.one.one -> 1.1.1.1).
CORPUS_COUNTS = {
    "jc-centos-7.7-dig-axfr.txt": 50,
    "jc-centos-7.7-dig.txt": 3,
    "jc-generic-dig-additional.txt": 0,
    "jc-osx-10.14.6-dig-noall-answer.txt": 4,
    "jc-osx-10.14.6-dig-x.txt": 2,
    "jc-ubuntu-18.04-dig-aaaa.txt": 1,
}


def read(
    path: Path, with_reader: DigOutputReader = reader
) -> tuple[list[Resolution], list[ReadIssue]]:
    items = list(with_reader.read(path))
    return (
        [item for item in items if isinstance(item, Resolution)],
        [item for item in items if isinstance(item, ReadIssue)],
    )


def facts(resolutions: list[Resolution]) -> set[tuple[str, str, str]]:
    return {(r.name, r.rtype.value, r.value) for r in resolutions}


def head(path: Path) -> bytes:
    return path.read_bytes()[:SNIFF_BYTES]


def test_corpus_table_names_every_dig_file(corpus_dir: Path) -> None:
    assert sorted(p.name for p in (corpus_dir / "dig").iterdir()) == sorted(CORPUS_COUNTS)


@pytest.mark.parametrize("name", sorted(CORPUS_COUNTS))
def test_corpus_dig_file_reads_cleanly_with_the_expected_count(corpus_dir: Path, name: str) -> None:
    resolutions, issues = read(corpus_dir / "dig" / name)
    assert issues == []
    assert len(resolutions) == CORPUS_COUNTS[name]
    assert {r.source for r in resolutions} <= {ResolutionSource.DIG}
    assert all(r.provenance.locator.startswith("line ") for r in resolutions)


def test_two_runs_in_one_file_give_the_cname_chain_and_both_answers(corpus_dir: Path) -> None:
    resolutions, _ = read(corpus_dir / "dig" / "jc-centos-7.7-dig.txt")
    assert facts(resolutions) == {
        ("www.cnn.com", "CNAME", "turner-tls.map.fastly.net"),
        ("turner-tls.map.fastly.net", "A", "151.101.189.67"),
        ("www.google.com", "A", "216.58.194.100"),
    }
    # ';; WHEN: Wed Oct 30 05:13:22 PDT 2019' is 12:13:22 UTC.
    when = datetime(2019, 10, 30, 12, 13, 22, tzinfo=UTC)
    assert {(r.first_seen, r.last_seen) for r in resolutions} == {(when, when)}
    assert [r.provenance.locator for r in resolutions] == ["line 14", "line 15", "line 32"]


def test_axfr_output_keeps_every_record_and_odd_txt_as_plain_data(corpus_dir: Path) -> None:
    resolutions, _ = read(corpus_dir / "dig" / "jc-centos-7.7-dig-axfr.txt")
    found = facts(resolutions)
    assert {
        ("zonetransfer.me", "A", "5.196.105.14"),
        ("www.zonetransfer.me", "A", "5.196.105.14"),
        ("canberra-office.zonetransfer.me", "A", "202.14.81.230"),
        ("vpn.zonetransfer.me", "A", "174.36.59.154"),
        ("alltcpportsopen.firewall.test.zonetransfer.me", "A", "127.0.0.1"),
        ("deadbeef.zonetransfer.me", "AAAA", "dead:beaf::"),
        ("ipv6actnow.org.zonetransfer.me", "AAAA", "2001:67c:2e8:11::c100:1332"),
        ("staging.zonetransfer.me", "CNAME", "www.sydneyoperahouse.com"),
        ("testing.zonetransfer.me", "CNAME", "www.zonetransfer.me"),
        ("14.105.196.5.in-addr.arpa.zonetransfer.me", "PTR", "www.zonetransfer.me"),
    } <= found
    txt = {r.value for r in resolutions if r.raw_type == "TXT"}
    assert {'"; ls"', '"\' or 1=1 --"', '"() { :]}; echo ShellShocked"'} <= txt
    assert sum(r.raw_type == "SOA" for r in resolutions) == 2


def test_additional_and_authority_sections_are_not_resolutions(corpus_dir: Path) -> None:
    resolutions, issues = read(corpus_dir / "dig" / "jc-generic-dig-additional.txt")
    assert (resolutions, issues) == ([], [])


def test_noall_answer_output_reads_bare_records_without_a_time(corpus_dir: Path) -> None:
    resolutions, _ = read(corpus_dir / "dig" / "jc-osx-10.14.6-dig-noall-answer.txt")
    assert facts(resolutions) == {
        ("cnn.com", "A", a)
        for a in ("151.101.65.67", "151.101.193.67", "151.101.129.67", "151.101.1.67")
    }
    assert all(r.first_seen is None for r in resolutions)


def test_reverse_lookup_also_yields_the_host_to_address_fact(corpus_dir: Path) -> None:
    resolutions, _ = read(corpus_dir / "dig" / "jc-osx-10.14.6-dig-x.txt")
    assert facts(resolutions) == {
        ("1.1.1.1.in-addr.arpa", "PTR", "one.one.one.one"),
        ("one.one.one.one", "A", "1.1.1.1"),
    }


def test_aaaa_answer_with_utc_time(corpus_dir: Path) -> None:
    [resolution], _ = read(corpus_dir / "dig" / "jc-ubuntu-18.04-dig-aaaa.txt")
    assert (resolution.name, resolution.rtype, resolution.value) == (
        "www.google.com",
        RecordType.AAAA,
        "2607:f8b0:4000:812::2004",
    )
    assert resolution.first_seen == datetime(2019, 10, 31, 14, 21, 4, tzinfo=UTC)


def test_cst_is_read_as_china_time_with_one_warning_and_sections_are_respected() -> None:
    resolutions, issues = read(DATA / "good" / "cst-multiline.txt")
    # 10:02:11 CST (+08:00) is 02:02:11 UTC; the AUTHORITY NS and ADDITIONAL A are skipped.
    assert {(r.name, r.raw_type or r.rtype.value) for r in resolutions} == {
        ("example.com", "SOA"),
        ("www.example.com", "A"),
    }
    assert {r.first_seen for r in resolutions} == {datetime(2022, 6, 14, 2, 2, 11, tzinfo=UTC)}
    [warning] = issues
    assert warning.severity is Severity.WARNING and "CST" in warning.message


def test_multiline_soa_is_joined_into_one_record() -> None:
    resolutions, _ = read(DATA / "good" / "cst-multiline.txt")
    [soa] = [r for r in resolutions if r.raw_type == "SOA"]
    assert soa.value.endswith("2022061401 7200 3600 1209600 300")
    assert soa.provenance.locator == "line 12"


def test_cst_offset_can_be_chosen_for_us_central_captures() -> None:
    us_central = DigOutputReader(cst_offset=timedelta(hours=-6))
    resolutions, _ = read(DATA / "good" / "cst-multiline.txt", us_central)
    assert {r.first_seen for r in resolutions} == {datetime(2022, 6, 14, 16, 2, 11, tzinfo=UTC)}


def test_numeric_offset_in_when_line_is_honoured() -> None:
    [resolution], issues = read(DATA / "good" / "numeric-offset.txt")
    assert issues == []
    assert resolution.first_seen == datetime(2023, 3, 1, 7, 0, 0, tzinfo=UTC)


def test_short_output_takes_the_query_name_from_the_file_name() -> None:
    resolutions, issues = read(DATA / "good" / "dig-www.example.com.txt")
    assert issues == []
    assert facts(resolutions) == {
        ("www.example.com", "CNAME", "cdn.example.net"),
        ("cdn.example.net", "A", "192.0.2.10"),
        ("cdn.example.net", "A", "192.0.2.11"),
    }


def test_short_output_takes_name_and_type_from_comment_lines() -> None:
    resolutions, issues = read(DATA / "good" / "short-named.txt")
    assert issues == []
    assert {(r.name, r.raw_type or r.rtype.value, r.value) for r in resolutions} == {
        ("mail.example.com", "MX", "10 mx1.example.net"),
        ("mail.example.com", "MX", "20 mx2.example.net"),
        ("www.example.org", "AAAA", "2001:db8::10"),
        ("53.2.0.192.in-addr.arpa", "PTR", "ns.example.org"),
        ("ns.example.org", "A", "192.0.2.53"),
    }


def test_bad_answer_line_is_an_issue_and_its_neighbours_are_kept() -> None:
    resolutions, issues = read(DATA / "bad" / "bad-answer-line.txt")
    assert [(r.value, r.provenance.locator) for r in resolutions] == [
        ("192.0.2.1", "line 8"),
        ("192.0.2.3", "line 10"),
    ]
    error, warning = issues
    assert error.provenance.locator == "line 9" and "192.0.2.300" in error.message
    assert error.severity is Severity.ERROR


def test_unknown_time_zone_leaves_the_run_without_time_and_warns_once() -> None:
    resolutions, issues = read(DATA / "bad" / "bad-answer-line.txt")
    assert all(r.first_seen is None and r.last_seen is None for r in resolutions)
    warnings = [i for i in issues if i.severity is Severity.WARNING]
    assert len(warnings) == 1 and "XYZ" in warnings[0].message
    assert warnings[0].provenance.locator == "line 13"


def test_short_values_without_a_query_name_say_how_to_name_it() -> None:
    resolutions, issues = read(DATA / "bad" / "short-without-name.txt")
    assert resolutions == []
    assert [i.provenance.locator for i in issues] == ["line 1", "line 2"]
    assert "; name: <host>" in issues[0].message and "dig-<host>.txt" in issues[0].message


@pytest.mark.parametrize("name", sorted(CORPUS_COUNTS))
def test_sniff_claims_corpus_dig_files_and_the_other_readers_do_not(
    corpus_dir: Path, name: str
) -> None:
    path = corpus_dir / "dig" / name
    assert reader.sniff(head(path), path) >= 0.6
    for other in OTHER_READERS:
        assert other.sniff(head(path), path) <= 0, other.format


@pytest.mark.parametrize("path", sorted(DATA.rglob("*.txt")), ids=lambda p: p.name)
def test_other_readers_do_not_claim_hand_made_dig_files(path: Path) -> None:
    for other in OTHER_READERS:
        assert other.sniff(head(path), path) <= 0, other.format


@pytest.mark.parametrize(
    "path",
    sorted(
        p
        for p in CORPUS.rglob("*")
        if p.is_file() and p.parent.name not in ("dig",) and p.suffix != ".md"
    ),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_sniff_rejects_files_of_other_formats(path: Path) -> None:
    assert reader.sniff(head(path), path) <= 0


def test_sniff_wants_dig_lines_not_a_script_that_quotes_them() -> None:
    """captures/make_henan_2022.py writes dig output: its quoted banner is no dig run
    (it was read as one and gave ~950 errors), while dig's own lines are, BOM or not."""
    script = Path(__file__).parents[2] / "captures" / "make_henan_2022.py"
    assert b";; ANSWER SECTION:" in head(script)
    assert reader.sniff(head(script), script) <= 0
    banner = b"; <<>> DiG 9.16.1 <<>> example.com\n;; global options: +cmd\n"
    assert reader.sniff(banner, Path("out.txt")) == 1.0
    assert reader.sniff(b"\xef\xbb\xbf" + banner, Path("out.txt")) == 1.0
    quoted = b'lines = [\n    "; <<>> DiG 9.16.1 <<>> example.com",\n    ";; Got answer:",\n]\n'
    assert reader.sniff(quoted, Path("gen.py")) <= 0


def test_sniff_scores_short_output_only_when_it_is_named() -> None:
    named = DATA / "good" / "dig-www.example.com.txt"
    unnamed = DATA / "bad" / "short-without-name.txt"
    assert reader.sniff(head(named), named) > 0.5
    assert reader.sniff(head(unnamed), unnamed) <= 0
