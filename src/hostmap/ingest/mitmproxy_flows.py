"""mitmproxy flow-dump reader.

mitmproxy, mitmdump and mitmweb save flows (`-w FILE`, "Save") as a sequence
of tnetstrings, one serialized flow dict per record.  Records are numbered
from 0 in file order: the first flow has the locator "flow 0".

Each record goes through mitmproxy's own code: `tnetstring.loads`, then
`compat.migrate_flow` (which upgrades dumps written by older mitmproxy
versions), then `Flow.from_state`.  This is what `mitmproxy.io.FlowReader`
does, split up so that a record mitmproxy cannot read (for example one from
0.10, older than its migrations reach) becomes a `ReadIssue` and the next
record is still read; only when the record framing itself breaks (a
truncated file) does reading stop, after every good flow.

What each flow gives:

- an HTTP flow (WebSocket flows included): one `HttpExchange` and one
  `Certificate` for the server's own (leaf) certificate.  Intermediates and
  roots are left out: every site behind one CA shares them, so they would
  link unrelated hosts.
- a TCP, UDP or DNS flow: a WARNING `ReadIssue` saying it was skipped.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urljoin

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from mitmproxy import certs, connection, http
from mitmproxy.flow import Flow
from mitmproxy.io import compat, tnetstring

from hostmap.errors import MalformedInput, TruncatedInput
from hostmap.hostnames import is_address
from hostmap.ingest._reader import ReadItem
from hostmap.ingest.har import MAX_BODY_CHARS, find_urls, is_text_media_type
from hostmap.model import Certificate, HttpExchange, Provenance, ReadIssue, Severity

__all__ = ["MitmproxyFlowsReader", "reader"]

_RECORD_START = re.compile(rb"\A(\d{1,12}):(\d{1,12}):([A-Za-z_]{1,40})[,;]")
"""A record's length prefix, then the first key of its dict (bytes ',' or text ';')."""

_FLOW_KEYS = frozenset(
    b"backup client_conn comment error id intercepted is_replay live marked metadata mode "
    b"request response server_conn timestamp_created type version websocket".split()
)
"""Top-level keys of a serialized flow, in the dumps of mitmproxy 0.10 to 11."""


class MitmproxyFlowsReader:
    """Reads flow dumps written by mitmproxy, mitmdump and mitmweb."""

    format = "mitmproxy"
    description = "mitmproxy, mitmdump and mitmweb flow dumps (-w FILE), as far back as 0.11"
    suffixes = (".mitm", ".flow", ".flows")
    signature = "tnetstring '<digits>:' holding a dict of flow keys ('version', 'type', ...)"

    def sniff(self, head: bytes, path: Path) -> float:
        match = _RECORD_START.match(head)
        if match is None or int(match.group(2)) != len(match.group(3)):
            return 0.0
        end = len(match.group(1)) + 1 + int(match.group(1))
        complete = end < len(head)
        if complete and head[end : end + 1] != b"}":
            return 0.0
        if match.group(3) in _FLOW_KEYS:
            return 1.0
        return 0.5 if complete else 0.25

    def read(self, path: Path) -> Iterator[ReadItem]:
        with open(path, "rb") as stream:
            head = stream.read(64)
            if not head:
                raise MalformedInput("not a mitmproxy flow file: the file is empty")
            if not _RECORD_START.match(head):
                raise MalformedInput(
                    f"not a mitmproxy flow file: expected a tnetstring dict, found {head[:16]!r}"
                )
            stream.seek(0)
            index = 0
            while True:
                provenance = Provenance(file=str(path), format="mitmproxy", locator=f"flow {index}")
                try:
                    record = _next_record(stream)
                except (MalformedInput, TruncatedInput) as exc:
                    yield ReadIssue(provenance=provenance, message=f"cannot read: {exc}")
                    return
                if record is None:
                    return
                yield from _read_record(record, provenance)
                index += 1


def _next_record(stream: BinaryIO) -> bytes | None:
    """The next whole tnetstring, or None at the end of the file."""
    prefix = b""
    while (char := stream.read(1)) != b":":
        if not char:
            if prefix:
                raise TruncatedInput("the file ends inside a length prefix")
            return None
        if not char.isdigit() or len(prefix) >= 12:
            raise MalformedInput(f"expected a tnetstring length prefix, found {prefix + char!r}")
        prefix += char
    if not prefix:
        raise MalformedInput("expected a tnetstring length prefix, found ':'")
    size = int(prefix) + 1  # the payload and its type tag
    body = stream.read(size)
    if len(body) < size:
        raise TruncatedInput(f"the file ends inside the record ({len(body)} of {size} bytes)")
    return prefix + b":" + body


def _read_record(record: bytes, provenance: Provenance) -> list[ReadItem]:
    """The items one record yields; the single place where a record's errors become issues."""
    try:
        state = tnetstring.loads(record)
        if not isinstance(state, dict):
            raise MalformedInput(f"the record holds {type(state).__name__}, not a flow")
        flow = Flow.from_state(compat.migrate_flow(state))
    except MalformedInput as exc:
        return [ReadIssue(provenance=provenance, message=f"cannot read: {exc}")]
    except ValueError as exc:  # mitmproxy's own words, e.g. "cannot read ... version (0, 10)"
        return [ReadIssue(provenance=provenance, message=f"cannot read: {exc}")]
    except (KeyError, TypeError, AttributeError, IndexError) as exc:
        message = f"cannot read: {type(exc).__name__}: {exc}"
        return [ReadIssue(provenance=provenance, message=message)]
    if not isinstance(flow, http.HTTPFlow):
        message = f"{flow.type} flow skipped: hostmap reads only HTTP flows from mitmproxy dumps"
        return [ReadIssue(provenance=provenance, message=message, severity=Severity.WARNING)]
    try:
        return _http_items(flow, provenance)
    except MalformedInput as exc:
        return [ReadIssue(provenance=provenance, message=str(exc))]
    except (ValueError, TypeError, AttributeError) as exc:
        return [ReadIssue(provenance=provenance, message=f"{type(exc).__name__}: {exc}")]


def _http_items(flow: http.HTTPFlow, provenance: Provenance) -> list[ReadItem]:
    request, response, server = flow.request, flow.response, flow.server_conn
    host = request.host
    if not host or host == "unknown":
        # Legacy WebSocket flows migrated from mitmproxy 6 carry host "unknown";
        # the server connection still knows where it went.
        host = server.address[0] if server.address else ""
    if not host:
        raise MalformedInput("the flow has no request host and no server address")
    address = _server_address(server)
    headers = _headers(response.headers.fields) if response else ()
    location = next((value for name, value in headers if name.lower() == "location"), None)
    exchange = HttpExchange(
        provenance=provenance,
        host=host,
        port=request.port,
        scheme=request.scheme,
        method=request.method or None,
        path=request.path or None,
        status=(response.status_code or None) if response else None,
        time=_time(request.timestamp_start),
        server_address=address,
        sni=server.sni,
        request_headers=_headers(request.headers.fields),
        response_headers=headers,
        redirect_url=urljoin(request.url, location.strip()) if location else None,
        body_urls=_body_urls(response),
    )
    items: list[ReadItem] = [exchange]
    port = server.address[1] if server.address else request.port
    when = _time(server.timestamp_tls_setup or server.timestamp_start)
    for position, cert in enumerate(server.certificate_list[:1]):
        try:
            items.append(_certificate(cert, provenance, server.sni or host, address, port, when))
        except ValueError as exc:
            message = f"server certificate {position} cannot be read: {exc}"
            items.append(
                ReadIssue(provenance=provenance, message=message, severity=Severity.WARNING)
            )
    return items


def _server_address(server: connection.Server) -> str | None:
    """The address mitmproxy connected to, when the dump names one.

    `peername` is a hostname, not an address, in some mitmproxy 10 dumps; with an
    upstream proxy (`via`) it is the proxy's address, which says nothing about
    the server.  Without a peername, an address literal in `address` (the
    transparent-mode destination) is where the connection went.
    """
    if server.via is not None:
        return None
    for candidate in (server.peername, server.address):
        if candidate and isinstance(candidate[0], str) and is_address(candidate[0].split("%")[0]):
            return candidate[0]
    return None


def _time(timestamp: float | None) -> datetime | None:
    """Epoch seconds to UTC; 0 (left by migrations that lost the time) is no time."""
    return datetime.fromtimestamp(timestamp, UTC) if timestamp and timestamp > 0 else None


def _headers(fields: tuple[tuple[bytes, bytes], ...]) -> tuple[tuple[str, str], ...]:
    return tuple((_decode(name), _decode(value)) for name, value in fields)


def _decode(raw: bytes | str) -> str:
    """Header bytes as text: UTF-8 where valid, else Latin-1 (RFC 9110's historic charset)."""
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _body_urls(response: http.Response | None) -> tuple[str, ...]:
    if response is None or not response.raw_content:
        return ()
    if not is_text_media_type(response.headers.get("content-type")):
        return ()
    try:
        text = response.get_text(strict=False)
    except (ValueError, LookupError):  # an unknown charset or a broken compression
        return ()
    return find_urls(text[:MAX_BODY_CHARS]) if text else ()


def _certificate(
    cert: certs.Cert,
    provenance: Provenance,
    host: str,
    address: str | None,
    port: int | None,
    when: datetime | None,
) -> Certificate:
    parsed = x509.load_pem_x509_certificate(cert.to_pem())
    common_names = parsed.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    try:
        alt_names = parsed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        sans: tuple[str, ...] = ()
    else:
        ips = alt_names.get_values_for_type(x509.IPAddress)
        sans = (*alt_names.get_values_for_type(x509.DNSName), *(str(ip) for ip in ips))
    return Certificate(
        provenance=provenance,
        host=host,
        fingerprint_sha256=hashlib.sha256(parsed.public_bytes(Encoding.DER)).hexdigest(),
        port=port,
        address=address,
        subject=str(common_names[0].value) if common_names else None,
        issuer=parsed.issuer.rfc4514_string() or None,
        sans=sans,
        not_before=parsed.not_valid_before_utc,
        not_after=parsed.not_valid_after_utc,
        time=when,
    )


reader = MitmproxyFlowsReader()
