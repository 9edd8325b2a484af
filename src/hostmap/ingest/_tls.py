"""The cleartext start of a TLS connection: the ClientHello's SNI, the server's certificate.

`TlsConversation` reads both directions of one connection: the ClientHello
gives an `HttpExchange` (scheme https, host = SNI, or the server address
when there is none), the server's TLS 1.2 Certificate message a
`Certificate` for the leaf only (intermediates are shared by every site of a
CA and would link unrelated hosts), with host = that SNI or the server
address.  At most `MAX_HANDSHAKE` bytes a direction are read; after these
two messages nothing of the connection is kept.

Layouts, in the order the code reads them:

- TLS record (RFC 5246 §6.2.1, RFC 8446 §5.1): type (22 = handshake),
  legacy version (3, x), 2-byte length, fragment.  Handshake messages may
  span records and a record may hold several, so record fragments are joined
  into one handshake stream first.
- Handshake message (RFC 5246 §7.4, RFC 8446 §4): type, 3-byte length, body.
- ClientHello (RFC 8446 §4.1.2; the same bytes as RFC 5246 §7.4.1.2):
  version (2), random (32), session id <0..32>, cipher suites <2..2^16-2>,
  compression methods <1..2^8-1>, extensions <8..2^16-1>, each a 2-byte type
  and a 2-byte length.
- server_name extension (type 0, RFC 6066 §3): a 2-byte list length, then
  entries of name type (0 = host_name) and a 2-byte-length ASCII name.
- Certificate (type 11) in TLS 1.2 and below (RFC 5246 §7.4.2): a 3-byte
  list length, then certificates of a 3-byte length and DER bytes, the
  server's own (leaf) certificate first.  TLS 1.3 encrypts it, so it is never
  seen: the records after a 1.3 ServerHello are not handshake records, and
  reading stops there.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509

from hostmap.errors import MalformedInput
from hostmap.ingest._capture_file import Frame, Locate
from hostmap.ingest._reader import ReadItem
from hostmap.model import Certificate, HttpExchange, ReadIssue, Severity

__all__ = [
    "MAX_HANDSHAKE",
    "HandshakeReader",
    "LeafCertificate",
    "TlsConversation",
    "looks_like_tls",
    "read_leaf_certificate",
    "read_server_name",
]

MAX_HANDSHAKE = 64 * 1024
"""Bytes per direction read for the ClientHello or the server's certificate."""

CLIENT_HELLO, CERTIFICATE = 1, 11
_HANDSHAKE_RECORD = 22
_CERTIFICATE_ERRORS = (
    ValueError,  # DER that cryptography cannot parse
    x509.InvalidVersion,
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
)
_MAX_RECORD = 2**14 + 2048  # RFC 5246 §6.2.3: a ciphertext fragment is at most 2^14 + 2048


def looks_like_tls(data: bytes) -> bool:
    """Whether a stream starts with a TLS handshake record."""
    return len(data) >= 3 and data[0] == _HANDSHAKE_RECORD and data[1] == 3 and data[2] <= 4


class HandshakeReader:
    """Collects the handshake messages at the start of one direction of a TLS stream.

    `feed` returns each message as it completes; reading ends at the first
    record that is not a handshake record, or when `limit` bytes did not
    finish the messages asked for.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._seen = 0
        self._records = bytearray()
        self._handshake = bytearray()
        self.ended = False

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """The handshake messages (type, body) completed by `data`.

        Raises MalformedInput when the bytes are not TLS records, or when the
        limit is reached inside a message.
        """
        if self.ended:
            return []
        self._seen += len(data)
        self._records += data
        while len(self._records) >= 5:
            kind, major, length = self._records[0], self._records[1], self._records[3:5]
            size = int.from_bytes(length, "big")
            if major != 3 or size > _MAX_RECORD:
                self.ended = True
                raise MalformedInput(f"not a TLS record (type {kind}, version {major}.x)")
            if kind != _HANDSHAKE_RECORD:
                self.ended = True
                break
            if len(self._records) < 5 + size:
                break
            self._handshake += self._records[5 : 5 + size]
            del self._records[: 5 + size]
        messages = []
        while len(self._handshake) >= 4:
            size = int.from_bytes(self._handshake[1:4], "big")
            if len(self._handshake) < 4 + size:
                break
            messages.append((self._handshake[0], bytes(self._handshake[4 : 4 + size])))
            del self._handshake[: 4 + size]
        if self.ended:
            self._records.clear()
            self._handshake.clear()
        elif self._seen > self._limit:
            self.ended = True
            if not messages:
                raise MalformedInput(f"the handshake is not complete within {self._limit} bytes")
        return messages


class _Cursor:
    """Reads length-prefixed fields, naming the field that runs past the end."""

    def __init__(self, data: bytes, what: str) -> None:
        self._data, self._at, self._what = data, 0, what

    def number(self, size: int, field: str) -> int:
        return int.from_bytes(self.take(size, field), "big")

    def take(self, size: int, field: str) -> bytes:
        if self._at + size > len(self._data):
            raise MalformedInput(f"{self._what} ends inside its {field}")
        chunk = self._data[self._at : self._at + size]
        self._at += size
        return chunk

    def vector(self, length_size: int, field: str) -> bytes:
        return self.take(self.number(length_size, f"{field} length"), field)

    def at_end(self) -> bool:
        return self._at >= len(self._data)


def read_server_name(client_hello: bytes) -> str | None:
    """The host_name in a ClientHello body's server_name extension, or None."""
    hello = _Cursor(client_hello, "the ClientHello")
    hello.take(2 + 32, "version and random")
    hello.vector(1, "session id")
    hello.vector(2, "cipher suites")
    hello.vector(1, "compression methods")
    if hello.at_end():  # SSL 3.0-style hello without extensions
        return None
    extensions = _Cursor(hello.vector(2, "extensions"), "the ClientHello extensions")
    while not extensions.at_end():
        kind = extensions.number(2, "extension type")
        body = extensions.vector(2, f"extension {kind}")
        if kind != 0:
            continue
        names = _Cursor(_Cursor(body, "server_name").vector(2, "list"), "the server_name list")
        while not names.at_end():
            name_type = names.number(1, "name type")
            name = names.vector(2, "host name")
            if name_type == 0:
                try:
                    return name.decode("ascii")
                except UnicodeDecodeError as exc:
                    raise MalformedInput(f"the SNI host name {name!r} is not ASCII") from exc
    return None


@dataclass(frozen=True, slots=True)
class LeafCertificate:
    """The fields of the server's own certificate that a `Certificate` records."""

    fingerprint_sha256: str
    subject: str | None
    issuer: str | None
    sans: tuple[str, ...]
    not_before: datetime
    not_after: datetime


def read_leaf_certificate(certificate_message: bytes) -> LeafCertificate | None:
    """The first certificate of a TLS 1.2 Certificate message body; None for an empty list."""
    chain = _Cursor(certificate_message, "the Certificate message").vector(3, "list")
    if not chain:
        return None
    der = _Cursor(chain, "the certificate list").vector(3, "first certificate")
    try:
        parsed = x509.load_der_x509_certificate(der)
        subject, issuer = parsed.subject.rfc4514_string(), parsed.issuer.rfc4514_string()
        not_before, not_after = parsed.not_valid_before_utc, parsed.not_valid_after_utc
        try:
            alt_names = parsed.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        except x509.ExtensionNotFound:
            sans: tuple[str, ...] = ()
        else:
            names = alt_names.value.get_values_for_type(x509.DNSName)
            ips = alt_names.value.get_values_for_type(x509.IPAddress)
            sans = (*names, *(str(ip) for ip in ips))
    except _CERTIFICATE_ERRORS as exc:
        raise MalformedInput(f"the server certificate cannot be parsed: {exc}") from exc
    return LeafCertificate(
        fingerprint_sha256=hashlib.sha256(der).hexdigest(),
        subject=subject or None,
        issuer=issuer or None,
        sans=sans,
        not_before=not_before,
        not_after=not_after,
    )


class TlsConversation:
    """The ClientHello's SNI and the server's leaf certificate; nothing after them."""

    def __init__(self, address: str, port: int, locate: Locate) -> None:
        self._address, self._port, self._locate = address, port, locate
        self._client_hello = HandshakeReader(MAX_HANDSHAKE)
        self._server_handshake = HandshakeReader(MAX_HANDSHAKE)
        self._sni: str | None = None
        self.wants_client = self.wants_server = True

    def client_data(self, data: bytes, frame: Frame) -> list[ReadItem]:
        try:
            messages = self._client_hello.feed(data)
            self.wants_client = not self._client_hello.ended
            if not messages:
                return []
            self.wants_client = False
            kind, body = messages[0]
            if kind != CLIENT_HELLO:
                raise MalformedInput(f"the client's first handshake message is type {kind}")
            self._sni = read_server_name(body)
        except MalformedInput as exc:
            self.wants_client = False
            return [self._issue(frame, f"TLS ClientHello: {exc}")]
        exchange = HttpExchange(
            provenance=self._locate(frame.number),
            host=self._sni or self._address,
            port=self._port,
            scheme="https",
            time=frame.time,
            server_address=self._address,
            sni=self._sni,
        )
        return [exchange]

    def server_data(self, data: bytes, frame: Frame) -> list[ReadItem]:
        try:
            messages = self._server_handshake.feed(data)
            self.wants_server = not self._server_handshake.ended
            body = next((body for kind, body in messages if kind == CERTIFICATE), None)
            if body is None:
                return []
            self.wants_server = False
            leaf = read_leaf_certificate(body)
        except MalformedInput as exc:
            self.wants_server = False
            return [self._issue(frame, f"TLS server handshake: {exc}")]
        if leaf is None:
            return []
        certificate = Certificate(
            provenance=self._locate(frame.number),
            host=self._sni or self._address,
            fingerprint_sha256=leaf.fingerprint_sha256,
            port=self._port,
            address=self._address,
            subject=leaf.subject,
            issuer=leaf.issuer,
            sans=leaf.sans,
            not_before=leaf.not_before,
            not_after=leaf.not_after,
            time=frame.time,
        )
        return [certificate]

    def close(self) -> list[ReadItem]:
        return []

    def _issue(self, frame: Frame, message: str) -> ReadIssue:
        provenance = self._locate(frame.number)
        return ReadIssue(provenance=provenance, message=message, severity=Severity.WARNING)
