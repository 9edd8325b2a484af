"""Build the hostile-input corpus: files every hostmap reader must survive without a traceback.

    python tests/hostile/build_corpus.py [--output DIR] [--big]

writes the corpus into DIR (default: a new temporary folder, whose name it
prints) and prints one line per file with the exit codes `hostmap analyze
FILE` may give.  The output is
deterministic: the same bytes on every run (fixed times, fixed flow ids, no
randomness), so a failure found with it can be reproduced from this script
alone.  The tests call `build()` into a pytest temporary folder; nothing
generated is committed.

What is in it, by folder:

- ``bombs/``: a SAZ whose member inflates to 1.1 GiB (honest sizes in the
  zip directory), one whose directory claims 1 MiB for the same member, a
  SAZ whose response bodies are gzip/deflate/brotli/zstd bombs, a mitmproxy
  flow and a pcap HTTP response with a gzip bomb body, and gzip passive-DNS,
  Rapid7 Sonar and iptoasn files that inflate to one 1.1 GiB line.  Each is
  about 1 MB on disk: the deflate streams repeat one fully flushed block, so
  they cost seconds to make.
- ``traversal/``: a SAZ with members named ``../../etc/passwd``, ``/abs/path``,
  ``raw/../../../tmp/99_c.txt`` and ``..\\..\\windows\\win.ini``.
- ``truncated/``: HAR, SAZ, mitmproxy, pcap, pcapng and gzip passive-DNS files
  cut inside a record, after good records.
- ``lying/``: a pcap record header and a pcapng block claiming ~4 GiB.
- ``nesting/``: 100,000 levels of ``[`` in a HAR body string, in a HAR entry
  value, as a passive-DNS line (second and first line), in a Zeek JSON log, a
  Rapid7 Sonar file and a SecurityTrails page file.
- ``malformed/``: ip138 pages with marked sections html.parser chokes on.
- ``numbers/``: 18-digit numbers where times, ports, statuses and counts go.
- ``names/``: terminal escapes (OSC title, clear screen, CSI colours, CR,
  U+202E), markup (``<img src=x onerror=alert(1)>``, ``"]]>``) and DOT/Mermaid
  syntax (``{}|-->``) in host names, Server/Via headers, DNS TXT data,
  reverse-IP lines, operator names, Zeek fields, an ip138 page, in every format.
- ``secrets/``: canary cookies, tokens, passwords (``CANARY-...``), a valid
  18-digit resident ID, a mobile number and an e-mail address in Cookie,
  Set-Cookie, Authorization, query strings, URL userinfo and fragments, form
  and JSON bodies, body URLs, Location headers and issue messages (HAR,
  mitmproxy, SAZ, pcap, Zeek, dig, zone, passive DNS).
- ``junk/``: empty files, bytes that are no format.

`--big` adds the inputs too large to keep around: a HAR with a 100 MiB header
value and a HAR with 1,000,000 entries (tests/hostile/test_memory.py makes
them itself, in its temporary folder).
"""

from __future__ import annotations

import argparse
import base64
import gzip
import io
import json
import struct
import sys
import tempfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "EMAIL",
    "ESCAPES",
    "HOSTILE_HOSTS",
    "HOSTILE_TEXT",
    "MARKUP",
    "PHONE",
    "RESIDENT_ID",
    "SECRET_NEEDLES",
    "Hostile",
    "build",
    "write_big_header_har",
    "write_many_entries_har",
]

RESIDENT_ID = "11010519491231002X"
"""The GB 11643 example resident ID; its MOD 11-2 check digit (X) is right."""
PHONE = "13800138000"
EMAIL = "canary@example.com"
SECRET_NEEDLES = ("CANARY", RESIDENT_ID, PHONE, EMAIL, "canary%40example.com")
"""Strings that must not appear in any output (compared case-insensitively)."""

ESCAPES = ("\x1b]0;pwned\x07", "\x1b[2J", "\x1b[31;1m", "\r", "\u202e")
"""OSC window title (ended by BEL), clear screen, a CSI colour, carriage return, RTL override."""
MARKUP = ("<img src=x onerror=alert(1)>", '"]]>', "{}|-->")
HOSTILE_TEXT = (
    "\x1b]0;pwned\x07\x1b[2J\x1b[31;1m<img src=x onerror=alert(1)>\"]]>{}|-->"
    "\rFORGED-CR\nFORGED-LINE \u202egnp.exe"
)
"""A header value, TXT string or operator name carrying every trick at once."""
HOSTILE_HOSTS = (
    "title\x1b]0;pwned\x07.hostile.example",
    "clear\x1b[2j\x1b[31;1m.hostile.example",
    "rtl\u202egnp.hostile.example",
    "<img src=x onerror=alert(1)>.hostile.example",
    'cdata"]]>.hostile.example',
    "graph{}|-->.hostile.example",
    "reset\x1bc\x9b2j\x07\x08.hostile.example",
)
"""Host names as they reach the model (lower case); each must show as text everywhere."""

BIG_HEADER_BYTES = 100 * 2**20
MANY_ENTRIES = 1_000_000
BOMB_BYTES = 1100 * 2**20
"""What each bomb inflates to: 1.1 GiB, past the 1 GiB the issue names."""
DEEP = 100_000
"""Nesting depth of the deep JSON inputs."""
T0 = 1_704_067_200
"""2024-01-01T00:00:00Z: every time stamp in the corpus starts here."""
_ZIP_DATE = ((2024 - 1980) << 9) | (1 << 5) | 1
_MIB = 2**20


def canary(kind: str) -> str:
    """A secret that must never reach an output: 'CANARY-<kind>-5e1f'."""
    return f"CANARY-{kind}-5e1f"


@dataclass(frozen=True, slots=True)
class Hostile:
    """One corpus file and what `hostmap analyze <file>` must do with it."""

    name: str
    """Path inside the corpus folder, '/'-separated."""
    exit_codes: tuple[int, ...]
    """The exit codes that are right (several where the format allows either reading)."""
    why: str


class _Corpus:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: list[Hostile] = []

    def add(self, name: str, data: bytes, exit_codes: int | tuple[int, ...], why: str) -> None:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        codes = exit_codes if isinstance(exit_codes, tuple) else (exit_codes,)
        self.files.append(Hostile(name, codes, why))


# --- compression bombs without compressing a gigabyte --------------------------------------


def _deflate_bomb(size: int, *, chunk: bytes = b"A" * _MIB) -> tuple[bytes, int]:
    """A raw deflate stream of `size` bytes of repeated `chunk`, and its CRC-32.

    A full flush empties the compressor's history, so compressing `chunk` after
    one always gives the same block: the stream is that block repeated, then an
    empty final block.
    """
    assert size % len(chunk) == 0
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    final = compressor.flush()
    count = size // len(chunk)
    return block * count + final, _repeated(zlib.crc32(chunk), len(chunk), count, _crc32_combine)


def _gzip_bomb(size: int, *, prefix: bytes = b"", chunk: bytes = b"A" * _MIB) -> bytes:
    """gzip: `prefix` then `size` bytes of repeated `chunk` (two members, as gzip allows)."""
    raw, crc = _deflate_bomb(size, chunk=chunk)
    header = b"\x1f\x8b\x08\x00" + struct.pack("<I", 0) + b"\x00\xff"
    bomb = header + raw + struct.pack("<II", crc, size & 0xFFFFFFFF)
    return (gzip.compress(prefix, mtime=0) if prefix else b"") + bomb


def _zlib_bomb(size: int) -> bytes:
    raw, _ = _deflate_bomb(size)
    adler = _repeated(zlib.adler32(b"A" * _MIB), _MIB, size // _MIB, _adler32_combine, empty=1)
    return b"\x78\xda" + raw + struct.pack(">I", adler)


# The check values of a gigabyte of one repeated chunk, without reading a gigabyte: zlib's
# crc32_combine / adler32_combine (the check of A+B from those of A and B and B's length),
# applied by doubling.  test_bomb_check_values_match_zlib compares them with zlib itself.


def _gf2_times(matrix: list[int], vector: int) -> int:
    total, row = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[row]
        vector >>= 1
        row += 1
    return total


def _gf2_square(matrix: list[int]) -> list[int]:
    return [_gf2_times(matrix, matrix[n]) for n in range(32)]


def _crc32_combine(crc1: int, crc2: int, length2: int) -> int:
    if length2 <= 0:
        return crc1
    odd = [0xEDB88320] + [1 << n for n in range(31)]  # the operator for one zero bit
    even = _gf2_square(odd)  # two zero bits
    odd = _gf2_square(even)  # four
    while True:  # apply length2 zero bytes to crc1
        even = _gf2_square(odd)
        if length2 & 1:
            crc1 = _gf2_times(even, crc1)
        length2 >>= 1
        if not length2:
            break
        odd = _gf2_square(even)
        if length2 & 1:
            crc1 = _gf2_times(odd, crc1)
        length2 >>= 1
        if not length2:
            break
    return crc1 ^ crc2


def _adler32_combine(adler1: int, adler2: int, length2: int) -> int:
    base = 65521
    remainder = length2 % base
    sum1 = adler1 & 0xFFFF
    sum2 = (remainder * sum1) % base
    sum1 = (sum1 + (adler2 & 0xFFFF) + base - 1) % base
    sum2 = (sum2 + ((adler1 >> 16) & 0xFFFF) + ((adler2 >> 16) & 0xFFFF) + base - remainder) % base
    return sum1 | (sum2 << 16)


def _repeated(check: int, length: int, count: int,
              combine: Callable[[int, int, int], int], empty: int = 0) -> int:
    """The check value of `count` copies of a chunk of `length` bytes whose value is `check`."""
    result = empty
    while count:
        if count & 1:
            result = combine(result, check, length)
        check, length, count = combine(check, check, length), length * 2, count >> 1
    return result


def _brotli_bomb(size: int) -> bytes:
    import brotli  # type: ignore[import-untyped]  # mitmproxy depends on it

    compressor = brotli.Compressor(quality=1)
    out = io.BytesIO()
    chunk = b"A" * _MIB
    for _ in range(size // _MIB):
        out.write(compressor.process(chunk))
    out.write(compressor.finish())
    return out.getvalue()


def _zstd_bomb(size: int) -> bytes:
    import zstandard  # mitmproxy depends on it

    compressor = zstandard.ZstdCompressor(level=3).compressobj()
    out = io.BytesIO()
    chunk = b"A" * _MIB
    for _ in range(size // _MIB):
        out.write(compressor.compress(chunk))
    out.write(compressor.flush())
    return out.getvalue()


# --- zip (SAZ) written by hand, so sizes can lie and names can be anything -----------------


@dataclass(frozen=True, slots=True)
class _Member:
    name: str
    compressed: bytes
    crc: int
    size: int
    claimed_size: int | None = None
    """What the local header and central directory say instead of `size`."""

    @classmethod
    def of(cls, name: str, data: bytes) -> _Member:
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        packed = compressor.compress(data) + compressor.flush()
        return cls(name, packed, zlib.crc32(data), len(data))


def _zip(members: Iterable[_Member]) -> bytes:
    """A zip of deflated members (no zip64: every member stays under 4 GiB)."""
    out = io.BytesIO()
    directory = io.BytesIO()
    count = 0
    for member in members:
        name = member.name.encode("utf-8")
        flags = 0x800 if not member.name.isascii() else 0
        size = member.size if member.claimed_size is None else member.claimed_size
        fields = (20, flags, 8, 0, _ZIP_DATE, member.crc, len(member.compressed), size)
        offset = out.tell()
        out.write(struct.pack("<IHHHHHIII", 0x04034B50, *fields))
        out.write(struct.pack("<HH", len(name), 0) + name + member.compressed)
        directory.write(struct.pack("<IH", 0x02014B50, 20) + struct.pack("<HHHHHIII", *fields))
        directory.write(struct.pack("<HHHHHII", len(name), 0, 0, 0, 0, 0, offset) + name)
        count += 1
    start = out.tell()
    out.write(directory.getvalue())
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(directory.getvalue()),
                      start, 0)
    out.write(end)
    return out.getvalue()


def _session_meta(host_ip: str, *, extra: dict[str, str] | None = None) -> bytes:
    flags = {"x-hostip": host_ip, "x-clientip": "198.51.100.7", **(extra or {})}
    rows = "".join(
        f'<SessionFlag N="{_xml_attr(name)}" V="{_xml_attr(value)}" />'
        for name, value in flags.items()
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\r\n<Session SID="1" BitFlags="0">'
        '<SessionTimers ClientConnected="2024-01-01T08:00:00.0000000+08:00" '
        'ClientBeginRequest="2024-01-01T08:00:00.1234567+08:00" />'
        f"<PipeInfo /><SessionFlags>{rows}</SessionFlags></Session>"
    ).encode()


def _xml_attr(value: str) -> str:
    return (value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
            .replace(">", "&gt;"))


def _saz(sessions: list[tuple[bytes, bytes | None, bytes | None]],
         extra: Iterable[_Member] = ()) -> bytes:
    """A SAZ: per session the request, the response (or None) and the metadata (or None)."""
    width = max(2, len(str(len(sessions))))
    members = [_Member.of("_index.htm", b"<html><body>hostmap hostile corpus</body></html>")]
    for number, (request, response, meta) in enumerate(sessions, 1):
        tag = f"{number:0{width}d}"
        members.append(_Member.of(f"raw/{tag}_c.txt", request))
        if response is not None:
            members.append(_Member.of(f"raw/{tag}_s.txt", response))
        if meta is not None:
            members.append(_Member.of(f"raw/{tag}_m.xml", meta))
    return _zip([*members, *extra])


_PLAIN_GET = b"GET http://plain.example/ HTTP/1.1\r\nHost: plain.example\r\n\r\n"
_PLAIN_OK = (b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/plain\r\n"
             b"Content-Length: 2\r\n\r\nok")


def _http_response(headers: list[tuple[str, str]], body: bytes = b"", status: str = "200 OK"
                   ) -> bytes:
    lines = [f"HTTP/1.1 {status}"] + [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


def _http_request(method: str, target: str, headers: list[tuple[str, str]], body: bytes = b""
                  ) -> bytes:
    lines = [f"{method} {target} HTTP/1.1"] + [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


# --- HAR -----------------------------------------------------------------------------------


def _har(entries: list[object]) -> bytes:
    document = {"log": {"version": "1.2", "creator": {"name": "hostmap-hostile", "version": "1"},
                        "entries": entries}}
    return json.dumps(document, indent=1).encode("utf-8")


def _entry(url: str, *, ip: str | None = "192.0.2.66", request_headers: list[object] = (),
           response_headers: list[object] = (), status: object = 200, body: str | None = None,
           mime: str = "application/json", post: dict[str, object] | None = None,
           started: object = "2024-01-01T00:00:00.000Z") -> dict[str, object]:
    def pairs(headers: Iterable[object]) -> list[object]:
        return [{"name": h[0], "value": h[1]} if isinstance(h, tuple) else h for h in headers]

    request: dict[str, object] = {"method": "POST" if post else "GET", "url": url,
                                  "httpVersion": "HTTP/1.1", "headers": pairs(request_headers),
                                  "queryString": [], "cookies": [], "headersSize": -1,
                                  "bodySize": -1}
    if post:
        request["postData"] = post
    entry: dict[str, object] = {
        "startedDateTime": started, "time": 1,
        "request": request,
        "response": {"status": status, "statusText": "", "httpVersion": "HTTP/1.1",
                     "headers": pairs(response_headers), "cookies": [],
                     "content": {"size": len(body or ""), "mimeType": mime,
                                 **({"text": body} if body is not None else {})},
                     "redirectURL": "", "headersSize": -1, "bodySize": -1},
        "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0},
    }
    if ip is not None:
        entry["serverIPAddress"] = ip
    return entry


def write_big_header_har(path: Path, size: int = BIG_HEADER_BYTES) -> Path:
    """A HAR whose first entry has one request header value of `size` bytes, then a small entry."""
    with path.open("w", encoding="ascii") as out:
        out.write('{"log":{"version":"1.2","creator":{"name":"hostmap-hostile","version":"1"},'
                  '"entries":[{"startedDateTime":"2024-01-01T00:00:00Z","serverIPAddress":'
                  '"192.0.2.80","request":{"method":"GET","url":"http://big.hostile.example/",'
                  '"headers":[{"name":"X-Big","value":"')
        chunk = "A" * _MIB
        for _ in range(size // _MIB):
            out.write(chunk)
        out.write("A" * (size % _MIB))
        out.write('"}]},"response":{"status":200,"headers":[]}},')
        out.write('{"startedDateTime":"2024-01-01T00:00:01Z","serverIPAddress":"192.0.2.81",'
                  '"request":{"method":"GET","url":"http://after.hostile.example/","headers":[]},'
                  '"response":{"status":200,"headers":[]}}]}}')
    return path


def write_many_entries_har(path: Path, count: int = MANY_ENTRIES) -> Path:
    """A HAR of `count` tiny GET entries to 1,000 hosts (no server address), as a stream."""
    with path.open("w", encoding="ascii") as out:
        out.write('{"log":{"version":"1.2","creator":{"name":"hostmap-hostile","version":"1"},'
                  '"entries":[')
        template = ('{"startedDateTime":"2024-01-01T00:00:00Z","request":{"method":"GET",'
                    '"url":"http://h%d.many.example/","headers":[]},'
                    '"response":{"status":200,"headers":[]}}')
        for start in range(0, count, 10_000):
            batch = ",".join(template % (index % 1000)
                             for index in range(start, min(start + 10_000, count)))
            out.write(("," if start else "") + batch)
        out.write("]}}")
    return path


def write_headers_har(path: Path, count: int, addresses: int = 100) -> Path:
    """A HAR of `count` entries with 30 response headers each, spread over `addresses`
    server addresses (the fronts analysis reads every exchange's headers)."""
    value = "v" * 40
    headers = ",".join(f'{{"name":"x-header-{i}","value":"{value}"}}' for i in range(30))
    template = ('{"startedDateTime":"2024-01-01T00:00:00Z","serverIPAddress":"198.51.100.%d",'
                '"request":{"method":"GET","url":"https://h%d.headers.example/%d","headers":[]},'
                '"response":{"status":200,"headers":[' + headers + ']}}')
    with path.open("w", encoding="ascii") as out:
        out.write('{"log":{"version":"1.2","creator":{"name":"hostmap-hostile","version":"1"},'
                  '"entries":[')
        out.write(",".join(template % (i % addresses, i % addresses, i) for i in range(count)))
        out.write("]}}")
    return path


def _build_har(corpus: _Corpus) -> None:
    good = [_entry(f"https://a{i}.plain.example/x", ip=f"192.0.2.{10 + i}") for i in range(4)]
    whole = _har(good)
    cut_at = whole.index(b'"https://a3.plain.example')  # inside the 4th entry
    corpus.add("truncated/har-cut.har", whole[:cut_at], 1,
               "3 whole entries, then the file ends inside the 4th")

    corpus.add("nesting/har-deep-body.har",
               _har([_entry("http://deep.hostile.example/", body="[" * DEEP),
                     _entry("http://after.hostile.example/")]), 0,
               "a 100,000-level '[' JSON body string (the body is text, the HAR is flat)")
    deep_value = _har([_entry("http://before.hostile.example/"), {"_deep": "PLACEHOLDER"},
                       _entry("http://after.hostile.example/")])
    deep_value = deep_value.replace(b'"PLACEHOLDER"', b"[" * DEEP + b"]" * DEEP)
    corpus.add("nesting/har-deep-value.har", deep_value, (0, 1),
               "an entry whose value nests 100,000 arrays, between two good entries")

    big = "999999999999999999"
    corpus.add("numbers/har-18-digit.har", _har([
        _entry("http://status.hostile.example/", status=int(big)),
        _entry("http://time.hostile.example/", started=big),
        _entry("http://time2.hostile.example/", started=int(big)),
        _entry("http://address.hostile.example/", ip=big),
        _entry(f"http://port.hostile.example:{big}/"),
        _entry("http://ok.hostile.example/"),
    ]), 1, "18-digit status, times, address and port; the port entry is an error")

    corpus.add("numbers/har-bad-unicode.har", _har([
        _entry("http://surrogate\ud800.hostile.example/",
               response_headers=[("Server", "lone \udfff surrogate"), ("X-Raw", "LATIN1")]),
        _entry("http://ok.hostile.example/"),
    ]).replace(b"LATIN1", b"\xe9\xff"), (0, 1),
        "lone surrogates in a host and a header value; raw bytes that are not UTF-8")

    names = [
        _entry(f"http://{host}/", ip="192.0.2.66" if index < 3 else "192.0.2.67",
               response_headers=[("Server", HOSTILE_TEXT), ("Via", f"1.1 {HOSTILE_TEXT}"),
                                 ("X-Cache", HOSTILE_TEXT)],
               request_headers=[("User-Agent", HOSTILE_TEXT)],
               body=json.dumps({"next": f"https://{host}/next"}))
        for index, host in enumerate(HOSTILE_HOSTS)
    ]
    corpus.add("names/har-names.har", _har(names), 1,
               "escapes and markup in host names and Server/Via/X-Cache/User-Agent headers "
               "(a host with '[' or ']' is an error: urlsplit takes it for an IPv6 literal)")

    secrets = [
        _entry(
            f"https://api.secrets.example/v1/login?token={canary('QUERY')}&idcard={RESIDENT_ID}"
            f"&mobile={PHONE}&email={EMAIL}&q={canary('PLAINQUERY')}",
            ip="192.0.2.90",
            request_headers=[("Cookie", f"sid={canary('COOKIE')}; theme={canary('COOKIE2')}"),
                             ("Authorization", f"Bearer {canary('BEARER')}"),
                             ("X-Api-Key", canary("APIKEY")),
                             ("Proxy-Authorization", f"Basic {canary('BASIC')}")],
            response_headers=[("Set-Cookie", f"sid={canary('SETCOOKIE')}; Path=/; HttpOnly"),
                              ("Location", f"https://login.secrets.example/cb?code={canary('LOCATION')}"
                                           f"&mobile={PHONE}"),
                              ("Server", "nginx")],
            status=302,
            post={"mimeType": "application/json",
                  "text": json.dumps({"password": canary("JSONPASSWORD"), "idcard": RESIDENT_ID,
                                      "email": EMAIL, "mobile": PHONE})},
            body=json.dumps({
                "token": canary("JSONTOKEN"),
                "next": f"https://cdn.secrets.example/app.js?sig={canary('BODYURL')}",
                "avatar": f"https://cdn.secrets.example/u/{RESIDENT_ID}/{PHONE}.png",
                "contact": f"mailto:{EMAIL}",
            }),
        ),
        _entry(f"https://user:{canary('USERINFO')}@app.secrets.example/home"
               f"#access_token={canary('FRAGMENT')}", ip="192.0.2.90",
               post={"mimeType": "application/x-www-form-urlencoded",
                     "text": f"username=alice&password={canary('FORM')}&phone={PHONE}"}),
        _entry(f"https://api.secrets.example:99999/?token={canary('ISSUEMESSAGE')}"
               f"&idcard={RESIDENT_ID}", ip="192.0.2.90"),
        _entry(f"https://api.secrets.example/users/{RESIDENT_ID}/phone/{PHONE}/mail/{EMAIL}",
               ip="192.0.2.90"),
        {**_entry("https://app.secrets.example/b64", ip="192.0.2.90"),
         "response": {"status": 200, "headers": [], "content": {
             "mimeType": "application/json", "encoding": "base64",
             "text": base64.b64encode(json.dumps({
                 "token": canary("HARBASE64"), "mobile": PHONE,
                 "next": f"https://cdn.secrets.example/z.js?sig={canary('HARBASE64URL')}",
             }).encode()).decode()}}},
    ]
    corpus.add("secrets/har-secrets.har", _har(secrets), 1,
               "canaries in headers, query, userinfo, fragment, bodies; one entry has a bad port")


# --- SAZ -----------------------------------------------------------------------------------


def _build_saz(corpus: _Corpus) -> None:
    good = (_PLAIN_GET, _PLAIN_OK, _session_meta("192.0.2.20"))
    # Session 02's response is a head and then 1.1 GiB of one header line: a parser that
    # read it whole would hold a gigabyte (h11 gives up at its 1 MiB head limit).
    response_head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Pad: "
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    lead = compressor.compress(response_head) + compressor.flush(zlib.Z_FULL_FLUSH)
    bomb, _ = _deflate_bomb(BOMB_BYTES)
    crc = _crc_then(zlib.crc32(response_head), BOMB_BYTES)
    size = len(response_head) + BOMB_BYTES
    request2 = b"GET http://bomb.hostile.example/ HTTP/1.1\r\nHost: bomb.hostile.example\r\n\r\n"
    for name, claimed, codes, why in (
        ("bombs/saz-member-bomb.saz", None, (1,),
         "session 02's response inflates to 1.1 GiB (the zip directory says so)"),
        ("bombs/saz-member-bomb-lying.saz", _MIB, (0, 1),
         "session 02's response inflates to 1.1 GiB while the directory claims 1 MiB"),
    ):
        corpus.add(name, _saz([good], extra=[
            _Member.of("raw/02_c.txt", request2),
            _Member("raw/02_s.txt", lead + bomb, crc, size, claimed_size=claimed),
            _Member.of("raw/02_m.xml", _session_meta("192.0.2.21"))]), codes, why)

    bodies = []
    for coding, data in (("gzip", _gzip_bomb(BOMB_BYTES)), ("deflate", _zlib_bomb(BOMB_BYTES)),
                         ("br", _brotli_bomb(BOMB_BYTES)), ("zstd", _zstd_bomb(BOMB_BYTES))):
        host = f"{coding}-bomb.hostile.example"
        request = _http_request("GET", f"http://{host}/", [("Host", host)])
        response = _http_response([("Content-Type", "text/html"), ("Content-Encoding", coding),
                                   ("Content-Length", str(len(data)))], data)
        bodies.append((request, response, _session_meta("192.0.2.22")))
    corpus.add("bombs/saz-body-bombs.saz", _saz(bodies), 0,
               "gzip, deflate, br and zstd response bodies that each inflate to 1.1 GiB")

    outside = canary("TRAVERSAL")
    corpus.add("traversal/saz-traversal.saz", _saz([good], extra=[
        _Member.of("../../etc/passwd", f"root:x:0:0:{outside}:/root:/bin/sh\n".encode()),
        _Member.of("/abs/path", f"absolute {outside}\n".encode()),
        _Member.of("raw/../../../tmp/99_c.txt",
                   _http_request("GET", f"http://escape.hostile.example/?t={outside}",
                                 [("Host", "escape.hostile.example")])),
        _Member.of("..\\..\\windows\\win.ini", f"[{outside}]\n".encode()),
        _Member.of("/raw/03_c.txt", _http_request("GET", "http://abs.hostile.example/",
                                                  [("Host", "abs.hostile.example")])),
    ]), 1, "members named ../../etc/passwd, /abs/path, raw/../../../tmp/99_c.txt, ..\\..\\x")

    secrets = _saz([
        (_http_request("GET", f"https://api.secrets.example/v1/me?token={canary('SAZQUERY')}"
                              f"&idcard={RESIDENT_ID}&mobile={PHONE}",
                       [("Host", "api.secrets.example"),
                        ("Cookie", f"sid={canary('SAZCOOKIE')}"),
                        ("Authorization", f"Bearer {canary('SAZBEARER')}")]),
         _http_response([("Set-Cookie", f"sid={canary('SAZSETCOOKIE')}; Path=/"),
                         ("Content-Type", "application/json"), ("Server", "nginx"),
                         ("Content-Encoding", "gzip")],
                        gzip.compress(json.dumps({
                            "token": canary("SAZJSON"),
                            "next": f"https://cdn.secrets.example/a.js?sig={canary('SAZBODYURL')}",
                            "email": EMAIL}).encode(), mtime=0)),
         _session_meta("192.0.2.91", extra={"x-processinfo": f"app:{canary('SAZPROCESS')}"})),
        (_http_request("POST", "https://api.secrets.example/login",
                       [("Host", "api.secrets.example"),
                        ("Content-Type", "application/x-www-form-urlencoded")],
                       f"user=alice&password={canary('SAZFORM')}&mobile={PHONE}".encode()),
         _http_response([("Location", f"https://app.secrets.example/?code={canary('SAZLOC')}"),
                         ("Content-Length", "0")], status="302 Found"),
         _session_meta("192.0.2.91")),
        (_http_request("CONNECT", "api.secrets.example:443",
                       [("Host", "api.secrets.example:443"),
                        ("Proxy-Authorization", f"Basic {canary('SAZPROXYAUTH')}")]),
         _http_response([("Connection", "close")], status="200 Connection Established"),
         _session_meta("192.0.2.91")),
    ])
    corpus.add("secrets/saz-secrets.saz", secrets, 0,
               "canaries in Cookie, Authorization, query, form and gzip JSON bodies, Location")
    corpus.add("truncated/saz-cut.saz", secrets[: len(secrets) // 2], 2,
               "the SAZ cut in half: no central directory (recognised, nothing readable)")

    names = []
    for index, host in enumerate(("svg.hostile.example", "mermaid.hostile.example")):
        markup = "<svg/onload=alert(1)>" if index == 0 else "x{}|-->y"
        names.append((
            _http_request("GET", f"http://{host}/{markup}",
                          [("Host", host), ("User-Agent", "<img src=x onerror=alert(1)>")]),
            _http_response([("Server", '<img src=x onerror=alert(1)>"]]>{}|-->'),
                            ("Via", "1.1 <script>alert(1)</script>"),
                            ("Content-Length", "0")]),
            _session_meta("192.0.2.68", extra={
                "x-processinfo": HOSTILE_TEXT.replace("\x07", "").replace("\x1b", "^[")
                .replace("\n", ""),
                "https-client-snihostname": f"{host}"}),
        ))
    names.append((
        _http_request("GET", "http://escapes.hostile.example/",
                      [("Host", "escapes.hostile.example")]),
        ("HTTP/1.1 200 OK\r\nServer: " + HOSTILE_TEXT.replace("\r", "").replace("\n", "")
         + "\r\nContent-Length: 0\r\n\r\n").encode("utf-8"),
        _session_meta("<img src=x onerror=alert(1)>"),
    ))
    corpus.add("names/saz-names.saz", _saz(names), (0, 1),
               "markup in paths, Host, Server, Via; raw ESC in a Server header; markup x-hostip")


def _crc_then(crc: int, size: int) -> int:
    chunk = b"A" * _MIB
    for _ in range(size // _MIB):
        crc = zlib.crc32(chunk, crc)
    return crc


# --- mitmproxy -----------------------------------------------------------------------------


def _flows(specs: list[dict[str, object]]) -> bytes:
    """mitmproxy flows written by mitmproxy's own FlowWriter, with fixed ids and times."""
    from mitmproxy import http
    from mitmproxy.io import FlowWriter
    from mitmproxy.test import tflow, tutils

    out = io.BytesIO()
    writer = FlowWriter(out)
    for number, spec in enumerate(specs):
        host = str(spec.get("host", "plain.example"))
        request = tutils.treq(
            host=host, port=int(spec.get("port", 443)), scheme=b"https",
            method=str(spec.get("method", "GET")).encode(),
            authority=b"", path=str(spec.get("path", "/")).encode(),
            headers=http.Headers([(k.encode(), v.encode("utf-8", "surrogateescape"))
                                  for k, v in spec.get("request_headers", [])]),  # type: ignore[attr-defined]
            content=spec.get("request_body", b""),
            timestamp_start=float(spec.get("time", T0 + number)),
            timestamp_end=float(spec.get("time", T0 + number)) + 0.5,
        )
        response = tutils.tresp(
            status_code=int(spec.get("status", 200)),
            headers=http.Headers([(k.encode(), v.encode("utf-8", "surrogateescape"))
                                  for k, v in spec.get("response_headers", [])]),  # type: ignore[attr-defined]
            content=b"",
            timestamp_start=T0 + number + 0.2, timestamp_end=T0 + number + 0.4,
        )
        response.raw_content = spec.get("response_body", b"")  # type: ignore[assignment]
        flow = tflow.tflow(req=request, resp=response)
        flow.id = f"00000000-0000-4000-8000-{number:012d}"
        flow.timestamp_created = float(T0 + number)
        flow.client_conn.id = f"00000000-0000-4000-8001-{number:012d}"
        flow.client_conn.peername = ("198.51.100.7", 50000 + number)
        flow.client_conn.timestamp_start = float(T0 + number)
        flow.server_conn.id = f"00000000-0000-4000-8002-{number:012d}"
        flow.server_conn.address = (host, int(spec.get("port", 443)))
        flow.server_conn.peername = (str(spec.get("ip", "192.0.2.30")), 443)
        flow.server_conn.sni = str(spec.get("sni", host))
        flow.server_conn.timestamp_start = float(T0 + number)
        writer.add(flow)
    return out.getvalue()


def _build_mitmproxy(corpus: _Corpus) -> None:
    three = _flows([{"host": f"m{i}.plain.example", "ip": f"192.0.2.{40 + i}"} for i in range(3)])
    second_end = _record_end(three, _record_end(three, 0))
    corpus.add("truncated/mitm-cut.mitm", three[: second_end + (len(three) - second_end) // 2], 1,
               "two whole flows, then the file ends in the middle of the third")
    corpus.add("truncated/mitm-cut-in-prefix.mitm", three[: second_end + 3], 1,
               "two whole flows, then the file ends inside the third's length prefix")

    corpus.add("bombs/mitm-gzip-bomb.mitm", _flows([
        {"host": "bomb.hostile.example", "ip": "192.0.2.31",
         "response_headers": [("Content-Type", "text/html"), ("Content-Encoding", "gzip")],
         "response_body": _gzip_bomb(BOMB_BYTES)},
        {"host": "after.hostile.example", "ip": "192.0.2.32"},
    ]), 0, "a text/html response whose gzip body inflates to 1.1 GiB")

    big = 999999999999999999
    corpus.add("numbers/mitm-18-digit.mitm", _flows([
        {"host": "time.hostile.example", "time": big},
        {"host": "ok.hostile.example"},
    ]), (0, 1), "an 18-digit request time stamp")

    names = [{"host": host, "ip": "192.0.2.69", "sni": host,
              "path": "/<img src=x onerror=alert(1)>",
              "response_headers": [("Server", HOSTILE_TEXT), ("Via", HOSTILE_TEXT)],
              "request_headers": [("User-Agent", HOSTILE_TEXT)]}
             for host in HOSTILE_HOSTS]
    corpus.add("names/mitm-names.mitm", _flows(names), (0, 1),
               "escapes and markup in hosts, SNI, paths, Server and Via headers")

    corpus.add("secrets/mitm-secrets.mitm", _flows([
        {"host": "api.secrets.example", "ip": "192.0.2.92", "method": "POST",
         "path": f"/v1/login?token={canary('MITMQUERY')}&idcard={RESIDENT_ID}&mobile={PHONE}",
         "request_headers": [("Cookie", f"sid={canary('MITMCOOKIE')}"),
                             ("Authorization", f"Bearer {canary('MITMBEARER')}"),
                             ("Content-Type", "application/json")],
         "request_body": json.dumps({"password": canary("MITMPASSWORD"),
                                     "email": EMAIL}).encode(),
         "status": 302,
         "response_headers": [
             ("Set-Cookie", f"sid={canary('MITMSETCOOKIE')}; Path=/"),
             ("Location", f"https://app.secrets.example/?code={canary('MITMLOCATION')}"),
             ("Content-Type", "application/json")],
         "response_body": json.dumps({
             "token": canary("MITMJSON"),
             "next": f"https://cdn.secrets.example/x.js?sig={canary('MITMBODYURL')}",
             "mobile": PHONE}).encode()},
        {"host": "app.secrets.example", "ip": "192.0.2.92", "path": "/profile",
         "response_headers": [("Content-Type", "application/json"),
                              ("Content-Encoding", "gzip")],
         "response_body": gzip.compress(json.dumps({
             "session": canary("MITMGZIPJSON"), "email": EMAIL,
             "next": f"https://cdn.secrets.example/y.js?token={canary('MITMGZIPURL')}",
         }).encode(), mtime=0)},
    ]), 0, "canaries in Cookie, Authorization, query, JSON bodies (one gzip), Set-Cookie, "
           "Location")


def _record_end(data: bytes, start: int) -> int:
    """Where the tnetstring record starting at `start` ends."""
    colon = data.index(b":", start)
    return colon + 1 + int(data[start:colon]) + 1


# --- pcap and pcapng -----------------------------------------------------------------------


def _ipv4(src: str, dst: str, proto: int, payload: bytes, ident: int = 1) -> bytes:
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0x4000, 64, proto,
                         0, bytes(map(int, src.split("."))), bytes(map(int, dst.split("."))))
    return b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00" + header + payload


def _udp(src: str, sport: int, dst: str, dport: int, payload: bytes) -> bytes:
    return _ipv4(src, dst, 17, struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload)


def _tcp(src: str, sport: int, dst: str, dport: int, seq: int, ack: int, flags: int,
         payload: bytes = b"") -> bytes:
    header = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    return _ipv4(src, dst, 6, header + payload)


_SYN, _ACK, _PSH, _FIN = 0x02, 0x10, 0x08, 0x01


def _http_conversation(client: str, port: int, server: str, request: bytes, response: bytes,
                       *, segment: int = 1400) -> list[bytes]:
    """A TCP connection: handshake, the request, the response in `segment`-byte pieces, FINs."""
    c, s = 1000, 5000
    frames = [
        _tcp(client, port, server, 80, c, 0, _SYN),
        _tcp(server, 80, client, port, s, c + 1, _SYN | _ACK),
        _tcp(client, port, server, 80, c + 1, s + 1, _ACK),
        _tcp(client, port, server, 80, c + 1, s + 1, _PSH | _ACK, request),
    ]
    acked = c + 1 + len(request)
    for start in range(0, len(response), segment):
        frames.append(_tcp(server, 80, client, port, s + 1 + start, acked, _PSH | _ACK,
                           response[start:start + segment]))
    frames += [
        _tcp(client, port, server, 80, acked, s + 1 + len(response), _FIN | _ACK),
        _tcp(server, 80, client, port, s + 1 + len(response), acked + 1, _FIN | _ACK),
    ]
    return frames


def _dns_answer(name: object, records: list[tuple[str, object]], ident: int) -> bytes:
    import dns.message
    import dns.name
    import dns.rdata
    import dns.rdataclass
    import dns.rdatatype
    import dns.rrset

    owner = name if isinstance(name, dns.name.Name) else dns.name.from_text(str(name))
    first_type = records[0][0]
    query = dns.message.make_query(owner, first_type)
    query.id = ident
    response = dns.message.make_response(query)
    for rtype, value in records:
        if isinstance(value, dns.rdata.Rdata):
            rdata = value
        else:
            rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(rtype),
                                        str(value))
        response.answer.append(dns.rrset.from_rdata(owner, 300, rdata))
    return _udp("192.0.2.53", 53, "198.51.100.7", 33000 + ident % 1000, response.to_wire())


def _pcap(frames: list[bytes]) -> bytes:
    out = io.BytesIO()
    out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for number, frame in enumerate(frames):
        out.write(struct.pack("<IIII", T0 + number, 0, len(frame), len(frame)) + frame)
    return out.getvalue()


def _pcapng_block(kind: int, body: bytes) -> bytes:
    body += b"\x00" * (-len(body) % 4)
    length = 12 + len(body)
    return struct.pack("<II", kind, length) + body + struct.pack("<I", length)


def _pcapng(frames: list[bytes]) -> bytes:
    out = io.BytesIO()
    out.write(_pcapng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)))
    out.write(_pcapng_block(1, struct.pack("<HHI", 1, 0, 0)))
    for number, frame in enumerate(frames):
        stamp = (T0 + number) * 1_000_000
        out.write(_pcapng_block(6, struct.pack("<IIIII", 0, stamp >> 32, stamp & 0xFFFFFFFF,
                                               len(frame), len(frame)) + frame))
    return out.getvalue()


def _build_pcap(corpus: _Corpus) -> None:
    import dns.name
    import dns.rdataclass
    import dns.rdatatype
    import dns.rdtypes.ANY.TXT

    dns_frames = [_dns_answer(f"d{i}.plain.example", [("A", f"192.0.2.{50 + i}")], 100 + i)
                  for i in range(3)]
    whole = _pcap(dns_frames)
    corpus.add("truncated/pcap-cut.pcap", whole[: len(whole) - 20], 1,
               "two whole frames, then the file ends inside the third")
    lying = _pcap(dns_frames[:1]) + struct.pack("<IIII", T0, 0, 0xFFFFFFF0, 0xFFFFFFF0) + b"\0" * 64
    corpus.add("lying/pcap-4gb-record.pcap", lying, 1,
               "a good frame, then a record header claiming 4 GiB of captured bytes")
    ng = _pcapng(dns_frames)
    corpus.add("truncated/pcapng-cut.pcapng", ng[: len(ng) - 20], 1,
               "two whole packet blocks, then the file ends inside the third")
    lying_ng = _pcapng(dns_frames[:1]) + struct.pack("<II", 6, 0xFFFFFFF0) + b"\0" * 64
    corpus.add("lying/pcapng-4gb-block.pcapng", lying_ng, 1,
               "a good packet block, then a block header claiming 4 GiB")

    escaped = dns.name.Name([b"esc\x1b[2j\x1b]0;pwned\x07", b"hostile", b"example", b""])
    markup = dns.name.Name([b"<img src=x onerror=alert(1)>", b"hostile", b"example", b""])
    txt = dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT,
                                  [HOSTILE_TEXT.encode("utf-8")])
    request = _http_request("GET", "/<svg/onload=alert(1)>",
                            [("Host", 'pcap"]]>{}|-->.hostile.example'),
                             ("User-Agent", "<img src=x onerror=alert(1)>")])
    response = _http_response([("Server", '<img src=x onerror=alert(1)>"]]>{}|-->'),
                               ("Via", "1.1 <script>alert(1)</script>"),
                               ("Content-Length", "0")])
    frames = [
        _dns_answer(escaped, [("A", "192.0.2.70")], 201),
        _dns_answer(markup, [("CNAME", "graph{}|-->.hostile.example."), ("TXT", txt)], 202),
        *_http_conversation("198.51.100.7", 40001, "192.0.2.70", request, response),
    ]
    corpus.add("names/pcap-names.pcap", _pcap(frames), (0, 1),
               "escapes and markup in DNS names, a TXT answer, HTTP Host/Server/Via")

    secret_request = _http_request(
        "POST", f"/v1/login?token={canary('PCAPQUERY')}&idcard={RESIDENT_ID}&mobile={PHONE}",
        [("Host", "api.secrets.example"), ("Cookie", f"sid={canary('PCAPCOOKIE')}"),
         ("Authorization", f"Bearer {canary('PCAPBEARER')}"),
         ("Content-Type", "application/x-www-form-urlencoded"), ("Content-Length", "40")],
        f"password={canary('PCAPFORM')}".ljust(40).encode())
    secret_body = json.dumps({
        "token": canary("PCAPJSON"), "email": EMAIL,
        "next": f"https://cdn.secrets.example/p.js?sig={canary('PCAPBODYURL')}"}).encode()
    secret_response = _http_response(
        [("Set-Cookie", f"sid={canary('PCAPSETCOOKIE')}; Path=/"),
         ("Location", f"http://app.secrets.example/?code={canary('PCAPLOCATION')}"),
         ("Content-Type", "application/json"), ("Content-Length", str(len(secret_body)))],
        secret_body, status="302 Found")
    question = b"".join(bytes([len(label)]) + label for label in (b"opt", b"hostile",
                                                                  b"example")) + b"\0"
    opt_answer = (struct.pack("!HHHHHH", 303, 0x8180, 1, 2, 0, 0) + question
                  + struct.pack("!HH", 1, 1)
                  + b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + bytes([192, 0, 2, 95])
                  + b"\xc0\x0c" + struct.pack("!HHIH", 41, 512, 0, 0))
    corpus.add("malformed/pcap-dns-opt-in-answer.pcap", _pcap(
        [_udp("192.0.2.53", 53, "198.51.100.7", 33303, opt_answer), *dns_frames[:1]]), (0, 1),
        "a DNS response with an OPT record in its answer section (dnspython's message for "
        "it spans two lines)")

    bomb = _gzip_bomb(BOMB_BYTES)
    bomb_request = _http_request("GET", "/", [("Host", "bomb.hostile.example")])
    bomb_response = _http_response([("Content-Type", "text/html"), ("Content-Encoding", "gzip"),
                                    ("Content-Length", str(len(bomb)))], bomb)
    corpus.add("bombs/pcap-gzip-body.pcap", _pcap(
        _http_conversation("198.51.100.7", 40003, "192.0.2.94", bomb_request, bomb_response)),
        0, "an HTTP response over TCP whose gzip body inflates to 1.1 GiB")

    corpus.add("secrets/pcap-secrets.pcap", _pcap(
        _http_conversation("198.51.100.7", 40002, "192.0.2.93", secret_request, secret_response)),
        0, "canaries in an HTTP/1.1 request and response over TCP")


# --- DNS text formats, passive DNS, address tables, Zeek -----------------------------------


_DIG_RUN = """\
; <<>> DiG 9.18.18 <<>> {name} {rtype}
;; global options: +cmd
;; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 4242
;; flags: qr rd ra; QUERY: 1, ANSWER: {count}, AUTHORITY: 0, ADDITIONAL: 1

;; QUESTION SECTION:
;{name}.\t\tIN\t{rtype}

;; ANSWER SECTION:
{answers}

;; Query time: 1 msec
;; SERVER: 192.0.2.53#53(192.0.2.53) (UDP)
;; WHEN: Mon Jan 01 00:00:00 UTC 2024
;; MSG SIZE  rcvd: 120

"""


def _dig(name: str, rtype: str, answers: list[str]) -> str:
    return _DIG_RUN.format(name=name, rtype=rtype, count=len(answers), answers="\n".join(answers))


def _txt_string(text: str) -> str:
    """A master-file quoted string holding `text` raw (only quote and backslash escaped)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _build_dns_text(corpus: _Corpus) -> None:
    hostile_txt = _txt_string(HOSTILE_TEXT.replace("\r", "").replace("\n", ""))
    dig = _dig("txt.hostile.example", "TXT", [
        f"txt.hostile.example.\t300\tIN\tTXT\t{hostile_txt}",
    ]) + _dig("alias.hostile.example", "A", [
        "alias.hostile.example.\t300\tIN\tCNAME\tgraph{}|-->.hostile.example.",
        "graph{}|-->.hostile.example.\t300\tIN\tCNAME\tesc\x1b[2j.hostile.example.",
        "esc\x1b[2j.hostile.example.\t300\tIN\tA\t192.0.2.71",
    ])
    corpus.add("names/dig-names.txt", dig.encode("utf-8"), (0, 1),
               "raw escapes and markup in a TXT answer and in CNAME owner/target names")

    zone = (
        "$ORIGIN hostile.example.\n$TTL 300\n"
        "@\tIN\tSOA\tns.hostile.example. admin.hostile.example. 1 7200 3600 1209600 300\n"
        f"txt\tIN\tTXT\t{hostile_txt}\n"
        "esc\x1b[2j\tIN\tA\t192.0.2.72\n"
        "markup\tIN\tCNAME\t<img\\032src=x\\032onerror=alert\\(1\\)>.hostile.example.\n"
        "<img\\032src=x\\032onerror=alert\\(1\\)>\tIN\tA\t192.0.2.72\n"
        "graph{}|-->\tIN\tA\t192.0.2.72\n"
    )
    corpus.add("names/zone-names.zone", zone.encode("utf-8"), (0, 1),
               "raw escapes and markup in TXT data and owner names")

    reverse = (
        "192.0.2.73\n"
        "2023-01-01-----2023-06-30\tok.hostile.example\n"
        f"{HOSTILE_TEXT}\n"
        "<img src=x onerror=alert(1)>\n"
        "\x1b]0;pwned\x07title.hostile.example\n"
        "2023-07-01-----2023-12-31\tgraph{}|-->.hostile.example\n"
        "later.hostile.example\n"
    )
    corpus.add("names/reverse-ip-192.0.2.73.txt", reverse.encode("utf-8"), 1,
               "lines of escapes and markup among good host lines (bad lines are errors)")

    operator = HOSTILE_TEXT.replace("\n", "")
    table = (
        f"192.0.2.0\t192.0.2.127\t64500\tCN\t{operator}\n"
        "192.0.2.128\t192.0.2.255\t64501\tUS\tEXAMPLE-NET <b>bold</b> \"]]> {}|-->\n"
    )
    corpus.add("names/iptoasn-names.tsv", table.encode("utf-8"), (0, 1),
               "operator descriptions made of escapes and markup")

    pdns_lines = [
        {"rrname": "title\x1b]0;pwned\x07.hostile.example", "rrtype": "A", "rdata": "192.0.2.74",
         "time_first": T0, "time_last": T0 + 86400, "count": 3},
        {"rrname": "<img src=x onerror=alert(1)>.hostile.example", "rrtype": "CNAME",
         "rdata": 'cdata"]]>.hostile.example.', "time_first": T0, "time_last": T0 + 86400},
        {"rrname": "txt.hostile.example", "rrtype": "TXT", "rdata": [_txt_string(HOSTILE_TEXT)],
         "time_first": T0, "time_last": T0 + 86400},
    ]
    corpus.add("names/pdns-names.jsonl",
               "".join(json.dumps(line) + "\n" for line in pdns_lines).encode(), (0, 1),
               "escapes and markup in rrname, a CNAME target and TXT rdata")

    header = ("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
              "#path\thttp\n#open\t2024-01-01-00-00-00\n"
              "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\ttrans_depth\tmethod"
              "\thost\turi\treferrer\tversion\tuser_agent\tstatus_code\n"
              "#types\ttime\tstring\taddr\tport\taddr\tport\tcount\tstring\tstring\tstring"
              "\tstring\tstring\tstring\tcount\n")

    def zeek_row(ts: str, host: str, uri: str, agent: str, port: str = "80",
                 status: str = "200") -> str:
        return "\t".join([ts, "CHhAvVGS1DHFjwGM9", "198.51.100.7", "40000", "192.0.2.75", port,
                          "1", "GET", host, uri, "-", "1.1", agent, status]) + "\n"

    zeek = header + "".join(
        zeek_row(f"{T0}.000000", host.replace("\t", " "), "/<img src=x onerror=alert(1)>",
                 HOSTILE_TEXT.replace("\n", ""))
        for host in HOSTILE_HOSTS) + "#close\t2024-01-01-00-00-01\n"
    corpus.add("names/zeek-names-http.log", zeek.encode("utf-8"), (0, 1),
               "escapes and markup in Zeek http.log host, uri and user_agent")

    big = "999999999999999999"
    zeek_numbers = header + zeek_row(big, "ts.hostile.example", "/", "x") + zeek_row(
        f"{T0}.0", "port.hostile.example", "/", "x", port=big) + zeek_row(
        f"{T0}.0", "status.hostile.example", "/", "x", status=big) + zeek_row(
        f"{T0}.0", "ok.hostile.example", "/", "x")
    corpus.add("numbers/zeek-18-digit-http.log", zeek_numbers.encode(), (0, 1),
               "18-digit ts, port and status_code in a Zeek http.log")
    pdns_numbers = [
        {"rrname": "first.hostile.example", "rrtype": "A", "rdata": "192.0.2.76",
         "time_first": int(big), "time_last": int(big)},
        {"rrname": "count.hostile.example", "rrtype": "A", "rdata": "192.0.2.76",
         "time_first": T0, "time_last": T0, "count": int(big + "999")},
        {"rrname": "text.hostile.example", "rrtype": "A", "rdata": "192.0.2.76",
         "time_first": big, "time_last": "1e400"},
        {"rrname": "ok.hostile.example", "rrtype": "A", "rdata": "192.0.2.76",
         "time_first": T0, "time_last": T0},
    ]
    corpus.add("numbers/pdns-18-digit.jsonl",
               "".join(json.dumps(line) + "\n" for line in pdns_numbers).encode(), 1,
               "18-digit and 21-digit times and counts in passive-DNS lines")

    good_pdns = "".join(
        json.dumps({"rrname": f"p{i}.plain.example", "rrtype": "A", "rdata": f"192.0.2.{60 + i}",
                    "time_first": T0, "time_last": T0 + 60}) + "\n" for i in range(200))
    packed = gzip.compress(good_pdns.encode(), mtime=0)
    corpus.add("truncated/pdns-cut.jsonl.gz", packed[: len(packed) * 2 // 3], 1,
               "gzip passive DNS cut two thirds of the way in")

    first = json.dumps({"rrname": "before.hostile.example", "rrtype": "A",
                        "rdata": "192.0.2.77", "time_first": T0, "time_last": T0})
    after = first.replace("before", "after")
    corpus.add("nesting/pdns-deep-line.jsonl",
               f"{first}\n{'[' * DEEP}\n{after}\n".encode(), 1,
               "a 100,000-level '[' line between two good passive-DNS lines")
    corpus.add("nesting/pdns-deep-first.jsonl", ("[" * DEEP + "\n" + first + "\n").encode(),
               (1, 2), "a 100,000-level '[' first line, then a good passive-DNS line")
    zeek_json = json.dumps({"ts": T0, "uid": "C1", "id.orig_h": "198.51.100.7",
                            "id.orig_p": 40000, "id.resp_h": "192.0.2.78", "id.resp_p": 80,
                            "method": "GET", "host": "before.hostile.example", "uri": "/",
                            "status_code": 200})
    deep_line = '{"a":' + "[" * DEEP
    corpus.add("nesting/zeek-deep-line.log",
               f"{zeek_json}\n{deep_line}\n{zeek_json.replace('before', 'after')}\n".encode(), 1,
               "a Zeek JSON http log with a 100,000-level line between two good lines")

    bomb_head = b'{"rrname":"bomb.hostile.example","rrtype":"A","rdata":"192.0.2.79"}\n'
    corpus.add("bombs/pdns-gzip-bomb.jsonl.gz",
               _gzip_bomb(BOMB_BYTES, prefix=bomb_head + b'{"rrname":"'), 1,
               "gzip passive DNS: a good line, then one line that inflates to 1.1 GiB")
    table_head = b"192.0.2.0\t192.0.2.255\t64500\tUS\tEXAMPLE\n" * 3
    corpus.add("bombs/iptoasn-gzip-bomb.tsv.gz", _gzip_bomb(BOMB_BYTES, prefix=table_head), 1,
               "gzip iptoasn table: three good rows, then one row that inflates to 1.1 GiB")

    dig_secret = _dig("mail.secrets.example", "TXT", [
        f'mail.secrets.example.\t300\tIN\tTXT\t"contact {EMAIL} mobile {PHONE} id {RESIDENT_ID}"',
        f'mail.secrets.example.\t300\tIN\tTXT\t"token={canary("DIGTXT")}"',
    ])
    corpus.add("secrets/dig-secrets.txt", dig_secret.encode(), (0, 1),
               "an e-mail, a mobile number, a resident ID and a token in TXT answers")
    zeek_secret = header + zeek_row(
        f"{T0}.000000", "api.secrets.example",
        f"/v1/me?token={canary('ZEEKQUERY')}&idcard={RESIDENT_ID}&mobile={PHONE}&email={EMAIL}",
        "Mozilla/5.0") + "#close\t2024-01-01-00-00-01\n"
    corpus.add("secrets/zeek-secrets-http.log", zeek_secret.encode(), 0,
               "a token, a resident ID, a mobile number and an e-mail in a Zeek http.log uri")
    corpus.add("secrets/pdns-secrets.jsonl", (json.dumps({
        "rrname": "mail.secrets.example", "rrtype": "TXT",
        "rdata": [f'"contact {EMAIL} {PHONE} {RESIDENT_ID} {canary("PDNSTXT")}"'],
        "time_first": T0, "time_last": T0}) + "\n").encode(), 0,
        "an e-mail, a mobile number, a resident ID and a token in passive-DNS TXT rdata")


_IP138_PAGE = """\
<!DOCTYPE html>
<!-- saved from url=(0031)https://site.ip138.com/{address}/ -->
<html lang="zh-CN"><head><meta charset="utf-8">
<title>{address} - ip138</title></head>
<body>{extra}
<div class="result result2"><h1>{address}</h1></div>
<ul id="list">
{rows}
</ul>
</body></html>
"""


def _ip138(address: str, hosts: list[str], extra: str = "") -> bytes:
    rows = "\n".join(
        f'<li><span class="date">2022-01-0{1 + i}-----2022-06-14</span>'
        f'<a href="/{host}/" target="_blank">{host}</a></li>' for i, host in enumerate(hosts))
    return _IP138_PAGE.format(address=address, rows=rows, extra=extra).encode("utf-8")


def _build_other_sources(corpus: _Corpus) -> None:
    """Readers added later: ip138 pages, Rapid7 Sonar FDNS, SecurityTrails pages."""
    corpus.add("names/192.0.2.78.html", _ip138("192.0.2.78", [
        "ok.hostile.example",
        "&lt;img src=x onerror=alert(1)&gt;.hostile.example",
        "title\x1b]0;pwned\x07.hostile.example",
        '&quot;]]&gt;{}|--&gt;.hostile.example',
    ], extra="<p>\x1b[2J\u202e &lt;script&gt;alert(1)&lt;/script&gt;</p>"), (0, 1),
        "an ip138 page listing markup and escapes as bound domains")
    corpus.add("malformed/192.0.2.79.html", _ip138(
        "192.0.2.79", ["before.hostile.example"], extra="<![hostile[ x ]]>"), (0, 1, 2),
        "an ip138 page with a marked section html.parser does not know ('<![hostile[')")
    corpus.add("malformed/192.0.2.80.html", _ip138(
        "192.0.2.80", ["before.hostile.example"], extra='<!["x'), (0, 1, 2),
        "an ip138 page with '<![\"' where html.parser expects a name")

    def sonar(name: str, value: str) -> str:
        return json.dumps({"timestamp": str(T0), "name": name, "type": "a", "value": value})

    corpus.add("nesting/rapid7-deep-line.json",
               (sonar("before.hostile.example", "192.0.2.81") + "\n" + "[" * DEEP + "\n"
                + sonar("after.hostile.example", "192.0.2.81") + "\n").encode(), 1,
               "Rapid7 Sonar lines with a 100,000-level '[' line between two good ones")
    corpus.add("bombs/rapid7-gzip-bomb.json.gz", _gzip_bomb(
        BOMB_BYTES, prefix=(sonar("bomb.hostile.example", "192.0.2.82") + "\n").encode()
        + b'{"timestamp":"'), 1,
        "gzip Rapid7 Sonar: a good line, then one line that inflates to 1.1 GiB")
    page = json.dumps({"endpoint": "/v1/history/before.hostile.example/dns/a", "pages": 1,
                       "type": "a", "records": [{"first_seen": "2022-01-01",
                                                 "last_seen": "2022-02-01", "type": "a",
                                                 "values": [{"ip": "192.0.2.83"}]}]})
    corpus.add("nesting/securitytrails-deep.jsonl",
               (page + "\n" + '{"endpoint":"/v1/history/x.hostile.example/dns/a","records":'
                + "[" * DEEP + "\n" + page.replace("before", "after") + "\n").encode(), 1,
               "SecurityTrails pages, one line per page, a 100,000-level line between good ones")


def _build_junk(corpus: _Corpus) -> None:
    for suffix in ("har", "pcap"):
        corpus.add(f"junk/empty.{suffix}", b"", 2, "an empty file")
    noise = bytes((index * 7919 + 13) % 251 for index in range(4096))
    corpus.add("junk/noise.bin", noise, 2, "4 KiB of bytes that are no format")


def build(output: Path, *, big: bool = False) -> list[Hostile]:
    """Write the corpus into `output` (created if missing); the files and their exit codes."""
    output.mkdir(parents=True, exist_ok=True)
    corpus = _Corpus(output)
    _build_har(corpus)
    _build_saz(corpus)
    _build_mitmproxy(corpus)
    _build_pcap(corpus)
    _build_dns_text(corpus)
    _build_other_sources(corpus)
    _build_junk(corpus)
    if big:
        (output / "big").mkdir(exist_ok=True)
        write_big_header_har(output / "big" / "har-100mb-header.har")
        corpus.files.append(Hostile("big/har-100mb-header.har", (0,),
                                    "one request header value of 100 MiB"))
        write_many_entries_har(output / "big" / "har-million-entries.har")
        corpus.files.append(Hostile("big/har-million-entries.har", (0,),
                                    "1,000,000 tiny entries"))
    return corpus.files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=None,
                        help="folder to write into (default: a new temporary folder)")
    parser.add_argument("--big", action="store_true",
                        help="also write the 100 MiB-header and million-entry HARs (~250 MB)")
    args = parser.parse_args(argv)
    output = args.output or Path(tempfile.mkdtemp(prefix="hostmap-hostile-"))
    files = build(output, big=args.big)
    for item in files:
        codes = "/".join(map(str, item.exit_codes))
        sys.stdout.write(f"{codes:>5}  {item.name}  ({item.why})\n")
    sys.stdout.write(f"{len(files)} files in {output}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
