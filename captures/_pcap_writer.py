"""Wire bytes for the Henan fixture's packet capture: Ethernet/IPv4/TCP/UDP frames, TLS 1.2
handshake messages, a deterministic RSA key, and a classic pcap file around them.

Used by make_henan_2022.py; nothing here knows about the Henan case.  Everything is
deterministic: "random" bytes come from SHA-256 in counter mode over a label, TCP initial
sequence numbers and IP ids are given by the caller, timestamps are integer microseconds.
"""

from __future__ import annotations

import hashlib
import io
import ipaddress
import math
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field

import dpkt
from cryptography.hazmat.primitives.asymmetric import rsa

MSS = 1460
"""Largest TCP payload per segment (Ethernet MTU 1500 less IPv4 and TCP headers)."""

SYN_OPTIONS = bytes.fromhex("020405b40101040201030307")
"""MSS 1460, NOP, NOP, SACK permitted, NOP, window scale 7 (as Linux and Android send)."""


def pseudo_random(label: str, size: int) -> bytes:
    """`size` bytes that look random and depend only on `label` (SHA-256, counter mode)."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{label}#{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


def _mac(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


# --- a deterministic RSA key ----------------------------------------------------------------

_SMALL_PRIMES = [p for p in range(3, 2000, 2) if all(p % d for d in range(3, math.isqrt(p) + 1, 2))]


def _is_probable_prime(n: int) -> bool:
    """Trial division, then Miller-Rabin with fixed bases (the first 24 primes)."""
    if any(n % p == 0 for p in _SMALL_PRIMES):
        return n in _SMALL_PRIMES
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for base in [2, *_SMALL_PRIMES[:23]]:
        x = pow(base, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime_from(label: str, bits: int, exponent: int) -> int:
    """The first probable prime at or after a `bits`-bit number drawn from `label`."""
    n = int.from_bytes(pseudo_random(label, bits // 8), "big")
    n |= (3 << (bits - 2)) | 1  # top two bits set: the product of two has exactly 2*bits bits
    while not (_is_probable_prime(n) and math.gcd(exponent, n - 1) == 1):
        n += 2
    return n


def rsa_key_from_label(label: str, bits: int = 2048, exponent: int = 65537) -> rsa.RSAPrivateKey:
    """An RSA key whose primes are the first probable primes after numbers drawn from `label`."""
    p = _prime_from(label + "/p", bits // 2, exponent)
    q = _prime_from(label + "/q", bits // 2, exponent)
    d = pow(exponent, -1, math.lcm(p - 1, q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q),
        rsa.RSAPublicNumbers(exponent, p * q),
    )  # fmt: skip
    return numbers.private_key()


# --- TLS 1.2 handshake messages (RFC 5246, extensions RFC 6066, 7301, 7627, 8422, 5746) -------

EXT_SERVER_NAME = 0
EXT_STATUS_REQUEST = 5
EXT_SUPPORTED_GROUPS = 10
EXT_EC_POINT_FORMATS = 11
EXT_SIGNATURE_ALGORITHMS = 13
EXT_ALPN = 16
EXT_SCT = 18
EXT_EXTENDED_MASTER_SECRET = 23
EXT_SESSION_TICKET = 35
EXT_RENEGOTIATION_INFO = 0xFF01

CONTENT_CHANGE_CIPHER_SPEC = 20
CONTENT_ALERT = 21
CONTENT_HANDSHAKE = 22
CONTENT_APPLICATION_DATA = 23


def _u8(data: bytes) -> bytes:
    return struct.pack(">B", len(data)) + data


def _u16(data: bytes) -> bytes:
    return struct.pack(">H", len(data)) + data


def _u24(data: bytes) -> bytes:
    return struct.pack(">I", len(data))[1:] + data


def _codes(values: Iterable[int]) -> bytes:
    return b"".join(struct.pack(">H", v) for v in values)


def record(content_type: int, payload: bytes, version: int = 0x0303) -> bytes:
    """One TLS record: type, version, 16-bit length, payload."""
    return struct.pack(">BH", content_type, version) + _u16(payload)


def handshake(msg_type: int, body: bytes) -> bytes:
    """One handshake message: type, 24-bit length, body."""
    return struct.pack(">B", msg_type) + _u24(body)


@dataclass(frozen=True)
class ClientHello:
    """The parameters of a TLS 1.2 ClientHello, in the order they go on the wire."""

    random: bytes
    session_id: bytes
    ciphers: tuple[int, ...]
    extensions: tuple[int, ...]
    """Extension types, in wire order; their contents come from the fields below."""
    server_name: str
    groups: tuple[int, ...]
    signature_algorithms: tuple[int, ...]
    alpn: tuple[str, ...]
    version: int = 0x0303

    def extension_data(self, ext: int) -> bytes:
        if ext == EXT_SERVER_NAME:
            return _u16(b"\x00" + _u16(self.server_name.encode("ascii")))
        if ext == EXT_STATUS_REQUEST:
            return b"\x01" + _u16(b"") + _u16(b"")  # OCSP, no responder ids, no extensions
        if ext == EXT_SUPPORTED_GROUPS:
            return _u16(_codes(self.groups))
        if ext == EXT_EC_POINT_FORMATS:
            return _u8(b"\x00")  # uncompressed
        if ext == EXT_SIGNATURE_ALGORITHMS:
            return _u16(_codes(self.signature_algorithms))
        if ext == EXT_ALPN:
            return _u16(b"".join(_u8(p.encode("ascii")) for p in self.alpn))
        if ext == EXT_RENEGOTIATION_INFO:
            return _u8(b"")  # initial handshake: empty renegotiated_connection
        if ext in (EXT_SCT, EXT_EXTENDED_MASTER_SECRET, EXT_SESSION_TICKET):
            return b""
        raise ValueError(f"no content defined for extension {ext}")

    def message(self) -> bytes:
        extensions = b"".join(
            struct.pack(">H", ext) + _u16(self.extension_data(ext)) for ext in self.extensions
        )
        body = (
            struct.pack(">H", self.version) + self.random + _u8(self.session_id)
            + _u16(_codes(self.ciphers)) + _u8(b"\x00") + _u16(extensions)
        )  # fmt: skip
        return handshake(1, body)

    def record(self) -> bytes:
        # The first record of a connection says TLS 1.0 for compatibility (RFC 5246, E.1).
        return record(CONTENT_HANDSHAKE, self.message(), version=0x0301)


def server_hello(random: bytes, session_id: bytes, cipher: int, alpn: str) -> bytes:
    extensions = b"".join((
        struct.pack(">H", EXT_RENEGOTIATION_INFO) + _u16(_u8(b"")),
        struct.pack(">H", EXT_EC_POINT_FORMATS) + _u16(_u8(b"\x00")),
        struct.pack(">H", EXT_ALPN) + _u16(_u16(_u8(alpn.encode("ascii")))),
        struct.pack(">H", EXT_EXTENDED_MASTER_SECRET) + _u16(b""),
    ))  # fmt: skip
    body = struct.pack(">H", 0x0303) + random + _u8(session_id) + struct.pack(">HB", cipher, 0)
    return handshake(2, body + _u16(extensions))


def certificate(chain: Iterable[bytes]) -> bytes:
    return handshake(11, _u24(b"".join(_u24(der) for der in chain)))


def ecdhe_params(named_group: int, public: bytes) -> bytes:
    """ServerECDHParams: named_curve (3), the group, the public point."""
    return struct.pack(">BH", 3, named_group) + _u8(public)


def server_key_exchange(params: bytes, signature_scheme: int, signature: bytes) -> bytes:
    return handshake(12, params + struct.pack(">H", signature_scheme) + _u16(signature))


def server_hello_done() -> bytes:
    return handshake(14, b"")


def client_key_exchange(public: bytes) -> bytes:
    return handshake(16, _u8(public))


def encrypted_record(content_type: int, seq: int, plaintext_len: int, label: str) -> bytes:
    """An AES-GCM record: 8-byte explicit nonce (the sequence number), ciphertext, 16-byte tag.

    The ciphertext and tag are pseudo-random stand-ins of the right length.
    """
    body = struct.pack(">Q", seq) + pseudo_random(label, plaintext_len + 16)
    return record(content_type, body)


# --- frames and the pcap file ---------------------------------------------------------------


@dataclass
class Capture:
    """Frames as seen on the phone's interface, collected out of order, written sorted."""

    local_mac: str
    gateway_mac: str
    local_ip: str
    frames: list[tuple[int, int, bytes]] = field(default_factory=list)

    def add(
        self, ts_us: int, src_ip: str, dst_ip: str, proto: dpkt.Packet, ttl: int, ip_id: int
    ) -> None:
        outgoing = src_ip == self.local_ip
        ip = dpkt.ip.IP(
            src=ipaddress.IPv4Address(src_ip).packed, dst=ipaddress.IPv4Address(dst_ip).packed,
            p=dpkt.ip.IP_PROTO_TCP if isinstance(proto, dpkt.tcp.TCP) else dpkt.ip.IP_PROTO_UDP,
            ttl=ttl, id=ip_id & 0xFFFF, df=1, data=proto,
        )  # fmt: skip
        src, dst = (
            (self.local_mac, self.gateway_mac) if outgoing else (self.gateway_mac, self.local_mac)
        )
        eth = dpkt.ethernet.Ethernet(
            src=_mac(src), dst=_mac(dst), type=dpkt.ethernet.ETH_TYPE_IP, data=ip
        )
        self.frames.append((ts_us, len(self.frames), bytes(eth)))

    def udp(
        self,
        ts_us: int,
        src: tuple[str, int],
        dst: tuple[str, int],
        payload: bytes,
        ttl: int,
        ip_id: int,
    ) -> None:
        datagram = dpkt.udp.UDP(sport=src[1], dport=dst[1], ulen=8 + len(payload), data=payload)
        self.add(ts_us, src[0], dst[0], datagram, ttl, ip_id)

    def pcap(self, snaplen: int = 262144) -> bytes:
        buf = io.BytesIO()
        writer = dpkt.pcap.Writer(buf, snaplen=snaplen, linktype=dpkt.pcap.DLT_EN10MB)
        for ts_us, _, frame in sorted(self.frames):
            sec, usec = divmod(ts_us, 1_000_000)
            writer.writepkt_time(frame, sec + usec / 1_000_000)
        return buf.getvalue()


@dataclass
class _Side:
    ip: str
    port: int
    seq: int
    ip_id: int
    ttl: int
    window: int


class TcpConnection:
    """One TCP connection's segments with consistent sequence and acknowledgement numbers.

    Calls must come in the order the segments were sent on the wire (per connection).
    """

    def __init__(
        self,
        capture: Capture,
        client: tuple[str, int],
        server: tuple[str, int],
        isns: tuple[int, int],
        ip_ids: tuple[int, int],
        server_ttl: int,
    ) -> None:
        self.capture = capture
        self.client = _Side(client[0], client[1], isns[0], ip_ids[0], 64, 502)
        self.server = _Side(server[0], server[1], isns[1], ip_ids[1], server_ttl, 229)

    def _segment(
        self,
        ts_us: int,
        from_client: bool,
        flags: int,
        payload: bytes = b"",
        opts: bytes = b"",
        window: int | None = None,
    ) -> None:
        me, peer = (self.client, self.server) if from_client else (self.server, self.client)
        seg = dpkt.tcp.TCP(
            sport=me.port, dport=peer.port, seq=me.seq & 0xFFFFFFFF,
            ack=peer.seq & 0xFFFFFFFF if flags & dpkt.tcp.TH_ACK else 0,
            off=5 + len(opts) // 4, flags=flags, win=me.window if window is None else window,
            opts=opts, data=payload,
        )  # fmt: skip
        self.capture.add(ts_us, me.ip, peer.ip, seg, me.ttl, me.ip_id)
        me.ip_id += 1
        me.seq += len(payload) + (1 if flags & (dpkt.tcp.TH_SYN | dpkt.tcp.TH_FIN) else 0)

    def open(self, ts_us: int, rtt_us: int) -> int:
        """SYN, SYN-ACK, ACK; returns when the ACK left (the connection is up)."""
        self._segment(ts_us, True, dpkt.tcp.TH_SYN, opts=SYN_OPTIONS, window=65535)
        self._segment(ts_us + rtt_us - 200, False, dpkt.tcp.TH_SYN | dpkt.tcp.TH_ACK,
                      opts=SYN_OPTIONS, window=29200)  # fmt: skip
        self._segment(ts_us + rtt_us - 100, True, dpkt.tcp.TH_ACK)
        return ts_us + rtt_us

    def send(self, ts_us: int, from_client: bool, data: bytes, gap_us: int = 0) -> int:
        """`data` in MSS-sized segments `gap_us` apart; returns the last segment's time."""
        chunks = [data[i : i + MSS] for i in range(0, len(data), MSS)] or [b""]
        for n, chunk in enumerate(chunks):
            self._segment(ts_us + n * gap_us, from_client,
                          dpkt.tcp.TH_ACK | dpkt.tcp.TH_PUSH, chunk)  # fmt: skip
        return ts_us + (len(chunks) - 1) * gap_us

    def ack(self, ts_us: int, from_client: bool) -> None:
        self._segment(ts_us, from_client, dpkt.tcp.TH_ACK)

    def close_by_server(self, ts_us: int, rtt_us: int) -> None:
        """The server closes an idle connection: FIN, ACK, the phone's FIN, ACK."""
        fin_ack = dpkt.tcp.TH_FIN | dpkt.tcp.TH_ACK
        self._segment(ts_us, False, fin_ack)
        self._segment(ts_us + 150, True, dpkt.tcp.TH_ACK)
        self._segment(ts_us + 400, True, fin_ack)
        self._segment(ts_us + 400 + rtt_us, False, dpkt.tcp.TH_ACK)
