"""`hostmap sanitize` for mitmproxy flow dumps.

Records are read one at a time as `hostmap.ingest.mitmproxy_flows` reads
them (tnetstring, `compat.migrate_flow`, `Flow.from_state`), redacted in
place and written with mitmproxy's own `FlowWriter`, so the copy is a dump in
the running mitmproxy's format with server connections, certificates and
timings intact.  A record mitmproxy cannot read is left out (it cannot be
redacted) and named in the issues.

What changes: the request path through `redact_url`; every request and
response header and trailer through `redact_header` (persistence cookies kept
decodable); bodies decoded, redacted (`redact_body`) and encoded again in
their Content-Encoding; WebSocket messages as bodies (text redacted, binary
that is not UTF-8 emptied); TCP and UDP message contents emptied (counted as
"body"); the flow's comment and error text through `redact_text`; the
client's own address and port (`client_conn.peername`) replaced by the
unspecified address and port 0, counted as "client".
"""

from __future__ import annotations

import re
from collections import Counter
from typing import BinaryIO

from mitmproxy import http, tcp, udp
from mitmproxy.flow import Flow
from mitmproxy.io import FlowWriter, compat, tnetstring

from hostmap._sanitize_bodies import redact_body, sanitize_body
from hostmap.errors import MalformedInput
from hostmap.redact import redact_header, redact_text, redact_url

__all__ = ["write_flows"]

_LENGTH_PREFIX = re.compile(rb"\d{1,12}")


def write_flows(source: str, out: BinaryIO, counts: Counter[str]) -> tuple[int, list[str]]:
    """Write the redacted flows to `out`; return (flows written, issues)."""
    writer = FlowWriter(out)  # type: ignore[no-untyped-call]
    issues: list[str] = []
    written = 0
    with open(source, "rb") as stream:
        index = 0
        while True:
            try:
                record = _next_record(stream)
            except MalformedInput as exc:
                if index == 0:
                    raise MalformedInput(f"not a mitmproxy flow file: {exc}") from exc
                issues.append(f"flow {index}: {exc}; the copy ends before it")
                break
            if record is None:
                if index == 0:
                    raise MalformedInput("not a mitmproxy flow file: the file is empty")
                break
            try:
                state = tnetstring.loads(record)
                if not isinstance(state, dict):
                    raise ValueError(f"the record holds {type(state).__name__}, not a flow")
                flow = Flow.from_state(compat.migrate_flow(state))
            except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
                issues.append(f"flow {index}: cannot read ({type(exc).__name__}: {exc}); "
                              "left out of the copy")
            else:
                _flow(flow, counts)
                writer.add(flow)
                written += 1
            index += 1
    if written == 0 and issues:
        raise MalformedInput(f"no flow mitmproxy can read: {issues[0]}")
    return written, issues


def _next_record(stream: BinaryIO) -> bytes | None:
    """The next whole tnetstring ("<length>:<payload><type>"), or None at the end."""
    prefix = b""
    while (char := stream.read(1)) != b":":
        if not char:
            if prefix:
                raise MalformedInput("the file ends inside a length prefix")
            return None
        prefix += char
        if not _LENGTH_PREFIX.fullmatch(prefix):
            raise MalformedInput(f"expected a tnetstring length prefix, found {prefix[-16:]!r}")
    if not prefix:
        raise MalformedInput("expected a tnetstring length prefix, found ':'")
    size = int(prefix) + 1
    body = stream.read(size)
    if len(body) < size:
        raise MalformedInput(f"the file ends inside the record ({len(body)} of {size} bytes)")
    return prefix + b":" + body


def _flow(flow: Flow, counts: Counter[str]) -> None:
    if isinstance(flow, http.HTTPFlow):
        request = flow.request
        if request.path and request.method.upper() != "CONNECT":
            request.path = redact_url(request.path, counts)
        _message(request, counts)
        if flow.response is not None:
            _message(flow.response, counts)
        if flow.websocket is not None:
            for ws_message in flow.websocket.messages:
                media_type = "text/plain" if ws_message.is_text else None
                ws_message.content = _bytes(ws_message.content, media_type, counts)
    elif isinstance(flow, tcp.TCPFlow | udp.UDPFlow):
        # Raw protocols (FTP's PASS, Redis AUTH, anything custom) hide secrets where no
        # pattern finds them, and hostmap reads nothing from these flows: emptied.
        for message in flow.messages:
            if message.content:
                message.content = b""
                counts["body"] += 1
    if flow.comment:
        flow.comment = redact_text(flow.comment, counts)
    if flow.error is not None:
        flow.error.msg = redact_text(flow.error.msg, counts)
    client = flow.client_conn
    if client.peername and client.peername[0] not in ("0.0.0.0", "::"):
        client.peername = ("::" if ":" in str(client.peername[0]) else "0.0.0.0", 0)
        counts["client"] += 1


def _message(message: http.Message, counts: Counter[str]) -> None:
    message.headers.fields = _fields(message.headers.fields, counts)
    if message.trailers is not None:
        message.trailers.fields = _fields(message.trailers.fields, counts)
    raw = message.raw_content
    if not raw:
        return
    result = sanitize_body(raw, message.headers.get("content-encoding"),
                           message.headers.get("content-type"), counts)
    if not result.changed:
        return
    if result.coding is None and "content-encoding" in message.headers:
        del message.headers["content-encoding"]
    message.raw_content = result.data
    if "content-length" in message.headers:
        message.headers["content-length"] = str(len(result.data))


def _fields(fields: tuple[tuple[bytes, bytes], ...], counts: Counter[str]
            ) -> tuple[tuple[bytes, bytes], ...]:
    out = []
    for name, value in fields:
        text = value.decode("utf-8", "surrogateescape")
        redacted = redact_header(name.decode("latin-1"), text, counts, decodable=True)
        out.append((name, value if redacted == text
                    else redacted.encode("utf-8", "surrogateescape")))
    return tuple(out)


def _bytes(content: bytes | str, media_type: str | None, counts: Counter[str]) -> bytes:
    if isinstance(content, str):  # WebSocket text migrated from mitmproxy 7 dumps
        content = content.encode("utf-8", "surrogateescape")
    return redact_body(content, media_type, counts) or b""
