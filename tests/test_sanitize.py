"""`sanitize_file`: redacted copies of HAR, mitmproxy and SAZ captures that hostmap still reads."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mitmproxy import http, websocket
from mitmproxy import io as mitmio
from mitmproxy.test import tflow

from hostmap._sanitize_bodies import redact_body
from hostmap._sanitize_har import write_har
from hostmap.enrich.cookies import cookies_in
from hostmap.errors import InputError, OutputError, UnknownFormat, UsageError
from hostmap.ingest import detect_format, reader_named
from hostmap.model import HttpExchange
from hostmap.sanitize import SanitizeSummary, sanitize_file
from tests.conftest import CORPUS, HENAN

CANARY = "CANARY-COOKIE-7f3a"
RESIDENT_ID = "11010519491231002X"
PHONE = "13800138000"
EMAIL = "canary@example.com"
LEAKS = (CANARY, RESIDENT_ID, PHONE, EMAIL, "canary%40example.com")
F5_VALUE = "1677787402.36895.0000"
F5 = f"BIGipServerweb_pool={F5_VALUE}"
SECRET_JSON = json.dumps({"password": CANARY, "idCard": RESIDENT_ID, "phone": PHONE,
                          "mail": EMAIL, "nested": {"access_token": CANARY}})


def assert_clean(data: bytes | str) -> None:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    for leak in LEAKS:
        assert leak not in text


def exchanges(path: Path, format: str) -> list[tuple[Any, ...]]:
    """What the endpoints analysis rests on, per record, as hostmap's reader sees it."""
    return [(item.provenance.locator, item.scheme, item.host, item.port, item.server_address,
             item.status, item.time)
            for item in reader_named(format).read(path) if isinstance(item, HttpExchange)]


def backends(path: Path, format: str) -> set[tuple[str, str | None, str | None]]:
    return {(c.vendor, c.backend_address, c.backend_id)
            for item in reader_named(format).read(path) if isinstance(item, HttpExchange)
            for c in cookies_in([*item.request_headers, *item.response_headers])}


# --- bodies (the sanitizers' policy) ----------------------------------------------------


def test_bodies_text_is_redacted_forms_lose_every_value_media_stay_binary_goes():
    json_body = json.dumps({"password": CANARY, "mobile": PHONE, "mail": EMAIL}).encode()
    assert_clean(redact_body(json_body, "application/json").decode())  # type: ignore[union-attr]
    assert redact_body(b"a=1&b=" + CANARY.encode(), "application/x-www-form-urlencoded") == \
        b"a=[redacted]&b=[redacted]"
    png = b"\x89PNG\r\n\x1a\n" + CANARY.encode()
    assert redact_body(png, "image/png") == png
    counts: Counter[str] = Counter()
    assert redact_body(b"\x08\x96\x01\xff" + CANARY.encode(), "application/x-protobuf",
                       counts) is None
    assert counts == {"body": 1}
    # Non-UTF-8 bytes around a secret survive untouched.
    assert redact_body(b"\xff\xfe token=" + CANARY.encode(), "text/plain") == \
        b"\xff\xfe token=" + b"[redacted]"


# --- HAR --------------------------------------------------------------------------------


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _canary_har(*, entries_first: bool = False) -> dict[str, Any]:
    login = {
        "startedDateTime": "2022-06-14T09:41:07.215+08:00", "time": 9,
        "serverIPAddress": "192.0.2.10", "pageref": "page_1", "comment": f"seen by {EMAIL}",
        "_initiator": {"type": "script", "url": f"https://app.example/x.js?token={CANARY}"},
        "request": {
            "method": "POST", "httpVersion": "HTTP/1.1", "headersSize": -1, "bodySize": -1,
            "url": (f"https://user:{CANARY}@app.example:8443/api/{PHONE}/login?token={CANARY}"
                    f"&id={RESIDENT_ID}#access_token={CANARY}"),
            "headers": [
                {"name": "Cookie", "value": f"session={CANARY}; {F5}"},
                {"name": "Authorization", "value": f"Bearer {CANARY}"},
                {"name": "Proxy-Authorization", "value": f"Basic {CANARY}"},
                {"name": "X-Api-Key", "value": CANARY},
                {"name": "Referer", "value": f"https://app.example/?sid={CANARY}"},
                {"name": "X-Contact", "value": f"{PHONE} {EMAIL}"},
            ],
            "cookies": [{"name": "session", "value": CANARY},
                        {"name": "BIGipServerweb_pool", "value": F5_VALUE}],
            "queryString": [{"name": "token", "value": CANARY},
                            {"name": "id", "value": RESIDENT_ID}],
            "postData": {"mimeType": "application/json", "text": SECRET_JSON, "params": []},
        },
        "response": {
            "status": 302, "statusText": "Found", "httpVersion": "HTTP/1.1",
            "headers": [{"name": "Set-Cookie", "value": f"session={CANARY}; Path=/"},
                        {"name": "Set-Cookie", "value": f"{F5}; Path=/"},
                        {"name": "Location", "value": f"https://login.example/cb?code={CANARY}"}],
            "cookies": [{"name": "session", "value": CANARY, "path": "/"}],
            "content": {"size": 99, "mimeType": "application/json", "encoding": "base64",
                        "text": _b64(SECRET_JSON)},
            "redirectURL": f"https://login.example/cb?code={CANARY}",
            "headersSize": -1, "bodySize": -1,
        },
        "cache": {}, "timings": {"send": 0, "wait": 9, "receive": 0},
    }
    form = {
        "startedDateTime": "2022-06-14T09:41:08+08:00", "time": 3,
        "request": {"method": "POST", "url": "http://app.example/form", "headers": [],
                    "postData": {"mimeType": "application/x-www-form-urlencoded",
                                 "text": f"user=alice&password={CANARY}&mobile={PHONE}",
                                 "params": [{"name": "password", "value": CANARY},
                                            {"name": "mobile", "value": PHONE}]}},
        "response": {"status": 200, "headers": [],
                     "content": {"mimeType": "text/html",
                                 "text": f"<p>Hello {EMAIL}, id {RESIDENT_ID}</p>"}},
    }
    blob = {
        "startedDateTime": "2022-06-14T09:41:09+08:00", "time": 1,
        "serverIPAddress": "2001:db8::10",
        "request": {"method": "GET", "url": "https://[2001:db8::10]/blob", "headers": []},
        "response": {"status": 200, "headers": [],
                     "content": {"mimeType": "application/octet-stream", "encoding": "base64",
                                 "text": base64.b64encode(b"\xff\x00" + CANARY.encode()).decode()}},
    }
    pages = [{"id": "page_1", "title": f"https://app.example/?token={CANARY}",
              "startedDateTime": "2022-06-14T09:41:07+08:00", "pageTimings": {}}]
    head = {"version": "1.2", "creator": {"name": "test", "version": "1"},
            "comment": f"captured by {EMAIL}"}
    log = ({"entries": [login, form, blob], **head, "pages": pages} if entries_first
           else {**head, "pages": pages, "entries": [login, form, blob]})
    return {"log": log}


@pytest.mark.parametrize("entries_first", [False, True])
def test_har_copy_has_no_canary_and_the_same_exchanges(tmp_path: Path, entries_first: bool):
    source, target = tmp_path / "in.har", tmp_path / "out.har"
    source.write_text("\ufeff" + json.dumps(_canary_har(entries_first=entries_first)),
                      encoding="utf-8")
    summary = sanitize_file(source, target)
    assert summary.format == "har" and summary.records == 3 and not summary.issues
    assert_clean(target.read_bytes())
    assert exchanges(target, "har") == exchanges(source, "har")
    assert len(exchanges(target, "har")) == 3
    assert backends(target, "har") == backends(source, "har") == {("F5 BIG-IP", "10.1.1.100", None)}
    copy = json.loads(target.read_text(encoding="utf-8"))
    assert list(copy["log"]) == list(_canary_har(entries_first=entries_first)["log"])
    login, form, blob = copy["log"]["entries"]
    assert login["request"]["url"].startswith("https://app.example:8443/api/[redacted]/login?")
    assert login["request"]["cookies"][1] == {"name": "BIGipServerweb_pool", "value": F5_VALUE}
    assert json.loads(login["request"]["postData"]["text"])["password"] == "[redacted]"
    assert form["request"]["postData"]["text"] == \
        "user=[redacted]&password=[redacted]&mobile=[redacted]"
    assert blob["response"]["content"]["text"] == ""
    for kind in ("cookie", "authorization", "query", "fragment", "userinfo", "json-secret",
                 "form", "phone", "email", "resident-id", "body"):
        assert summary.removed.get(kind, 0) > 0, kind


def test_a_broken_har_keeps_the_entries_before_the_break(tmp_path: Path):
    text = json.dumps(_canary_har())
    cut = text.index('{"startedDateTime": "2022-06-14T09:41:09')
    source, target = tmp_path / "in.har", tmp_path / "out.har"
    source.write_text(text[: cut + 30], encoding="utf-8")
    summary = sanitize_file(source, target)
    assert summary.records == 2 and summary.issues
    assert "broken" in summary.issues[0]
    assert len(json.loads(target.read_text(encoding="utf-8"))["log"]["entries"]) == 2
    assert_clean(target.read_bytes())


# --- mitmproxy --------------------------------------------------------------------------


def _canary_flows() -> list[Any]:
    flow = tflow.tflow(resp=True)
    flow.server_conn.peername = ("192.0.2.10", 443)
    request, response = flow.request, flow.response
    request.host, request.port, request.scheme = "app.example", 443, "https"
    request.path = f"/api/{PHONE}?token={CANARY}&id={RESIDENT_ID}"
    request.headers["Cookie"] = f"session={CANARY}; {F5}"
    request.headers["Authorization"] = f"Bearer {CANARY}"
    request.headers["Content-Type"] = "application/json"
    request.content = SECRET_JSON.encode()
    response.headers["Set-Cookie"] = f"session={CANARY}; Path=/"
    response.headers.add("Set-Cookie", f"{F5}; Path=/")
    response.headers["Content-Type"] = "application/json"
    response.headers["Content-Encoding"] = "gzip"
    response.content = SECRET_JSON.encode()  # stored gzip-encoded
    flow.comment = f"for {EMAIL}"
    failed = tflow.tflow(err=True)
    failed.error.msg = f"connection to {EMAIL} failed: token={CANARY}"
    ws = tflow.twebsocketflow()
    ws.websocket.messages = [
        websocket.WebSocketMessage(websocket.Opcode.TEXT, True, SECRET_JSON.encode()),
        websocket.WebSocketMessage(websocket.Opcode.BINARY, False, b"\xff\x00" + CANARY.encode()),
    ]
    tcp = tflow.ttcpflow()
    tcp.messages[0].content = f"PASS {CANARY} {PHONE}".encode()
    return [flow, failed, ws, tcp]


def _read_flows(path: Path) -> list[Any]:
    with path.open("rb") as f:
        return list(mitmio.FlowReader(f).stream())


def test_mitmproxy_copy_has_no_canary_and_the_same_exchanges(tmp_path: Path):
    source, target = tmp_path / "in.mitm", tmp_path / "out.mitm"
    with source.open("wb") as f:
        writer = mitmio.FlowWriter(f)
        for flow in _canary_flows():
            writer.add(flow)
    summary = sanitize_file(source, target)
    assert summary.format == "mitmproxy" and summary.records == 4 and not summary.issues
    assert_clean(target.read_bytes())
    flows = _read_flows(target)
    for flow in flows:
        if isinstance(flow, http.HTTPFlow):
            for message in (flow.request, flow.response):
                if message is not None:
                    assert_clean(message.get_text(strict=False) or "")
                    assert_clean(str(message.headers))
        assert flow.client_conn.peername == ("0.0.0.0", 0)
    login = flows[0]
    assert login.response.headers["content-encoding"] == "gzip"
    assert json.loads(login.response.get_text())["password"] == "[redacted]"
    assert login.server_conn.peername == ("192.0.2.10", 443)
    assert flows[2].websocket.messages[1].content == b""
    assert exchanges(target, "mitmproxy") == exchanges(source, "mitmproxy")
    assert backends(target, "mitmproxy") == {("F5 BIG-IP", "10.1.1.100", None)}


# --- SAZ --------------------------------------------------------------------------------


def _chunked(data: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(data[i : i + 16]), data[i : i + 16])
                    for i in range(0, len(data), 16)) + b"0\r\n\r\n"


def _meta(number: int, host_ip: str) -> bytes:
    return f"""\ufeff<?xml version="1.0" encoding="utf-8"?>
<Session SID="{number}" BitFlags="0">
  <SessionTimers ClientBeginRequest="2022-06-14T09:41:07.2150157+08:00" />
  <SessionFlags>
    <SessionFlag N="x-clientport" V="40112" />
    <SessionFlag N="x-clientip" V="::ffff:192.0.2.99" />
    <SessionFlag N="x-processinfo" V="chrome:4242" />
    <SessionFlag N="ui-comments" V="ask {EMAIL}" />
    <SessionFlag N="x-hostip" V="{host_ip}" />
  </SessionFlags>
</Session>""".encode()


def _canary_saz(path: Path) -> None:
    form = f"password={CANARY}&mobile={PHONE}".encode()
    request = (f"POST https://app.example:8443/api/login?token={CANARY}&id={RESIDENT_ID} "
               "HTTP/1.1\r\n"
               f"Host: app.example:8443\r\nCookie: session={CANARY}; {F5}\r\n"
               f"Authorization: Bearer {CANARY}\r\n"
               "Content-Type: application/x-www-form-urlencoded\r\n"
               f"Content-Length: {len(form)}\r\n\r\n").encode() + form
    response = (b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: application/json\r\n"
                b"Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"
                + f"Set-Cookie: sid={CANARY}; Path=/\r\nSet-Cookie: {F5}; Path=/\r\n\r\n".encode()
                + _chunked(gzip.compress(SECRET_JSON.encode())))
    connect = (b"CONNECT app.example:443 HTTP/1.1\r\nHost: app.example:443\r\n\r\n"
               + f"A SSLv3-compatible ClientHello handshake was found. mail {EMAIL}\n".encode())
    established = (b"HTTP/1.1 200 Connection Established\r\nFiddlerGateway: Direct\r\n\r\n"
                   + f"Encrypted HTTPS traffic flows through this CONNECT tunnel. {PHONE}".encode())
    get = (f"GET /static/app.js?sid={CANARY} HTTP/1.1\r\nHost: cdn.example\r\n"
           f"Referer: https://app.example/?token={CANARY}\r\n\r\n").encode()
    not_modified = b"HTTP/1.1 304 Not Modified\r\nETag: \"abc\"\r\n\r\n"
    index = ("\ufeff<html><body><table><thead><tr><th>&nbsp;</th><th>#</th><th>Host</th>"
             "<th>URL</th><th>Process</th><th>Comments</th></tr></thead><tbody>"
             "<tr><td><a href='raw\\1_c.txt'>C</a></td><td>1</td><td>app.example:8443</td>"
             f"<td>/api/login?token={CANARY}&amp;id={RESIDENT_ID}</td><td>chrome:4242</td>"
             f"<td>ask {EMAIL}</td></tr></tbody></table></body></html>").encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as saz:
        saz.writestr("[Content_Types].xml", b'<?xml version="1.0" encoding="utf-8" ?><Types />')
        saz.writestr("_index.htm", index)
        saz.writestr("raw/", b"")
        for number, c, s, host_ip in ((1, request, response, "192.0.2.10"),
                                      (2, connect, established, "192.0.2.10"),
                                      (3, get, not_modified, "2001:db8::20")):
            saz.writestr(f"raw/{number}_c.txt", c)
            saz.writestr(f"raw/{number}_s.txt", s)
            saz.writestr(f"raw/{number}_m.xml", _meta(number, host_ip))
        saz.writestr("raw/1_w.txt", f"websocket {CANARY}".encode())


def _saz_members(path: Path) -> Iterator[tuple[str, bytes]]:
    """Every member's bytes, with gzip bodies of responses decoded."""
    with zipfile.ZipFile(path) as saz:
        for name in saz.namelist():
            data = saz.read(name)
            head, _, body = data.partition(b"\r\n\r\n")
            if name.endswith("_s.txt") and b"content-encoding: gzip" in head.lower():
                data = head + b"\r\n\r\n" + gzip.decompress(body)
            yield name, data


def test_saz_copy_has_no_canary_and_the_same_exchanges(tmp_path: Path):
    source, target = tmp_path / "in.saz", tmp_path / "out.saz"
    _canary_saz(source)
    summary = sanitize_file(source, target)
    assert summary.format == "saz" and summary.records == 3 and not summary.issues
    members = dict(_saz_members(target))
    for name, data in members.items():
        assert_clean(data), name
        assert b"192.0.2.99" not in data and b"chrome:4242" not in data, name
    assert "raw/1_w.txt" not in members and summary.removed["member"] == 1
    assert b'N="x-hostip" V="192.0.2.10"' in members["raw/1_m.xml"]
    assert json.loads(members["raw/1_s.txt"].partition(b"\r\n\r\n")[2])["idCard"] == "[redacted]"
    assert exchanges(target, "saz") == exchanges(source, "saz")
    assert [e[1:5] for e in exchanges(target, "saz")] == [
        ("https", "app.example", 8443, "192.0.2.10"), ("https", "app.example", 443, "192.0.2.10"),
        ("http", "cdn.example", 80, "2001:db8::20")]
    assert backends(target, "saz") == {("F5 BIG-IP", "10.1.1.100", None)}
    assert summary.removed["client"] == 3 * 3 + 1


# --- the bundled case and the corpus ----------------------------------------------------

CAPTURES = sorted([*HENAN.glob("app-session.har"), *HENAN.glob("app-session.mitm"),
                   *HENAN.glob("app-session.saz"), *(CORPUS / "har").glob("*"),
                   *(CORPUS / "mitmproxy").glob("*"), *(CORPUS / "saz").glob("*")])


def test_there_are_captures_to_sanitize():
    assert len(CAPTURES) >= 20


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_sanitized_captures_read_back_with_the_same_exchanges(tmp_path: Path, path: Path):
    format = detect_format(path).format
    before = exchanges(path, format)
    if not before:
        pytest.skip("hostmap reads no exchange from this file (EXPECTED.md)")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    target = tmp_path / f"copy{path.suffix}"
    summary = sanitize_file(path, target)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, "the source is untouched"
    assert detect_format(target).format == format
    assert exchanges(target, format) == before
    assert backends(target, format) == backends(path, format)
    assert summary.records >= len(before) - len(summary.issues)


def test_henan_copies_keep_the_backends_and_lose_the_session_secrets(tmp_path: Path):
    target = tmp_path / "app-session.har"
    sanitize_file(HENAN / "app-session.har", target)
    text = target.read_text(encoding="utf-8")
    for secret in ("FAKE-APP-TOKEN-0001", "FAKECODE0001", "FAKE-QR-0001",
                   "0F1A2B3C4D5E6F708192A3B4C5D6E7F8", "FAKE-ID-410***-0000"):
        assert secret not in text
    assert "59f12eaae59fb2e1dc0dec37c9d30fb1|0|0" in text


def test_an_unreadable_mitmproxy_dump_is_refused_and_nothing_is_written(tmp_path: Path):
    source = CORPUS / "mitmproxy" / "mitmproxy-dumpfile-010.mitm"
    with pytest.raises(InputError, match="cannot read"):
        sanitize_file(source, tmp_path / "out.mitm")
    assert list(tmp_path.iterdir()) == []


# --- usage errors -----------------------------------------------------------------------


def test_refuses_to_overwrite_its_input(tmp_path: Path):
    source = tmp_path / "in.har"
    source.write_text(json.dumps(_canary_har()), encoding="utf-8")
    with pytest.raises(UsageError, match="input itself"):
        sanitize_file(source, tmp_path / "." / "in.har")
    assert CANARY in source.read_text(encoding="utf-8")


def test_other_formats_are_refused_with_the_supported_ones_named(tmp_path: Path):
    with pytest.raises(UsageError, match="har, mitmproxy, saz"):
        sanitize_file(HENAN / "app-session.pcap", tmp_path / "out.pcap")
    with pytest.raises(UsageError, match="har, mitmproxy, saz"):
        sanitize_file(HENAN / "app-session.har", tmp_path / "out.har", format="zeek")
    unknown = tmp_path / "notes.bin"
    unknown.write_bytes(b"\x00\x01 nothing hostmap knows")
    with pytest.raises(UnknownFormat):
        sanitize_file(unknown, tmp_path / "out.bin")


def test_missing_source_folder_target_and_missing_target_folder(tmp_path: Path):
    with pytest.raises(UsageError, match="no such file"):
        sanitize_file(tmp_path / "missing.har", tmp_path / "out.har")
    with pytest.raises(UsageError, match="folder"):
        sanitize_file(HENAN / "app-session.har", tmp_path)
    with pytest.raises(OutputError, match="does not exist"):
        sanitize_file(HENAN / "app-session.har", tmp_path / "nowhere" / "out.har")


def test_a_forced_wrong_format_fails_and_leaves_no_temporary_file(tmp_path: Path):
    with pytest.raises(InputError):
        sanitize_file(HENAN / "app-session.saz", tmp_path / "out.har", format="har")
    assert list(tmp_path.iterdir()) == []


def test_summary_lines():
    summary = SanitizeSummary(source="in.har", target="out.har", format="har", records=3,
                              removed={"cookie": 2, "phone": 1}, issues=("entry 3: broken",))
    assert summary.lines() == ["in.har -> out.har: har, 3 entries",
                               "removed: 2 cookie values", "removed: 1 mobile phone numbers"]
    empty = SanitizeSummary(source="a", target="b", format="saz", records=0)
    assert empty.lines() == ["a -> b: saz, 0 sessions", "removed: nothing"]


def test_the_har_writer_streams_into_any_binary_stream():
    out = io.BytesIO()
    records, issues = write_har(str(HENAN / "app-session.har"), out, Counter())
    assert records == 15 and not issues
    assert len(json.loads(out.getvalue())["log"]["entries"]) == 15


def test_saz_member_over_the_limit_is_refused_from_its_declared_size(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import hostmap._sanitize_saz as sanitize_saz

    monkeypatch.setattr(sanitize_saz, "MAX_MEMBER_BYTES", 4096)
    source = tmp_path / "bomb.saz"
    with zipfile.ZipFile(source, "w", zipfile.ZIP_DEFLATED) as saz:
        saz.writestr("raw/01_c.txt", b"GET http://a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n")
        saz.writestr("raw/01_s.txt", b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 100_000)
    summary = sanitize_file(source, tmp_path / "out.saz")
    # Refused by the zip directory's size, before inflating it.
    assert [str(i) for i in summary.issues] == [
        "member raw/01_s.txt: 100,019 bytes uncompressed, over 0 MiB; left out"]
