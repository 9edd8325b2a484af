"""The zone-file reader: the corpus zone/ files, hand-made zones, bad input."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import dns.name
import pytest

from hostmap.ingest import _zone_fast, address_table, dig_output, passive_dns, reverse_ip, zone_file
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


# -- the fast path (_zone_fast) gives exactly what the full path (parse_record) gives --------

ORIGIN = dns.name.from_text("example.")

# Lines the fast path must take itself (so the equivalence below is not vacuous).
FAST_LINES = [
    "www\t300\tIN\tA\t192.0.2.1",
    "www IN 300 A 192.0.2.1 ; comment",
    "www A 192.0.2.1;comment right after",
    "\tIN\tAAAA\t2001:DB8:0::1",
    "@ NS ns1",
    "alias in cname www.example.net.",
    "*.wild 60 A 192.0.2.9",
    "_sip._tcp SRV 10 20 5060 sip1",
    "mail MX 010 mx1.example.",
    "ptr PTR host",
    'txt TXT "v=spf1 ip4:192.0.2.0/24 ~all" "two ; (not a comment)"',
    'txt SPF ""',
    'caa CAA 0 issue "letsencrypt.org"',
    "ds DS 60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118",
]
# Lines it must leave to the full path (which reads them, or reports them).
SLOW_LINES = [
    "esc\\.aped A 192.0.2.1",
    "www 1h A 192.0.2.1",
    "www 4294967296 A 192.0.2.1",
    "www CH TXT chaos",
    "www IN IN A 192.0.2.1",
    "www ANY A 192.0.2.1",
    "www A 192.0.2.999",
    "www A 192.0.2.1 extra",
    "www A",
    "www TYPE1 192.0.2.1",
    "www NOSUCHTYPE data",
    "@ SOA ns1 hostmaster 1 2 3 4 5",
    "a..b A 192.0.2.1",
    f"{'x' * 64} A 192.0.2.1",
    "long CNAME " + ".".join(["x" * 60] * 5),
    "mx MX 70000 mail",
    'txt TXT "a""b"',
    "txt TXT unquoted words",
    'txt TXT "caf\\195\\169"',
    'txt TXT "café"',
    "txt TXT " + '"' + "y" * 256 + '"',
    "paren A ( 192.0.2.1 )",
    "\tA 192.0.2.1",  # blank owner with no earlier owner
    "ff\x0cA 192.0.2.1",
    "{} A 192.0.2.1".format(".".join(["x" * 63, "y" * 63, "z" * 63, "w" * 60])),  # > 255 octets
    '\tTXT ( "blank owner, parentheses" )',
]


def test_fast_path_takes_the_common_shapes_and_leaves_the_rest() -> None:
    simple = _zone_fast.SimpleRecords()
    for line in FAST_LINES:
        assert simple.parse(line, ORIGIN, "prev.example.") is not None, line
    for line in SLOW_LINES:
        assert simple.parse(line, ORIGIN, None) is None, line


def _mixed_zone(seed: int, records: int) -> str:
    """A zone of mixed records and directives, most simple, some odd or broken."""
    rng = random.Random(seed)
    hosts = [f"h{i}" for i in range(40)] + ["@", "*", "Mixed-Case", "_dmarc", "a/b"]
    out = ["; generated", "$TTL 3600"]
    for index in range(records):
        roll = rng.random()
        if roll < 0.01:
            out.append(f"$ORIGIN {rng.choice(['sub', 'deep.sub', 'other.test.', '.', 'example.'])}")
            continue
        if roll < 0.015:
            out.append(f"$TTL {rng.choice(['300', '1h', 'bad'])}")
            continue
        if roll < 0.017:
            out.append(rng.choice(["$INCLUDE other.zone", "$GENERATE 1-2 g$ A 192.0.2.$"]))
            continue
        if roll < 0.03:
            out.append(rng.choice(["", "; comment", "   ; indented comment", "\t"]))
            continue
        if roll < 0.07:
            out.append(rng.choice(SLOW_LINES + ['multi TXT ( "one"\n  "two" )']))
            continue
        owner = rng.choice(hosts + [f"n{index}", f"n{index}.example.", f"n{index}.Other.Test.", ""])
        ttl = rng.choice(["", "", "60 ", "86400 ", "0 "])
        klass = rng.choice(["", "IN ", "in "])
        prefix = f"{owner}\t{ttl}{klass}" if rng.random() < 0.5 else f"{owner}\t{klass}{ttl}"
        rdata = rng.choice(
            [
                f"A 192.0.2.{rng.randrange(256)}",
                f"a 10.{rng.randrange(4)}.0.{rng.randrange(300)}",
                f"AAAA 2001:db8::{rng.randrange(65536):x}",
                f"AAAA ::FFFF:192.0.2.{rng.randrange(256)}",
                f"CNAME {rng.choice(hosts)}",
                f"CNAME t{rng.randrange(50)}.example.net.",
                f"NS ns{rng.randrange(3)}",
                f"PTR host{rng.randrange(9)}.example.",
                f"MX {rng.randrange(70)} mx{rng.randrange(3)}",
                f"SRV {rng.randrange(9)} {rng.randrange(9)} {rng.randrange(65540)} sip",
                f'TXT "v=spf1 ip4:192.0.2.{rng.randrange(256)} ~all" "x;y"',
                f'TXT "{rng.randrange(99)}"',
                f'SPF "v=spf1 -all" ; {rng.randrange(9)}',
                f'CAA 0 issue "ca{rng.randrange(3)}.example"',
                "HINFO PC Linux",
                "SSHFP 1 1 123456789abcdef67890123456789abcdef67890",
            ]
        )
        comment = rng.choice(["", "", " ; note", ";tight"])
        out.append(f"{prefix}{rdata}{comment}")
    return "\n".join(out) + "\n"


def _reverse_zone() -> str:
    lines = ["$ORIGIN 2.0.192.in-addr.arpa.", "@ SOA ns1.example. host.example. 1 2 3 4 5"]
    lines += [f"{i}\tPTR\thost{i}.example." for i in range(1, 30)]
    lines += [
        "$ORIGIN 8.b.d.0.1.0.0.2.ip6.arpa.",
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 PTR v6",
    ]
    return "\n".join(lines) + "\n"


def _zone_paths(tmp_path: Path) -> list[Path]:
    made = {
        "mixed.example.zone": _mixed_zone(1, 1500),  # origin from the file name: one warning
        "db.other.test": "\n".join(["@ SOA ns1.other.test. h 1 2 3 4 5", _mixed_zone(2, 1500)]),
        "soa-first.zone": "other.test. SOA ns h 1 2 3 4 5\n" + _mixed_zone(3, 600),
        "2.0.192.in-addr.arpa.zone": _reverse_zone(),
        "crlf.example.zone": _mixed_zone(4, 300).replace("\n", "\r\n"),
    }
    for name, text in made.items():
        (tmp_path / name).write_text(text, encoding="utf-8", newline="")
    (tmp_path / "bytes.example.zone").write_bytes(
        b"ok A 192.0.2.1\nbad\xff A 192.0.2.2\n\tA 192.0.2.3\n"
    )
    files = sorted(DATA.rglob("*.zone")) + sorted((CORPUS / "zone").iterdir())
    return files + [tmp_path / name for name in made] + [tmp_path / "bytes.example.zone"]


def test_fast_path_gives_the_same_items_in_the_same_order_as_the_full_path(
    tmp_path: Path,
) -> None:
    for path in _zone_paths(tmp_path):
        fast = list(zone_file._read(path, "zone", fast=True))
        full = list(zone_file._read(path, "zone", fast=False))
        assert fast == full, path.name


def test_generated_zone_loads_mostly_through_the_fast_path_with_issues_on_odd_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "mixed.example.zone"
    path.write_text(_mixed_zone(1, 3000), encoding="utf-8")
    full_path_calls = Counter[str]()
    parse_record = zone_file.parse_record

    def counted(text: str, *args: object) -> object:
        full_path_calls["parse_record"] += 1
        return parse_record(text, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(zone_file, "parse_record", counted)
    items = list(zone_file._read(path, "zone", fast=True))
    monkeypatch.undo()
    resolutions = [item for item in items if isinstance(item, Resolution)]
    issues = [item for item in items if isinstance(item, ReadIssue)]
    assert len(resolutions) > 2700
    assert full_path_calls["parse_record"] < 0.1 * len(resolutions)
    [origin_warning] = [i for i in issues if "no $ORIGIN" in i.message]  # from the file name
    assert origin_warning.severity is Severity.WARNING
    assert any("$INCLUDE" in i.message or "not followed" in i.message for i in issues)
    assert any("192.0.2.999" in i.message for i in issues)
    assert ("mixed-case.example", "A") in {(r.name, r.rtype.value) for r in resolutions}
