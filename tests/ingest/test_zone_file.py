"""The zone-file reader: the corpus zone/ files, hand-made zones, bad input."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from hostmap.ingest import address_table, dig_output, passive_dns, reverse_ip
from hostmap.ingest.zone_file import paren_depth, reader, reverse_address
from hostmap.model import ReadIssue, Resolution, ResolutionSource, Severity
from tests.conftest import CORPUS

DATA = Path(__file__).resolve().parents[1] / "data" / "zone"
SNIFF_BYTES = 64 * 1024
OTHER_READERS = (address_table.reader, dig_output.reader, passive_dns.reader, reverse_ip.reader)

# Resolutions and the lines reported as issues, per EXPECTED.md (the reverse zone adds
# one A per PTR: target -> decoded address).
CORPUS_EXPECTED = {
    "dnspython-tests-example.zone": (176, ["line 260", "line 267"]),
    "miekg-dns-named.root": (35, []),
    "octodns-bind-2.0.192.in-addr.arpa.zone": (11, []),
    "octodns-bind-unit.tests.zone": (35, ["line 60"]),
}


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


def test_corpus_table_names_every_zone_file(corpus_dir: Path) -> None:
    assert sorted(p.name for p in (corpus_dir / "zone").iterdir()) == sorted(CORPUS_EXPECTED)


@pytest.mark.parametrize("name", sorted(CORPUS_EXPECTED))
def test_corpus_zone_loads_with_issues_only_on_the_known_bad_lines(
    corpus_dir: Path, name: str
) -> None:
    count, bad_lines = CORPUS_EXPECTED[name]
    resolutions, issues = read(corpus_dir / "zone" / name)
    assert len(resolutions) == count
    assert [i.provenance.locator for i in issues] == bad_lines
    assert {r.source for r in resolutions} == {ResolutionSource.ZONE}
    assert all(r.first_seen is None and r.last_seen is None for r in resolutions)


def test_octodns_tlsa_line_is_reported_and_the_rest_of_the_zone_loads(corpus_dir: Path) -> None:
    resolutions, [issue] = read(corpus_dir / "zone" / "octodns-bind-unit.tests.zone")
    assert issue.provenance.locator == "line 60" and "TLSA" in issue.message
    assert "line 60" in str(issue)
    assert {
        ("unit.tests", "A", "1.2.3.4"),
        ("unit.tests", "A", "1.2.3.5"),
        ("www.unit.tests", "A", "2.2.3.6"),
        ("wwww.sub.unit.tests", "A", "2.2.3.6"),
        ("aaaa.unit.tests", "AAAA", "2601:644:500:e210:62f8:1dff:feb8:947a"),
        ("cname.unit.tests", "CNAME", "unit.tests"),
        ("included.unit.tests", "CNAME", "unit.tests"),
        ("under.unit.tests", "NS", "ns1.unit.tests"),
        ("under.unit.tests", "NS", "ns2.unit.tests"),
    } <= facts(resolutions)
    assert len({r.name for r in resolutions}) == 17
    # Records after the bad line are loaded too (the second TLSA, DS, HTTPS, SVCB).
    https = {r.value for r in resolutions if r.name == "sub.unit.tests" and r.raw_type == "HTTPS"}
    assert any("ipv4hint=" in value and "203.0.113.1" in value for value in https)


def test_reverse_zone_gives_ptr_records_and_host_to_address_facts(corpus_dir: Path) -> None:
    resolutions, _ = read(corpus_dir / "zone" / "octodns-bind-2.0.192.in-addr.arpa.zone")
    assert {
        ("1.2.0.192.in-addr.arpa", "PTR", "foo-1.unit.tests"),
        ("2.2.0.192.in-addr.arpa", "PTR", "foo-2.unit.tests"),
        ("3.2.0.192.in-addr.arpa", "PTR", "foo-3.unit.tests"),
        ("3.2.0.192.in-addr.arpa", "PTR", "foo-4.unit.tests"),
        ("foo-1.unit.tests", "A", "192.0.2.1"),
        ("foo-2.unit.tests", "A", "192.0.2.2"),
        ("foo-3.unit.tests", "A", "192.0.2.3"),
        ("foo-4.unit.tests", "A", "192.0.2.3"),
    } <= facts(resolutions)


def test_root_hints_load_without_soa_under_the_root_origin(corpus_dir: Path) -> None:
    resolutions, issues = read(corpus_dir / "zone" / "miekg-dns-named.root")
    assert issues == []
    assert Counter(r.rtype.value for r in resolutions) == {"NS": 13, "A": 13, "AAAA": 9}
    found = facts(resolutions)
    assert {
        ("a.root-servers.net", "A", "198.41.0.4"),
        ("a.root-servers.net", "AAAA", "2001:503:ba3e::2:30"),
        ("b.root-servers.net", "A", "192.228.79.201"),
        ("m.root-servers.net", "A", "202.12.27.33"),
        ("m.root-servers.net", "AAAA", "2001:dc3::35"),
    } <= found
    assert not any(name == "b.root-servers.net" and kind == "AAAA" for name, kind, _ in found)


def test_dnspython_example_honours_origin_changes_and_keeps_unknown_types(corpus_dir: Path) -> None:
    resolutions, issues = read(corpus_dir / "zone" / "dnspython-tests-example.zone")
    assert all("ECHConfigList" in issue.message for issue in issues)
    found = facts(resolutions)
    assert {
        ("ns1.example", "A", "10.53.0.1"),
        ("ns2.example", "A", "10.53.0.2"),
        ("a01.example", "A", "0.0.0.0"),
        ("aaaa02.example", "AAAA", "::1"),
        ("b.example", "CNAME", "foo.net"),
        ("cname02.example", "CNAME", "cname-target.example"),
        ("ns.s.example", "A", "73.80.65.49"),
        ("a.u.example", "A", "73.80.65.49"),
        ("unknown3.example", "A", "127.0.0.2"),
    } <= found
    assert {v for name, kind, v in found if name == "e.example" and kind == "A"} == {
        "73.80.65.49",
        "73.80.65.50",
        "73.80.65.51",
        "73.80.65.52",
    }
    assert len({r.name for r in resolutions}) == 162
    assert any(r.raw_type == "TYPE999" for r in resolutions)


def test_origin_comes_from_the_file_name_with_one_warning() -> None:
    resolutions, issues = read(DATA / "good" / "example.zone")
    [warning] = issues
    assert warning.severity is Severity.WARNING and "'example.'" in warning.message
    assert {
        ("ns1.example", "A", "192.0.2.53"),
        ("www.example", "A", "192.0.2.1"),
        ("www.example", "AAAA", "2001:db8::1"),  # blank owner: the previous name
        ("alias.example", "CNAME", "www.example"),
        ("host.sub.example", "A", "192.0.2.2"),  # after $ORIGIN sub.example.
    } <= facts(resolutions)


def test_generate_directive_is_expanded() -> None:
    resolutions, _ = read(DATA / "good" / "example.zone")
    pool = {(r.name, r.value) for r in resolutions if r.name.startswith("pool")}
    assert pool == {(f"pool{i}.sub.example", f"192.0.2.{i}") for i in (1, 2, 3)}


def test_parenthesised_txt_with_quoted_semicolon_is_one_record() -> None:
    resolutions, _ = read(DATA / "good" / "example.zone")
    [txt] = [r for r in resolutions if r.raw_type == "TXT"]
    assert txt.value == '"one ; not a comment" "two"' and txt.provenance.locator == "line 12"


def test_ipv6_reverse_zone_decodes_full_nibble_names_only() -> None:
    resolutions, issues = read(DATA / "good" / "ip6-reverse.zone")
    assert issues == []
    found = facts(resolutions)
    assert ("v6host.example", "AAAA", "2001:db8::1") in found
    assert not any(name == "partial.example" for name, _, _ in found)


def test_bad_lines_are_issues_and_the_good_lines_around_them_load() -> None:
    resolutions, issues = read(DATA / "bad" / "broken.zone")
    assert [(r.name, r.provenance.locator) for r in resolutions] == [
        ("good1.example", "line 3"),
        ("good2.example", "line 6"),
        ("good3.example", "line 8"),
    ]
    by_line = {i.provenance.locator: i for i in issues}
    assert set(by_line) == {"line 4", "line 5", "line 7", "line 9"}
    assert "192.0.2.999" in by_line["line 4"].message
    assert "NOSUCHTYPE" in by_line["line 5"].message
    assert by_line["line 7"].severity is Severity.WARNING  # $INCLUDE is not followed
    assert by_line["line 9"].severity is Severity.ERROR  # '(' never closed


def test_paren_depth_ignores_quoted_and_commented_parentheses() -> None:
    assert paren_depth('a TXT ( "(" ; )') == 1
    assert paren_depth("a SOA ( 1 2", 0) == 1
    assert paren_depth(" 3 4 5 )", 1) == 0


def test_reverse_address_accepts_only_full_reverse_names() -> None:
    assert reverse_address("4.3.2.1.IN-ADDR.ARPA.") == "1.2.3.4"
    assert reverse_address("2.0.192.in-addr.arpa") is None
    assert reverse_address("14.105.196.5.in-addr.arpa.zonetransfer.me") is None


@pytest.mark.parametrize("name", sorted(CORPUS_EXPECTED))
def test_sniff_claims_corpus_zone_files_and_the_other_readers_do_not(
    corpus_dir: Path, name: str
) -> None:
    path = corpus_dir / "zone" / name
    assert reader.sniff(head(path), path) >= 0.6
    for other in OTHER_READERS:
        assert other.sniff(head(path), path) <= 0, other.format


@pytest.mark.parametrize("path", sorted(DATA.rglob("*.zone")), ids=lambda p: p.name)
def test_sniff_claims_hand_made_zones_and_the_other_readers_do_not(path: Path) -> None:
    assert reader.sniff(head(path), path) > 0.5
    for other in OTHER_READERS:
        assert other.sniff(head(path), path) <= 0, other.format


@pytest.mark.parametrize(
    "path",
    sorted(
        p
        for p in CORPUS.rglob("*")
        if p.is_file() and p.parent.name != "zone" and p.suffix != ".md"
    ),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_sniff_rejects_files_of_other_formats(path: Path) -> None:
    assert reader.sniff(head(path), path) <= 0
