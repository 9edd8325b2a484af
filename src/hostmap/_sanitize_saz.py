"""`hostmap sanitize` for Fiddler session archives (SAZ).

Every member is rewritten, never copied blind:

- `raw/NN_c.txt`, `raw/NN_s.txt`: the request target through `redact_url`,
  every header line through `redact_header` (persistence cookies kept
  decodable), the body de-chunked, decoded, redacted and encoded again in its
  Content-Encoding; a chunked body is written with a Content-Length instead.
  A body that cannot be looked into is dropped (Content-Length: 0).  Whatever
  Fiddler appends after a CONNECT's head (a text description of the TLS
  hellos) goes through `redact_text`.
- `raw/NN_m.xml`: the `x-clientip`, `x-clientport` and `x-processinfo`
  session flags are dropped (they describe the analyst's own machine, counted
  as "client"); `x-hostip` (the server), timers and the other flags stay,
  their values through `redact_text`.
- `_index.htm`: the URL column through `redact_url`, the Process column
  emptied, other cells through `redact_text`.
- `[Content_Types].xml` and folder entries are copied; any other member
  (WebSocket logs `raw/NN_w.txt`, …) is left out and counted as "member".
"""

from __future__ import annotations

import html
import re
import zipfile
import zlib
from collections import Counter
from typing import BinaryIO
from xml.etree import ElementTree

from hostmap._sanitize_bodies import SanitizedBody, sanitize_body
from hostmap.errors import MalformedInput
from hostmap.ingest.saz import MAX_MEMBER_BYTES
from hostmap.redact import redact_header, redact_text, redact_url

__all__ = ["write_saz"]

_SESSION_MEMBER = re.compile(r"raw/(\d+)_(c\.txt|s\.txt|m\.xml)", re.IGNORECASE)
_CLIENT_FLAGS = frozenset({"x-clientip", "x-clientport", "x-processinfo"})
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError)
_NO_BODY_STATUS = re.compile(rb"HTTP/\S+\s+(?:1\d\d|204|304)\b")


def write_saz(source: str, out: BinaryIO, counts: Counter[str]) -> tuple[int, list[str]]:
    """Write the redacted archive to `out`; return (sessions written, issues)."""
    try:
        archive = zipfile.ZipFile(source)
    except zipfile.BadZipFile as exc:
        raise MalformedInput(f"not a readable zip: {exc}") from exc
    issues: list[str] = []
    with archive, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as copy:
        infos = archive.infolist()
        if any(info.flag_bits & 0x1 for info in infos):
            raise MalformedInput("the SAZ is password-protected; hostmap cannot decrypt it")
        methods = _request_methods(archive, infos)
        sessions = 0
        for info in infos:
            name = info.filename.replace("\\", "/")
            if name.startswith("/") or ".." in name.split("/"):
                issues.append(f"member {info.filename}: name leaves the archive; left out")
                continue
            if info.is_dir():
                copy.writestr(info, b"")
                continue
            data = _read(archive, info, issues)
            if data is None:
                continue
            match = _SESSION_MEMBER.fullmatch(name)
            if match is not None:
                kind = match[2][0].lower()
                if kind == "c":
                    data, sessions = _message(data, counts, None), sessions + 1
                elif kind == "s":
                    data = _message(data, counts, methods.get(match[1], b"GET"))
                elif (data := _metadata(data, counts)) is None:
                    issues.append(f"member {info.filename}: session metadata is not XML; left out")
                    continue
            elif name.lower() == "_index.htm":
                data = _index(data, counts)
            elif name != "[Content_Types].xml":
                counts["member"] += 1
                continue
            target = zipfile.ZipInfo(info.filename, info.date_time)
            copy.writestr(target, data, compress_type=zipfile.ZIP_DEFLATED)
    if sessions == 0:
        raise MalformedInput("not a Fiddler SAZ: the zip has no raw/NN_c.txt session files")
    return sessions, issues


_READ_CHUNK = 2**20


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, issues: list[str]) -> bytes | None:
    """A member's bytes, or None (with an issue) when it is too large or broken.

    A member whose zip directory entry says it is over the limit is refused
    before anything is inflated.  Otherwise it is inflated in chunks: zipfile
    stops at the size the directory declares and checks the CRC, so a member
    whose directory lies (a bomb declared small) costs at most its declared
    size and is then refused as broken.
    """
    if info.file_size > MAX_MEMBER_BYTES:
        issues.append(f"member {info.filename}: {info.file_size:,} bytes uncompressed, over "
                      f"{MAX_MEMBER_BYTES >> 20} MiB; left out")
        return None
    parts: list[bytes] = []
    size = 0
    try:
        with archive.open(info) as stream:
            while size <= MAX_MEMBER_BYTES and (chunk := stream.read(_READ_CHUNK)):
                parts.append(chunk)
                size += len(chunk)
    except _ZIP_ERRORS as exc:
        issues.append(f"member {info.filename}: {type(exc).__name__}: {exc}; left out")
        return None
    if size > MAX_MEMBER_BYTES:
        issues.append(f"member {info.filename}: over {MAX_MEMBER_BYTES >> 20} MiB; left out")
        return None
    return b"".join(parts)


def _request_methods(archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> dict[str, bytes]:
    """Each session's request method: a response to HEAD or CONNECT has no body."""
    methods: dict[str, bytes] = {}
    for info in infos:
        match = _SESSION_MEMBER.fullmatch(info.filename.replace("\\", "/"))
        if match is None or match[2][0].lower() != "c":
            continue
        try:
            with archive.open(info) as stream:
                methods[match[1]] = stream.read(32).split(b" ", 1)[0].upper()
        except _ZIP_ERRORS:
            continue
    return methods


def _message(data: bytes, counts: Counter[str], request_method: bytes | None) -> bytes:
    """One raw HTTP/1 message, redacted; `request_method` None means this is the request."""
    eol = b"\r\n" if b"\r\n" in data[:8192] else b"\n"
    head, separator, rest = data.partition(eol + eol)
    lines = head.split(eol)
    start, headers = lines[0], lines[1:]
    is_request = request_method is None
    if is_request:
        start = _request_line(start, counts)
    headers = [_header_line(line, counts) for line in headers]
    method = start.split(b" ", 1)[0].upper() if is_request else request_method
    no_body = method == b"CONNECT" or (not is_request and (
        method == b"HEAD" or _NO_BODY_STATUS.match(start) is not None))
    if not separator or no_body:  # Fiddler's notes after a CONNECT head are text
        tail = redact_text(rest.decode("latin-1"), counts).encode("latin-1")
        return eol.join([start, *headers]) + separator + tail
    body, chunked = _framed_body(rest, headers)
    if body is None:  # broken chunks: nothing can be said about the body
        counts["body"] += 1
        result = SanitizedBody(b"", None, True)
    else:
        result = sanitize_body(body, _header(headers, b"content-encoding"),
                               _header(headers, b"content-type"), counts)
    if body is not None and not result.changed and not chunked:
        return eol.join([start, *headers]) + separator + body  # bytes past the length go
    if result.coding is None:
        headers = _set_header(headers, b"content-encoding", None)
    headers = _set_header(headers, b"transfer-encoding", None)
    headers = _set_header(headers, b"content-length", str(len(result.data)).encode())
    return eol.join([start, *headers]) + separator + result.data


def _request_line(line: bytes, counts: Counter[str]) -> bytes:
    parts = line.split(b" ")
    if len(parts) >= 2 and parts[0].upper() != b"CONNECT":
        parts[1] = redact_url(parts[1].decode("latin-1"), counts).encode("latin-1")
    return b" ".join(parts)


def _header_line(line: bytes, counts: Counter[str]) -> bytes:
    text = line.decode("latin-1")
    if text[:1] in (" ", "\t") or ":" not in text:  # a folded continuation, or junk
        return redact_text(text, counts).encode("latin-1")
    name, _, value = text.partition(":")
    stripped = value.strip()
    space = value[: len(value) - len(value.lstrip())]
    redacted = redact_header(name, stripped, counts, decodable=True)
    return f"{name}:{space}{redacted}".encode("latin-1")


def _header(headers: list[bytes], name: bytes) -> str | None:
    for line in headers:
        key, colon, value = line.partition(b":")
        if colon and key.strip().lower() == name:
            return value.strip().decode("latin-1")
    return None


def _set_header(headers: list[bytes], name: bytes, value: bytes | None) -> list[bytes]:
    """Replace the header's lines by one (or none); a new one goes last."""
    kept = [line for line in headers if line.partition(b":")[0].strip().lower() != name]
    if value is None:
        return kept
    original = next((line.partition(b":")[0] for line in headers
                     if line.partition(b":")[0].strip().lower() == name), None)
    written = original or b"-".join(part.capitalize() for part in name.split(b"-"))
    return [*kept, written + b": " + value]


def _framed_body(rest: bytes, headers: list[bytes]) -> tuple[bytes | None, bool]:
    """(body, was chunked): RFC 9112 §6.3 framing; None when the chunks are broken."""
    coding = (_header(headers, b"transfer-encoding") or "").lower()
    if "chunked" in coding:
        return _dechunk(rest), True
    length = _header(headers, b"content-length")
    if length is not None and length.isdigit():
        return rest[: int(length)], False
    return rest, False  # a request without a length has none; a response runs to the end


def _dechunk(data: bytes) -> bytes | None:
    out = bytearray()
    position = 0
    while True:
        line_end = data.find(b"\n", position)
        if line_end < 0:
            return bytes(out) if out else None  # cut short: keep what arrived
        size_text = data[position:line_end].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            return None
        if size == 0:
            return bytes(out)
        start = line_end + 1
        out += data[start : start + size]
        if start + size >= len(data):
            return bytes(out)
        position = start + size
        position += 2 if data[position : position + 2] == b"\r\n" else 1


def _metadata(data: bytes, counts: Counter[str]) -> bytes | None:
    if b"<!DOCTYPE" in data.upper():
        return None
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError:
        return None
    for flags in root.iter("SessionFlags"):
        for flag in list(flags):
            name = flag.get("N", "").lower()
            if name in _CLIENT_FLAGS:
                flags.remove(flag)
                counts["client"] += 1
            elif flag.get("V"):
                flag.set("V", redact_text(flag.get("V", ""), counts))
    written: bytes = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    return written


_ROW = re.compile(r"<tr>(.*?)</tr>", re.IGNORECASE | re.DOTALL)
_CELL = re.compile(r"(<t[dh]>)(.*?)(</t[dh]>)", re.IGNORECASE | re.DOTALL)


def _index(data: bytes, counts: Counter[str]) -> bytes:
    """Fiddler's human-readable session list, with the same cells redacted."""
    text = data.decode("utf-8", "surrogateescape")
    columns: list[str] = []

    def row(match: re.Match[str]) -> str:
        cells = _CELL.findall(match[1])
        if cells and cells[0][0].lower() == "<th>":
            columns[:] = [html.unescape(c[1]).strip().lower() for c in cells]
            return match[0]
        rewritten = []
        for index, (opening, content, closing) in enumerate(cells):
            column = columns[index] if index < len(columns) else ""
            if "<" not in content:
                value = html.unescape(content)
                redacted = _index_cell(column, value, counts)
                content = content if redacted == value else html.escape(redacted, quote=False)
            rewritten.append(opening + content + closing)
        return "<tr>" + "".join(rewritten) + "</tr>"

    return _ROW.sub(row, text).encode("utf-8", "surrogateescape")


def _index_cell(column: str, value: str, counts: Counter[str]) -> str:
    if column == "process":
        if value:
            counts["client"] += 1
        return ""
    # The cells repeat what the raw/ files hold, which were counted already.
    return redact_url(value) if column == "url" else redact_text(value)
