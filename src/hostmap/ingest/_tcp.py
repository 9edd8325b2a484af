"""TCP for the pcap reader: connections, stream reassembly, and what each stream says.

Each connection (keyed by its two endpoints) gets two in-order byte streams
rebuilt from segments by sequence number (RFC 9293 §3.4, modulo 2^32):
retransmitted bytes are dropped, early segments are held until the gap
before them fills (`MAX_OUT_OF_ORDER` bytes at most, after which that
direction is given up and reported).  The client is the sender of a SYN
(the receiver of a SYN-ACK); without a handshake the side on a well-known
server port, else the lower port, is the server.

What the streams are read as, decided by the server port or the client's
first bytes:

- DNS (server port 53): 2-byte length-prefixed messages (RFC 1035 §4.2.2),
  several to a segment or one across several, in both directions, also when
  the capture holds no handshake (zeek-dns-edns-ecs.pcap has lone response
  segments).  Each message goes to the reader's DNS handler.
- TLS (a handshake record first): the ClientHello's SNI and the server's
  certificate, see `_tls`.
- HTTP/1.x (a request line first): requests paired with responses, see
  `_http1`.  The HTTP/2 preface (h2c) is not taken for a request.
- anything else: nothing is buffered, and neither is a direction once its
  reader has what it wants (after the TLS handshake, for instance).

A connection whose handshake (SYN or SYN-ACK) was seen and that gave no
observation (no HTTP request, no ClientHello) and was not DNS yields one
`HttpExchange` with scheme "tcp" when it ends, so every server address and
port the client reached is known.  A connection ends on RST, on FIN from
both sides, at the end of the file, or when it is the least recently active
of more than `MAX_CONNECTIONS` (its later segments then open it again, as
if the capture had started mid-connection).  Segments of a connection that
ended with FIN or RST (retransmissions, the last ACK) do not reopen it.
"""

from __future__ import annotations

import ipaddress
import re
import struct
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from hostmap.errors import MalformedInput
from hostmap.ingest._capture_file import Frame, Locate
from hostmap.ingest._http1 import HttpConversation
from hostmap.ingest._ip import Datagram
from hostmap.ingest._reader import ReadItem
from hostmap.ingest._tls import TlsConversation, looks_like_tls
from hostmap.model import HttpExchange, ReadIssue, Severity

__all__ = ["MAX_CONNECTIONS", "MAX_OUT_OF_ORDER", "TcpTracker"]

MAX_CONNECTIONS = 4096
"""Connections tracked at once; the least recently active one is ended beyond this."""
MAX_OUT_OF_ORDER = 64 * 1024
"""Bytes held per direction while waiting for a missing segment."""

_SYN, _RST, _FIN, _ACK = 0x02, 0x04, 0x01, 0x10
_TCP_HEADER = struct.Struct("!HHI4xBB")
_SERVICE_PORTS = frozenset({53, 80, 443, 853, 3128, 8000, 8008, 8080, 8443, 8888})
_REQUEST_LINE = re.compile(rb"[A-Z][A-Z_-]{1,19} [^ \r\n]")
_HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n"  # RFC 9113 §3.4: cleartext HTTP/2 (h2c), not read

OnDns = Callable[[bytes, Frame], list[ReadItem]]
Endpoint = tuple[bytes, int]


class _Conversation(Protocol):
    @property
    def wants_client(self) -> bool: ...

    @property
    def wants_server(self) -> bool: ...

    def client_data(self, data: bytes, frame: Frame) -> list[ReadItem]: ...

    def server_data(self, data: bytes, frame: Frame) -> list[ReadItem]: ...

    def close(self) -> list[ReadItem]: ...


class _Stream:
    """One direction's bytes in order, rebuilt from segments."""

    __slots__ = ("next_seq", "held", "held_bytes", "done")

    def __init__(self) -> None:
        self.next_seq: int | None = None
        self.held: dict[int, bytes] = {}
        self.held_bytes = 0
        self.done = False
        """Nothing more is wanted from this direction (or it cannot be rebuilt)."""

    def accept(self, seq: int, payload: bytes) -> bytes | None:
        """The bytes that `payload` makes available in order (b"" if it is early or old).

        None when more than MAX_OUT_OF_ORDER bytes wait behind a missing
        segment: the direction is then given up (`done`).
        """
        if self.next_seq is None:
            self.next_seq = seq
        distance = _distance(seq, self.next_seq)
        if distance < 0:  # starts before what was delivered: a retransmission
            if -distance >= len(payload):
                return b""
            payload, distance = payload[-distance:], 0
        if distance:
            previous = len(self.held.get(seq, b""))
            if len(payload) > previous:
                self.held[seq] = payload
                self.held_bytes += len(payload) - previous
            if self.held_bytes > MAX_OUT_OF_ORDER:
                self.done = True
                self.held.clear()
                return None
            return b""
        chunks = [payload]
        next_seq = (self.next_seq + len(payload)) & 0xFFFFFFFF
        while self.held:
            start = min(self.held, key=lambda held_seq: _distance(held_seq, next_seq))
            skip = -_distance(start, next_seq)
            if skip < 0:
                break
            held = self.held.pop(start)
            self.held_bytes -= len(held)
            if skip < len(held):
                chunks.append(held[skip:])
                next_seq = (next_seq + len(held) - skip) & 0xFFFFFFFF
        self.next_seq = next_seq
        return b"".join(chunks)


def _distance(seq: int, reference: int) -> int:
    """How far `seq` is after `reference` in 32-bit sequence space (negative: before)."""
    return ((seq - reference + 0x80000000) & 0xFFFFFFFF) - 0x80000000


@dataclass(slots=True)
class _Connection:
    client: Endpoint
    address: str
    """The server's address, as text."""
    port: int
    """The server's port."""
    opened: tuple[int, datetime | None] | None = None
    """The frame number and time of the SYN (or SYN-ACK), when seen."""
    streams: tuple[_Stream, _Stream] = field(default_factory=lambda: (_Stream(), _Stream()))
    """Client to server, server to client."""
    conversation: _Conversation | None = None
    fins: int = 0
    """Bit 1: the client sent FIN; bit 2: the server did."""
    has_output: bool = False
    """An observation came out of the connection (so no "tcp" exchange is needed)."""


class TcpTracker:
    """Follows the TCP connections of one capture; see the module docstring."""

    def __init__(self, locate: Locate, on_dns: OnDns) -> None:
        self._locate = locate
        self._on_dns = on_dns
        self._connections: OrderedDict[tuple[Endpoint, Endpoint], _Connection] = OrderedDict()
        self._closed: OrderedDict[tuple[Endpoint, Endpoint], None] = OrderedDict()

    def segment(self, datagram: Datagram, frame: Frame) -> list[ReadItem]:
        """What one TCP segment completes.  Raises MalformedInput for a bad TCP header."""
        try:
            sport, dport, seq, offset, flags = _TCP_HEADER.unpack_from(datagram.payload)
        except struct.error as exc:
            raise MalformedInput(f"truncated TCP header ({len(datagram.payload)} bytes)") from exc
        header = (offset >> 4) * 4
        if header < 20 or header > len(datagram.payload):
            raise MalformedInput(
                f"TCP header length {header} in a {len(datagram.payload)}-byte segment"
            )
        source, target = (datagram.src, sport), (datagram.dst, dport)
        key = (source, target) if source < target else (target, source)
        connection = self._connections.get(key)
        has_payload = len(datagram.payload) > header
        items: list[ReadItem] = []
        if connection is not None and flags & _SYN and not flags & _ACK:
            earlier = connection.streams[0 if source == connection.client else 1].next_seq
            if earlier is not None and earlier != (seq + 1) & 0xFFFFFFFF:  # the ports were reused
                del self._connections[key]
                items += self._close(key, connection, finished=True)
                connection = None
        if connection is None:
            if (key in self._closed or not has_payload) and not flags & _SYN:
                return items
            self._closed.pop(key, None)
            connection = self._open(key, source, target, flags)
        else:
            self._connections.move_to_end(key)
        from_client = source == connection.client
        stream = connection.streams[0 if from_client else 1]
        if flags & _SYN:
            stream.next_seq = (seq + 1) & 0xFFFFFFFF
            if connection.opened is None or not flags & _ACK:
                connection.opened = (frame.number, frame.time)
            seq = stream.next_seq
        if has_payload and not stream.done:
            items += self._deliver(connection, from_client, seq, datagram, header, frame)
        if flags & _FIN:
            connection.fins |= 1 if from_client else 2
        if flags & _RST or connection.fins == 3:
            del self._connections[key]
            items += self._close(key, connection, finished=True)
        if len(self._connections) > MAX_CONNECTIONS:
            oldest, evicted = self._connections.popitem(last=False)
            items += self._close(oldest, evicted, finished=False)
        return items

    def skips(self, source: Endpoint, target: Endpoint, flags: int, has_payload: bool) -> bool:
        """Whether `segment` would give nothing for a well-formed segment and change no more
        than its connection's place among the least recently active (done here).

        True for most segments: those of connections not followed, and those
        whose direction is `done` (encrypted TLS records, for instance).
        False for a SYN, FIN or RST and for bytes a conversation still reads.
        """
        key = (source, target) if source < target else (target, source)
        connection = self._connections.get(key)
        if connection is None:
            return not flags & _SYN and (not has_payload or key in self._closed)
        if flags & (_SYN | _FIN | _RST):
            return False
        if has_payload and not connection.streams[0 if source == connection.client else 1].done:
            return False
        self._connections.move_to_end(key)
        return True

    def finish(self) -> list[ReadItem]:
        """End every connection still open (the capture is over)."""
        items: list[ReadItem] = []
        while self._connections:
            key, connection = self._connections.popitem(last=False)
            items += self._close(key, connection, finished=False)
        return items

    def _open(
        self,
        key: tuple[Endpoint, Endpoint],
        source: Endpoint,
        target: Endpoint,
        flags: int,
    ) -> _Connection:
        if flags & _SYN:
            sender_is_client = not flags & _ACK
        elif (target[1] in _SERVICE_PORTS) != (source[1] in _SERVICE_PORTS):
            sender_is_client = target[1] in _SERVICE_PORTS
        else:
            sender_is_client = target[1] < source[1]
        client, server = (source, target) if sender_is_client else (target, source)
        address = str(ipaddress.ip_address(server[0]))
        connection = _Connection(client=client, address=address, port=server[1])
        if server[1] == 53:
            connection.conversation = _DnsConversation(self._on_dns)
        self._connections[key] = connection
        return connection

    def _deliver(
        self,
        connection: _Connection,
        from_client: bool,
        seq: int,
        datagram: Datagram,
        header: int,
        frame: Frame,
    ) -> list[ReadItem]:
        stream = connection.streams[0 if from_client else 1]
        items: list[ReadItem] = []
        data = stream.accept(seq, datagram.payload[header:])
        if data is None:
            where = _direction(connection, from_client)
            message = f"{where}: more than {MAX_OUT_OF_ORDER} bytes wait behind a missing segment"
            provenance = self._locate(frame.number)
            message += "; not read further"
            items.append(
                ReadIssue(provenance=provenance, message=message, severity=Severity.WARNING)
            )
        if datagram.is_cut:  # the snap length cut this segment: what follows cannot be placed
            stream.done = True
        if not data:
            return items
        conversation = connection.conversation
        if conversation is None:
            if not from_client:
                return items  # the server spoke first: neither HTTP nor TLS
            conversation = connection.conversation = self._choose(data, connection)
            if conversation is None:
                connection.streams[0].done = connection.streams[1].done = True
                return items
        if from_client:
            found = conversation.client_data(data, frame)
        else:
            found = conversation.server_data(data, frame)
        connection.streams[0].done |= not conversation.wants_client
        connection.streams[1].done |= not conversation.wants_server
        connection.has_output |= any(not isinstance(item, ReadIssue) for item in found)
        return items + found

    def _close(
        self, key: tuple[Endpoint, Endpoint], connection: _Connection, *, finished: bool
    ) -> list[ReadItem]:
        """What the connection still holds; `finished`: it ended with FIN or RST.

        Segments of a finished connection that come later (retransmissions,
        the last ACK) must not open it again; an evicted one may reopen.
        """
        if finished:
            self._closed[key] = None
            if len(self._closed) > MAX_CONNECTIONS:
                self._closed.popitem(last=False)
        items = connection.conversation.close() if connection.conversation else []
        connection.has_output |= any(not isinstance(item, ReadIssue) for item in items)
        is_dns = isinstance(connection.conversation, _DnsConversation)
        if connection.opened is None or connection.has_output or is_dns:
            return items
        number, time = connection.opened
        exchange = HttpExchange(
            provenance=self._locate(number),
            host=connection.address,
            port=connection.port,
            scheme="tcp",
            time=time,
            server_address=connection.address,
        )
        return [*items, exchange]

    def _choose(self, first_bytes: bytes, connection: _Connection) -> _Conversation | None:
        """The reader for a stream whose client sent `first_bytes` first."""
        if looks_like_tls(first_bytes):
            return TlsConversation(connection.address, connection.port, self._locate)
        if _REQUEST_LINE.match(first_bytes) and not first_bytes.startswith(_HTTP2_PREFACE):
            return HttpConversation(connection.address, connection.port, self._locate)
        return None


def _direction(connection: _Connection, from_client: bool) -> str:
    client = f"{ipaddress.ip_address(connection.client[0])}:{connection.client[1]}"
    arrow = "->" if from_client else "<-"
    return f"TCP stream {client} {arrow} {connection.address}:{connection.port}"


class _DnsConversation:
    """DNS over TCP: each message carries a 2-byte length prefix (RFC 1035 §4.2.2)."""

    wants_client = wants_server = True

    def __init__(self, on_dns: OnDns) -> None:
        self._on_dns = on_dns
        self._buffers = (bytearray(), bytearray())

    def client_data(self, data: bytes, frame: Frame) -> list[ReadItem]:
        return self._messages(self._buffers[0], data, frame)

    def server_data(self, data: bytes, frame: Frame) -> list[ReadItem]:
        return self._messages(self._buffers[1], data, frame)

    def close(self) -> list[ReadItem]:
        return []

    def _messages(self, buffer: bytearray, data: bytes, frame: Frame) -> list[ReadItem]:
        buffer += data
        items: list[ReadItem] = []
        while len(buffer) >= 2:
            size = int.from_bytes(buffer[:2], "big")
            if len(buffer) < 2 + size:
                break
            message = bytes(buffer[2 : 2 + size])
            del buffer[: 2 + size]
            items += self._on_dns(message, frame)
        return items
