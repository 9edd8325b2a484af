"""The HAR reader: the third-party corpus, hand-made files under tests/data/har, bad input."""

from __future__ import annotations

import base64
import codecs
import json
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hostmap.errors import MalformedInput, TruncatedInput
from hostmap.ingest import har
from hostmap.ingest.har import HarReader, find_urls, is_text_media_type, reader
from hostmap.model import HttpExchange, ReadIssue, Severity

DATA = Path(__file__).resolve().parents[1] / "data" / "har"
SNIFF_BYTES = 64 * 1024

# Entry counts and host -> server addresses, as ../shared/corpus/EXPECTED.md lists them.
CORPUS_HAR = {
    "haralyzer-cnn-firebug.har": (
        145,
        {
            "www.cnn.com": {"199.27.79.185"},
            "cnn.com": {"157.166.226.25"},
            "data.cnn.com": {"157.166.249.67"},
            "i2.cdn.turner.com": {"142.231.1.175"},
            "i.cdn.turner.com": {"142.231.1.175"},
            "z.cdn.turner.com": {"142.231.1.166"},
            "cdn.gigya.com": {"142.231.1.174"},
            "cdn1.gigya.com": {"142.231.1.174"},
            "cdn3.gigya.com": {"142.231.1.174"},
            "connect.facebook.net": {"2600:1409:a:385::eed"},
            "googleads.g.doubleclick.net": {"2607:f8b0:4010:800::100d"},
            "www.googletagservices.com": {"2607:f8b0:4010:800::100d"},
            "tpc.googlesyndication.com": {"2607:f8b0:4010:800::100c"},
            "static.ak.facebook.com": {"2607:f8f0:601::8ee7:1a5"},
            "s-static.ak.facebook.com": {"2600:1409:a:3a3::236"},
            "t.co": {"199.59.148.12"},
        },
    ),
    "harviewer-ie11-fiddler4.har": (11, {"gitgrimbo.github.io": {"151.101.60.133"}}),
    "harviewer-ie11.har": (25, {"gitgrimbo.github.io": {None}}),
    "mitmproxy-charles.har": (1, {"mitmproxy.org": {"13.35.121.50"}}),
    "mitmproxy-chrome.har": (
        3,
        {
            "mitmproxy.org": {"108.138.246.80"},
            "www.google.com": {"142.250.185.164", None},
        },
    ),
    "mitmproxy-firefox.har": (
        14,
        {
            "mitmproxy.org": {"13.35.121.55", None},
            "s3-us-west-2.amazonaws.com": {"52.218.234.208"},
        },
    ),
    "mitmproxy-safari.har": (
        19,
        {
            "mitmproxy.org": {"13.35.121.29", None},
            "s3-us-west-2.amazonaws.com": {"52.218.233.144"},
        },
    ),
    "pollyjs-jest-puppeteer-recording.har": (5, {"jsonplaceholder.typicode.com": {None}}),
}
# Files whose host list above is the complete list (the CNN capture has 42 hosts).
COMPLETE_HOST_LISTS = set(CORPUS_HAR) - {"haralyzer-cnn-firebug.har"}


def exchanges(items: list[object]) -> list[HttpExchange]:
    return [item for item in items if isinstance(item, HttpExchange)]


def issues(items: list[object]) -> list[ReadIssue]:
    return [item for item in items if isinstance(item, ReadIssue)]


def addresses_by_host(items: list[object]) -> dict[str, set[str | None]]:
    table: dict[str, set[str | None]] = defaultdict(set)
    for exchange in exchanges(items):
        table[exchange.host].add(exchange.server_address)
    return dict(table)


def make_entry(url: str, address: str = "192.0.2.1") -> dict[str, object]:
    return {
        "startedDateTime": "2024-05-01T00:00:00Z",
        "request": {"method": "GET", "url": url, "headers": []},
        "response": {"status": 200, "headers": [], "content": {"mimeType": "text/plain"}},
        "serverIPAddress": address,
    }


def write_har(path: Path, entries: list[object]) -> Path:
    document = {"log": {"version": "1.2", "creator": {"name": "test"}, "entries": entries}}
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_corpus_table_names_every_har_file_in_the_corpus(corpus_dir: Path) -> None:
    assert sorted(p.name for p in (corpus_dir / "har").iterdir()) == sorted(CORPUS_HAR)


@pytest.mark.parametrize("name", sorted(CORPUS_HAR))
def test_corpus_har_maps_hosts_to_the_expected_addresses(corpus_dir: Path, name: str) -> None:
    entry_count, expected = CORPUS_HAR[name]
    items = list(reader.read(corpus_dir / "har" / name))

    assert issues(items) == []
    assert len(exchanges(items)) == entry_count
    observed = addresses_by_host(items)
    for host, addresses in expected.items():
        assert observed.get(host) == addresses, host
    if name in COMPLETE_HOST_LISTS:
        assert set(observed) == set(expected)


@pytest.mark.parametrize("name", sorted(CORPUS_HAR))
def test_corpus_har_locators_count_entries_from_zero(corpus_dir: Path, name: str) -> None:
    items = exchanges(list(reader.read(corpus_dir / "har" / name)))
    assert [item.provenance.locator for item in items] == [f"entry {i}" for i in range(len(items))]
    assert {item.provenance.format for item in items} == {"har"}
    assert {item.provenance.file for item in items} == {str(corpus_dir / "har" / name)}


def test_firebug_capture_gives_one_address_per_host_with_ipv6(corpus_dir: Path) -> None:
    observed = addresses_by_host(
        list(reader.read(corpus_dir / "har" / "haralyzer-cnn-firebug.har"))
    )
    assert len(observed) == 42
    assert all(len(addresses) == 1 for addresses in observed.values())
    distinct = {address for addresses in observed.values() for address in addresses}
    assert len(distinct) == 34
    assert None not in distinct
    assert sum(":" in address for address in distinct if address) >= 5


def test_firebug_times_with_an_offset_become_utc(corpus_dir: Path) -> None:
    first = exchanges(list(reader.read(corpus_dir / "har" / "haralyzer-cnn-firebug.har")))[0]
    # startedDateTime "2015-02-21T19:15:37.909-08:00"
    assert first.time == datetime(2015, 2, 22, 3, 15, 37, 909000, tzinfo=UTC)
    assert (first.host, first.port, first.scheme, first.status) == ("cnn.com", 80, "http", 301)
    assert first.redirect_url == "http://www.cnn.com/"


def test_chrome_empty_server_ip_address_is_no_address_and_no_warning(corpus_dir: Path) -> None:
    items = list(reader.read(corpus_dir / "har" / "mitmproxy-chrome.har"))
    google = [e for e in exchanges(items) if e.host == "www.google.com"]
    assert sorted(str(e.server_address) for e in google) == ["142.250.185.164", "None"]
    assert issues(items) == []


def test_fiddler_file_with_a_byte_order_mark_reads_like_one_without(tmp_path: Path) -> None:
    source = DATA / "good" / "documentation-hosts.har"
    with_bom = tmp_path / "bom.har"
    with_bom.write_bytes(codecs.BOM_UTF8 + source.read_bytes())
    plain = [(e.host, e.server_address) for e in exchanges(list(reader.read(source)))]
    assert [(e.host, e.server_address) for e in exchanges(list(reader.read(with_bom)))] == plain
    assert plain


def test_handmade_har_gives_each_field_of_the_exchange() -> None:
    items = list(reader.read(DATA / "good" / "documentation-hosts.har"))
    by_locator = {e.provenance.locator: e for e in exchanges(items)}

    login = by_locator["entry 0"]
    assert (login.host, login.port, login.scheme, login.method) == (
        "www.example.com",
        443,
        "https",
        "GET",
    )
    assert login.path == "/login?next=%2Fhome"
    assert login.server_address == "192.0.2.10"
    assert login.time == datetime(2024, 5, 1, 0, 0, tzinfo=UTC)  # 08:00 at +08:00
    assert ("User-Agent", "hand-made") in login.request_headers
    assert login.response_headers == (("Server", "nginx"), ("Content-Type", "text/html"))
    assert login.body_urls == ("http://static.example.org/logo.png",)

    api = by_locator["entry 1"]
    assert api.server_address == "2001:db8::5"  # written "[2001:db8::5]"
    assert api.body_urls == (
        "https://api.example.com/v2/items?page=2",
        "https://cdn.example.net/app.js",
    )

    moved = by_locator["entry 2"]
    assert moved.server_address == "2001:db8::6"
    assert moved.time == datetime(2024, 5, 1, 0, 0, 2, tzinfo=UTC)  # no offset: taken as UTC
    assert moved.redirect_url == "http://old.example.com/new/"  # redirectURL wins over Location

    assert by_locator["entry 3"].port == 8080
    assert by_locator["entry 3"].server_address is None  # serverIPAddress ""
    assert by_locator["entry 3"].redirect_url == "https://www.example.com/"  # from Location

    assert by_locator["entry 4"].status is None  # status 0: no response
    assert "entry 5" not in by_locator  # a data: URL never reached the network
    assert (by_locator["entry 6"].scheme, by_locator["entry 6"].port) == ("wss", 443)


def test_server_ip_address_that_is_not_an_address_is_dropped_with_a_warning() -> None:
    items = list(reader.read(DATA / "good" / "documentation-hosts.har"))
    [warning] = issues(items)
    assert warning.severity is Severity.WARNING
    assert warning.provenance.locator == "entry 4"
    assert "'not-an-ip'" in warning.message
    assert [e for e in exchanges(items) if e.provenance.locator == "entry 4"][
        0
    ].server_address is None


def test_broken_entries_become_issues_and_reading_goes_on() -> None:
    items = list(reader.read(DATA / "bad" / "broken-entries.har"))
    assert [e.host for e in exchanges(items)] == ["a.example.com", "c.example.com"]
    messages = {i.provenance.locator: i.message for i in issues(items)}
    assert messages["entry 1"] == "request.url is missing"
    assert "70000" in messages["entry 3"] and "out of range" in messages["entry 3"]
    assert messages["entry 4"] == "request.url 'not a url' has no host"
    assert messages["entry 5"] == "entry is str, expected an object"
    assert all(i.severity is Severity.ERROR for i in issues(items))
    assert str(issues(items)[0]).endswith("broken-entries.har: entry 1: request.url is missing")


def test_har_cut_in_the_middle_keeps_the_entries_before_the_cut(tmp_path: Path) -> None:
    whole = write_har(
        tmp_path / "whole.har", [make_entry(f"https://h{i}.example.com/") for i in range(3)]
    )
    text = whole.read_text(encoding="utf-8")
    cut = tmp_path / "cut.har"
    cut.write_text(text[: text.index("h2.example.com")], encoding="utf-8")

    items = list(reader.read(cut))
    assert [e.host for e in exchanges(items)] == ["h0.example.com", "h1.example.com"]
    assert len(issues(items)) == 1
    assert items[-1] == issues(items)[0]
    assert issues(items)[0].provenance.locator == "entry 2"
    assert "after 2 entries" in issues(items)[0].message


def test_corpus_har_cut_in_the_middle_yields_its_first_entries_and_one_issue(
    corpus_dir: Path, tmp_path: Path
) -> None:
    data = (corpus_dir / "har" / "haralyzer-cnn-firebug.har").read_bytes()
    cut = tmp_path / "cnn-cut.har"
    cut.write_bytes(data[: len(data) // 2])
    items = list(reader.read(cut))
    good = exchanges(items)
    assert 0 < len(good) < 145
    assert good[0].host == "cnn.com"
    [issue] = issues(items)
    assert issue.provenance.locator == f"entry {len(good)}"
    assert issue.severity is Severity.ERROR


def test_file_that_is_not_json_raises_malformed_input() -> None:
    with pytest.raises(MalformedInput, match="not a HAR file: invalid JSON"):
        list(reader.read(DATA / "bad" / "not-json.har"))


def test_json_without_log_entries_raises_malformed_input() -> None:
    with pytest.raises(MalformedInput, match="no log.entries"):
        list(reader.read(DATA / "bad" / "no-entries.har"))


def test_har_that_ends_before_its_entries_raises_truncated_input(tmp_path: Path) -> None:
    path = tmp_path / "head-only.har"
    path.write_text('{"log": {"version": "1.2", "creator": {"name": "x"', encoding="utf-8")
    with pytest.raises(TruncatedInput):
        list(reader.read(path))


def test_empty_entries_array_is_a_valid_har_with_nothing_in_it(tmp_path: Path) -> None:
    assert list(reader.read(write_har(tmp_path / "empty.har", []))) == []


def test_invalid_utf8_inside_an_entry_is_an_issue_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "bad-bytes.har"
    path.write_bytes(b'{"log": {"entries": [{"request": {"url": "http://\xff.example/"}}]}}')
    items = list(reader.read(path))
    assert len(items) == 1 and isinstance(items[0], ReadIssue)
    assert items[0].provenance.locator == "entry 0"
    assert "\n" not in items[0].message


def test_odd_status_is_kept_as_none_with_a_warning(tmp_path: Path) -> None:
    entry = make_entry("https://www.example.com/")
    entry["response"] = {"status": "abc", "headers": []}
    items = list(reader.read(write_har(tmp_path / "status.har", [entry])))
    assert exchanges(items)[0].status is None
    assert issues(items)[0].message == "response.status is 'abc', expected a number"


def test_base64_text_body_is_decoded_before_looking_for_urls(tmp_path: Path) -> None:
    entry = make_entry("https://www.example.com/")
    body = base64.b64encode(b'var u = "https://api.example.com/v1";').decode()
    entry["response"] = {
        "status": 200,
        "content": {"mimeType": "application/javascript", "encoding": "base64", "text": body},
    }
    image = make_entry("https://www.example.com/logo.png")
    image["response"] = {
        "status": 200,
        "content": {"mimeType": "image/png", "text": "http://not-scanned.example.com/"},
    }
    found = [
        e.body_urls
        for e in exchanges(list(reader.read(write_har(tmp_path / "b.har", [entry, image]))))
    ]
    assert found == [("https://api.example.com/v1",), ()]


def test_find_urls_reads_escaped_slashes_and_drops_punctuation_and_repeats() -> None:
    text = (
        'see http://a.example.com/x. and {"u": "https:\\/\\/b.example.com\\/y?z=1"} '
        "(http://a.example.com/x) https://[2001:db8::1]:8443/p HTTP://C.Example.com"
    )
    assert find_urls(text) == (
        "http://a.example.com/x",
        "https://b.example.com/y?z=1",
        "https://[2001:db8::1]:8443/p",
        "HTTP://C.Example.com",
    )


def test_find_urls_skips_script_fragments_glued_with_plus() -> None:
    text = "src='http://www.ugdt'+'urner.com/xd.sjs'; ga = ok ? 'https://ssl' : 'http://www'"
    assert find_urls(text) == ()


def test_find_urls_stops_at_undecodable_bytes() -> None:
    assert find_urls("http://a.example.com/p\udcff\udcfe") == ("http://a.example.com/p",)


@pytest.mark.parametrize(
    ("media_type", "expected"),
    [
        ("application/json; charset=utf-8", True),
        ("text/html", True),
        ("application/x-javascript", True),
        ("application/xml", True),
        ("image/png", False),
        ("", False),
        (None, False),
    ],
)
def test_text_media_types_are_the_ones_scanned(media_type: str | None, expected: bool) -> None:
    assert is_text_media_type(media_type) is expected


@pytest.mark.parametrize("name", sorted(CORPUS_HAR))
def test_sniff_is_sure_of_every_corpus_har_file(corpus_dir: Path, name: str) -> None:
    path = corpus_dir / "har" / name
    head = path.read_bytes()[:SNIFF_BYTES]
    assert reader.sniff(head, path) > 0.5
    assert reader.sniff(head[:256], path) >= 0.5


def test_sniff_rejects_every_other_corpus_file(corpus_dir: Path) -> None:
    others = [p for p in sorted(corpus_dir.glob("*/*")) if p.parent.name != "har"]
    assert any(p.parent.name == "mitmproxy" for p in others)
    assert any(p.parent.name == "dig" for p in others)
    scores = {p.name: reader.sniff(p.read_bytes()[:SNIFF_BYTES], p) for p in others}
    assert {name: score for name, score in scores.items() if score > 0} == {}


def test_reader_describes_itself() -> None:
    assert isinstance(har.reader, HarReader)
    assert reader.format == "har"
    assert ".har" in reader.suffixes
    assert reader.description and "\n" not in reader.description
    assert reader.signature and "\n" not in reader.signature


def test_a_header_value_over_the_limit_is_cut_with_a_warning_naming_it(tmp_path: Path) -> None:
    entry = make_entry("https://big.example/")
    huge = "x" * (har.MAX_HEADER_CHARS + 10)
    entry["request"]["headers"] = [{"name": "X-Huge", "value": huge},  # type: ignore[index]
                                   {"name": "Accept", "value": "*/*"}]
    items = list(reader.read(write_har(tmp_path / "big.har", [entry])))
    [exchange] = exchanges(items)
    assert dict(exchange.request_headers) == {"X-Huge": huge[:har.MAX_HEADER_CHARS],
                                              "Accept": "*/*"}
    [warning] = issues(items)
    assert warning.severity is Severity.WARNING and "'X-Huge'" in warning.message
    assert f"{len(huge):,} characters" in warning.message
