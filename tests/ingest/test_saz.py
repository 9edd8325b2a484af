"""The SAZ reader: Fiddler archives from the corpus, and small SAZs built here with zipfile."""

from __future__ import annotations

import gzip
import struct
import zipfile
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import brotli  # type: ignore[import-untyped]
import pytest
import zstandard

from hostmap.errors import MalformedInput
from hostmap.ingest.saz import MAX_BODY_BYTES, MAX_MEMBER_BYTES, reader
from hostmap.model import HttpExchange, ReadIssue, Severity

SNIFF_BYTES = 64 * 1024

# Sessions, methods and host -> x-hostip, as ../shared/corpus/EXPECTED.md lists them (complete).
CORPUS_SAZ = {
    "office-inspectors-NewCaseName.saz": (
        56,
        {"GET": 28, "POST": 17, "CONNECT": 11},
        {
            "sut02": "192.168.0.34",
            "v10.vortex-win.data.microsoft.com": "111.221.29.254",
            "az700632.vo.msecnd.net": "117.18.232.200",
            "az667904.vo.msecnd.net": "117.18.232.200",
            "iecvlist.microsoft.com": "117.18.232.200",
            "fiddler2.com": "50.56.19.116",
            "www.fiddler2.com": "50.56.19.116",
            "visualstudio-devdiv-c2s.msedge.net": "13.107.5.88",
            "c.urs.microsoft.com": "168.63.154.101",
            "ocsp.msocsp.com": "104.18.25.243",
        },
    ),
    "office-inspectors-NewCaseName1.saz": (
        3,
        {"GET": 3},
        {"fiddler2.com": "50.56.19.116", "www.fiddler2.com": "50.56.19.116"},
    ),
    "saz2jmx-test.saz": (
        14,
        {"CONNECT": 11, "GET": 3},
        {
            "github.com": "140.82.112.4",
            "api.github.com": "140.82.114.5",
            "github.githubassets.com": "185.199.110.154",
            "collector.githubapp.com": "34.196.246.152",
            "www.google-analytics.com": "172.217.1.206",
            "cdn.walkme.com": "104.86.79.181",
            "fiddler2.com": "50.56.19.116",
            "www.fiddler2.com": "50.56.19.116",
        },
    ),
}

GET_REQUEST = b"GET http://app.example/home HTTP/1.1\r\nHost: app.example\r\nAccept: */*\r\n\r\n"
OK_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
CONNECT_REQUEST = (
    b"CONNECT tunnel.example:8443 HTTP/1.1\r\nHost: tunnel.example:8443\r\n\r\n"
    b"A SSLv3-compatible ClientHello handshake was found. Fiddler extracted the parameters below.\n"
)
CONNECT_RESPONSE = (
    b"HTTP/1.1 200 Connection Established\r\nFiddlerGateway: Direct\r\nConnection: close\r\n"
    b"Content-Type: text/plain\r\n\r\n"  # not Fiddler's habit: makes the note look searchable
    b"This is a CONNECT tunnel, through which encrypted HTTPS traffic flows.\n"
    b"See https://docs.example/fiddler-https for how to decrypt it.\n"
)


def exchanges(items: list[object]) -> list[HttpExchange]:
    return [item for item in items if isinstance(item, HttpExchange)]


def issues(items: list[object]) -> list[ReadIssue]:
    return [item for item in items if isinstance(item, ReadIssue)]


def metadata(
    hostip: str = "192.0.2.10",
    begin: str = "2019-07-25T12:31:52.1496733-07:00",
    sni: str | None = None,
) -> bytes:
    """An _m.xml as Fiddler writes it: BOM, timers as attributes, SessionFlags."""
    flags = [("x-hostip", hostip), ("x-clientport", "50123"), ("x-processinfo", "app:4242")]
    if sni:
        flags.append(("https-client-snihostname", sni))
    flag_xml = "".join(f'<SessionFlag N="{name}" V="{value}" />' for name, value in flags)
    return (
        '\ufeff<?xml version="1.0" encoding="utf-8"?>\n<Session SID="1" BitFlags="0">'
        f'<SessionTimers ClientConnected="{begin}" ClientBeginRequest="{begin}" '
        'ServerBeginResponse="0001-01-01T00:00:00" /><PipeInfo />'
        f"<SessionFlags>{flag_xml}</SessionFlags></Session>"
    ).encode()


def make_saz(
    path: Path,
    sessions: dict[str, dict[str, bytes]],
    extra: dict[str, bytes] | None = None,
) -> Path:
    """A SAZ with raw/NN_c.txt, NN_s.txt, NN_m.xml for each session's "c", "s", "m" parts."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("raw/", b"")
        for number, parts in sessions.items():
            for kind, data in parts.items():
                archive.writestr(f"raw/{number}_{kind}.{'xml' if kind == 'm' else 'txt'}", data)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
        archive.writestr("_index.htm", b"<html></html>")
    return path


def session(
    request: bytes = GET_REQUEST, response: bytes | None = OK_RESPONSE, meta: bytes | None = None
) -> dict[str, bytes]:
    parts = {"c": request, "m": metadata() if meta is None else meta}
    if response is not None:
        parts["s"] = response
    return parts


def patch_central_entry(path: Path, name: str, field_offset: int, value: int) -> None:
    """Overwrite a 4-byte (offset 24: uncompressed size) or 2-byte (offset 8: flags) field."""
    data = bytearray(path.read_bytes())
    position = data.find(b"PK\x01\x02")
    while position != -1:
        name_length = struct.unpack_from("<H", data, position + 28)[0]
        if data[position + 46 : position + 46 + name_length] == name.encode():
            fmt = "<I" if field_offset == 24 else "<H"
            struct.pack_into(fmt, data, position + field_offset, value)
            path.write_bytes(bytes(data))
            return
        position = data.find(b"PK\x01\x02", position + 4)
    raise AssertionError(f"{name} not in the central directory")


# --- the corpus ------------------------------------------------------------------------------


def test_corpus_table_names_every_saz_file_in_the_corpus(corpus_dir: Path) -> None:
    assert sorted(p.name for p in (corpus_dir / "saz").iterdir()) == sorted(CORPUS_SAZ)


@pytest.mark.parametrize("name", sorted(CORPUS_SAZ))
def test_corpus_saz_maps_hosts_to_the_expected_addresses(corpus_dir: Path, name: str) -> None:
    session_count, methods, expected = CORPUS_SAZ[name]
    items = list(reader.read(corpus_dir / "saz" / name))

    assert issues(items) == []
    assert len(exchanges(items)) == session_count
    assert Counter(e.method for e in exchanges(items)) == methods
    observed: dict[str, set[str | None]] = defaultdict(set)
    for exchange in exchanges(items):
        observed[exchange.host].add(exchange.server_address)
    assert observed == {host: {address} for host, address in expected.items()}


@pytest.mark.parametrize("name", sorted(CORPUS_SAZ))
def test_corpus_saz_is_sniffed_as_saz_from_its_first_bytes(corpus_dir: Path, name: str) -> None:
    path = corpus_dir / "saz" / name
    head = path.read_bytes()[:SNIFF_BYTES]

    assert reader.sniff(head, path) == 1.0
    assert reader.sniff(head, path.with_suffix(".zip")) == 1.0


def test_corpus_connect_sessions_are_https_endpoints_with_status_200(corpus_dir: Path) -> None:
    items = list(reader.read(corpus_dir / "saz" / "office-inspectors-NewCaseName.saz"))
    tunnels = [e for e in exchanges(items) if e.method == "CONNECT"]

    assert len(tunnels) == 11
    assert {(e.scheme, e.port, e.status, e.path) for e in tunnels} == {("https", 443, 200, None)}
    assert Counter(e.host for e in exchanges(items))["sut02"] == 30


def test_corpus_github_is_reached_over_connect_with_its_sni(corpus_dir: Path) -> None:
    items = exchanges(list(reader.read(corpus_dir / "saz" / "saz2jmx-test.saz")))
    github = [e for e in items if e.host == "github.com"]

    assert github and all(e.method == "CONNECT" and e.scheme == "https" for e in github)
    assert {(e.server_address, e.sni, e.port) for e in github} == {
        ("140.82.112.4", "github.com", 443)
    }


def test_corpus_sessions_keep_their_number_time_and_body_urls(corpus_dir: Path) -> None:
    items = exchanges(list(reader.read(corpus_dir / "saz" / "saz2jmx-test.saz")))
    first = items[0]

    assert [e.provenance.locator for e in items[:2]] == ["session 01", "session 02"]
    # ClientBeginRequest="2020-09-01T13:57:52.211861-06:00"
    assert first.time == datetime(2020, 9, 1, 19, 57, 52, 211861, tzinfo=UTC)
    assert (first.host, first.scheme, first.path) == (
        "www.fiddler2.com",
        "https",
        "/UpdateCheck.aspx?isBeta=False",
    )
    assert first.body_urls == ("http://prgress.co/2swAPLK",)  # from a gzip-encoded body


# --- synthetic archives ----------------------------------------------------------------------


def test_chunked_gzip_response_body_urls_are_found(tmp_path: Path) -> None:
    body = gzip.compress(b'{"api": "https:\\/\\/api.example.com\\/v1", "n": 1}')
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (body[:7], body[7:20], body[20:]))
    response = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
        b"Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked + b"0\r\n\r\n"
    )
    path = make_saz(tmp_path / "a.saz", {"1": session(response=response)})
    items = list(reader.read(path))

    assert issues(items) == []
    [exchange] = exchanges(items)
    assert exchange.status == 200
    assert exchange.body_urls == ("https://api.example.com/v1",)


def test_fiddler_metadata_gives_address_sni_and_seven_digit_local_time(tmp_path: Path) -> None:
    meta = metadata(hostip="2001:db8::5", sni="app.example")
    path = make_saz(tmp_path / "a.saz", {"1": session(meta=meta)})
    [exchange] = exchanges(list(reader.read(path)))

    assert exchange.server_address == "2001:db8::5"
    assert exchange.sni == "app.example"
    assert exchange.time == datetime(2019, 7, 25, 19, 31, 52, 149673, tzinfo=UTC)
    assert (exchange.host, exchange.port, exchange.path) == ("app.example", 80, "/home")


def test_bad_hostip_is_a_warning_and_the_exchange_is_kept(tmp_path: Path) -> None:
    path = make_saz(tmp_path / "a.saz", {"1": session(meta=metadata(hostip="not-an-ip"))})
    items = list(reader.read(path))

    [exchange] = exchanges(items)
    assert exchange.server_address is None
    [issue] = issues(items)
    assert issue.severity is Severity.WARNING
    assert str(issue).endswith("session 1 (raw/1_m.xml): x-hostip 'not-an-ip' is not an IP address")


def test_connect_session_is_an_https_endpoint_and_fiddler_notes_are_ignored(
    tmp_path: Path,
) -> None:
    meta = metadata(sni="tunnel.example")
    parts = session(CONNECT_REQUEST, CONNECT_RESPONSE, meta)
    path = make_saz(tmp_path / "a.saz", {"1": parts})
    items = list(reader.read(path))

    assert issues(items) == []
    [exchange] = exchanges(items)
    assert (exchange.scheme, exchange.host, exchange.port) == ("https", "tunnel.example", 8443)
    assert (exchange.method, exchange.status, exchange.path) == ("CONNECT", 200, None)
    assert exchange.body_urls == ()


def test_origin_form_request_takes_host_and_port_from_the_host_header(tmp_path: Path) -> None:
    request = b"POST /api/login HTTP/1.1\r\nHost: App.Example:8080\r\nContent-Length: 3\r\n\r\nabc"
    redirect = b"HTTP/1.1 302 Found\r\nLocation: /next?x=1\r\nContent-Length: 0\r\n\r\n"
    path = make_saz(tmp_path / "a.saz", {"1": session(request, redirect)})
    [exchange] = exchanges(list(reader.read(path)))

    assert (exchange.scheme, exchange.host, exchange.port) == ("http", "app.example", 8080)
    assert (exchange.method, exchange.path, exchange.status) == ("POST", "/api/login", 302)
    assert exchange.redirect_url == "http://App.Example:8080/next?x=1"


def test_sessions_are_read_in_numeric_order_with_their_padding(tmp_path: Path) -> None:
    sessions = {number: session() for number in ("10", "2", "0003")}
    path = make_saz(tmp_path / "a.saz", sessions)
    items = list(reader.read(path))

    assert [e.provenance.locator for e in exchanges(items)] == [
        "session 2",
        "session 0003",
        "session 10",
    ]


def test_aborted_session_without_response_has_no_status(tmp_path: Path) -> None:
    sessions = {"1": session(response=None), "2": session(response=b"")}
    items = list(reader.read(make_saz(tmp_path / "a.saz", sessions)))

    assert issues(items) == []
    assert [(e.host, e.status) for e in exchanges(items)] == [("app.example", None)] * 2


def test_garbage_request_is_reported_with_its_session_and_the_next_is_read(
    tmp_path: Path,
) -> None:
    sessions = {"1": session(), "2": session(request=b"\x00\x01garbage\r\n\r\n"), "3": session()}
    items = list(reader.read(make_saz(tmp_path / "a.saz", sessions)))

    assert [e.provenance.locator for e in exchanges(items)] == ["session 1", "session 3"]
    [issue] = issues(items)
    assert issue.severity is Severity.ERROR
    assert issue.provenance.locator == "session 2 (raw/2_c.txt)"
    assert "request is not HTTP/1" in issue.message


def test_response_that_is_not_http_keeps_the_request_and_names_the_member(
    tmp_path: Path,
) -> None:
    path = make_saz(tmp_path / "a.saz", {"12": session(response=b"SSH-2.0-OpenSSH\r\n\r\n")})
    items = list(reader.read(path))

    [exchange] = exchanges(items)
    assert (exchange.host, exchange.status) == ("app.example", None)
    [issue] = issues(items)
    assert str(issue).startswith(f"{path}: session 12 (raw/12_s.txt): response is not HTTP/1")


def test_head_response_has_no_body_even_with_a_content_length(tmp_path: Path) -> None:
    request = b"HEAD http://app.example/file HTTP/1.1\r\nHost: app.example\r\n\r\n"
    response = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5000\r\n\r\n"
    items = list(reader.read(make_saz(tmp_path / "a.saz", {"1": session(request, response)})))

    assert issues(items) == []
    assert [e.status for e in exchanges(items)] == [200]


def test_cut_short_body_keeps_the_status_and_warns(tmp_path: Path) -> None:
    response = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 500\r\n\r\n"
        b'<a href="https://partial.example/x">'
    )
    items = list(reader.read(make_saz(tmp_path / "a.saz", {"1": session(response=response)})))

    [exchange] = exchanges(items)
    assert exchange.status == 200
    assert exchange.body_urls == ("https://partial.example/x",)
    [issue] = issues(items)
    assert issue.severity is Severity.WARNING and "cut short" in issue.message


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-15)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(
    ("coding", "encode"),
    [
        ("identity", lambda data: data),
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", raw_deflate),  # IIS's bare deflate
        ("br", brotli.compress),
        ("zstd", lambda data: zstandard.ZstdCompressor().compress(data)),
    ],
    ids=["identity", "gzip", "deflate-zlib", "deflate-raw", "br", "zstd"],
)
def test_encoded_text_bodies_are_decoded_for_urls(
    tmp_path: Path, coding: str, encode: Callable[[bytes], bytes]
) -> None:
    body = encode(b'<html><a href="https://cdn.example/app.js">x</a></html>')
    response = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
        + f"Content-Encoding: {coding}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    items = list(reader.read(make_saz(tmp_path / "a.saz", {"1": session(response=response)})))

    assert issues(items) == []
    assert exchanges(items)[0].body_urls == ("https://cdn.example/app.js",)


def test_unknown_encoding_and_binary_bodies_are_not_searched(tmp_path: Path) -> None:
    unknown = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: compress\r\n"
        b"Content-Length: 24\r\n\r\nhttps://never.example/x "
    )
    binary = (
        b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 24\r\n\r\n"
        b"https://never.example/y "
    )
    sessions = {"1": session(response=unknown), "2": session(response=binary)}
    items = list(reader.read(make_saz(tmp_path / "a.saz", sessions)))

    assert [e.body_urls for e in exchanges(items)] == [(), ()]
    [issue] = issues(items)
    assert issue.provenance.locator == "session 1 (raw/1_s.txt)"
    assert issue.severity is Severity.WARNING and "'compress'" in issue.message


def test_gzip_bomb_is_decoded_only_up_to_the_cap(tmp_path: Path) -> None:
    text = b"https://first.example/a " + b"a" * (MAX_BODY_BYTES + 2**20) + b" https://late.example/"
    body = gzip.compress(text)
    assert len(body) < 64 * 1024
    response = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Encoding: gzip\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    items = list(reader.read(make_saz(tmp_path / "a.saz", {"1": session(response=response)})))

    assert exchanges(items)[0].body_urls == ("https://first.example/a",)
    [issue] = issues(items)
    assert issue.severity is Severity.WARNING and "over 8 MiB" in issue.message


def test_path_traversal_members_are_refused_and_the_rest_read(tmp_path: Path) -> None:
    extra = {"../evil.txt": b"x", "/etc/passwd": b"y", "raw/../../9_c.txt": GET_REQUEST}
    path = make_saz(tmp_path / "a.saz", {"1": session()}, extra)
    items = list(reader.read(path))

    assert [e.provenance.locator for e in exchanges(items)] == ["session 1"]
    refused = issues(items)
    assert {i.provenance.locator for i in refused} == {
        "member ../evil.txt",
        "member /etc/passwd",
        "member raw/../../9_c.txt",
    }
    assert all(i.severity is Severity.ERROR for i in refused)


def test_member_declared_over_the_size_cap_is_refused(tmp_path: Path) -> None:
    path = make_saz(tmp_path / "a.saz", {"1": session(), "2": session()})
    patch_central_entry(path, "raw/1_s.txt", 24, MAX_MEMBER_BYTES + 1)
    items = list(reader.read(path))

    assert [(e.provenance.locator, e.status) for e in exchanges(items)] == [
        ("session 1", None),
        ("session 2", 200),
    ]
    [issue] = issues(items)
    assert issue.provenance.locator == "session 1 (raw/1_s.txt)"
    assert "over the 256 MiB limit" in issue.message


def test_corrupt_member_is_reported_and_other_sessions_read(tmp_path: Path) -> None:
    path = tmp_path / "a.saz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("raw/1_c.txt", GET_REQUEST.replace(b"/home", b"/HOME"))
        archive.writestr("raw/2_c.txt", GET_REQUEST)
    path.write_bytes(path.read_bytes().replace(b"/HOME", b"/h0me"))  # CRC no longer matches
    items = list(reader.read(path))

    assert [e.provenance.locator for e in exchanges(items)] == ["session 2"]
    [issue] = issues(items)
    assert issue.provenance.locator == "session 1 (raw/1_c.txt)"
    assert "CRC" in issue.message


def test_session_without_request_is_reported(tmp_path: Path) -> None:
    path = make_saz(tmp_path / "a.saz", {"1": session(), "5": {"s": OK_RESPONSE}})
    items = list(reader.read(path))

    assert len(exchanges(items)) == 1
    [issue] = issues(items)
    assert str(issue) == f"{path}: session 5: raw/5_c.txt is missing; skipped"


def test_zip_without_sessions_is_not_a_saz(tmp_path: Path) -> None:
    path = tmp_path / "docs.saz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")

    with pytest.raises(MalformedInput, match="not a Fiddler SAZ"):
        list(reader.read(path))


def test_corrupt_zip_raises_malformed_input_with_zipfiles_reason(tmp_path: Path) -> None:
    good = make_saz(tmp_path / "good.saz", {"1": session()})
    bad = tmp_path / "bad.saz"
    bad.write_bytes(good.read_bytes()[:-40])  # the end of central directory is gone

    with pytest.raises(MalformedInput, match="not a readable zip: File is not a zip file"):
        list(reader.read(bad))


def test_password_protected_saz_is_refused(tmp_path: Path) -> None:
    path = make_saz(tmp_path / "a.saz", {"1": session()})
    patch_central_entry(path, "raw/1_c.txt", 8, 0x1)

    with pytest.raises(MalformedInput, match="password-protected"):
        list(reader.read(path))


def test_sniff_wants_a_zip_with_raw_members_or_the_saz_suffix(tmp_path: Path) -> None:
    saz = make_saz(tmp_path / "capture.bin", {"1": session()}).read_bytes()
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    other_head = other.read_bytes()

    assert reader.sniff(saz[:SNIFF_BYTES], tmp_path / "capture.bin") == 1.0
    assert reader.sniff(other_head, tmp_path / "renamed.SAZ") == 0.6
    assert reader.sniff(other_head, other) == 0.0
    assert reader.sniff(b'{"log": {"entries": []}}', tmp_path / "x.saz") == 0.0
