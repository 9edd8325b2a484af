"""Write a Fiddler Session Archive (.saz) laid out as Fiddler 5 writes one.

Used by make_henan_2022.py; nothing here knows about the Henan case.  What is imitated
(seen in the SAZ files under /work/shared/corpus/saz):

- a zip whose comment names the Fiddler version; first a stored `raw/` folder entry, then
  per session `raw/NN_c.txt`, `raw/NN_m.xml`, `raw/NN_s.txt` (deflated; NN zero-padded to
  the width of the session count), then `[Content_Types].xml` and `_index.htm`;
- `_c.txt` and `_s.txt` hold the request and response exactly as they crossed the proxy
  (CRLF header lines, bodies as transferred: chunked and gzip stay encoded);
- `_m.xml` (UTF-8 with BOM, CRLF, no final newline): `Session SID BitFlags` (hex),
  `SessionTimers` in local time with the UTC offset and up to seven fractional digits
  (trailing zeros dropped, as .NET's `FFFFFFF` does; unset timers are `0001-01-01T00:00:00`),
  `PipeInfo`, `TunnelInfo` for CONNECT tunnels, then `SessionFlags`;
- `_index.htm` (UTF-8 with BOM, one line): the session list's default 12 columns;
- for a CONNECT tunnel with HTTPS decryption on, Fiddler appends its reading of the client's
  ClientHello to the request and a note plus the server certificate to its own
  `200 Connection Established` answer.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from html import escape
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding

TICKS_PER_SECOND = 10_000_000
"""Fiddler's timers are .NET DateTimes: 100-nanosecond ticks."""

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="utf-8" ?>\r\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\r\n'
    '<Default Extension="htm" ContentType="text/html" />\r\n'
    '<Default Extension="xml" ContentType="application/xml" />\r\n'
    '<Default Extension="txt" ContentType="text/plain" />\r\n'
    "</Types>"
)

# BitFlags (Fiddler.SessionFlags)
IS_HTTPS = 0x1
CLIENT_PIPE_REUSED = 0x8
SERVER_PIPE_REUSED = 0x10
RESPONSE_GENERATED_BY_FIDDLER = 0x100
IS_DECRYPTING_TUNNEL = 0x2000

TIMER_NAMES = (
    "ClientConnected", "ClientBeginRequest", "GotRequestHeaders", "ClientDoneRequest",
    "GatewayTime", "DNSTime", "TCPConnectTime", "HTTPSHandshakeTime", "ServerConnected",
    "FiddlerBeginRequest", "ServerGotRequest", "ServerBeginResponse", "GotResponseHeaders",
    "ServerDoneResponse", "ClientBeginResponse", "ClientDoneResponse",
)  # fmt: skip
DURATION_TIMERS = {"GatewayTime", "DNSTime", "TCPConnectTime", "HTTPSHandshakeTime"}


@dataclass(frozen=True)
class Session:
    request: bytes
    response: bytes
    timers: dict[str, int | None]
    """Every name in TIMER_NAMES: epoch ticks (None = unset), or whole ms for the durations."""
    bit_flags: int
    flags: tuple[tuple[str, str], ...]
    pipe_info: tuple[tuple[str, str], ...] = ()
    tunnel: bool = False
    # the _index.htm row
    result: int = 200
    protocol: str = "HTTP"
    host: str = ""
    url: str = ""
    body: int = 0
    caching: str = ""
    content_type: str = ""
    process: str = ""


def fiddler_time(ticks: int | None, offset: timezone) -> str:
    """A timer as Fiddler writes it: local time, up to 7 fractional digits, the offset."""
    if ticks is None:
        return "0001-01-01T00:00:00"
    seconds, fraction = divmod(ticks, TICKS_PER_SECOND)
    local = datetime.fromtimestamp(seconds, UTC).astimezone(offset)
    digits = f"{fraction:07d}".rstrip("0")
    text = local.strftime("%Y-%m-%dT%H:%M:%S") + (f".{digits}" if digits else "")
    return text + local.strftime("%z")[:3] + ":" + local.strftime("%z")[3:]


def number(value: int) -> str:
    """A count as Fiddler formats it (.NET "N0", en-US): thousands separated by commas."""
    return f"{value:,}"


def us_datetime(moment: datetime) -> str:
    """.NET's en-US general date/time: 6/14/2022 9:41:07 AM."""
    hour = moment.hour % 12 or 12
    half = "AM" if moment.hour < 12 else "PM"
    return f"{moment.month}/{moment.day}/{moment.year} {hour}:{moment:%M:%S} {half}"


def _attr(value: str) -> str:
    return escape(value, quote=True).replace("&#x27;", "'")


def metadata(sid: int, session: Session, offset: timezone) -> bytes:
    values = {
        name: str(value) if name in DURATION_TIMERS else fiddler_time(value, offset)
        for name, value in session.timers.items()
    }
    timers = " ".join(f'{name}="{values[name]}"' for name in TIMER_NAMES)
    pipe = " ".join(f'{k}="{v}"' for k, v in session.pipe_info)
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<Session SID="{sid}" BitFlags="{session.bit_flags:x}">',
        f"  <SessionTimers {timers} />",
        f"  <PipeInfo {pipe} />" if pipe else "  <PipeInfo />",
    ]
    if session.tunnel:
        lines.append('  <TunnelInfo BytesEgress="0" BytesIngress="0" />')
    lines.append("  <SessionFlags>")
    lines += [f'    <SessionFlag N="{_attr(k)}" V="{_attr(v)}" />' for k, v in session.flags]
    lines += ["  </SessionFlags>", "</Session>"]
    return "\ufeff".encode() + "\r\n".join(lines).encode()


def index_htm(sessions: Sequence[Session], width: int) -> bytes:
    head = (
        "<html><head><style>body,thead,td,a,p{font-family:verdana,sans-serif;font-size: 10px;}"
        "</style></head><body><table cols=12><thead><tr><th>&nbsp;</th><th>#</th>"
        "<th>Result</th><th>Protocol</th><th>Host</th><th>URL</th><th>Body</th>"
        "<th>Caching</th><th>Content-Type</th><th>Process</th><th>Comments</th>"
        "<th>Custom</th></tr></thead><tbody>"
    )
    rows = []
    for sid, s in enumerate(sessions, 1):
        nn = f"{sid:0{width}d}"
        links = "&nbsp;".join(
            f"<a href='raw\\{nn}_{kind}'>{label}</a>"
            for kind, label in (("c.txt", "C"), ("s.txt", "S"), ("m.xml", "M"))
        )
        cells = [str(sid), str(s.result), s.protocol, s.host, s.url, number(s.body), s.caching,
                 s.content_type, s.process, "", ""]  # fmt: skip
        rows.append(
            f"<tr><td>{links}</td>"
            + "".join(f"<td>{escape(c, quote=False)}</td>" for c in cells)
            + "</tr>"
        )
    text = head + "".join(rows) + "</tbody></table></body></html>"
    return "\ufeff".encode() + text.encode()


def write_saz(
    sessions: Sequence[Session], fiddler_version: str, saved: datetime, offset: timezone
) -> bytes:
    """The archive's bytes; `saved` (local time) stamps every member."""
    width = len(str(len(sessions)))  # Fiddler pads NN to the digits of the session count
    stamp = saved.astimezone(offset).timetuple()[:6]
    members: list[tuple[str, bytes]] = []
    for sid, s in enumerate(sessions, 1):
        nn = f"{sid:0{width}d}"
        members += [
            (f"raw/{nn}_c.txt", s.request),
            (f"raw/{nn}_m.xml", metadata(sid, s, offset)),
            (f"raw/{nn}_s.txt", s.response),
        ]
    members += [
        ("[Content_Types].xml", CONTENT_TYPES.encode()),
        ("_index.htm", index_htm(sessions, width)),
    ]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in [("raw/", b""), *members]:
            info = zipfile.ZipInfo(name, stamp)
            # "made by" MS-DOS/Windows, zip 4.5; the folder has the MS-DOS directory
            # attribute, files none (as in Fiddler's archives)
            info.create_system, info.create_version = 0, 45
            method = zipfile.ZIP_STORED if name.endswith("/") else zipfile.ZIP_DEFLATED
            zf.writestr(info, data, compress_type=method, compresslevel=6)
            # zipfile puts Unix permissions into a zero external_attr while writing; the
            # central directory is written at close, from this attribute.
            info.external_attr = 0x10 if name.endswith("/") else 0
        zf.comment = (
            f"Fiddler (v{fiddler_version}) Session Archive. See https://fiddler2.com".encode()
        )
    return buf.getvalue()


# --- Fiddler's notes on a CONNECT tunnel ----------------------------------------------------

CIPHER_NAMES = {
    0x002F: "TLS_RSA_WITH_AES_128_CBC_SHA",
    0x0035: "TLS_RSA_WITH_AES_256_CBC_SHA",
    0x009C: "TLS_RSA_WITH_AES_128_GCM_SHA256",
    0x009D: "TLS_RSA_WITH_AES_256_GCM_SHA384",
    0xC013: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    0xC014: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    0xC02B: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    0xC02C: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    0xC02F: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    0xC030: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    0xCCA8: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    0xCCA9: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
}
GROUP_NAMES = {0x1D: "x25519", 0x17: "secp256r1", 0x18: "secp384r1"}
SIGNATURE_NAMES = {
    0x0403: "ecdsa_secp256r1_sha256", 0x0804: "rsa_pss_rsae_sha256", 0x0401: "rsa_pkcs1_sha256",
    0x0503: "ecdsa_secp384r1_sha384", 0x0805: "rsa_pss_rsae_sha384", 0x0501: "rsa_pkcs1_sha384",
    0x0806: "rsa_pss_rsae_sha512", 0x0601: "rsa_pkcs1_sha512",
}  # fmt: skip


def _hex(data: bytes) -> str:
    return " ".join(f"{b:02X}" for b in data)


def _extension_line(hello: Any, ext: int) -> str:
    """How Fiddler lists one ClientHello extension (name, tab, value)."""
    if ext == 0:
        return f"\tserver_name\t{hello.server_name}"
    if ext == 5:
        return "\tstatus_request\tOCSP - Implicit Responder"
    if ext == 10:
        groups = ", ".join(f"{GROUP_NAMES[g]} [0x{g:x}]" for g in hello.groups)
        return f"\tsupported_groups\t{groups}"
    if ext == 11:
        return "\tec_point_formats\tuncompressed [0x0]"
    if ext == 13:
        return "\tsignature_algs\t" + ", ".join(
            SIGNATURE_NAMES[s] for s in hello.signature_algorithms
        )
    if ext == 16:
        return "\tALPN\t\t" + ", ".join(hello.alpn)
    if ext == 18:
        return "\tSignedCertTimestamp (RFC6962)\tempty"
    if ext == 23:
        return "\textended_master_secret\tempty"
    if ext == 35:
        return "\tSessionTicket\tempty"
    if ext == 0xFF01:
        return "\trenegotiation_info\t00"
    raise ValueError(f"no Fiddler label for extension {ext}")


def client_hello_text(hello: Any, offset: timezone) -> bytes:
    """What Fiddler appends to a CONNECT request after reading the tunnel's ClientHello.

    `hello` has random, session_id, ciphers, extensions and the fields they render from
    (see _pcap_writer.ClientHello).  Fiddler's "Time" reads the first four bytes of the
    random as a little-endian Unix time and shows it in local time.
    """
    major, minor = divmod(hello.version, 256)
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(
        seconds=int.from_bytes(hello.random[:4], "little")
    )
    lines = [
        "A SSLv3-compatible ClientHello handshake was found. Fiddler extracted the parameters "
        "below.",
        "",
        f"Version: {major}.{minor} (TLS/1.2)",
        f"Random: {_hex(hello.random)}",
        f'"Time": {us_datetime(moment.astimezone(offset))}',
        f"SessionID: {_hex(hello.session_id) if hello.session_id else 'empty'}",
        "Extensions: ",
        *(_extension_line(hello, ext) for ext in hello.extensions),
        "Ciphers: ",
    ]
    text = "\n".join(lines) + "\n"
    text += "".join(f"\t[{c:04X}]\t{CIPHER_NAMES[c]}\r\n" for c in hello.ciphers)
    text += "\nCompression: \n\t[00]\tNO_COMPRESSION\r\n\n\n"
    return text.encode()


def _dotnet_name(name: Any) -> str:
    """An x509.Name as .NET prints it: last RDN first, ", " between, ST as S."""
    short = {"ST": "S"}
    parts = []
    for rdn in reversed(name.rdns):
        for attr in rdn:
            key = attr.rfc4514_attribute_name
            parts.append(f"{short.get(key, key)}={attr.value}")
    return ", ".join(parts)


def connect_response(
    server_connected: datetime,
    cert: Any,
    sans: Sequence[str],
    protocol: str,
    cipher: str,
    hash_name: str,
    key_exchange: str,
) -> bytes:
    """Fiddler's own answer to a CONNECT when it decrypts the tunnel, with its notes.

    `cert` is a cryptography x509.Certificate; its dates are shown in the local time of
    `server_connected`.
    """
    offset = server_connected.tzinfo
    head = (
        "HTTP/1.1 200 Connection Established\r\n"
        "FiddlerGateway: Direct\r\n"
        f"StartTime: {server_connected:%H:%M:%S}.{server_connected.microsecond // 1000:03d}\r\n"
        "Connection: close\r\n\r\n"
    )
    notes = (
        "Encrypted HTTPS traffic flows through this CONNECT tunnel. HTTPS Decryption is enabled "
        "in Fiddler, so decrypted sessions running in this tunnel will be shown in the Web "
        "Sessions list.\n\n"
        f"Secure Protocol: {protocol}\nCipher: {cipher}\nHash Algorithm: {hash_name}\n"
        f"Key Exchange: {key_exchange}\n\n"
    )
    thumbprint = hashlib.sha1(cert.public_bytes(Encoding.DER)).hexdigest().upper()
    serial = f"{cert.serial_number:X}"
    blocks = [
        ("[Subject]", _dotnet_name(cert.subject)),
        ("[Issuer]", _dotnet_name(cert.issuer)),
        ("[Serial Number]", serial.zfill(len(serial) + len(serial) % 2)),
        ("[Not Before]", us_datetime(cert.not_valid_before_utc.astimezone(offset))),
        ("[Not After]", us_datetime(cert.not_valid_after_utc.astimezone(offset))),
        ("[Thumbprint]", thumbprint),
    ]
    certificate = (
        "== Server Certificate ==========\r\n"
        + "".join(f"{title}\r\n  {value}\r\n\r\n" for title, value in blocks)
        + "[SubjectAltNames]\n"
        + ", ".join(sans)
        + "\r\n"
    )
    return (head + notes + certificate).encode()
