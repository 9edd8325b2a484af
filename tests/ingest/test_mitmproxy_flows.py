"""The mitmproxy flow-dump reader: the third-party corpus, flows written here, bad input."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest
from mitmproxy import http
from mitmproxy.io import FlowWriter
from mitmproxy.test import tflow, tutils

from hostmap.errors import MalformedInput
from hostmap.ingest.mitmproxy_flows import reader
from hostmap.model import Certificate, HttpExchange, ReadIssue, Severity

# Exchanges, and host -> (server addresses, SNIs), as ../shared/corpus/EXPECTED.md lists them.
CORPUS_MITM: dict[str, tuple[int, dict[str, tuple[set[str | None], set[str | None]]]]] = {
    "mitmproxy-dumpfile-010.mitm": (0, {}),
    "mitmproxy-dumpfile-011.mitm": (1, {"example.com": ({None}, {"example.com"})}),
    "mitmproxy-dumpfile-018.mitm": (
        1,
        {"www.example.com": ({"93.184.216.34"}, {"www.example.com"})},
    ),
    "mitmproxy-dumpfile-019.mitm": (
        1,
        {"webrv.rtb-seller.com": ({"3.213.13.94"}, {"webrv.rtb-seller.com"})},
    ),
    "mitmproxy-dumpfile-10.mitm": (1, {"example.com": ({None}, {"example.com"})}),
    "mitmproxy-dumpfile-19.mitm": (
        1,
        {"cloudflare-quic.com": ({"104.22.8.38"}, {"cloudflare-quic.com"})},
    ),
    "mitmproxy-dumpfile-7.mitm": (2, {"example.com": ({"93.184.216.34"}, {"example.com"})}),
    "mitmproxy-dumpfile-7-websocket.mitm": (
        6,
        {"echo.websocket.org": ({"174.129.224.73"}, {None, "echo.websocket.org"})},
    ),
    "mitmproxy-flows-event_stream.mitm": (
        2,
        {"3.33.235.18": ({"3.33.235.18"}, {"clientstream.launchdarkly.com"})},
    ),
    "mitmproxy-flows-successful_log.mitm": (
        2,
        {
            "example.com": ({"93.184.216.34"}, {"example.com"}),
            "httpbin.org": ({"54.211.216.104"}, {"httpbin.org"}),
        },
    ),
    "mitmproxy-flows-websocket.mitm": (
        3,
        {"demo.piesocket.com": ({"143.244.202.177"}, {"demo.piesocket.com"})},
    ),
}


def exchanges(items: list[object]) -> list[HttpExchange]:
    return [item for item in items if isinstance(item, HttpExchange)]


def certificates(items: list[object]) -> list[Certificate]:
    return [item for item in items if isinstance(item, Certificate)]


def issues(items: list[object]) -> list[ReadIssue]:
    return [item for item in items if isinstance(item, ReadIssue)]


def read_corpus(corpus_dir: Path, name: str) -> list[object]:
    return list(reader.read(corpus_dir / "mitmproxy" / name))


def http_flow(
    host: str = "www.example.com",
    *,
    peer: tuple[str, int] | None = ("192.0.2.10", 443),
    sni: str | None = "www.example.com",
    response: http.Response | None = None,
) -> http.HTTPFlow:
    request = tutils.treq(
        host=host,
        port=443,
        scheme=b"https",
        path=b"/index?q=1",
        headers=http.Headers(((b"Host", b"www.example.com"),)),
        timestamp_start=1700000000.5,
    )
    server = tflow.tserver_conn()
    server.address = (host, 443)
    server.peername = peer
    server.sni = sni
    flow = tflow.tflow(req=request, resp=response or False)
    flow.server_conn = server
    return flow


def write_flows(path: Path, flows: list[object]) -> Path:
    with open(path, "wb") as stream:
        writer = FlowWriter(stream)
        for flow in flows:
            writer.add(flow)  # type: ignore[arg-type]
    return path


def test_corpus_table_names_every_mitmproxy_file_in_the_corpus(corpus_dir: Path) -> None:
    assert sorted(p.name for p in (corpus_dir / "mitmproxy").iterdir()) == sorted(CORPUS_MITM)


@pytest.mark.parametrize("name", sorted(CORPUS_MITM))
def test_corpus_flows_map_hosts_to_the_expected_addresses(corpus_dir: Path, name: str) -> None:
    count, expected = CORPUS_MITM[name]
    items = read_corpus(corpus_dir, name)
    found = exchanges(items)
    assert len(found) == count
    observed: dict[str, tuple[set[str | None], set[str | None]]] = defaultdict(
        lambda: (set(), set())
    )
    for exchange in found:
        observed[exchange.host][0].add(exchange.server_address)
        observed[exchange.host][1].add(exchange.sni)
    assert dict(observed) == expected
    if name != "mitmproxy-dumpfile-010.mitm":
        assert issues(items) == []


@pytest.mark.parametrize("name", sorted(CORPUS_MITM))
def test_corpus_flows_carry_provenance_and_utc_times(corpus_dir: Path, name: str) -> None:
    for item in read_corpus(corpus_dir, name):
        assert item.provenance.format == "mitmproxy"
        assert item.provenance.locator.startswith("flow ")
        if isinstance(item, HttpExchange) and item.time is not None:
            assert item.time.tzinfo is UTC
            assert item.time.year >= 2016


def test_flow_format_0_10_is_reported_as_an_issue_on_flow_0(corpus_dir: Path) -> None:
    [issue] = read_corpus(corpus_dir, "mitmproxy-dumpfile-010.mitm")
    assert isinstance(issue, ReadIssue)
    assert issue.severity is Severity.ERROR
    assert issue.provenance.locator == "flow 0"
    assert issue.message.startswith("cannot read: ")
    assert "flow format version (0, 10)" in issue.message


def test_legacy_websocket_flow_with_unknown_host_takes_the_server_address(corpus_dir: Path) -> None:
    found = exchanges(read_corpus(corpus_dir, "mitmproxy-dumpfile-7-websocket.mitm"))
    assert "unknown" not in {e.host for e in found}
    assert [e.provenance.locator for e in found] == [f"flow {i}" for i in range(6)]
    assert {(e.port, e.sni) for e in found} == {(80, None), (443, "echo.websocket.org")}
    assert found[2].time is None  # the migrated flow's timestamp is 0


def test_event_stream_hostname_is_only_in_the_sni(corpus_dir: Path) -> None:
    items = read_corpus(corpus_dir, "mitmproxy-flows-event_stream.mitm")
    first = exchanges(items)[0]
    assert (first.host, first.sni, first.server_address) == (
        "3.33.235.18",
        "clientstream.launchdarkly.com",
        "3.33.235.18",
    )
    assert first.status == 200
    leaf = [c for c in certificates(items) if c.provenance.locator == "flow 0"][0]
    assert leaf.host == "clientstream.launchdarkly.com"
    assert leaf.address == "3.33.235.18" and leaf.port == 443
    assert leaf.subject == "clientstream.launchdarkly.com"
    assert "clientstream.launchdarkly.com" in leaf.sans
    assert leaf.issuer is not None and "Amazon" in leaf.issuer


def test_the_leaf_certificate_matches_mitmproxys_own_fingerprint_and_dates(
    corpus_dir: Path,
) -> None:
    path = corpus_dir / "mitmproxy" / "mitmproxy-flows-successful_log.mitm"
    from mitmproxy.io import FlowReader

    with open(path, "rb") as stream:
        flows = list(FlowReader(stream).stream())
    expected = [
        (cert.fingerprint().hex(), cert.notbefore, cert.notafter)
        for flow in flows
        for cert in flow.server_conn.certificate_list[:1]
    ]
    found = certificates(list(reader.read(path)))
    assert [(c.fingerprint_sha256, c.not_before, c.not_after) for c in found] == expected
    assert len(found) == 2, "one leaf per flow; the CA chain links nothing"
    assert all(c.sans for c in found)
    assert all(c.not_before is not None and c.not_before.tzinfo is UTC for c in found)


def test_successful_log_reads_method_path_status_and_time(corpus_dir: Path) -> None:
    found = exchanges(read_corpus(corpus_dir, "mitmproxy-flows-successful_log.mitm"))
    post = [e for e in found if e.host == "httpbin.org"][0]
    assert (post.method, post.path, post.status, post.scheme, post.port) == (
        "POST",
        "/post",
        200,
        "https",
        443,
    )
    assert post.time == datetime.fromtimestamp(1690282705.5772521, UTC)
    assert post.body_urls == ("https://httpbin.org/post",)
    assert any(name.lower() == "content-type" for name, _ in post.response_headers)


def test_flow_whose_peername_is_a_hostname_has_no_server_address(corpus_dir: Path) -> None:
    [exchange] = exchanges(read_corpus(corpus_dir, "mitmproxy-dumpfile-10.mitm"))
    assert exchange.server_address is None
    assert exchange.status is None  # the flow has no response


def test_written_flow_gives_exchange_fields(tmp_path: Path) -> None:
    response = tutils.tresp(
        status_code=302,
        headers=http.Headers(
            (
                (b"Location", b"/next"),
                (b"Content-Type", b"application/json"),
                (b"X-Odd", b"caf\xe9"),
            )
        ),
        content=b'{"api": "https:\\/\\/api.example.com\\/v1"}',
    )
    path = write_flows(tmp_path / "one.mitm", [http_flow(response=response)])
    [exchange] = list(reader.read(path))
    assert isinstance(exchange, HttpExchange)
    assert (exchange.host, exchange.port, exchange.scheme) == ("www.example.com", 443, "https")
    assert (exchange.method, exchange.path, exchange.status) == ("GET", "/index?q=1", 302)
    assert exchange.server_address == "192.0.2.10"
    assert exchange.sni == "www.example.com"
    assert exchange.time == datetime(2023, 11, 14, 22, 13, 20, 500000, tzinfo=UTC)
    assert exchange.request_headers == (("Host", "www.example.com"),)
    assert ("X-Odd", "café") in exchange.response_headers  # Latin-1, not UTF-8
    assert exchange.redirect_url == "https://www.example.com/next"
    assert exchange.body_urls == ("https://api.example.com/v1",)


def test_binary_response_is_not_scanned_for_urls(tmp_path: Path) -> None:
    response = tutils.tresp(
        headers=http.Headers(((b"Content-Type", b"image/png"),)),
        content=b"\x89PNG http://ns.example.com/xmp/",
    )
    [exchange] = list(
        reader.read(write_flows(tmp_path / "png.mitm", [http_flow(response=response)]))
    )
    assert isinstance(exchange, HttpExchange) and exchange.body_urls == ()


def test_request_to_an_address_keeps_it_as_host_and_the_name_as_sni(tmp_path: Path) -> None:
    flow = http_flow("192.0.2.7", peer=("192.0.2.7", 443), sni="push.example.com")
    [exchange] = list(reader.read(write_flows(tmp_path / "ip.mitm", [flow])))
    assert isinstance(exchange, HttpExchange)
    assert (exchange.host, exchange.sni, exchange.server_address) == (
        "192.0.2.7",
        "push.example.com",
        "192.0.2.7",
    )


def test_flow_through_an_upstream_proxy_has_no_server_address(tmp_path: Path) -> None:
    flow = http_flow(peer=("192.0.2.99", 8080))
    flow.server_conn.via = ("http", ("192.0.2.99", 8080))
    [exchange] = list(reader.read(write_flows(tmp_path / "via.mitm", [flow])))
    assert isinstance(exchange, HttpExchange) and exchange.server_address is None


def test_tcp_and_dns_flows_are_skipped_with_a_warning_naming_the_flow(tmp_path: Path) -> None:
    flows = [http_flow(), tflow.ttcpflow(), tflow.tdnsflow(), http_flow("api.example.com")]
    items = list(reader.read(write_flows(tmp_path / "mixed.mitm", flows)))
    assert [(e.provenance.locator, e.host) for e in exchanges(items)] == [
        ("flow 0", "www.example.com"),
        ("flow 3", "api.example.com"),
    ]
    warnings = issues(items)
    assert [(w.provenance.locator, w.severity) for w in warnings] == [
        ("flow 1", Severity.WARNING),
        ("flow 2", Severity.WARNING),
    ]
    assert warnings[0].message.startswith("tcp flow skipped")
    assert warnings[1].message.startswith("dns flow skipped")


def test_unreadable_record_is_an_issue_and_later_flows_are_still_read(
    corpus_dir: Path, tmp_path: Path
) -> None:
    old = (corpus_dir / "mitmproxy" / "mitmproxy-dumpfile-010.mitm").read_bytes()
    new = (corpus_dir / "mitmproxy" / "mitmproxy-dumpfile-7.mitm").read_bytes()
    path = tmp_path / "appended.mitm"
    path.write_bytes(old + new)
    items = list(reader.read(path))
    assert [i.provenance.locator for i in issues(items)] == ["flow 0"]
    assert [e.provenance.locator for e in exchanges(items)] == ["flow 1", "flow 2"]


def test_truncated_dump_keeps_the_flows_before_the_cut(corpus_dir: Path, tmp_path: Path) -> None:
    data = (corpus_dir / "mitmproxy" / "mitmproxy-flows-successful_log.mitm").read_bytes()
    first_length = int(data[: data.index(b":")])
    second_start = data.index(b":") + first_length + 2
    path = tmp_path / "cut.mitm"
    path.write_bytes(data[: second_start + 100])

    items = list(reader.read(path))
    assert [e.host for e in exchanges(items)] == ["example.com"]
    [issue] = issues(items)
    assert items[-1] is issue
    assert issue.provenance.locator == "flow 1"
    assert issue.message.startswith("cannot read: the file ends inside the record")


@pytest.mark.parametrize(
    "content",
    [b"", b'{"log": {"entries": []}}', b"; <<>> DiG 9.18 <<>> www.example.com\n", b"12:30 lunch\n"],
    ids=["empty", "har", "dig", "text-with-digits"],
)
def test_file_that_is_not_a_flow_dump_raises_malformed_input(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "not-flows.mitm"
    path.write_bytes(content)
    with pytest.raises(MalformedInput, match="not a mitmproxy flow file"):
        list(reader.read(path))
