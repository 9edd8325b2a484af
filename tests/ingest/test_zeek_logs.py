"""The Zeek log reader: the corpus zeek/ files, hand-made logs, sniffing, bad lines."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hostmap.ingest import READERS, passive_dns
from hostmap.ingest.zeek_logs import reader
from hostmap.model import (
    Certificate,
    HttpExchange,
    ReadIssue,
    RecordType,
    Resolution,
    ResolutionSource,
    Severity,
)
from tests.conftest import CORPUS

DATA = Path(__file__).resolve().parents[1] / "data" / "zeek"
SNIFF_BYTES = 64 * 1024
OTHER_READERS = [r for r in READERS if r.format != "zeek"]

# EXPECTED.md "zeek/": records per file; conn logs minus their multicast responders.
EXCHANGES = {
    "zat-conn.log": 360 - 1,  # 239.255.255.250 (SSDP)
    "zat-http.log": 150,
    "zat-json-conn.log": 50,
    "zat-json-http.log": 28,
    "zat-json-ssl.log": 50,
    "zat-ssl.log": 37,
    "zeek-baseline-tls13-ech-ssl.log": 2,
    "zeek-baseline-wikipedia-conn.log": 34 - 8,  # 224.0.0.251/.252, ff02::fb, ff02::1:3
    "zeek-baseline-wikipedia-http.log": 14,
}
DNS_ANSWER_VALUES = {
    "zat-dns.log": 128,
    "zat-json-dns.log": 119,
    "zeek-baseline-wikipedia-dns.log": 6,
}
MASKED = {name for name in [*EXCHANGES, *DNS_ANSWER_VALUES] if name.startswith("zeek-baseline")}


def read(path: Path) -> tuple[list[object], list[ReadIssue]]:
    items = list(reader.read(path))
    return (
        [item for item in items if not isinstance(item, ReadIssue)],
        [item for item in items if isinstance(item, ReadIssue)],
    )


def exchanges(path: Path) -> list[HttpExchange]:
    return [item for item in read(path)[0] if isinstance(item, HttpExchange)]


def resolutions(path: Path) -> list[Resolution]:
    return [item for item in read(path)[0] if isinstance(item, Resolution)]


def facts(found: list[Resolution]) -> set[tuple[str, str, str]]:
    return {(r.name, r.raw_type or r.rtype.value, r.value) for r in found}


def head(path: Path) -> bytes:
    return path.read_bytes()[:SNIFF_BYTES]


def test_corpus_tables_name_every_zeek_file(corpus_dir: Path) -> None:
    names = sorted(p.name for p in (corpus_dir / "zeek").iterdir())
    assert names == sorted([*EXCHANGES, *DNS_ANSWER_VALUES])


@pytest.mark.parametrize("name", sorted([*EXCHANGES, *DNS_ANSWER_VALUES]))
def test_corpus_zeek_file_reads_with_line_locators_and_no_errors(
    corpus_dir: Path, name: str
) -> None:
    found, issues = read(corpus_dir / "zeek" / name)
    assert found
    assert [i for i in issues if i.severity is Severity.ERROR] == []
    assert all(re.fullmatch(r"line \d+", o.provenance.locator) for o in found)  # type: ignore[attr-defined]
    assert {o.provenance.format for o in found} == {"zeek"}  # type: ignore[attr-defined]
    if name in MASKED:
        # BTest masks ts as XXXXXXXXXX.XXXXXX: one warning for the file, times left empty.
        assert [i.message for i in issues] == [
            "ts is masked (XXXXXXXXXX.XXXXXX): times are left empty"
        ]
        assert issues[0].provenance.locator == "line 10"
    else:
        assert issues == []


@pytest.mark.parametrize("name", sorted(EXCHANGES))
def test_corpus_zeek_connection_logs_give_one_exchange_per_record(
    corpus_dir: Path, name: str
) -> None:
    found = exchanges(corpus_dir / "zeek" / name)
    assert len(found) == EXCHANGES[name]
    assert all(e.server_address and e.port for e in found)
    assert all((e.time is None) == (name in MASKED) for e in found)


@pytest.mark.parametrize("name", sorted(DNS_ANSWER_VALUES))
def test_corpus_zeek_dns_logs_give_every_answer_value(corpus_dir: Path, name: str) -> None:
    found = resolutions(corpus_dir / "zeek" / name)
    assert len({r.value for r in found}) == DNS_ANSWER_VALUES[name]
    assert {r.source for r in found} == {ResolutionSource.CAPTURE}
    assert all(r.first_seen == r.last_seen for r in found)


def test_wikipedia_dns_log_follows_the_cname_chain_to_the_address(corpus_dir: Path) -> None:
    found = resolutions(corpus_dir / "zeek" / "zeek-baseline-wikipedia-dns.log")
    assert facts(found) == {
        ("upload.wikimedia.org", "CNAME", "upload.pmtpa.wikimedia.org"),
        ("upload.pmtpa.wikimedia.org", "A", "208.80.152.3"),
        ("meta.wikimedia.org", "CNAME", "text.wikimedia.org"),
        ("text.wikimedia.org", "CNAME", "text.pmtpa.wikimedia.org"),
        ("text.pmtpa.wikimedia.org", "A", "208.80.152.2"),
        # An mDNS response without a question type: Zeek does not say which record it is.
        ("gemini._sftp-ssh._tcp.local", "OTHER", "gemini.local"),
    }
    assert all(r.first_seen is None and r.last_seen is None for r in found)
    first = next(r for r in found if r.value == "208.80.152.3")
    assert first.provenance.locator == "line 15"


def test_zat_dns_log_maps_guyspy_and_cloudfront_names(corpus_dir: Path) -> None:
    found = facts(resolutions(corpus_dir / "zeek" / "zat-dns.log"))
    assert ("guyspy.com", "A", "54.245.228.191") in found
    assert ("www.guyspy.com", "CNAME", "guyspy.com") in found
    assert ("devrubn8mli40.cloudfront.net", "A", "54.230.86.87") in found


def test_wikipedia_http_log_maps_hosts_to_responders(corpus_dir: Path) -> None:
    found = exchanges(corpus_dir / "zeek" / "zeek-baseline-wikipedia-http.log")
    assert Counter((e.host, e.server_address) for e in found) == {
        ("upload.wikimedia.org", "208.80.152.3"): 12,
        ("meta.wikimedia.org", "208.80.152.2"): 1,
        ("bits.wikimedia.org", "208.80.152.118"): 1,
    }
    first = found[0]
    assert (first.scheme, first.port, first.method, first.status) == ("http", 80, "GET", 304)
    assert first.path == "/skins-1.5/monobook/main.css"
    assert first.request_headers[0][0] == "User-Agent"
    assert "Firefox/3.6.15" in first.request_headers[0][1]


def test_tls13_ech_ssl_log_gives_the_outer_sni_and_address(corpus_dir: Path) -> None:
    found = exchanges(corpus_dir / "zeek" / "zeek-baseline-tls13-ech-ssl.log")
    assert {(e.scheme, e.host, e.sni, e.server_address, e.port) for e in found} == {
        ("https", "cloudflare-ech.com", "cloudflare-ech.com", "162.159.138.85", 443)
    }
    assert all(e.method is None for e in found)


def test_zat_http_log_has_shared_addresses(corpus_dir: Path) -> None:
    found = exchanges(corpus_dir / "zeek" / "zat-http.log")
    pairs = {(e.host, e.server_address) for e in found}
    assert len({e.host for e in found}) == 32
    assert ("tag.gayadnetwork.com", "68.67.151.135") in pairs
    assert ("ib.adnxs.com", "68.67.151.135") in pairs
    assert ("cdn.guyspy.com", "54.230.86.87") in pairs
    assert ("twinkcam.net", "74.86.20.50") in pairs


def test_zat_ssl_log_without_server_names_uses_the_address(corpus_dir: Path) -> None:
    found = exchanges(corpus_dir / "zeek" / "zat-ssl.log")
    assert all(e.sni is None and e.host == e.server_address for e in found)
    assert {"54.230.86.87", "205.251.203.117", "74.125.224.185"} <= {e.host for e in found}


def test_zat_json_http_log_falls_back_to_the_address_without_a_host(corpus_dir: Path) -> None:
    found = exchanges(corpus_dir / "zeek" / "zat-json-http.log")
    [no_host] = [e for e in found if e.method is None]
    assert (no_host.host, no_host.server_address, no_host.status) == (
        "8.208.24.139",
        "8.208.24.139",
        408,
    )
    pairs = {(e.host, e.server_address) for e in found}
    assert {("api2.casus.at", "8.208.24.139"), ("mail.aol.com", "69.147.64.34")} <= pairs
    assert found[0].time == datetime.fromtimestamp(1575413155.938245, UTC)


def test_zat_json_ssl_log_shows_one_front_end_for_three_names(corpus_dir: Path) -> None:
    found = exchanges(corpus_dir / "zeek" / "zat-json-ssl.log")
    assert len({e.sni for e in found}) == 23
    on_front = {e.host for e in found if e.server_address == "69.147.64.34"}
    assert on_front == {"mail.aol.com", "fc.yahoo.com", "s.yimg.com"}


def test_zat_conn_logs_count_services_and_skip_multicast(corpus_dir: Path) -> None:
    found = exchanges(corpus_dir / "zeek" / "zat-conn.log")
    schemes = Counter(e.scheme for e in found)
    assert (schemes["http"], schemes["https"], schemes["dns"], schemes["dhcp"]) == (67, 37, 8, 2)
    assert len({e.server_address for e in found}) == 245 - 1
    assert "239.255.255.250" not in {e.server_address for e in found}
    json_found = exchanges(corpus_dir / "zeek" / "zat-json-conn.log")
    assert {e.server_address for e in json_found} == {
        "10.18.20.8",
        "156.154.202.36",
        "67.195.204.151",
        "98.137.156.136",
    }


def test_wikipedia_conn_log_keeps_broadcast_but_not_multicast(corpus_dir: Path) -> None:
    found = exchanges(corpus_dir / "zeek" / "zeek-baseline-wikipedia-conn.log")
    addresses = {e.server_address for e in found}
    assert "141.142.220.255" in addresses
    assert not addresses & {"224.0.0.251", "224.0.0.252", "ff02::fb", "ff02::1:3"}


@pytest.mark.parametrize("name", sorted([*EXCHANGES, *DNS_ANSWER_VALUES]))
def test_sniff_claims_zeek_corpus_files_over_every_other_reader(
    corpus_dir: Path, name: str
) -> None:
    path = corpus_dir / "zeek" / name
    score = reader.sniff(head(path), path)
    assert score >= 0.95
    assert passive_dns.reader.sniff(head(path), path) < score
    assert all(other.sniff(head(path), path) < score for other in OTHER_READERS)


@pytest.mark.parametrize(
    "path",
    sorted([*(CORPUS / "pdns").iterdir(), *(CORPUS / "har").iterdir()]),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_sniff_leaves_passive_dns_and_har_files_alone(path: Path) -> None:
    assert reader.sniff(head(path), path) <= 0
    if path.parent.name == "pdns":
        assert passive_dns.reader.sniff(head(path), path) > 0


def test_sniff_claims_json_x509_logs_and_rejects_plain_json(tmp_path: Path) -> None:
    path = DATA / "good" / "x509-without-fingerprints.log"
    assert reader.sniff(head(path), path) == 0.95
    plain = tmp_path / "plain.json"
    plain.write_text('{"ts": 1, "name": "not zeek"}\n')
    assert reader.sniff(head(plain), plain) == 0.0


def test_json_dns_gives_ptr_both_ways_cname_chain_and_txt() -> None:
    found, issues = read(DATA / "good" / "json-dns.log")
    assert issues == []
    assert facts(found) == {  # type: ignore[arg-type]
        ("10.2.0.192.in-addr.arpa", "PTR", "host.example.com"),
        ("host.example.com", "A", "192.0.2.10"),
        ("example.com", "TXT", "TXT 12 v=spf1 -all"),
        ("v6.example.com", "CNAME", "edge.example.net"),
        ("edge.example.net", "AAAA", "2001:db8::5"),
        ("edge.example.net", "AAAA", "2001:db8::6"),
    }
    txt = next(r for r in found if isinstance(r, Resolution) and r.raw_type == "TXT")
    assert txt.rtype is RecordType.OTHER
    assert txt.first_seen == datetime.fromtimestamp(1714557602.5, UTC)
    assert txt.provenance.locator == "line 2"


def test_x509_log_gives_certificates_and_skips_ca_and_nameless_ones() -> None:
    found, issues = read(DATA / "good" / "x509.log")
    assert all(isinstance(c, Certificate) for c in found)
    leaf, sha1 = found
    assert isinstance(leaf, Certificate) and isinstance(sha1, Certificate)
    assert (leaf.host, leaf.fingerprint_sha256) == ("www.example.com", "0f" * 32)
    assert leaf.sans == ("www.example.com", "example.com")
    assert leaf.subject == "CN=www.example.com,O=Example\\, Inc.,C=US"
    assert leaf.issuer == "CN=Example Issuing CA,O=Example\\, Inc."
    assert leaf.not_before == datetime(2024, 1, 1, tzinfo=UTC)
    assert leaf.not_after == datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert (sha1.host, sha1.fingerprint_sha256) == ("api.example.net", "sha1:" + "ab" * 20)
    [nameless] = issues
    assert nameless.severity is Severity.WARNING
    assert str(nameless).endswith(
        "x509.log: line 12: certificate with no DNS SAN and no "
        "host-name CN ('CN=Printer Setup'): skipped"
    )


def test_x509_without_fingerprints_is_skipped_with_one_warning() -> None:
    found, issues = read(DATA / "good" / "x509-without-fingerprints.log")
    assert found == []
    assert [(i.severity, i.provenance.locator, i.message) for i in issues] == [
        (
            Severity.WARNING,
            "line 1",
            "2 x509 records without a fingerprint (Zeek < 5 logs): skipped",
        )
    ]


def test_unused_log_kind_gives_one_warning_and_nothing_else() -> None:
    found, issues = read(DATA / "good" / "weird.log")
    assert found == []
    assert [(i.severity, i.message) for i in issues] == [
        (Severity.WARNING, "zeek weird log: not used by hostmap")
    ]


def test_header_blocks_with_other_separators_and_multicast_skipped() -> None:
    found, issues = read(DATA / "good" / "two-blocks-conn.log")
    assert issues == []
    assert [(e.scheme, e.server_address, e.port) for e in found] == [  # type: ignore[attr-defined]
        ("https", "198.51.100.20", 443),
        ("dhcp", "255.255.255.255", 67),
        ("tcp", "2001:db8::443", 8443),  # '~' is that block's unset marker
    ]
    assert found[-1].provenance.locator == "line 22"  # type: ignore[attr-defined]


def test_bad_lines_become_issues_and_reading_goes_on() -> None:
    found, issues = read(DATA / "bad" / "bad-lines.log")
    assert [(i.provenance.locator, i.message.split(":")[0]) for i in issues] == [
        ("line 10", "8 fields, expected 13"),
        ("line 11", "id.resp_p is 'eighty', expected a number"),
        ("line 12", "ts 'yesterday' is not a time"),
        ("line 13", "not JSON"),  # then json's own reason
        ("line 14", "no id.resp_h"),
    ]
    assert all(i.severity is Severity.ERROR for i in issues)
    first, last = found
    assert isinstance(first, HttpExchange) and isinstance(last, HttpExchange)
    # The Host header's port is dropped (id.resp_p is the port); \x09 is Zeek's escape.
    assert (first.host, first.port, first.path) == ("www.example.com", 80, "/a\tb")
    assert first.request_headers == (("User-Agent", "curl/8.0"),)
    assert (last.host, last.path, last.status, last.request_headers) == (
        "192.0.2.80",
        "/last",
        404,
        (),
    )


def test_a_status_code_that_is_no_http_status_is_left_empty_with_a_warning(
        tmp_path: Path) -> None:
    path = tmp_path / "http.log"
    line = ('{"ts": 1704067200, "uid": "C1", "id.orig_h": "198.51.100.7", "id.orig_p": 1, '
            '"id.resp_h": "192.0.2.1", "id.resp_p": 80, "host": "%s.example", '
            '"status_code": %s}\n')
    path.write_text(line % ("big", "999999999999999999") + line % ("ok", "200"))
    items = list(reader.read(path))
    exchanges = [i for i in items if isinstance(i, HttpExchange)]
    [issue] = [i for i in items if isinstance(i, ReadIssue)]
    assert [(e.host, e.status) for e in exchanges] == [("big.example", None), ("ok.example", 200)]
    assert issue.severity is Severity.WARNING and "999999999999999999" in issue.message
