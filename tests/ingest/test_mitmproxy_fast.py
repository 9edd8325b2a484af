"""The fast mitmproxy reader against mitmproxy's own code: identical items on every file.

`reader.read` walks a current-format HTTP flow lazily and falls back to
mitmproxy (`tnetstring.loads`, `compat.migrate_flow`, `Flow.from_state`) for
anything else; `read_with_mitmproxy` always takes mitmproxy's way.  Each test
here holds the two to the same list of items (same HttpExchange, Certificate
and ReadIssue objects, in the same order), and checks which way the records
took: the fast one for what mitmproxy 11 writes, mitmproxy's for older formats
and odd records.
"""

from __future__ import annotations

import dataclasses
import gzip
import random
import re
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import brotli  # type: ignore[import-untyped]  # mitmproxy depends on it
import pytest
import zstandard
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from mitmproxy import certs, http, version
from mitmproxy.flow import Error, Flow
from mitmproxy.io import FlowReader, FlowWriter, compat, tnetstring
from mitmproxy.test import tflow, tutils

from hostmap.ingest import _tnetstring_lazy as lazy
from hostmap.ingest import mitmproxy_flows as mf
from hostmap.ingest.mitmproxy_flows import read_with_mitmproxy, reader
from hostmap.model import Certificate, HttpExchange, ReadIssue, Severity
from tests.conftest import CORPUS

T0 = 1_700_000_000.25

# -- helpers --------------------------------------------------------------------------------


def records(path: Path) -> list[bytes]:
    with open(path, "rb") as stream:
        found = []
        while (record := mf._next_record(stream)) is not None:
            found.append(record)
        return found


_MEMORY_ADDRESS = re.compile(r"<memory at 0x[0-9a-f]+>")
"""mitmproxy's parser quotes a bad literal as a memoryview, whose address changes per run."""


def outcome(read: Callable[[Path], Iterator[object]], path: Path) -> tuple[str, Any]:
    """The items a read yields, or the exception it ends with (type and text)."""
    try:
        items = list(read(path))
    except Exception as exc:  # noqa: BLE001 - the two ways must fail alike, too
        return "raised", (type(exc).__name__, _MEMORY_ADDRESS.sub("<memory>", str(exc)))
    return "items", [
        dataclasses.replace(item, message=_MEMORY_ADDRESS.sub("<memory>", item.message))
        if isinstance(item, ReadIssue) else item
        for item in items
    ]


def assert_same(path: Path) -> list[object]:
    fast = outcome(reader.read, path)
    slow = outcome(read_with_mitmproxy, path)
    assert fast == slow
    return fast[1] if fast[0] == "items" else []


def slow_facts(record: bytes) -> mf._Facts:
    flow = Flow.from_state(compat.migrate_flow(tnetstring.loads(record)))
    assert isinstance(flow, http.HTTPFlow)
    return mf._flow_facts(flow)


def comparable(facts: mf._Facts) -> mf._Facts:
    """The leaf as DER: mitmproxy hands back a re-encoded PEM, the raw record the original."""
    if facts.leaf is None:
        return facts
    der = x509.load_pem_x509_certificate(facts.leaf).public_bytes(Encoding.DER)
    return facts._replace(leaf=der)


def write_flows(path: Path, flows: list[Any]) -> Path:
    with open(path, "wb") as stream:
        writer = FlowWriter(stream)
        for flow in flows:
            writer.add(flow)
    return path


def write_states(path: Path, states: list[Any]) -> Path:
    path.write_bytes(b"".join(tnetstring.dumps(state) for state in states))
    return path


def make_cert(name: str, issuer: x509.Certificate | None = None, ca: bool = False) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime(2023, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2023, 1, 1, tzinfo=UTC) + timedelta(days=90))
    )
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
    else:
        sans = [x509.DNSName(name), x509.DNSName(f"*.{name}"), x509.IPAddress(_ip("192.0.2.5"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(key, SHA256()).public_bytes(Encoding.PEM)


def _ip(text: str) -> Any:
    import ipaddress

    return ipaddress.ip_address(text)


CA_PEM = make_cert("Test Root CA", ca=True)
LEAF_PEM = make_cert("www.example.com")
OTHER_PEM = make_cert("api.example.net")


def response(
    content: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
    status: int = 200,
) -> http.Response:
    resp = tutils.tresp(
        status_code=status,
        headers=http.Headers(headers or [(b"Content-Type", b"text/html")]),
        content=b"",
        timestamp_start=T0 + 0.2,
        timestamp_end=T0 + 0.3,
    )
    resp.raw_content = content
    return resp


def flow(
    host: str = "www.example.com",
    *,
    resp: http.Response | None | bool = True,
    scheme: bytes = b"https",
    port: int = 443,
    path: bytes = b"/index?q=1",
    method: bytes = b"GET",
    peer: tuple[Any, ...] | None = ("192.0.2.10", 443),
    sni: str | None = "www.example.com",
    chain: list[bytes] | None = None,
    request_headers: list[tuple[bytes, bytes]] | None = None,
) -> http.HTTPFlow:
    request = tutils.treq(
        host=host,
        port=port,
        scheme=scheme,
        method=method,
        path=path,
        headers=http.Headers(request_headers or [(b"Host", host.encode("idna"))]),
        timestamp_start=T0,
    )
    server = tflow.tserver_conn()
    server.address = (host, port)
    server.peername = peer
    server.sni = sni
    server.certificate_list = [certs.Cert.from_pem(pem) for pem in (chain or [])]
    if resp is True:
        page = b"<a href='https://cdn.example.org/x.js'>"
        resp = response(page, [(b"Content-Type", b"text/html")])
    made = tflow.tflow(req=request, resp=resp or False)
    made.server_conn = server
    return made


def variants() -> dict[str, Any]:
    """Flows (or flow states, for what FlowWriter cannot write) covering the fields read."""
    found: dict[str, Any] = {}
    found["plain"] = flow()
    found["no-response"] = flow(resp=None)
    errored = flow(resp=None)
    errored.error = Error("Connection killed.", T0 + 1)
    found["error"] = errored
    errored_with_response = flow()
    errored_with_response.error = tflow.terr()
    found["error-and-response"] = errored_with_response
    found["websocket"] = tflow.twebsocketflow()
    found["https-chain"] = flow(chain=[LEAF_PEM, CA_PEM])
    found["https-leaf-only"] = flow(chain=[OTHER_PEM], sni="api.example.net")
    tls = flow(chain=[LEAF_PEM, CA_PEM])
    tls.client_conn.mitmcert = certs.Cert.from_pem(OTHER_PEM)
    tls.client_conn.alpn_offers = [b"h2", b"http/1.1"]
    tls.client_conn.cipher_list = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"]
    tls.client_conn.tls_version = "TLSv1.3"
    tls.server_conn.alpn = b"h2"
    tls.server_conn.tls_version = "QUICv1"
    found["tls-client-details"] = tls
    many = flow(chain=[LEAF_PEM, CA_PEM, OTHER_PEM, CA_PEM, OTHER_PEM, CA_PEM, LEAF_PEM])
    many.client_conn.cipher_list = [f"CIPHER-{i}" for i in range(9)]
    many.client_conn.certificate_list = [certs.Cert.from_pem(CA_PEM)] * 5
    found["long-lists"] = many
    found["ipv6-peer"] = flow(peer=("2001:db8::1", 443, 0, 0))
    found["ipv6-peer-zone"] = flow(peer=("fe80::1%eth0", 443, 0, 3))
    found["hostname-peer"] = flow(peer=("www.example.com", 443))
    found["no-peer"] = flow(peer=None)
    found["address-host"] = flow("192.0.2.7", peer=("192.0.2.7", 443), sni="push.example.com")
    proxied = flow(peer=("192.0.2.99", 8080))
    proxied.server_conn.via = ("http", ("192.0.2.99", 8080))
    found["upstream-proxy"] = proxied
    found["idn-host"] = flow("bücher.example", sni="xn--bcher-kva.example")
    found["http-port-80"] = flow(scheme=b"http", port=80, sni=None)
    found["odd-port"] = flow(scheme=b"http", port=7777, sni=None)
    found["connect"] = flow(method=b"CONNECT", path=b"", resp=response(status=200))
    found["lower-case-method"] = flow(method=b"get")
    found["long-path"] = flow(path=b"/a,b/" + b"x,y" * 200 + b"?ids=1,2,3")
    found["binary-path"] = flow(path=b"/caf\xe9/\xff\x00")
    h2 = flow()
    h2.request.http_version = "HTTP/2.0"
    h2.request.authority = "www.example.com"
    found["http2"] = h2
    trailers = flow()
    trailers.request.trailers = http.Headers([(b"x-checksum", b"abc")])
    assert trailers.response is not None
    trailers.response.trailers = http.Headers([(b"grpc-status", b"0")])
    found["trailers"] = trailers
    found["redirect-relative"] = flow(
        resp=response(b"", [(b"Location", b"  /next?a=1 "), (b"Content-Type", b"text/plain")], 302)
    )
    found["redirect-absolute"] = flow(
        resp=response(b"", [(b"location", b"https://other.example/"), (b"X", b"y")], 301)
    )
    found["header-encodings"] = flow(
        request_headers=[(b"Host", b"www.example.com"), (b"X-Utf8", "café".encode()),
                         (b"X-Latin1", b"caf\xe9"), (b"X-Empty", b"")],
        resp=response(b"", [(b"X-Odd", b"\xff\xfe"), (b"Set-Cookie", b"a=1, b=2]; x")]),
    )
    text = "see https://a.example.com/1 and http://b.example.org/2?x=1, then 'https://c.example' "

    def body(content: bytes, *headers: tuple[bytes, bytes]) -> http.HTTPFlow:
        return flow(resp=response(content, list(headers)))

    json_type = (b"Content-Type", b"application/json")
    html_type = (b"Content-Type", b"text/html")
    found["body-png"] = body(b"\x89PNG http://ns.example.com/", (b"Content-Type", b"image/png"))
    found["body-gzip"] = body(gzip.compress(text.encode()), json_type,
                              (b"Content-Encoding", b"gzip"))
    found["body-deflate"] = body(zlib.compress(text.encode()), html_type,
                                 (b"Content-Encoding", b"deflate"))
    found["body-brotli"] = body(brotli.compress(text.encode()), html_type,
                                (b"Content-Encoding", b"br"))
    found["body-zstd"] = body(zstandard.ZstdCompressor().compress(text.encode()), html_type,
                              (b"Content-Encoding", b"zstd"))
    found["body-broken-gzip"] = body(b"\x1f\x8bnot gzip " + text.encode(), html_type,
                                     (b"Content-Encoding", b"gzip"))
    found["body-unknown-encoding"] = body(text.encode(), html_type,
                                          (b"Content-Encoding", b"snappy"))
    found["body-gbk"] = body(("网址 " + text).encode("gbk"),
                             (b"Content-Type", b"text/html; charset=gbk"))
    found["body-meta-charset"] = body(
        b'<meta charset="iso-8859-1"><p>caf\xe9 https://meta.example.com/</p>', html_type
    )
    found["body-css-charset"] = body(b'@charset "utf-8"; a{background:url(https://x.example/i)}',
                                     (b"Content-Type", b"text/css"))
    found["body-unknown-charset"] = body(text.encode(),
                                         (b"Content-Type", b"text/html; charset=nope-42"))
    found["body-text-codec-charset"] = body(text.encode(),
                                            (b"Content-Type", b"text/plain; charset=rot13"))
    found["body-two-content-types"] = body(text.encode(), (b"Content-Type", b"image/png"),
                                           (b"content-type", b"text/html"))
    found["body-bad-utf8"] = body(b"\xff\xfe " + text.encode(),
                                  (b"Content-Type", b"application/json"))
    found["body-large"] = body((text * 5000).encode(), (b"Content-Type", b"text/plain"))
    found["body-empty"] = body(b"", html_type)
    found["body-none"] = flow(resp=response(b"", [html_type]))
    none_body = found["body-none"].response
    assert none_body is not None
    none_body.raw_content = None
    marked = flow()
    marked.comment = "checked; twice"
    marked.marked = ":star:"
    marked.metadata = {"note": "x", "nested": {"n": [1, 2.5, None, True]}}
    marked.is_replay = "request"
    marked.intercepted = True
    found["annotated"] = marked
    found["tcp"] = tflow.ttcpflow()
    found["udp"] = tflow.tudpflow()
    found["dns"] = tflow.tdnsflow()
    found.update(crafted_states())
    return found


def state_of(made: http.HTTPFlow | None = None) -> dict[str, Any]:
    return (made or flow(chain=[LEAF_PEM, CA_PEM])).get_state()


def crafted_states() -> dict[str, dict[str, Any]]:
    """Flow states FlowWriter would not write: odd types, missing keys, other key orders."""
    out: dict[str, dict[str, Any]] = {}

    def edit(name: str, change: Callable[[dict[str, Any]], object]) -> None:
        state = state_of()
        change(state)
        out[f"state-{name}"] = state

    edit("port-float", lambda s: s["request"].update(port=443.0))
    edit("port-bool", lambda s: s["request"].update(port=True))
    edit("host-bytes", lambda s: s["request"].update(host=b"www.example.com"))
    edit("method-text", lambda s: s["request"].update(method="POST"))
    edit("time-int", lambda s: s["request"].update(timestamp_start=1_700_000_000))
    edit("time-zero", lambda s: s["request"].update(timestamp_start=0))
    edit("server-times-int", lambda s: s["server_conn"].update(
        timestamp_start=1_700_000_001, timestamp_tls_setup=None))
    edit("tls-time-zero", lambda s: s["server_conn"].update(timestamp_tls_setup=0.0))
    edit("tls-version-quic", lambda s: s["server_conn"].update(tls_version="QUIC"))
    edit("proxy-mode-bogus", lambda s: s["client_conn"].update(proxy_mode="bogus"))
    edit("proxy-mode-reverse", lambda s: s["client_conn"].update(
        proxy_mode="reverse:https://example.com:8443@127.0.0.1:8080"))
    edit("transport-sctp", lambda s: s["server_conn"].update(transport_protocol="sctp"))
    edit("response-empty-dict", lambda s: s.update(response={}))
    edit("error-empty-dict", lambda s: s.update(error={}))
    edit("error-extra-key", lambda s: s.update(error={"msg": "x", "timestamp": 1.0, "y": 2}))
    edit("error-int-time", lambda s: s.update(error={"msg": "gone", "timestamp": 5}))
    edit("header-triple", lambda s: s["request"].update(headers=[[b"a", b"b", b"c"]]))
    edit("header-text", lambda s: s["response"].update(headers=[["Content-Type", "text/html"]]))
    edit("missing-comment", lambda s: s.pop("comment"))
    edit("missing-backup", lambda s: s.pop("backup"))
    edit("missing-sni", lambda s: s["server_conn"].pop("sni"))
    edit("extra-server-key", lambda s: s["server_conn"].update(extra=1))
    edit("cipher-bytes", lambda s: s["client_conn"].update(cipher=b"TLS_AES"))
    edit("sni-empty", lambda s: s["server_conn"].update(sni=""))
    edit("garbage-leaf", lambda s: s["server_conn"].update(certificate_list=[b"garbage"]))
    edit("garbage-intermediate", lambda s: s["server_conn"].update(
        certificate_list=[LEAF_PEM, b"-----BEGIN CERTIFICATE-----\nAAAA\n"]))
    edit("leaf-with-text-around", lambda s: s["server_conn"].update(
        certificate_list=[b"subject=www\n" + LEAF_PEM + b"trailing\n"]))
    edit("garbage-mitmcert", lambda s: s["client_conn"].update(mitmcert=b"nope"))
    edit("peer-3-tuple", lambda s: s["server_conn"].update(peername=["192.0.2.1", 443, 0]))
    edit("peer-5-tuple", lambda s: s["server_conn"].update(peername=["2001:db8::2", 443, 0, 0, 9]))
    edit("peer-float-port", lambda s: s["server_conn"].update(peername=["192.0.2.1", 443.0]))
    edit("address-3-tuple", lambda s: s["server_conn"].update(address=["a.example", 443, 1]))
    edit("address-none", lambda s: s["server_conn"].update(address=None))
    edit("via-bad-scheme", lambda s: s["server_conn"].update(via=["gopher", ["192.0.2.9", 70]]))
    edit("via-https", lambda s: s["server_conn"].update(via=["https", ["192.0.2.9", 8443]]))
    edit("status-zero", lambda s: s["response"].update(status_code=0))
    edit("host-empty", lambda s: s["request"].update(host=""))
    edit("host-unknown", lambda s: s["request"].update(host="unknown"))
    edit("host-and-address-empty", lambda s: (s["request"].update(host=""),
                                              s["server_conn"].update(address=None)))
    edit("bad-port", lambda s: s["request"].update(port=70000))
    edit("websocket-empty", lambda s: s.update(websocket={}))
    edit("type-tcp", lambda s: s.update(type="tcp"))
    edit("type-unknown", lambda s: s.update(type="gopher"))
    edit("version-20", lambda s: s.update(version=20))
    edit("version-newer", lambda s: s.update(version=version.FLOW_FORMAT_VERSION + 1))
    edit("metadata-int-keys", lambda s: s.update(metadata={1: "one", 2.5: [b"x"]}))
    edit("marked-bool", lambda s: s.update(marked=True))
    edit("id-int", lambda s: s.update(id=7))

    def reorder(state: dict[str, Any]) -> None:
        for part in ("client_conn", "server_conn", "request", "response"):
            state[part] = dict(reversed(state[part].items()))

    edit("nested-key-order", reorder)
    out["state-top-key-order"] = dict(reversed(state_of().items()))
    return out


VARIANTS = variants()


# -- the corpus, the Henan capture, written and crafted flows ---------------------------------


def test_the_fast_path_fits_this_mitmproxy() -> None:
    assert mf._FAST_PATH, "the lazy checks must know every field this mitmproxy writes"


@pytest.mark.parametrize("name", sorted(p.name for p in (CORPUS / "mitmproxy").glob("*")))
def test_corpus_file_reads_the_same_both_ways(corpus_dir: Path, name: str) -> None:
    assert_same(corpus_dir / "mitmproxy" / name)


def test_corpus_flows_are_older_formats_and_go_through_mitmproxys_migration(
    corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrated: list[object] = []
    original = compat.migrate_flow

    def counting(state: Any) -> Any:
        migrated.append(state.get(b"version", state.get("version")))
        return original(state)

    monkeypatch.setattr(mf.compat, "migrate_flow", counting)
    total = 0
    for path in sorted((corpus_dir / "mitmproxy").iterdir()):
        found = records(path)
        total += len(found)
        assert [mf._fast_facts(record) for record in found] == [None] * len(found)
        list(reader.read(path))
    assert len(migrated) == total
    assert all(v != version.FLOW_FORMAT_VERSION for v in migrated)


def rewritten_corpus(corpus_dir: Path, tmp_path: Path) -> list[Path]:
    """Every corpus flow mitmproxy can read, written again in the current format."""
    out = []
    for path in sorted((corpus_dir / "mitmproxy").iterdir()):
        try:
            with open(path, "rb") as stream:
                flows = list(FlowReader(stream).stream())
        except Exception:  # noqa: BLE001 - 0.10: older than mitmproxy's migrations
            continue
        out.append(write_flows(tmp_path / f"current-{path.name}", flows))
    return out


def test_corpus_flows_written_in_the_current_format_read_the_same_and_fast(
    corpus_dir: Path, tmp_path: Path
) -> None:
    paths = rewritten_corpus(corpus_dir, tmp_path)
    assert len(paths) == 10
    originals = [corpus_dir / "mitmproxy" / path.name.removeprefix("current-") for path in paths]
    expected = sum(
        isinstance(item, HttpExchange) for path in originals for item in read_with_mitmproxy(path)
    )
    exchanges = 0
    for path in paths:
        items = assert_same(path)
        exchanges += sum(isinstance(item, HttpExchange) for item in items)
        for record in records(path):
            state = tnetstring.loads(record)
            assert isinstance(state, dict)
            fast = mf._fast_facts(record)
            if state["websocket"] is None:
                assert fast is not None, f"{path.name}: an ordinary flow went the slow way"
                assert comparable(fast) == comparable(slow_facts(record))
            else:
                assert fast is None
    assert exchanges == expected == 20


def test_henan_capture_reads_the_same_and_every_flow_fast(henan_dir: Path) -> None:
    path = henan_dir / "app-session.mitm"
    for memo in mf._connections.values():
        memo.clear()
    items = assert_same(path)
    # 15 flows on 4 kept-alive connections: each connection's dicts are read once.
    assert [len(memo) for memo in mf._connections.values()] == [4, 4]
    assert sum(isinstance(item, HttpExchange) for item in items) == 15
    for record in records(path):
        fast = mf._fast_facts(record)
        assert fast is not None
        assert comparable(fast) == comparable(slow_facts(record))


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_written_variant_reads_the_same_both_ways(tmp_path: Path, name: str) -> None:
    made = VARIANTS[name]
    path = tmp_path / f"{name}.mitm"
    if isinstance(made, dict):
        write_states(path, [made, state_of()])
    else:
        write_flows(path, [made, flow()])
    assert_same(path)


FAST_VARIANTS = {
    name
    for name, made in VARIANTS.items()
    if not isinstance(made, dict) and made.type == "http" and made.websocket is None
} | {"state-time-int", "state-time-zero", "state-server-times-int", "state-tls-time-zero",
     "state-proxy-mode-reverse", "state-error-int-time", "state-missing-backup",
     "state-sni-empty", "state-leaf-with-text-around", "state-peer-3-tuple", "state-address-none",
     "state-via-https", "state-status-zero", "state-host-empty", "state-host-unknown",
     "state-host-and-address-empty", "state-bad-port", "state-metadata-int-keys",
     "state-marked-bool", "state-id-int", "state-nested-key-order"}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_variant_takes_the_expected_way_with_the_same_facts(tmp_path: Path, name: str) -> None:
    made = VARIANTS[name]
    record = tnetstring.dumps(made if isinstance(made, dict) else made.get_state())
    fast = mf._fast_facts(record)
    if name not in FAST_VARIANTS:
        assert fast is None
        return
    assert fast is not None
    expected = slow_facts(record)
    assert comparable(fast) == comparable(expected)
    flow_ = Flow.from_state(compat.migrate_flow(tnetstring.loads(record)))
    assert isinstance(flow_, http.HTTPFlow)
    assert mf._request_url(fast) == flow_.request.url


def test_variants_in_one_file_read_the_same_both_ways(tmp_path: Path) -> None:
    path = tmp_path / "all.mitm"
    path.write_bytes(b"".join(
        tnetstring.dumps(made if isinstance(made, dict) else made.get_state())
        for _name, made in sorted(VARIANTS.items())
    ))
    items = assert_same(path)
    assert sum(isinstance(item, Certificate) for item in items) > 10
    assert any(isinstance(item, ReadIssue) and item.severity is Severity.WARNING for item in items)
    assert any(isinstance(item, ReadIssue) and item.severity is Severity.ERROR for item in items)
    assert any(isinstance(item, HttpExchange) and item.body_urls for item in items)


def test_a_file_read_twice_gives_the_same_items_with_memos_warm(tmp_path: Path) -> None:
    path = tmp_path / "twice.mitm"
    path.write_bytes(b"".join(
        tnetstring.dumps(made if isinstance(made, dict) else made.get_state())
        for _name, made in sorted(VARIANTS.items())
    ))
    first = list(reader.read(path))
    assert list(reader.read(path)) == first


def test_memos_stay_bounded_and_give_the_same_items(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    memos = (mf._header_items, mf._decoded, mf._addresses, mf._leaves, mf._loadable,
             *mf._connections.values())
    for memo in memos:
        memo.clear()
    monkeypatch.setattr(mf, "_MEMO_SIZE", 2)
    monkeypatch.setattr(mf, "_CONNECTIONS_SIZE", 2)
    path = tmp_path / "memo.mitm"
    flows = [flow(f"h{i}.example", peer=(f"192.0.2.{i}", 443),
                  request_headers=[(b"X-N", str(i).encode())],
                  chain=[LEAF_PEM if i % 2 else OTHER_PEM, CA_PEM]) for i in range(12)]
    write_flows(path, flows)
    assert_same(path)
    assert all(len(memo) <= 2 for memo in memos)


# -- hostile bytes: mutated records --------------------------------------------------------

MUTATION_BYTES = b"0123456789:,;#^!~]}x\x00\xff"


def mutations(seed: int, count: int) -> Iterator[bytes]:
    rng = random.Random(seed)
    bases = [
        tnetstring.dumps(flow(chain=[LEAF_PEM, CA_PEM]).get_state()),
        tnetstring.dumps(VARIANTS["body-gzip"].get_state()),
        tnetstring.dumps(VARIANTS["tls-client-details"].get_state()),
    ]
    for _ in range(count):
        record = bytearray(rng.choice(bases))
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            # Keep the outer length prefix whole, so the record is framed the same way.
            position = rng.randrange(len(str(len(record))) + 1, len(record) - 1)
            action = rng.random()
            if action < 0.7:
                record[position] = rng.choice(MUTATION_BYTES)
            elif action < 0.85:
                del record[position]
                record.insert(rng.randrange(position, len(record) - 1), 0x30)
            else:
                record[position : position + 4] = b""
                record[-1:-1] = b"~~~~"
        yield bytes(record)


def test_mutated_records_read_the_same_both_ways(tmp_path: Path) -> None:
    good = tnetstring.dumps(flow().get_state())
    path = tmp_path / "mutated.mitm"
    fast_taken = 0
    for number, record in enumerate(mutations(seed=20240611, count=400)):
        path.write_bytes(record + good)
        fast_taken += mf._fast_facts(record) is not None
        fast = outcome(reader.read, path)
        slow = outcome(read_with_mitmproxy, path)
        assert fast == slow, f"mutation {number}: {record!r}"
    assert fast_taken > 50, "most single-byte changes inside values still read fast"


def test_lazy_decode_agrees_with_mitmproxys_loads_or_declines() -> None:
    agreed = 0
    for record in mutations(seed=7, count=600):
        try:
            expected = tnetstring.loads(record)
        except Exception:  # noqa: BLE001 - then the lazy reader must decline too
            expected = lazy.NotFast
        try:
            found = lazy.decode(record, lazy.record_span(record))
        except (lazy.NotFast, ValueError, IndexError, TypeError):
            continue
        assert expected is not lazy.NotFast, f"accepted what mitmproxy refuses: {record!r}"
        assert repr(found) == repr(expected)
        agreed += 1
    assert agreed > 100


@pytest.mark.parametrize(
    "value",
    [None, True, False, b"abc", "café", -7, 1.5, 5.0, float("inf"), [], {}, [b"a", b"b"],
     {"k": [b"v", 1, None]}, {1: [b"x"], 2.5: True, None: "n", b"raw": {}}],
)
def test_lazy_decode_reads_values_as_mitmproxy_does(value: Any) -> None:
    text = tnetstring.dumps(value)
    assert repr(lazy.decode(text, lazy.record_span(text))) == repr(tnetstring.loads(text))


@pytest.mark.parametrize(
    "text",
    [b"1:x~", b"4:trux!", b"2:ab?", b"3:\xff\xfe\xfd;", b"5:1:a,x]", b"4:1:a;}",
     b"7:0:]1:b,}", b" 3:abc,", b"3:ab,", b"03:abc,x", b"2:1x#", b"3:1.x^"],
)
def test_lazy_decode_declines_what_it_cannot_vouch_for(text: bytes) -> None:
    with pytest.raises((lazy.NotFast, ValueError, IndexError)):
        lazy.decode(text, lazy.record_span(text))


def test_deep_nesting_is_declined_not_recursed() -> None:
    inner = b"0:]"
    for _ in range(lazy.MAX_DEPTH + 5):
        inner = b"%d:%s]" % (len(inner), inner)
    with pytest.raises(lazy.NotFast, match="deeply"):
        lazy.decode(inner, lazy.record_span(inner))


# -- framing: bounded reads ---------------------------------------------------------------


def test_a_record_over_the_limit_is_skipped_with_an_issue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = tnetstring.dumps(VARIANTS["body-large"].get_state())
    small = tnetstring.dumps(flow("after.example").get_state())
    monkeypatch.setattr(mf, "MAX_RECORD_BYTES", len(small) + 10)
    path = tmp_path / "big.mitm"
    path.write_bytes(big + small)
    items = assert_same(path)
    issue = items[0]
    assert isinstance(issue, ReadIssue) and issue.provenance.locator == "flow 0"
    assert "over hostmap's limit" in issue.message and issue.message.startswith("cannot read: ")
    assert [(i.provenance.locator, i.host) for i in items if isinstance(i, HttpExchange)] == [
        ("flow 1", "after.example")
    ]


def test_an_absurd_length_prefix_is_a_truncated_file_not_an_allocation(tmp_path: Path) -> None:
    good = tnetstring.dumps(flow().get_state())
    path = tmp_path / "absurd.mitm"
    path.write_bytes(good + b"999999999999:" + b"x" * 100)
    items = assert_same(path)
    issue = items[-1]
    assert isinstance(issue, ReadIssue) and issue.provenance.locator == "flow 1"
    assert issue.message == (
        "cannot read: the file ends inside the record (100 of 1000000000000 bytes)"
    )
    assert isinstance(items[0], HttpExchange)


def test_framing_matches_mitmproxys_flow_reader(corpus_dir: Path, tmp_path: Path) -> None:
    for path in rewritten_corpus(corpus_dir, tmp_path):
        with open(path, "rb") as stream:
            flows = list(FlowReader(stream).stream())
        assert len(records(path)) == len(flows)


# -- response bodies: mitmproxy's get_text, bounded ----------------------------------------

NOT_GET_TEXT = {"body-text-codec-charset"}
"""Variants whose text is not get_text's: charset=rot13 makes get_text raise TypeError (the
whole flow used to be lost); hostmap reads the body as UTF-8 instead."""


def test_the_rot13_charset_no_longer_loses_the_flow() -> None:
    made = VARIANTS["body-text-codec-charset"]
    with pytest.raises(TypeError):
        made.response.get_text(strict=False)
    assert mf._body_text(made.response) == made.response.raw_content.decode()


def http_flows(corpus_dir: Path, henan_dir: Path, tmp_path: Path) -> Iterator[tuple[str, Any]]:
    for name, made in sorted(VARIANTS.items()):
        if not isinstance(made, dict) and made.type == "http" and name not in NOT_GET_TEXT:
            yield name, made
    for path in [*rewritten_corpus(corpus_dir, tmp_path), henan_dir / "app-session.mitm"]:
        with open(path, "rb") as stream:
            for number, made in enumerate(FlowReader(stream).stream()):
                if isinstance(made, http.HTTPFlow):
                    yield f"{path.name} flow {number}", made


def test_body_text_is_mitmproxys_get_text_on_every_flow(
    corpus_dir: Path, henan_dir: Path, tmp_path: Path
) -> None:
    texts = 0
    for name, made in http_flows(corpus_dir, henan_dir, tmp_path):
        found = mf._body_text(made.response)
        if found is not None:
            assert found == made.response.get_text(strict=False), name
            texts += 1
    assert texts > 30


TEXT = "héllo https://a.example/1 网址 http://b.example.org/x?y=1 \U0001F600 " * 3
_CODINGS: dict[str, Callable[[bytes], bytes]] = {
    "identity": lambda data: data,
    "gzip": lambda data: gzip.compress(data, mtime=0),
    "gzip-two-members": lambda data: gzip.compress(data[:7], mtime=0) + gzip.compress(data[7:]),
    "gzip-zero-padded": lambda data: gzip.compress(data, mtime=0) + b"\0" * 8,
    "gzip-cut": lambda data: gzip.compress(data, mtime=0)[:-9],
    "gzip-garbage-after": lambda data: gzip.compress(data, mtime=0) + b"garbage",
    "deflate": zlib.compress,
    "deflate-bare": lambda data: zlib.compress(data)[2:-4],
    "deflate-cut": lambda data: zlib.compress(data)[:-6],
    "deflate-garbage-after": lambda data: zlib.compress(data) + b"more",
    "br": brotli.compress,
    "br-cut": lambda data: brotli.compress(data)[:-3],
    "br-garbage-after": lambda data: brotli.compress(data) + b"x",
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
    "zstd-two-frames": lambda data: (zstandard.ZstdCompressor().compress(data[:5])
                                     + zstandard.ZstdCompressor().compress(data[5:])),
    "zstd-cut": lambda data: zstandard.ZstdCompressor().compress(data)[:-4],
    "not-compressed": lambda data: b"\x1f\x8b" + data,
}
"""Content codings by their test name; the header value is the name up to its first '-'."""


def _coding_header(name: str) -> str:
    return {"not": "gzip"}.get(name.split("-")[0], name.split("-")[0])


@pytest.mark.parametrize("coding", sorted(_CODINGS))
@pytest.mark.parametrize(
    ("content_type", "charset"),
    [("text/html; charset=utf-8", "utf-8"), ("text/html; charset=gbk", "gbk"),
     ("application/json", "utf-8"), ("text/plain", "latin-1"), ("text/plain", "utf-8"),
     ("text/plain; charset=utf-16", "utf-16"), ("text/plain; charset=nope", "utf-8"),
     ("text/plain; charset=hex", "utf-8"), ("text/plain; charset=zlib", "utf-8"),
     ("text/plain; charset=gzip", "utf-8"), ("text/plain; charset=ascii", "utf-8")],
)
def test_text_of_is_get_text(coding: str, content_type: str, charset: str) -> None:
    for body in (TEXT, "<meta charset='iso-8859-1'>caf\u00e9 " + TEXT[:40], ""):
        raw = _CODINGS[coding](body.encode(charset, "replace"))
        made = response(raw, [(b"Content-Type", content_type.encode()),
                              (b"Content-Encoding", _coding_header(coding).encode())])
        expected = made.get_text(strict=False)
        if expected == b"":  # an empty body through a bytes codec ("hex"): bytes, but empty
            expected = ""
        assert isinstance(expected, str)
        assert mf._text_of(raw, content_type, _coding_header(coding)) == expected, coding


def test_a_codec_charset_that_inflates_is_read_as_utf8_not_inflated() -> None:
    """charset=zlib: mitmproxy would inflate the body (a bomb of its own) and return bytes."""
    raw = zlib.compress(b"x" * 100_000)
    made = response(raw, [(b"Content-Type", b"text/plain; charset=zlib")])
    assert made.get_text(strict=False) == b"x" * 100_000
    assert mf._text_of(raw, "text/plain; charset=zlib", None) == raw.decode("utf8",
                                                                           "surrogateescape")


@pytest.mark.parametrize("coding", ["gzip", "gzip-two-members", "deflate", "deflate-bare", "br",
                                    "zstd", "zstd-two-frames", "identity", "not-compressed"])
def test_a_body_past_the_limit_is_cut_to_its_first_bytes(
    coding: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mf, "MAX_BODY_BYTES", 1000)
    body = ("wörd https://x.example/ " * 400).encode()
    raw = _CODINGS[coding](body)
    text = mf._text_of(raw, "text/plain; charset=utf-8", _coding_header(coding))
    whole = raw if coding == "not-compressed" else body  # not gzip after all: kept as sent
    assert whole.decode("utf8", "surrogateescape").startswith(text)
    assert 998 <= len(text.encode("utf8", "surrogateescape")) <= 1000  # a cut character goes


def test_a_gzip_bomb_costs_no_more_than_the_limit() -> None:
    import tracemalloc

    bomb = gzip.compress(b"<p>" + b" " * (64 << 20), compresslevel=9, mtime=0)  # 64 MiB
    tracemalloc.start()
    try:
        text = mf._text_of(bomb, "text/html", "gzip")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(text) == mf.MAX_BODY_BYTES
    assert peak < 4 * mf.MAX_BODY_BYTES + (8 << 20)


# -- time stamps no date can hold ---------------------------------------------------------


@pytest.mark.parametrize("stamp", [1e18, 999999999999999999, 1e300, 253402300800.0])
@pytest.mark.parametrize("where", ["request", "server connection"])
def test_an_impossible_time_stamp_is_an_issue_for_its_flow_only(
    tmp_path: Path, stamp: float, where: str
) -> None:
    bad = flow("bad-time.example")
    if where == "request":
        bad.request.timestamp_start = stamp
    else:
        bad.server_conn.timestamp_tls_setup = stamp
    path = write_flows(tmp_path / "times.mitm", [bad, flow("after.example")])
    items = assert_same(path)
    issue = items[0]
    assert isinstance(issue, ReadIssue) and issue.severity is Severity.ERROR
    assert issue.provenance.locator == "flow 0"
    assert re.search(rf"the {where} time stamp [0-9.e+]+ is not a date \(.+\)$", issue.message)
    assert "\n" not in issue.message
    assert [(i.provenance.locator, i.host) for i in items if isinstance(i, HttpExchange)] == [
        ("flow 1", "after.example")
    ]
