"""mitmproxy flow-dump reader.

mitmproxy, mitmdump and mitmweb save flows (`-w FILE`, "Save") as a sequence
of tnetstrings, one serialized flow dict per record.  Records are numbered
from 0 in file order: the first flow has the locator "flow 0".

Two ways through a record, with the same result:

- mitmproxy's own code (`read_with_mitmproxy`, and the fallback of the fast
  way): `tnetstring.loads`, then `compat.migrate_flow` (which upgrades dumps
  written by older mitmproxy versions), then `Flow.from_state`.  This is what
  `mitmproxy.io.FlowReader` does, split up so that a record mitmproxy cannot
  read (for example one from 0.10, older than its migrations reach) becomes a
  `ReadIssue` and the next record is still read.
- the fast way (`reader.read`), for an HTTP flow in the current flow format
  (`mitmproxy.version.FLOW_FORMAT_VERSION`), by far the common case: the
  record is walked lazily (`_tnetstring_lazy`) and every field is checked
  against what `Flow.from_state` accepts -- key sets, types, literals,
  certificates that load -- while only the fields hostmap uses are decoded
  (a response body only when it is text).  Anything else -- an older format,
  a TCP/UDP/DNS flow, a WebSocket flow, any field the check is unsure of --
  goes the first way, so older formats still go through mitmproxy's migration
  and odd records get mitmproxy's own verdict.

Both ways reduce a flow to the same `_Facts` (what hostmap reads from it), and
one function builds the items from those; tests/ingest/test_mitmproxy_fast.py
checks the two give identical facts and items on every corpus and fixture file.

Only when the record framing itself breaks (a truncated file) does reading
stop, after every good flow.  A record longer than `MAX_RECORD_BYTES` is
refused with an issue (and skipped) rather than read into memory, and a length
prefix longer than the rest of the file is a truncated file: neither is ever
allocated.

What each flow gives:

- an HTTP flow (WebSocket flows included): one `HttpExchange` and one
  `Certificate` for the server's own (leaf) certificate.  Intermediates and
  roots are left out: every site behind one CA shares them, so they would
  link unrelated hosts.
- a TCP, UDP or DNS flow: a WARNING `ReadIssue` saying it was skipped.
"""

from __future__ import annotations

import codecs
import functools
import gzip
import hashlib
import io
import os
import typing
import zlib
from collections.abc import Callable, Generator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple
from urllib.parse import urljoin

import brotli  # type: ignore[import-untyped]  # mitmproxy depends on it
import zstandard
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from mitmproxy import connection, http, version
from mitmproxy.flow import Error, Flow
from mitmproxy.io import compat, tnetstring
from mitmproxy.net import encoding
from mitmproxy.net.http import url as mitmproxy_url
from mitmproxy.net.http.headers import infer_content_encoding
from mitmproxy.proxy.mode_specs import ProxyMode

from hostmap.errors import MalformedInput, TruncatedInput
from hostmap.hostnames import is_address
from hostmap.ingest import _tnetstring_lazy as lazy
from hostmap.ingest._reader import WHOLE_FILE, Part, ReadItem, parts_from_starts
from hostmap.ingest.har import MAX_BODY_CHARS, find_urls, is_text_media_type
from hostmap.ingest.mitmproxy_format import _RECORD_START, MitmproxyFlowsReader, reader
from hostmap.model import Certificate, HttpExchange, Provenance, ReadIssue, Severity

__all__ = ["MAX_RECORD_BYTES", "MitmproxyFlowsReader", "flow_parts", "read_flow_part",
           "read_flows", "read_with_mitmproxy", "reader"]

MAX_RECORD_BYTES = 1 << 30
"""A record (one flow) longer than this (1 GiB) is refused with an issue, never read."""

def read_flows(path: Path) -> Iterator[ReadItem]:
    """What `reader.read` yields (the reader in `mitmproxy_format` imports this module
    only when a flow file is read: mitmproxy is ~15 MB and ~0.3 s to import)."""
    yield from _read(path, _fast_or_mitmproxy_items)


def read_flow_part(path: Path, part: Part) -> Generator[ReadItem, None, int]:
    """What `reader.read` yields for the records of `part` (see `flow_parts`); returns the
    number of the record after them.  Cuts are exact: a part never overruns."""
    return (yield from _read(path, _fast_or_mitmproxy_items, part))


def flow_parts(path: Path, count: int) -> list[Part]:
    """Up to `count` runs of whole records of about equal size, cut where a record starts.

    Only the length prefixes are read, as `_next_record` reads them.  Cuts stop
    at the first prefix that is not one (a damaged or truncated file): the rest
    is the last part, whose reading reports it as reading the whole file would.
    """
    size = path.stat().st_size
    cuts = [WHOLE_FILE]
    with open(path, "rb") as stream:
        position, index = 0, 0
        for target in (size * k // count for k in range(1, count)):
            while position < target:
                stream.seek(position)
                head = stream.read(13)
                colon = head.find(b":")
                if colon < 1 or not head[:colon].isdigit():
                    return parts_from_starts(cuts)
                position += colon + 1 + int(head[:colon]) + 1
                index += 1
            if position >= size:
                break
            cuts.append(Part(position, None, index))
    return parts_from_starts(cuts)


def read_with_mitmproxy(path: Path) -> Iterator[ReadItem]:
    """What `reader.read` yields, with every record read by mitmproxy's own code.

    Per record this is `mitmproxy.io.FlowReader`: `tnetstring.loads`,
    `compat.migrate_flow`, `Flow.from_state`.  It is slower; the tests hold the
    fast path to it.
    """
    yield from _read(path, _mitmproxy_items)


# -- records ------------------------------------------------------------------------------


class _OversizedRecord(MalformedInput):
    """A record longer than MAX_RECORD_BYTES; it has been skipped."""


_ItemsOf = Callable[[bytes, Provenance], list[ReadItem]]


def _read(path: Path, items_of: _ItemsOf,
          part: Part = WHOLE_FILE) -> Generator[ReadItem, None, int]:
    """The items of `part`'s records; returns the number of the record after them."""
    with open(path, "rb") as stream:
        if part.start == 0:
            head = stream.read(64)
            if not head:
                raise MalformedInput("not a mitmproxy flow file: the file is empty")
            if not _RECORD_START.match(head):
                raise MalformedInput(
                    f"not a mitmproxy flow file: expected a tnetstring dict, found {head[:16]!r}"
                )
        stream.seek(part.start)
        index = part.first_record or 0
        while part.end is None or stream.tell() < part.end:
            provenance = Provenance(file=str(path), format="mitmproxy", locator=f"flow {index}")
            try:
                record = _next_record(stream)
            except _OversizedRecord as exc:
                yield ReadIssue(provenance=provenance, message=f"cannot read: {exc}")
                index += 1
                continue
            except (MalformedInput, TruncatedInput) as exc:
                yield ReadIssue(provenance=provenance, message=f"cannot read: {exc}")
                return index
            if record is None:
                return index
            yield from items_of(record, provenance)
            index += 1
        return index


def _next_record(stream: BinaryIO) -> bytes | None:
    """The next whole tnetstring, or None at the end of the file.

    The length prefix is checked against what is left of the file before
    anything is read, so a corrupt prefix never allocates its claimed size.
    """
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
    left = os.fstat(stream.fileno()).st_size - stream.tell()
    if size > left:
        raise TruncatedInput(f"the file ends inside the record ({max(left, 0)} of {size} bytes)")
    if size > MAX_RECORD_BYTES:
        stream.seek(size, os.SEEK_CUR)
        raise _OversizedRecord(
            f"the record is {size:,} bytes long, over hostmap's limit of "
            f"{MAX_RECORD_BYTES:,} bytes for one flow; skipped"
        )
    body = stream.read(size)
    if len(body) < size:
        raise TruncatedInput(f"the file ends inside the record ({len(body)} of {size} bytes)")
    return prefix + b":" + body


def _fast_or_mitmproxy_items(record: bytes, provenance: Provenance) -> list[ReadItem]:
    """The items of one record: the fast way when it vouches for the record, else mitmproxy's."""
    facts = _fast_facts(record)
    if facts is None:
        return _mitmproxy_items(record, provenance)
    return _items(facts, provenance)


def _mitmproxy_items(record: bytes, provenance: Provenance) -> list[ReadItem]:
    """The items one record yields through mitmproxy's own code; its errors become issues."""
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
        facts = _flow_facts(flow)
    except (ValueError, TypeError, AttributeError) as exc:
        return [ReadIssue(provenance=provenance, message=f"{type(exc).__name__}: {exc}")]
    return _items(facts, provenance)


# -- what hostmap reads from a flow ---------------------------------------------------------


class _Facts(NamedTuple):
    """What hostmap reads from one HTTP flow, in mitmproxy's terms (`flow.request.host`, ...)."""

    host: str
    """request.host"""
    port: int
    """request.port"""
    scheme: str
    """request.scheme"""
    method: str
    """request.method (upper case)"""
    path: str
    """request.path"""
    time: float | None
    """request.timestamp_start"""
    request_fields: tuple[tuple[bytes, bytes], ...]
    """request.headers.fields"""
    status: int | None
    """response.status_code; None without a response"""
    response_fields: tuple[tuple[bytes, bytes], ...]
    """response.headers.fields; () without a response"""
    body_text: str | None
    """response.get_text(strict=False) for a non-empty text body, else None (`_text_of`)"""
    server_address: tuple[Any, ...] | None
    """server_conn.address"""
    server_peername: tuple[Any, ...] | None
    """server_conn.peername"""
    via: bool
    """server_conn.via is set (an upstream proxy)"""
    sni: str | None
    """server_conn.sni"""
    tls_time: float | None
    """server_conn.timestamp_tls_setup or server_conn.timestamp_start"""
    leaf: bytes | None
    """server_conn.certificate_list[0] as PEM; None without certificates"""


def _flow_facts(flow: http.HTTPFlow) -> _Facts:
    """The facts of a flow mitmproxy has built."""
    request, response, server = flow.request, flow.response, flow.server_conn
    return _Facts(
        host=request.host,
        port=request.port,
        scheme=request.scheme,
        method=request.method,
        path=request.path,
        time=request.timestamp_start,
        request_fields=request.headers.fields,
        status=response.status_code if response else None,
        response_fields=response.headers.fields if response else (),
        body_text=_body_text(response),
        server_address=server.address,
        server_peername=server.peername,
        via=server.via is not None,
        sni=server.sni,
        tls_time=server.timestamp_tls_setup or server.timestamp_start,
        leaf=server.certificate_list[0].to_pem() if server.certificate_list else None,
    )


def _body_text(response: http.Response | None) -> str | None:
    if response is None or not response.raw_content:
        return None
    content_type = response.headers.get("content-type")
    if not is_text_media_type(content_type):
        return None
    return _text_of(response.raw_content, content_type, response.headers.get("content-encoding"))


# -- response bodies: `Message.get_text(strict=False)`, bounded ------------------------------

MAX_BODY_BYTES = 4 * MAX_BODY_CHARS
"""Decoded bytes of a body kept to make its text: enough for MAX_BODY_CHARS characters in
any charset of up to 4 bytes a character (UTF-8, GB 18030, UTF-32)."""

_CHUNK = 1 << 16


def _text_of(raw: bytes, content_type: str | None, content_encoding: str | None) -> str:
    """What `Message.get_text(strict=False)` gives for this body, without its bombs.

    For a body that decodes to at most MAX_BODY_BYTES this is mitmproxy's own
    result (tests/ingest/test_mitmproxy_fast.py checks it): the Content-Encoding
    undone where mitmproxy undoes it (else the raw bytes), then the charset of
    `infer_content_encoding`, else UTF-8 with surrogate escapes.  Past that only
    the first MAX_BODY_BYTES decoded bytes are kept (compressed or not), so a
    1 GiB gzip bomb costs what an 8 MB body costs, and a character cut at the
    end is left out.

    Where mitmproxy would hand Python's codecs a name that is not an HTTP
    coding or a text charset ("zlib", "bz2", "hex", "rot13": bytes-to-bytes
    codecs, two of them bombs of their own), the bytes are taken as they are
    (Content-Encoding) or read as UTF-8 (charset); mitmproxy would return bytes,
    or raise a TypeError that lost the whole flow.
    """
    content, cut = raw, False
    if content_encoding:
        decoded = _decompressed(raw, content_encoding.lower())
        if decoded is not None:
            content, cut = decoded
    if len(content) > MAX_BODY_BYTES:  # a large body as it was sent, or in a coding kept
        content, cut = content[:MAX_BODY_BYTES], True
    charset = infer_content_encoding(content_type or "", content)
    try:
        codec = codecs.lookup(charset)
        if not codec._is_text_encoding or charset.lower() in encoding.custom_decode:
            raise LookupError(charset)
        if cut:
            return codec.incrementaldecoder("strict").decode(content, final=False)
        return codecs.decode(content, charset)
    except Exception:  # noqa: BLE001 - mitmproxy's fallback for any failed charset
        return content.decode("utf8", "surrogateescape")


def _decompressed(raw: bytes, coding: str) -> tuple[bytes, bool] | None:
    """`encoding.decode(raw, coding)` cut at MAX_BODY_BYTES: (content, cut), or None when
    mitmproxy's `get_content(strict=False)` keeps the raw bytes (unknown coding, bad data)."""
    try:
        if coding in ("gzip",):
            return _read_at_most(gzip.GzipFile(fileobj=io.BytesIO(raw)).read)
        if coding in ("deflate", "deflateraw"):
            try:
                return _inflate(raw, zlib.MAX_WBITS)  # mitmproxy: zlib.decompress(raw), then
            except zlib.error:
                return _inflate(raw, -zlib.MAX_WBITS)  # bare deflate, as old IIS sent it
        if coding == "br":
            return _measured(raw, coding, _brotli_output(raw))
        if coding == "zstd":
            return _measured(raw, coding, _zstd_output(raw))
    except Exception:  # noqa: BLE001 - mitmproxy keeps the raw body whatever failed
        return None
    return None  # identity, none, and names that are no HTTP content coding


def _read_at_most(read: Callable[[int], bytes]) -> tuple[bytes, bool]:
    """Everything `read()` would give, read in chunks; cut once past MAX_BODY_BYTES."""
    out = bytearray()
    while chunk := read(_CHUNK):
        out += chunk
        if len(out) > MAX_BODY_BYTES:
            return bytes(out[:MAX_BODY_BYTES]), True
    return bytes(out), False


def _inflate(raw: bytes, wbits: int) -> tuple[bytes, bool]:
    """`zlib.decompress(raw, wbits)` cut at MAX_BODY_BYTES (data after the stream is ignored,
    a stream that does not end is a zlib.error, as there)."""
    inflater = zlib.decompressobj(wbits)
    out = inflater.decompress(raw, MAX_BODY_BYTES + 1)
    if len(out) > MAX_BODY_BYTES:
        return out[:MAX_BODY_BYTES], True
    if not inflater.eof:
        raise zlib.error("incomplete or truncated stream")
    return out, False


def _measured(raw: bytes, coding: str, pieces: Iterator[bytes]) -> tuple[bytes, bool]:
    """Decode with mitmproxy once the output is known to be small; else the first part."""
    out = bytearray()
    for piece in pieces:
        out += piece
        if len(out) > MAX_BODY_BYTES:
            return bytes(out[:MAX_BODY_BYTES]), True
    # Every byte was fed and the output stayed small: mitmproxy's own decoder, for its
    # exact verdict on the end of the data, can produce no more than was counted.
    decoded = encoding.decode(raw, coding)
    assert isinstance(decoded, bytes)
    return decoded, False


def _brotli_output(raw: bytes) -> Iterator[bytes]:
    # brotli 1.1 takes no output limit: 8 input bytes hold at most one meta-block's
    # start, so each piece is at most 16 MiB (RFC 7932 9.2).
    process = brotli.Decompressor().process
    for start in range(0, len(raw), 8):
        yield process(raw[start : start + 8])


def _zstd_output(raw: bytes) -> Iterator[bytes]:
    """The frames one after another (stream_reader's read(n) stops after the first frame)."""
    rest = raw
    while rest:
        frame = zstandard.ZstdDecompressor().decompressobj()
        for start in range(0, len(rest), 256):  # a block is at most 128 KiB of output
            yield frame.decompress(rest[start : start + 256])
            if frame.eof:
                rest = frame.unused_data + rest[start + 256 :]
                break
        else:
            return


def _items(facts: _Facts, provenance: Provenance) -> list[ReadItem]:
    """The single place where a flow's facts become items, and their errors issues."""
    try:
        return _http_items(facts, provenance)
    except MalformedInput as exc:
        return [ReadIssue(provenance=provenance, message=str(exc))]
    except (ValueError, TypeError, AttributeError) as exc:
        return [ReadIssue(provenance=provenance, message=f"{type(exc).__name__}: {exc}")]


def _http_items(facts: _Facts, provenance: Provenance) -> list[ReadItem]:
    host = facts.host
    if not host or host == "unknown":
        # Legacy WebSocket flows migrated from mitmproxy 6 carry host "unknown";
        # the server connection still knows where it went.
        host = facts.server_address[0] if facts.server_address else ""
    if not host:
        raise MalformedInput("the flow has no request host and no server address")
    address = _server_address(facts)
    headers = _headers(facts.response_fields)
    location = next(
        (value for name, value in headers if len(name) == 8 and name.lower() == "location"), None
    )
    text = facts.body_text
    exchange = HttpExchange(
        provenance=provenance,
        host=host,
        port=facts.port,
        scheme=facts.scheme,
        method=facts.method or None,
        path=facts.path or None,
        status=facts.status or None,
        time=_time(facts.time, "request"),
        server_address=address,
        sni=facts.sni,
        request_headers=_headers(facts.request_fields),
        response_headers=headers,
        redirect_url=urljoin(_request_url(facts), location.strip()) if location else None,
        body_urls=find_urls(text[:MAX_BODY_CHARS]) if text else (),  # type: ignore[arg-type]
    )
    items: list[ReadItem] = [exchange]
    port = facts.server_address[1] if facts.server_address else facts.port
    when = _time(facts.tls_time, "server connection")
    if facts.leaf is not None:
        try:
            leaf = _certificate(facts.leaf, provenance, facts.sni or host, address, port, when)
            items.append(leaf)
        except ValueError as exc:
            message = f"server certificate 0 cannot be read: {exc}"
            items.append(
                ReadIssue(provenance=provenance, message=message, severity=Severity.WARNING)
            )
    return items


def _request_url(facts: _Facts) -> str:
    """`Request.url`, from the facts (a CONNECT request's URL is its authority)."""
    if facts.method == "CONNECT":
        return f"{facts.host}:{facts.port}"
    return mitmproxy_url.unparse(facts.scheme, facts.host, facts.port, facts.path)


def _server_address(facts: _Facts) -> str | None:
    """The address mitmproxy connected to, when the dump names one.

    `peername` is a hostname, not an address, in some mitmproxy 10 dumps; with an
    upstream proxy (`via`) it is the proxy's address, which says nothing about
    the server.  Without a peername, an address literal in `address` (the
    transparent-mode destination) is where the connection went.
    """
    if facts.via:
        return None
    for candidate in (facts.server_peername, facts.server_address):
        if candidate and isinstance(candidate[0], str) and _is_address(candidate[0]):
            return candidate[0]
    return None


_addresses: dict[str, bool] = {}


def _is_address(text: str) -> bool:
    """`is_address` of the text before any '%' (an IPv6 zone), memoized."""
    known = _addresses.get(text)
    if known is None:
        known = is_address(text.split("%")[0])
        if len(_addresses) >= _MEMO_SIZE:
            _addresses.clear()
        _addresses[text] = known
    return known


def _time(timestamp: float | None, what: str) -> datetime | None:
    """Epoch seconds to UTC; 0 (left by migrations that lost the time) is no time.

    A time stamp no date can hold (1e18 seconds, inf) is a MalformedInput: an
    issue for its flow, and the next flow is read.
    """
    if not timestamp or not timestamp > 0:
        return None
    try:
        return datetime.fromtimestamp(timestamp, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise MalformedInput(f"the {what} time stamp {timestamp!r} is not a date ({exc})") from exc


_MEMO_SIZE = 4096
"""Entries per memo (certificates, headers, addresses): captures repeat them across flows."""

_decoded: dict[tuple[Any, Any], tuple[str, str]] = {}
"""Header field (raw name, raw value) -> the same as text."""


def _headers(fields: tuple[tuple[bytes, bytes], ...]) -> tuple[tuple[str, str], ...]:
    return tuple([_decoded.get(field) or _decode_field(field) for field in fields])


def _decode_field(field: tuple[Any, Any]) -> tuple[str, str]:
    name, value = field
    pair = (_decode(name), _decode(value))
    if len(_decoded) >= _MEMO_SIZE:
        _decoded.clear()
    _decoded[field] = pair
    return pair


def _decode(raw: bytes | str) -> str:
    """Header bytes as text: UTF-8 where valid, else Latin-1 (RFC 9110's historic charset)."""
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


# -- certificates ---------------------------------------------------------------------------


class _LeafFields(NamedTuple):
    fingerprint_sha256: str
    subject: str | None
    issuer: str | None
    sans: tuple[str, ...]
    not_before: datetime
    not_after: datetime


_leaves: dict[bytes, _LeafFields | str] = {}
"""Leaf PEM -> its fields, or the message of the ValueError that parsing it raised."""


def _certificate(
    pem: bytes,
    provenance: Provenance,
    host: str,
    address: str | None,
    port: int | None,
    when: datetime | None,
) -> Certificate:
    fields = _leaves.get(pem)
    if fields is None:
        try:
            fields = _leaf_fields(pem)
        except ValueError as exc:
            fields = str(exc)
        if len(_leaves) >= _MEMO_SIZE:
            _leaves.clear()
        _leaves[pem] = fields
    if isinstance(fields, str):
        raise ValueError(fields)
    return Certificate(
        provenance=provenance,
        host=host,
        fingerprint_sha256=fields.fingerprint_sha256,
        port=port,
        address=address,
        subject=fields.subject,
        issuer=fields.issuer,
        sans=fields.sans,
        not_before=fields.not_before,
        not_after=fields.not_after,
        time=when,
    )


def _leaf_fields(pem: bytes) -> _LeafFields:
    parsed = x509.load_pem_x509_certificate(pem)
    common_names = parsed.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    try:
        alt_names = parsed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        sans: tuple[str, ...] = ()
    else:
        ips = alt_names.get_values_for_type(x509.IPAddress)
        sans = (*alt_names.get_values_for_type(x509.DNSName), *(str(ip) for ip in ips))
    return _LeafFields(
        fingerprint_sha256=hashlib.sha256(parsed.public_bytes(Encoding.DER)).hexdigest(),
        subject=str(common_names[0].value) if common_names else None,
        issuer=parsed.issuer.rfc4514_string() or None,
        sans=sans,
        not_before=parsed.not_valid_before_utc,
        not_after=parsed.not_valid_after_utc,
    )


# -- the fast way: a current-format HTTP flow, read lazily -----------------------------------
#
# Each check below accepts a value only where `Flow.from_state` (through
# `SerializableDataclass.set_state`, `Request(**state)`, `Headers(...)`,
# `Cert.from_state`, `ProxyMode.parse`, ...) would accept it too and read it
# as the same thing; on anything else it raises `lazy.NotFast` (or lets the
# ValueError/IndexError of a failed look-up through) and the record goes to
# mitmproxy.  The checks are stricter than mitmproxy where that costs nothing:
# a port must be an integer, not a float mitmproxy would round.
#
# A check takes the value's span unpacked -- (data, start, end, tag) -- and
# returns the value hostmap needs (or None for one it only checks).  Each
# field also names the fragment (`lazy.sized`, ...) its value usually matches,
# so that runs of small fields are matched at once (see `lazy.walk`).

_Fields = tuple[tuple[bytes, bytes], ...]

_TEXT, _BYTES, _INT, _FLOAT, _NULL, _LIST, _DICT = (
    lazy.TEXT, lazy.BYTES, lazy.INT, lazy.FLOAT, lazy.NULL, lazy.LIST, lazy.DICT
)

_PRINTABLE = rb"[\x20-\x7e]"
_TEXT_WITHOUT_TAG = rb"[\x20-\x3a\x3c-\x7e]*+"
_SHORT_TEXT = lazy.sized(_PRINTABLE, b";", 40)
"""Printable ASCII text (so valid UTF-8) of up to 40 bytes: ids, ciphers, proxy modes."""
_LONG_TEXT = lazy.either(_SHORT_TEXT, lazy.captured(_TEXT_WITHOUT_TAG, b";"))
"""Printable ASCII text: up to 40 bytes of any, longer without ';' (error messages)."""
_NAME = lazy.either(lazy.sized(_PRINTABLE, b";", 64), lazy.captured(_TEXT_WITHOUT_TAG, b";"))
"""A host name or address as text (hosts, SNI): printable ASCII, without ';' past 64 bytes."""
_SHORT_BYTES = lazy.sized(b".", b",", 32)
"""Up to 32 bytes: methods, schemes, HTTP versions, reasons, ALPN names."""
_LONG_BYTES = lazy.captured(rb"[^,]*+", b",")
"""Bytes without ',': paths, PEM certificates (base64 and dashes)."""
_INTEGER = lazy.sized(rb"[-0-9]", b"#", 20, grammar=rb"-?[0-9]+")
_FLOAT_NUMBER = lazy.sized(
    rb"[-+.0-9eE]", b"^", 24, grammar=rb"-?[0-9]{1,20}(?:\.[0-9]{1,20})?(?:[eE][-+]?[0-9]{1,4})?"
)
"""A float literal Python's float() reads, as repr() writes time stamps."""
_NUMBER = lazy.either(_FLOAT_NUMBER, _INTEGER)
_NULL_TOKEN = lazy.literal(b"0:~")
_BOOLEAN = lazy.literal(b"4:true!", b"5:false!")


def _or_null(fragment: lazy.Fragment) -> lazy.Fragment:
    return lazy.either(fragment, _NULL_TOKEN)


def _choice(*texts: str) -> lazy.Fragment:
    return lazy.literal(*(b"%d:%s;" % (len(t.encode()), t.encode()) for t in texts))


_CURRENT_VERSION = b"%d:%d#" % (
    len(str(version.FLOW_FORMAT_VERSION)), version.FLOW_FORMAT_VERSION
)
"""The current flow format version, as a tnetstring."""
_CURRENT_TAIL = b"7:version;%s}" % _CURRENT_VERSION
"""How a current flow ends as mitmproxy writes it (its last key is the version)."""
_PLAIN_MODES = _choice(*(mode for mode in ("regular", "transparent", "socks5", "local")
                          if ProxyMode.parse(mode).full_spec == mode))
"""Proxy modes without options: ProxyMode.parse takes them as they are."""
_ADDRESS = lazy.list_of(_NAME, _INTEGER)
_PEER = lazy.list_of(_NAME, _INTEGER, more=_INTEGER, up_to=2)


def _text(data: bytes, start: int, end: int, tag: int) -> str:
    if tag != _TEXT:
        raise lazy.NotFast("expected text")
    return data[start:end].decode("utf-8")


def _text_or_null(data: bytes, start: int, end: int, tag: int) -> str | None:
    if tag == _TEXT:
        return data[start:end].decode("utf-8")
    if tag == _NULL and start == end:
        return None
    raise lazy.NotFast("expected text or null")


def _raw(data: bytes, start: int, end: int, tag: int) -> bytes:
    if tag != _BYTES:
        raise lazy.NotFast("expected bytes")
    return data[start:end]


def _raw_or_null(data: bytes, start: int, end: int, tag: int) -> None:
    """Bytes that need no decoding (a body, an ALPN): only checked."""
    if tag != _BYTES and (tag != _NULL or start != end):
        raise lazy.NotFast("expected bytes or null")


def _null(data: bytes, start: int, end: int, tag: int) -> None:
    if tag != _NULL or start != end:
        raise lazy.NotFast("expected null")


def _integer(data: bytes, start: int, end: int, tag: int) -> int:
    if tag != _INT:
        raise lazy.NotFast("expected an integer")
    return int(data[start:end])


def _number(data: bytes, start: int, end: int, tag: int) -> float | int:
    """A float field: mitmproxy takes an integer there as well (and keeps it an integer)."""
    if tag == _FLOAT:
        return float(data[start:end])
    if tag == _INT:
        return int(data[start:end])
    raise lazy.NotFast("expected a number")


def _number_or_null(data: bytes, start: int, end: int, tag: int) -> float | int | None:
    if tag == _NULL and start == end:
        return None
    return _number(data, start, end, tag)


def _boolean(data: bytes, start: int, end: int, tag: int) -> bool:
    if tag != lazy.BOOL:
        raise lazy.NotFast("expected a boolean")
    return bool(lazy.decode(data, (start, end, tag)))


def _any(data: bytes, start: int, end: int, tag: int) -> Any:
    """A field mitmproxy keeps as it is (flow id, marked, metadata, ...): it need only parse."""
    return lazy.decode(data, (start, end, tag))


def _optional(check: lazy.Check) -> lazy.Check:
    def optional(data: bytes, start: int, end: int, tag: int) -> Any:
        if tag == _NULL and start == end:
            return None
        return check(data, start, end, tag)

    return optional


def _one_of(*choices: str) -> lazy.Check:
    def one_of(data: bytes, start: int, end: int, tag: int) -> str:
        value = _text(data, start, end, tag)
        if value not in choices:
            raise lazy.NotFast(f"{value!r} is not one of {choices}")
        return value

    return one_of


def _current_version(data: bytes, start: int, end: int, tag: int) -> int:
    number = _integer(data, start, end, tag)
    if number != version.FLOW_FORMAT_VERSION:
        raise lazy.NotFast("an older (or newer) flow format: mitmproxy migrates it")
    return number


def _list_items(data: bytes, start: int, end: int, tag: int) -> list[lazy.Span]:
    if tag != _LIST:
        raise lazy.NotFast("expected a list")
    return lazy.scan_list(data, start, end)


def _checked_list(check: lazy.Check) -> lazy.Check:
    """A list whose items are only checked (a cipher list, ALPN offers): memoized by its bytes."""
    seen: dict[bytes, None] = {}

    def checked_list(data: bytes, start: int, end: int, tag: int) -> None:
        items = _list_items(data, start, end, tag)
        if not items:
            return
        raw = data[start:end]
        if raw not in seen:
            for item in items:
                check(data, *item)
            if len(seen) >= _MEMO_SIZE:
                seen.clear()
            seen[raw] = None

    return checked_list


_loadable: dict[bytes, None] = {}
"""PEM certificates seen to load, as `Cert.from_state` loads them."""


def _pem(data: bytes, start: int, end: int, tag: int) -> bytes:
    pem = _raw(data, start, end, tag)
    if pem not in _loadable:
        x509.load_pem_x509_certificate(pem)  # a ValueError sends the record to mitmproxy
        if len(_loadable) >= _MEMO_SIZE:
            _loadable.clear()
        _loadable[pem] = None
    return pem


def _pems(data: bytes, start: int, end: int, tag: int) -> list[bytes]:
    return [_pem(data, *item) for item in _list_items(data, start, end, tag)]


def _host_port(data: bytes, start: int, end: int, tag: int) -> tuple[str, int]:
    """`Server.address`: exactly (host, port)."""
    items = _list_items(data, start, end, tag)
    if len(items) != 2:
        raise lazy.NotFast("an address that is not [host, port]")
    return _text(data, *items[0]), _integer(data, *items[1])


def _peer(data: bytes, start: int, end: int, tag: int) -> tuple[Any, ...]:
    """A peername/sockname: (host, port), or (host, port, flowinfo, scope id) for IPv6."""
    items = _list_items(data, start, end, tag)
    if not 2 <= len(items) <= 4:
        raise lazy.NotFast("a peer address that is not [host, port, ...]")
    return (_text(data, *items[0]), *(_integer(data, *item) for item in items[1:]))


def _proxy_mode(data: bytes, start: int, end: int, tag: int) -> str:
    spec = _text(data, start, end, tag)
    ProxyMode.parse(spec)  # a ValueError sends the record to mitmproxy
    return spec


def _via(data: bytes, start: int, end: int, tag: int) -> tuple[str, tuple[str, int]]:
    """`Server.via`: (scheme, (host, port))."""
    items = _list_items(data, start, end, tag)
    if len(items) != 2:
        raise lazy.NotFast("a via that is not [scheme, [host, port]]")
    return _one_of(*_VIA_SCHEMES)(data, *items[0]), _host_port(data, *items[1])


_header_items: dict[bytes, tuple[bytes, bytes]] = {}
"""A header as written ([name, value] without its length prefix) -> (name, value)."""


def _header_fields(data: bytes, start: int, end: int, tag: int) -> _Fields:
    """`Headers.fields` of a header list: [[name, value], ...], both bytes."""
    if tag != _LIST:
        raise lazy.NotFast("headers that are not a list")
    fields: list[tuple[bytes, bytes]] = []
    append = fields.append
    index = data.index
    known = _header_items
    pos = start
    while pos < end:
        colon = index(58, pos, pos + 13)
        item_start = colon + 1
        item_end = item_start + int(data[pos:colon])
        if item_end >= end or data[item_end] != _LIST or item_end < item_start:
            raise lazy.NotFast("a header that is not a list")
        raw = data[item_start:item_end]
        field = known.get(raw)
        if field is None:
            field = _header_field(raw)
            if len(known) >= _MEMO_SIZE:
                known.clear()
            known[raw] = field
        append(field)
        pos = item_end + 1
    if pos != end:
        raise lazy.NotFast("a header list that does not end with its last header")
    return tuple(fields)


def _header_field(raw: bytes) -> tuple[bytes, bytes]:
    """One header's [name, value] payload: exactly two bytes values."""
    colon = raw.index(58, 0, 13)
    name_start = colon + 1
    name_end = name_start + int(raw[:colon])
    if name_end >= len(raw) or raw[name_end] != _BYTES or name_end < name_start:
        raise lazy.NotFast("a header name that is not bytes")
    colon = raw.index(58, name_end + 1, name_end + 14)
    value_start = colon + 1
    value_end = value_start + int(raw[name_end + 1 : colon])
    if value_end + 1 != len(raw) or raw[value_end] != _BYTES or value_end < value_start:
        raise lazy.NotFast("a header that is not [name, value] bytes")
    return raw[name_start:name_end], raw[value_start:value_end]


def _content(data: bytes, start: int, end: int, tag: int) -> lazy.Span | None:
    """A body, bytes or null: left as a span, since most bodies are never looked at."""
    if tag == _BYTES:
        return start, end, tag
    _null(data, start, end, tag)
    return None


def _dict_of(name: str) -> lazy.Check:
    """A dict read with the schema `name` (looked up once the schemas exist)."""
    schemas: list[lazy.Schema] = []

    def dict_of(data: bytes, start: int, end: int, tag: int) -> dict[bytes, Any]:
        if tag != _DICT:
            raise lazy.NotFast("expected a dict")
        if not schemas:
            schemas.append(_schemas()[name])
        return lazy.walk(data, start, end, schemas[0])

    return dict_of


_connections: dict[str, dict[bytes, dict[bytes, Any]]] = {"client": {}, "server": {}}
"""Per schema, a connection dict as written -> what `walk` read from it (its readers only
read it).  Flows on one kept-alive connection carry the same dicts, byte for byte."""
_CONNECTIONS_SIZE = 256


def _connection_of(name: str) -> lazy.Check:
    """`_dict_of(name)`, remembered by the dict's bytes for the next flow on the connection."""
    read = _dict_of(name)
    known = _connections[name]

    def connection_of(data: bytes, start: int, end: int, tag: int) -> dict[bytes, Any]:
        raw = data[start : end + 1]  # the payload and its tag
        found = known.get(raw)
        if found is None:
            found = read(data, start, end, tag)
            if len(known) >= _CONNECTIONS_SIZE:
                known.clear()
            known[raw] = found
        return found

    return connection_of


_hints = typing.get_type_hints(connection.Server)
_TLS_VERSIONS: tuple[str, ...] = typing.get_args(connection.TlsVersion)
_TRANSPORTS: tuple[str, ...] = typing.get_args(connection.TransportProtocol)
_VIA_SCHEMES: tuple[str, ...] = typing.get_args(
    typing.get_args(typing.get_args(_hints["via"])[0])[0]
)

_F = lazy.Field
_NULL_ONLY = _F(_null, _NULL_TOKEN)
_CONNECTION: dict[bytes, lazy.Field] = {
    b"id": _F(_text, _SHORT_TEXT),
    b"transport_protocol": _F(_one_of(*_TRANSPORTS), _choice(*_TRANSPORTS)),
    b"error": _F(_text_or_null, _or_null(_LONG_TEXT)),
    b"tls": _F(_boolean, _BOOLEAN),
    b"alpn": _F(_raw_or_null, _or_null(_SHORT_BYTES)),
    b"alpn_offers": _F(_checked_list(_raw), lazy.list_of(more=_SHORT_BYTES, up_to=4)),
    b"cipher": _F(_text_or_null, _or_null(_SHORT_TEXT)),
    b"cipher_list": _F(_checked_list(_text), lazy.list_of(more=_SHORT_TEXT, up_to=4)),
    b"tls_version": _F(_optional(_one_of(*_TLS_VERSIONS)), _or_null(_choice(*_TLS_VERSIONS))),
    b"sni": _F(_text_or_null, _or_null(_NAME)),
    b"timestamp_end": _F(_number_or_null, _or_null(_NUMBER)),
    b"timestamp_tls_setup": _F(_number_or_null, _or_null(_NUMBER)),
}
_CLIENT: dict[bytes, lazy.Field] = {
    **_CONNECTION,
    b"peername": _F(_peer, _PEER),
    b"sockname": _F(_peer, _PEER),
    b"certificate_list": _F(
        _checked_list(_pem),
        lazy.either(lazy.literal(b"0:]"), lazy.suspect(lazy.list_of(more=_LONG_BYTES, up_to=4))),
    ),
    b"timestamp_start": _F(_number, _NUMBER),
    b"mitmcert": _F(_optional(_pem), _or_null(lazy.suspect(_LONG_BYTES))),
    b"proxy_mode": _F(_proxy_mode, lazy.either(_PLAIN_MODES, lazy.suspect(_SHORT_TEXT))),
}
_SERVER: dict[bytes, lazy.Field] = {
    **_CONNECTION,
    b"peername": _F(_optional(_peer), _or_null(_PEER)),
    b"sockname": _F(_optional(_peer), _or_null(_PEER)),
    b"certificate_list": _F(_pems, lazy.list_of(more=_LONG_BYTES, up_to=6), trusted=False),
    b"timestamp_start": _F(_number_or_null, _or_null(_NUMBER)),
    b"address": _F(_optional(_host_port), _or_null(_ADDRESS)),
    b"timestamp_tcp_setup": _F(_number_or_null, _or_null(_NUMBER)),
    b"via": _F(_optional(_via), _NULL_TOKEN),  # a via goes entry by entry
}
_MESSAGE: dict[bytes, lazy.Field] = {
    b"http_version": _F(_raw, _SHORT_BYTES),
    b"headers": _F(_header_fields),
    b"content": _F(_content),
    b"trailers": _F(_optional(_header_fields), _NULL_TOKEN),
    b"timestamp_start": _F(_number, _NUMBER),
    b"timestamp_end": _F(_number_or_null, _or_null(_NUMBER)),
}
_REQUEST: dict[bytes, lazy.Field] = {
    **_MESSAGE,
    b"host": _F(_text, _NAME),
    b"port": _F(_integer, _INTEGER),
    b"method": _F(_raw, _SHORT_BYTES),
    b"scheme": _F(_raw, _SHORT_BYTES),
    b"authority": _F(_raw, _LONG_BYTES),
    b"path": _F(_raw, _LONG_BYTES),
}
_RESPONSE: dict[bytes, lazy.Field] = {
    **_MESSAGE,
    b"status_code": _F(_integer, _INTEGER),
    b"reason": _F(_raw, _SHORT_BYTES),
}
_ERROR: dict[bytes, lazy.Field] = {
    b"msg": _F(_text, _LONG_TEXT),
    b"timestamp": _F(_number, _NUMBER),
}
_FLOW: dict[bytes, lazy.Field] = {
    b"version": _F(_current_version, lazy.literal(_CURRENT_VERSION)),
    b"type": _F(_one_of("http"), _choice("http")),
    b"websocket": _NULL_ONLY,  # a WebSocket flow goes to mitmproxy
    b"error": _F(_optional(_dict_of("error")), _NULL_TOKEN),
    b"client_conn": _F(_connection_of("client")),
    b"server_conn": _F(_connection_of("server")),
    b"request": _F(_dict_of("request")),
    b"response": _F(_optional(_dict_of("response"))),
    # Kept by `Flow.set_state` as they are: they need only parse.
    b"id": _F(_any, _SHORT_TEXT),
    b"intercepted": _F(_any, _BOOLEAN),
    b"is_replay": _F(_any, _or_null(_SHORT_TEXT)),
    b"marked": _F(_any, _SHORT_TEXT),
    b"metadata": _F(_any, lazy.literal(b"0:}")),
    b"comment": _F(_any, _LONG_TEXT),
    b"timestamp_created": _F(_any, _NUMBER),
    b"backup": _F(_any, _NULL_TOKEN),
}


def _samples() -> dict[str, dict[str, Any]]:
    """`get_state()` of each part of an HTTP flow, as this mitmproxy writes it."""
    client = connection.Client(peername=("", 0), sockname=("", 0))
    server = connection.Server(address=None)
    flow = http.HTTPFlow(client, server)
    flow.request = http.Request.make("GET", "http://example.com/")
    flow.response = http.Response.make()
    flow.error = Error("x")
    state = flow.get_state()
    return {
        "flow": state,
        "client": state["client_conn"],
        "server": state["server_conn"],
        "request": state["request"],
        "response": state["response"],
        "error": state["error"],
    }


def _order(sample: dict[str, Any]) -> list[bytes]:
    """The order mitmproxy writes a dict's keys in: tnetstring.dumps writes them last first."""
    return [key.encode() for key in reversed(sample)]


_SAMPLES = _samples()


@functools.cache
def _schemas() -> dict[str, lazy.Schema]:
    """The schemas of a flow's dicts, compiled on first use (their expressions take a while)."""
    return {
        "flow": lazy.schema(
            _FLOW,
            _order(_SAMPLES["flow"]),
            reads=(b"server_conn", b"request", b"response"),
            optional=(b"backup",),
        ),
        "client": lazy.schema(_CLIENT, _order(_SAMPLES["client"])),
        "server": lazy.schema(
            _SERVER,
            _order(_SAMPLES["server"]),
            reads=(b"address", b"peername", b"via", b"sni", b"timestamp_tls_setup",
                   b"timestamp_start", b"certificate_list"),
        ),
        "request": lazy.schema(
            _REQUEST,
            _order(_SAMPLES["request"]),
            reads=(b"host", b"port", b"scheme", b"method", b"path", b"timestamp_start",
                   b"headers"),
        ),
        "response": lazy.schema(
            _RESPONSE, _order(_SAMPLES["response"]), reads=(b"status_code", b"headers", b"content")
        ),
        "error": lazy.schema(_ERROR, _order(_SAMPLES["error"])),
    }


_FIELDS = {"flow": _FLOW, "client": _CLIENT, "server": _SERVER, "request": _REQUEST,
           "response": _RESPONSE, "error": _ERROR}
_FAST_PATH = all(
    {key.encode() for key in _SAMPLES[name]} == fields.keys() for name, fields in _FIELDS.items()
)
"""False if this mitmproxy writes fields the checks do not know: then every record goes slow."""


def _fast_facts(record: bytes) -> _Facts | None:
    """The facts of a current-format HTTP flow, read lazily; None if mitmproxy must read it."""
    if not _FAST_PATH or not record.endswith(_CURRENT_TAIL):
        return None
    try:
        return _lazy_facts(record)
    except Exception:  # noqa: BLE001 - whatever the lazy reader cannot vouch for, mitmproxy reads
        return None


def _lazy_facts(data: bytes) -> _Facts:
    start, end, tag = lazy.record_span(data)
    if tag != _DICT:
        raise lazy.NotFast("the record is not a dict")
    flow = lazy.walk(data, start, end, _schemas()["flow"])
    server = flow[b"server_conn"]
    request = flow[b"request"]
    response = flow[b"response"]
    if response is None:
        status, response_fields, body_text = None, (), None
    else:
        status = response[b"status_code"]
        response_fields = response[b"headers"]
        body_text = _lazy_body_text(data, response[b"content"], response_fields)
    tls_time = server[b"timestamp_tls_setup"] or server[b"timestamp_start"]
    certificates = server[b"certificate_list"]
    return _Facts(
        host=request[b"host"],
        port=request[b"port"],
        scheme=request[b"scheme"].decode("utf-8", "surrogateescape"),
        method=request[b"method"].decode("utf-8", "surrogateescape").upper(),
        path=request[b"path"].decode("utf-8", "surrogateescape"),
        time=request[b"timestamp_start"],
        request_fields=request[b"headers"],
        status=status,
        response_fields=response_fields,
        body_text=body_text,
        server_address=server[b"address"],
        server_peername=server[b"peername"],
        via=server[b"via"] is not None,
        sni=server[b"sni"],
        tls_time=float(tls_time) if tls_time is not None else None,
        leaf=certificates[0] if certificates else None,
    )


def _header(fields: _Fields, name: bytes) -> str | None:
    """`Headers.get(name)`: every value of the name, any case, folded with ', '."""
    values = [value.decode("utf-8", "surrogateescape") for key, value in fields
              if key.lower() == name]
    return ", ".join(values) if values else None


def _lazy_body_text(data: bytes, span: lazy.Span | None, fields: _Fields) -> str | None:
    """`_body_text`, from the raw body and the response's header fields."""
    if span is None or span[0] == span[1]:
        return None
    content_type = _header(fields, b"content-type")
    if not is_text_media_type(content_type):
        return None
    raw = data[span[0] : span[1]]
    return _text_of(raw, content_type, _header(fields, b"content-encoding"))


