"""Fiddler session archive (SAZ) reader.

Fiddler (Classic 2.x-5.x, "File > Save > All Sessions") writes a zip holding,
per session, `raw/NN_c.txt` (the request as the client sent it),
`raw/NN_s.txt` (the response) and `raw/NN_m.xml` (timers and SessionFlags);
`_index.htm` and `[Content_Types].xml` are for people and Office tools and
are not read.  Nothing is extracted to disk: members are streamed from the
zip's central directory one session at a time, in numeric order.

Each session yields one `HttpExchange` with the locator "session NN", NN as
written in the member name; an issue about one member names it too
("session 12 (raw/12_s.txt)").  Fiddler's habits behind the odd code:

- Session numbers are zero-padded to the width of the session count
  (`1_c.txt` in a 3-session archive, `01_c.txt` in a 14-session one), so they
  are sorted as numbers and kept as written.
- Requests are recorded as a proxy sees them: absolute-form targets
  ("GET http://sut02/ HTTP/1.1", "GET https://..." when HTTPS is decrypted)
  and authority-form tunnels ("CONNECT host:443 HTTP/1.1").  A CONNECT
  session becomes an https exchange with method CONNECT: when HTTPS is not
  decrypted it is the only trace of the endpoint.  Fiddler appends a text
  description of the TLS hellos to the tunnel's request and response as if
  it were a body; it is ignored.
- Both messages are parsed with h11; the response parser is first told the
  request's method, so a HEAD or CONNECT response has no body.
- The server address is the `x-hostip` SessionFlag (IPv6 written without
  brackets), the SNI `https-client-snihostname`, the time the
  `ClientBeginRequest` timer: local time with offset and the seven fractional
  digits of .NET's "o" format (Python 3.11's `fromisoformat` keeps six);
  "0001-01-01T00:00:00" means the timer never fired.
- No `_s.txt` means no response arrived (an aborted session): the exchange
  has no status.
- Text-like response bodies are de-chunked and decoded (gzip, deflate, and
  br/zstd through brotli/zstandard, which mitmproxy installs) only to find
  absolute URLs, keeping at most 8 MiB of decoded output per body.

Unsafe archives: a member named with ".." or a leading "/" is refused, one
over 256 MiB uncompressed is skipped, both as ERROR issues.  A zip without
`raw/NN_c.txt` members, a corrupt zip and a password-protected SAZ raise
`MalformedInput`.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from pathlib import Path
from typing import IO, TypeVar
from urllib.parse import urljoin, urlsplit
from xml.etree import ElementTree

import h11

from hostmap.errors import MalformedInput
from hostmap.ingest._bodies import text_body
from hostmap.ingest._reader import ReadItem
from hostmap.ingest.har import find_urls
from hostmap.model import HttpExchange, Provenance, ReadIssue, Severity, normalize_address

__all__ = ["MAX_BODY_BYTES", "MAX_MEMBER_BYTES", "SazReader", "reader"]

MAX_MEMBER_BYTES = 256 * 2**20
"""A member larger than this uncompressed (declared or actual) is skipped."""
MAX_BODY_BYTES = 8 * 2**20
"""How much of a decoded response body is searched for URLs."""
_MAX_HEAD_BYTES = 2**20
_MAX_METADATA_BYTES = 2**20
_CHUNK = 64 * 1024

_SESSION_MEMBER = re.compile(r"raw/(\d+)_(c\.txt|s\.txt|m\.xml)", re.IGNORECASE)
_HEAD_MEMBER = re.compile(rb"raw/\d+_[csm]\.(?:txt|xml)")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError)
_T = TypeVar("_T")


class SazReader:
    """Reads Fiddler's session archives."""

    format = "saz"
    description = "Fiddler session archive (.saz): raw HTTP requests, responses, session flags"
    suffixes = (".saz",)
    signature = "zip (PK\\x03\\x04) whose members are raw/NN_c.txt, raw/NN_s.txt, raw/NN_m.xml"

    def sniff(self, head: bytes, path: Path) -> float:
        if not head.startswith(b"PK\x03\x04"):
            return 0.0
        if _HEAD_MEMBER.search(head):
            return 1.0
        return 0.6 if path.suffix.lower() == ".saz" else 0.0

    def read(self, path: Path) -> Iterator[ReadItem]:
        try:
            archive = zipfile.ZipFile(path)
        except zipfile.BadZipFile as exc:
            raise MalformedInput(f"not a readable zip: {exc}") from exc
        with archive:
            sessions = yield from _index(archive, str(path))
            for number in sorted(sessions, key=lambda text: (int(text), text)):
                yield from _read_session(archive, str(path), number, sessions[number])


def _index(
    archive: zipfile.ZipFile, file: str
) -> Generator[ReadIssue, None, dict[str, dict[str, zipfile.ZipInfo]]]:
    """Group the raw/ members by session number; refuse names that leave the archive."""
    sessions: dict[str, dict[str, zipfile.ZipInfo]] = {}
    for info in archive.infolist():
        name = info.filename.replace("\\", "/")
        if name.startswith("/") or ".." in name.split("/"):
            where = Provenance(file=file, format="saz", locator=f"member {info.filename}")
            yield ReadIssue(provenance=where, message="member name leaves the archive; skipped")
            continue
        match = _SESSION_MEMBER.fullmatch(name)
        if match is None or (match[2].lower() == "s.txt" and info.file_size == 0):
            continue  # an empty response file is no response, as when it is missing
        if info.flag_bits & 0x1:
            raise MalformedInput("the SAZ is password-protected; hostmap cannot decrypt it")
        sessions.setdefault(match[1], {})[match[2][0].lower()] = info
    if not any("c" in members for members in sessions.values()):
        raise MalformedInput("not a Fiddler SAZ: the zip has no raw/NN_c.txt session files")
    return sessions


def _read_session(
    archive: zipfile.ZipFile, file: str, number: str, members: dict[str, zipfile.ZipInfo]
) -> list[ReadItem]:
    """The items one session yields; the one place where its errors become issues."""
    provenance = Provenance(file=file, format="saz", locator=f"session {number}")
    issues: list[ReadItem] = []

    def attempt(
        key: str, parse: Callable[[Iterator[bytes], list[str]], _T], limit: int
    ) -> _T | None:
        """Parse one member; its errors and warnings become issues that name it."""
        if (info := members.get(key)) is None:
            return None
        where = Provenance(file=file, format="saz", locator=f"session {number} ({info.filename})")
        warnings: list[str] = []
        try:
            if info.file_size > limit:
                size = f"{info.file_size} bytes uncompressed, over the {limit >> 20} MiB limit"
                raise MalformedInput(f"{size}; skipped")
            with archive.open(info) as stream:
                return parse(_chunks(stream, limit), warnings)
        except (MalformedInput, *_ZIP_ERRORS) as exc:
            reason = str(exc) if isinstance(exc, MalformedInput) else f"{type(exc).__name__}: {exc}"
            issues.append(ReadIssue(provenance=where, message=reason))
            return None
        finally:
            issues.extend(
                ReadIssue(provenance=where, message=text, severity=Severity.WARNING)
                for text in warnings
            )

    if "c" not in members:
        return [ReadIssue(provenance=provenance, message=f"raw/{number}_c.txt is missing; skipped")]
    if (parsed := attempt("c", _parse_request, MAX_MEMBER_BYTES)) is None:
        return issues
    request, target = parsed
    meta = attempt("m", _parse_metadata, _MAX_METADATA_BYTES) or _Metadata()
    response = attempt(
        "s", lambda chunks, warnings: _parse_response(chunks, warnings, *parsed), MAX_MEMBER_BYTES
    )
    response = response or _Response()
    location = _header(response.headers, "location")
    try:
        exchange = HttpExchange(
            provenance=provenance,
            host=target.host,
            port=target.port,
            scheme=target.scheme,
            method=request.method.decode("ascii").upper(),
            path=target.path,
            status=response.status,
            time=meta.time,
            server_address=meta.server_address,
            sni=meta.sni,
            request_headers=_pairs(request),
            response_headers=response.headers,
            redirect_url=urljoin(target.url, location.strip()) if location else None,
            body_urls=response.body_urls,
        )
    except ValueError as exc:
        return [ReadIssue(provenance=provenance, message=f"{type(exc).__name__}: {exc}"), *issues]
    return [exchange, *issues]


def _chunks(stream: IO[bytes], limit: int) -> Iterator[bytes]:
    """The member's bytes; counted, because the declared size may lie."""
    total = 0
    while chunk := stream.read(_CHUNK):
        total += len(chunk)
        if total > limit:
            raise MalformedInput(f"over the {limit >> 20} MiB limit uncompressed; skipped")
        yield chunk


def _events(connection: h11.Connection, chunks: Iterator[bytes]) -> Iterator[object]:
    """h11's events for one message, up to its end (or a CONNECT's switch to the tunnel)."""
    for chunk in chain(chunks, [b""]):  # b"": end of file, which ends a body without length
        connection.receive_data(chunk)
        while (event := connection.next_event()) is not h11.NEED_DATA:
            if event is h11.PAUSED or isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                return
            yield event


def _parse_request(chunks: Iterator[bytes], warnings: list[str]) -> tuple[h11.Request, _Target]:
    connection = h11.Connection(h11.SERVER, max_incomplete_event_size=_MAX_HEAD_BYTES)
    try:
        for event in _events(connection, chunks):
            if isinstance(event, h11.Request):
                return event, _Target.of(event)
    except h11.RemoteProtocolError as exc:
        raise MalformedInput(f"request is not HTTP/1: {exc}") from exc
    raise MalformedInput("request is empty")


@dataclass(frozen=True, slots=True)
class _Target:
    scheme: str
    authority: str
    host: str
    port: int
    path: str | None

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.authority}{self.path or '/'}"

    @classmethod
    def of(cls, request: h11.Request) -> _Target:
        """Where the request went: from an absolute or authority target, else the Host header."""
        target = request.target.decode("latin-1")
        host_header = _header(_pairs(request), "host") or ""
        path: str | None = target
        if request.method.upper() == b"CONNECT":
            scheme, authority, path = "https", target or host_header, None
        elif "://" in target:
            parts = urlsplit(target)
            scheme, authority = parts.scheme.lower(), parts.netloc.rpartition("@")[2]
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        else:
            scheme, authority = "http", host_header
        if scheme not in _DEFAULT_PORTS:
            raise MalformedInput(f"request target {target!r} is not an http(s) URL")
        try:
            parts = urlsplit(f"//{authority.strip()}")
            host, port = parts.hostname, parts.port
        except ValueError as exc:
            raise MalformedInput(f"request names a bad host {authority!r}: {exc}") from exc
        if not host:
            raise MalformedInput(f"request target {target!r} names no host, nor does Host")
        return cls(scheme, authority.strip(), host, port or _DEFAULT_PORTS[scheme], path)


@dataclass(slots=True)
class _Metadata:
    time: datetime | None = None
    server_address: str | None = None
    sni: str | None = None


def _parse_metadata(chunks: Iterator[bytes], warnings: list[str]) -> _Metadata:
    data = b"".join(chunks)
    if b"<!DOCTYPE" in data.upper():  # Fiddler writes none; refusing it rules out entity bombs
        raise MalformedInput("session metadata has a DOCTYPE; not read")
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise MalformedInput(f"session metadata is not XML: {exc}") from exc
    meta = _Metadata()
    timers = root.find("SessionTimers")
    if timers is not None:
        meta.time = _timer(timers.get("ClientBeginRequest"), warnings)
    flags = {
        flag.get("N", "").lower(): flag.get("V", "")
        for flag in root.iterfind("SessionFlags/SessionFlag")
    }
    if hostip := flags.get("x-hostip", "").strip():
        try:
            meta.server_address = normalize_address(hostip)
        except ValueError:
            warnings.append(f"x-hostip {hostip!r} is not an IP address")
    meta.sni = flags.get("https-client-snihostname") or None
    return meta


def _timer(text: str | None, warnings: list[str]) -> datetime | None:
    if not text or text.startswith("0001-01-01"):
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        warnings.append(f"ClientBeginRequest {text!r} is not an ISO 8601 time")
        return None
    if when.tzinfo is None:
        warnings.append(f"ClientBeginRequest {text!r} has no UTC offset; time left out")
        return None
    return when


@dataclass(slots=True)
class _Response:
    status: int | None = None
    headers: tuple[tuple[str, str], ...] = ()
    body_urls: tuple[str, ...] = ()


def _parse_response(
    chunks: Iterator[bytes], warnings: list[str], request: h11.Request, target: _Target
) -> _Response:
    connection = h11.Connection(h11.CLIENT, max_incomplete_event_size=_MAX_HEAD_BYTES)
    host = next((v for n, v in request.headers if n == b"host"), target.authority.encode())
    # Only the method matters to h11's reading of the response (HEAD, CONNECT).
    headers = [(b"Host", host)]
    connection.send(h11.Request(method=request.method, target=request.target, headers=headers))
    connection.send(h11.EndOfMessage())
    result, body = _Response(), None
    try:
        for event in _events(connection, chunks):
            if isinstance(event, h11.Response):
                result.status, result.headers = event.status_code, _pairs(event)
                content_type = _header(result.headers, "content-type")
                coding = _header(result.headers, "content-encoding")
                body = text_body(content_type, coding, MAX_BODY_BYTES, warnings)
                if body is None:
                    return result
            elif isinstance(event, h11.Data) and body is not None:
                body.feed(event.data)
                if body.done:
                    break
    except h11.RemoteProtocolError as exc:
        if result.status is None:
            raise MalformedInput(f"response is not HTTP/1: {exc}") from exc
        warnings.append(f"response body is cut short ({exc}); searched what is there")
    if body is not None:
        result.body_urls = find_urls(body.data.decode("utf-8", errors="replace"))
        if body.full:
            warnings.append(
                f"response body decodes to over {MAX_BODY_BYTES // 2**20} MiB; "
                "URLs searched in the first part only"
            )
        if body.problem:
            warnings.append(body.problem)
    return result


def _pairs(message: h11.Request | h11.Response) -> tuple[tuple[str, str], ...]:
    """Headers with their names as written (h11 lower-cases them when iterated)."""
    raw = message.headers.raw_items()
    return tuple((name.decode("latin-1"), value.decode("latin-1")) for name, value in raw)


def _header(headers: tuple[tuple[str, str], ...], name: str) -> str | None:
    return next((value for key, value in headers if key.lower() == name), None)


reader = SazReader()
