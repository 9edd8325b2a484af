"""Deterministic benchmark inputs for hostmap: pcap, HAR, mitmproxy flows, zone file, passive DNS.

    python benchmarks/generate.py --size small --kind all --out benchmarks/data/small

Every file is a function of (kind, size, seed) only: two runs give the same
bytes (checked by tests/test_benchmarks_generate.py).  Files are written as
they are generated, record by record, so generating the largest size needs no
more memory than the smallest.

What the files hold (one shared "world" of host names, addresses, CNAMEs,
certificates, built from the seed):

- pcap (dpkt, Ethernet, IPv4 and some IPv6): interleaved sessions of DNS
  over UDP (query and answer: A, AAAA, CNAME chains), TLS 1.3 connections
  (handshake, ClientHello with SNI, ServerHello, encrypted records, FIN;
  some end with RST or not at all), HTTP/1.1 connections (requests with
  keep-alive, responses with JSON/HTML bodies that name other hosts, bodies
  split over segments), and a few QUIC datagrams.  `count` = packets.
- har: one HAR 1.2 document, entries streamed as Chrome writes them
  (headers, cookies, query strings, timings, serverIPAddress, small text
  bodies and some base64 images).  `count` = entries.
- mitm: a mitmproxy flow dump written by `mitmproxy.io.FlowWriter`, flows
  built as `mitmproxy.test.tflow` builds them but with a realistic mix:
  hosts, paths, headers, small (some gzip) bodies, redirects, errors, leaf
  certificates (Ed25519, deterministic) on HTTPS flows.  `count` = flows.
- zone: one BIND master file: $ORIGIN/$TTL, a multi-line SOA, then A, AAAA,
  CNAME, MX, TXT, SRV, NS and CAA records, owners omitted or relative or
  absolute, TTL and class present or not, comments, $ORIGIN changes to
  subdomains.  `count` = resource records.
- pdns: passive-DNS COF JSON lines (DNSDB export style: rrname, rrtype,
  rdata list, time_first/time_last, count, bailiwick), names and addresses
  drawn from pools so that many addresses are shared by several names.
  `count` = rows (JSON lines).

`manifest.json` in the output folder lists each file with its unit, count and
size; it holds no timings, so it is deterministic too.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import ipaddress
import json
import random
import struct
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

KINDS = ("pcap", "har", "mitm", "zone", "pdns")

SIZES: dict[str, dict[str, int]] = {
    "tiny": {"pcap": 1_000, "har": 1_000, "mitm": 1_000, "zone": 1_000, "pdns": 1_000},
    "small": {"pcap": 100_000, "har": 30_000, "mitm": 10_000, "zone": 100_000,
              "pdns": 1_000_000},
    "medium": {"pcap": 1_000_000, "har": 300_000, "mitm": 100_000, "zone": 1_000_000,
               "pdns": 10_000_000},
    "large": {"pcap": 3_000_000, "har": 900_000, "mitm": 300_000, "zone": 3_000_000,
              "pdns": 30_000_000},
}
"""Records per kind and size; medium is the size the scale issue names."""

FILES = {"pcap": "capture.pcap", "har": "session.har", "mitm": "flows.mitm",
         "zone": "bench.example.zone", "pdns": "pdns.jsonl"}
UNITS = {"pcap": "packets", "har": "entries", "mitm": "flows", "zone": "records",
         "pdns": "rows"}

DEFAULT_SEED = 20220614
BASE_TIME = 1655164800  # 2022-06-14T00:00:00Z
ZONE_ORIGIN = "bench.example."

# -- the shared world ------------------------------------------------------------------------

_SYLLABLES = ("api", "img", "static", "cdn", "m", "www", "jkm", "health", "pay", "log", "push",
              "gw", "auth", "upload", "video", "news", "mail", "ws", "app", "open", "res", "dl",
              "h5", "mp", "sso", "msg", "cfg", "track", "data", "portal")
_WORDS = ("henan", "zhong", "yun", "hua", "tong", "xin", "jian", "kang", "ma", "zheng", "wu",
          "da", "bai", "tian", "feng", "hai", "long", "jing", "an", "sheng", "qi", "ling")
_TLDS = ("cn", "com", "com.cn", "net", "gov.cn", "org", "net.cn")
_CITIES = ("zz", "ly", "kf", "ay", "xx", "pds", "hb", "jz", "py", "xc", "lh", "smx", "ny", "sq",
           "xy", "zk", "zmd", "jy")
_CDN_SUFFIXES = ("kunlunca.com", "w.alikunlun.com", "cdn.dnsv1.com", "wscdns.com",
                 "edgekey.net", "cloudfront.net")
_FIRST_OCTETS = (1, 14, 27, 36, 39, 42, 58, 101, 103, 106, 110, 111, 112, 113, 114, 115, 116,
                 117, 118, 119, 120, 121, 122, 123, 124, 125, 139, 140, 175, 180, 182, 183, 202,
                 203, 210, 211, 218, 219, 220, 221, 222, 223)
_SERVERS = ("nginx", "nginx/1.20.1", "Tengine", "openresty", "Apache", "Microsoft-IIS/10.0",
            "BWS/1.1", "JSP3/2.0.14", "cloudflare", "AliyunOSS")
_USER_AGENTS = (
    "Mozilla/5.0 (Linux; Android 12; M2102J2SC) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/96.0.4664.104 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 15_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.23",
    "okhttp/4.9.3",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/102.0.5005.115 Safari/537.36",
)
_MIME_BODIES = ("application/json; charset=utf-8", "text/html; charset=utf-8",
                "application/javascript", "image/png", "image/jpeg", "text/css",
                "application/octet-stream")


class World:
    """Hosts with their addresses and CNAMEs, shared by every generator; built from the seed."""

    def __init__(self, seed: int, hosts: int = 1500, v4: int = 500, v6: int = 80) -> None:
        rng = random.Random(f"{seed}:world")
        self.domains = sorted({f"{rng.choice(_WORDS)}{rng.choice(_WORDS)}.{rng.choice(_TLDS)}"
                               for _ in range(60)})
        self.v4 = [self._v4(rng) for _ in range(v4)]
        self.v6 = [f"240e:{rng.randrange(1, 0xfff):x}:{rng.randrange(0x10000):x}::"
                   f"{rng.randrange(1, 0x10000):x}" for _ in range(v6)]
        names: dict[str, None] = {}
        while len(names) < hosts:
            domain = rng.choice(self.domains)
            if rng.random() < 0.15:  # a family: one host per city on one address
                stem = rng.choice(_SYLLABLES)
                for city in rng.sample(_CITIES, rng.randrange(3, 10)):
                    names[f"{city}-{stem}.{domain}"] = None
            else:
                names[f"{rng.choice(_SYLLABLES)}{rng.choice(('', '1', '2', '3'))}.{domain}"] = None
        self.hosts = list(names)[:hosts]
        self.addresses: dict[str, list[str]] = {}
        self.cname: dict[str, str] = {}
        self.v6_of: dict[str, str] = {}
        for host in self.hosts:
            first = host.split(".", 1)[0]
            if "-" in first:  # families share one address per family stem
                key = host.split("-", 1)[1]
                pick = random.Random(key).randrange(len(self.v4))
                self.addresses[host] = [self.v4[pick]]
            else:
                self.addresses[host] = rng.sample(self.v4, rng.choice((1, 1, 1, 2, 3)))
            if rng.random() < 0.2:
                self.cname[host] = f"{host.split('.')[0]}.{rng.choice(_CDN_SUFFIXES)}"
            if rng.random() < 0.1:
                self.v6_of[host] = rng.choice(self.v6)
        # A few hosts get most of the traffic, as in any app session.
        total = 0.0
        self._cumulative = []
        for rank in range(len(self.hosts)):
            total += 1.0 / (rank + 1) ** 0.8
            self._cumulative.append(total)

    @staticmethod
    def _v4(rng: random.Random) -> str:
        return (f"{rng.choice(_FIRST_OCTETS)}.{rng.randrange(256)}.{rng.randrange(256)}."
                f"{rng.randrange(1, 255)}")

    def host(self, rng: random.Random) -> str:
        return rng.choices(self.hosts, cum_weights=self._cumulative)[0]

    def address(self, host: str, rng: random.Random) -> str:
        return rng.choice(self.addresses[host])

    def other_host_url(self, rng: random.Random) -> str:
        return f"https://{self.host(rng)}/{rng.choice(_SYLLABLES)}/{rng.randrange(10**6)}.js"


def _path(rng: random.Random) -> str:
    parts = [rng.choice(_SYLLABLES) for _ in range(rng.randrange(1, 4))]
    path = "/" + "/".join(parts)
    if rng.random() < 0.4:
        path += f"?id={rng.randrange(10**8)}&t={rng.randrange(10**10)}&v=2"
    return path


def _body(world: World, rng: random.Random, mime: str) -> bytes:
    """A small response body; JSON/HTML/JS ones name other hosts (for body_urls)."""
    if mime.startswith("application/json"):
        items = ", ".join(f'{{"id": {rng.randrange(10**6)}, "icon": '
                          f'"{world.other_host_url(rng).replace("/", chr(92) + "/")}"}}'
                          for _ in range(rng.randrange(1, 4)))
        return f'{{"code": 0, "msg": "ok", "data": [{items}]}}'.encode()
    if mime.startswith("text/html"):
        links = "".join(f'<script src="{world.other_host_url(rng)}"></script>'
                        for _ in range(rng.randrange(1, 3)))
        return (f"<!DOCTYPE html><html><head><meta charset=utf-8><title>{rng.choice(_WORDS)}"
                f"</title>{links}</head><body><div id=app></div></body></html>").encode()
    if mime == "application/javascript":
        return (f'!function(){{var u="{world.other_host_url(rng)}";window.cfg={{api:u,'
                f'v:{rng.randrange(1000)}}}}}();').encode()
    if mime == "text/css":
        return b"body{margin:0;font-family:sans-serif}.a{color:#333}"
    return rng.randbytes(rng.randrange(64, 400))


def _response_headers(rng: random.Random, mime: str, length: int, when: datetime
                      ) -> list[tuple[str, str]]:
    headers = [("Server", rng.choice(_SERVERS)),
               ("Date", when.strftime("%a, %d %b %Y %H:%M:%S GMT")),
               ("Content-Type", mime), ("Content-Length", str(length)),
               ("Connection", "keep-alive")]
    roll = rng.random()
    if roll < 0.15:
        headers.append(("Via", f"cache{rng.randrange(40)}.l2cn{rng.randrange(9)}[0,200-0,H]"))
        headers.append(("X-Cache", rng.choice(("HIT", "MISS", "TCP_MEM_HIT dirn:-2:-2"))))
    elif roll < 0.25:
        pool = rng.randrange(1, 9)
        headers.append(("Set-Cookie", f"BIGipServerpool_app={pool * 16777343}.20480.0000; "
                                      f"path=/; Httponly"))
    elif roll < 0.3:
        headers.append(("Set-Cookie", f"SERVERID={rng.randbytes(16).hex()}|{BASE_TIME}|"
                                      f"{BASE_TIME}; Path=/"))
    headers.append(("Cache-Control", rng.choice(("no-cache", "max-age=600", "private"))))
    headers.append(("X-Request-Id", rng.randbytes(16).hex()))
    headers.append(("Vary", "Accept-Encoding"))
    if rng.random() < 0.5:
        headers.append(("Access-Control-Allow-Origin", "*"))
        headers.append(("Strict-Transport-Security", "max-age=31536000"))
    if rng.random() < 0.4:
        headers.append(("ETag", f'"{rng.randbytes(8).hex()}-{rng.randrange(10**4):x}"'))
        headers.append(("Last-Modified", "Mon, 13 Jun 2022 08:00:00 GMT"))
    return headers


def _request_headers(rng: random.Random, host: str) -> list[tuple[str, str]]:
    headers = [("Host", host), ("User-Agent", rng.choice(_USER_AGENTS)),
               ("Accept", "application/json, text/plain, */*"),
               ("Accept-Encoding", "gzip, deflate"), ("Accept-Language", "zh-CN,zh;q=0.9")]
    if rng.random() < 0.5:
        headers.append(("Cookie", f"sid={rng.randbytes(12).hex()}; uid={rng.randrange(10**9)}"))
    if rng.random() < 0.3:
        headers.append(("Referer", f"https://{host}/"))
    return headers


# -- pcap ------------------------------------------------------------------------------------

_SYN, _FIN, _RST, _PSH, _ACK = 0x02, 0x01, 0x04, 0x08, 0x10
_MSS = 1448
_CLIENT_MAC, _GATEWAY_MAC = bytes.fromhex("3c22fb1a2b3c"), bytes.fromhex("a4b1c2d3e4f5")
_RESOLVERS_V4 = ("192.168.1.1", "114.114.114.114", "223.5.5.5")
_SYN_OPTIONS = bytes.fromhex("020405b40103030801010402")


def _ip_bytes(address: str) -> bytes:
    return ipaddress.ip_address(address).packed


class _PcapBuilder:
    """Frames as bytes, built with dpkt (lengths and checksums computed by dpkt)."""

    def __init__(self) -> None:
        import dpkt

        self.dpkt = dpkt

    def frame(self, src: str, dst: str, transport: object, protocol: int) -> bytes:
        dpkt = self.dpkt
        if ":" in src:
            ip: object = dpkt.ip6.IP6(src=_ip_bytes(src), dst=_ip_bytes(dst), nxt=protocol,
                                      hlim=64, data=transport, plen=len(transport))  # type: ignore[arg-type]
            ether_type = dpkt.ethernet.ETH_TYPE_IP6
        else:
            ip = dpkt.ip.IP(src=_ip_bytes(src), dst=_ip_bytes(dst), p=protocol, ttl=64,
                            data=transport, id=len(transport) & 0xFFFF)
            ether_type = dpkt.ethernet.ETH_TYPE_IP
        outgoing = src.startswith(("10.", "192.168.", "fd00:"))
        ether = dpkt.ethernet.Ethernet(src=_CLIENT_MAC if outgoing else _GATEWAY_MAC,
                                       dst=_GATEWAY_MAC if outgoing else _CLIENT_MAC,
                                       type=ether_type, data=ip)
        return bytes(ether)

    def tcp(self, src: str, dst: str, sport: int, dport: int, seq: int, ack: int, flags: int,
            payload: bytes = b"") -> bytes:
        dpkt = self.dpkt
        options = _SYN_OPTIONS if flags & _SYN else b""
        segment = dpkt.tcp.TCP(sport=sport, dport=dport, seq=seq & 0xFFFFFFFF,
                               ack=ack & 0xFFFFFFFF, flags=flags, win=65535, opts=options,
                               data=payload)
        segment.off = 5 + len(options) // 4
        return self.frame(src, dst, segment, 6)

    def udp(self, src: str, dst: str, sport: int, dport: int, payload: bytes) -> bytes:
        datagram = self.dpkt.udp.UDP(sport=sport, dport=dport, data=payload)
        datagram.ulen = 8 + len(payload)
        return self.frame(src, dst, datagram, 17)


def _client_hello(rng: random.Random, sni: str) -> bytes:
    """A TLS 1.3 ClientHello record (as a browser sends it), with SNI and ALPN."""
    name = sni.encode()
    extensions = [
        (0, struct.pack("!HBH", len(name) + 3, 0, len(name)) + name),
        (23, b""), (65281, b"\x00"),
        (10, bytes.fromhex("0008001d001700180019")),
        (11, b"\x01\x00"),
        (35, b""),
        (16, bytes.fromhex("000c02683208687474702f312e31")),
        (5, bytes.fromhex("0100000000")),
        (13, bytes.fromhex("001004030804040105030805050108060601")),
        (51, bytes.fromhex("0024001d0020") + rng.randbytes(32)),
        (45, b"\x01\x01"),
        (43, bytes.fromhex("0a0a0a0304030303020301")),
        (27, b"\x02\x00\x02"),
    ]
    ext = b"".join(struct.pack("!HH", kind, len(data)) + data for kind, data in extensions)
    ciphers = bytes.fromhex("1301130213031301c02bc02fc02cc030cca9cca8c013c014009c009d002f0035")
    body = (b"\x03\x03" + rng.randbytes(32) + b"\x20" + rng.randbytes(32)
            + struct.pack("!H", len(ciphers)) + ciphers + b"\x01\x00"
            + struct.pack("!H", len(ext)) + ext)
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack("!H", len(handshake)) + handshake


def _server_flight(rng: random.Random) -> bytes:
    """ServerHello (TLS 1.3), ChangeCipherSpec, then encrypted records (certificate hidden)."""
    ext = (struct.pack("!HH", 43, 2) + b"\x03\x04"
           + struct.pack("!HH", 51, 36) + b"\x00\x1d\x00\x20" + rng.randbytes(32))
    body = (b"\x03\x03" + rng.randbytes(32) + b"\x20" + rng.randbytes(32) + b"\x13\x01\x00"
            + struct.pack("!H", len(ext)) + ext)
    handshake = b"\x02" + len(body).to_bytes(3, "big") + body
    encrypted = rng.randbytes(rng.randrange(1800, 4200))
    return (b"\x16\x03\x03" + struct.pack("!H", len(handshake)) + handshake
            + b"\x14\x03\x03\x00\x01\x01"
            + b"\x17\x03\x03" + struct.pack("!H", len(encrypted)) + encrypted)


def _app_data(rng: random.Random, low: int, high: int) -> bytes:
    data = rng.randbytes(rng.randrange(low, high))
    return b"\x17\x03\x03" + struct.pack("!H", len(data)) + data


class _Clock:
    def __init__(self) -> None:
        self.micros = 0

    def tick(self, rng: random.Random) -> float:
        self.micros += rng.randrange(20, 4000)
        return BASE_TIME + self.micros / 1_000_000


def _tcp_session(b: _PcapBuilder, rng: random.Random, client: str, server: str, port: int,
                 payloads: list[tuple[bool, bytes]]) -> Iterator[bytes]:
    """Handshake, the payloads (client? data) cut into segments with ACKs, then an ending."""
    sport = rng.randrange(32768, 61000)
    cseq, sseq = rng.getrandbits(32), rng.getrandbits(32)
    yield b.tcp(client, server, sport, port, cseq, 0, _SYN)
    yield b.tcp(server, client, port, sport, sseq, cseq + 1, _SYN | _ACK)
    cseq, sseq = cseq + 1, sseq + 1
    yield b.tcp(client, server, sport, port, cseq, sseq, _ACK)
    for from_client, data in payloads:
        for start in range(0, len(data), _MSS):
            chunk = data[start:start + _MSS]
            if from_client:
                yield b.tcp(client, server, sport, port, cseq, sseq, _PSH | _ACK, chunk)
                cseq += len(chunk)
            else:
                yield b.tcp(server, client, port, sport, sseq, cseq, _PSH | _ACK, chunk)
                sseq += len(chunk)
        if from_client:
            yield b.tcp(server, client, port, sport, sseq, cseq, _ACK)
        else:
            yield b.tcp(client, server, sport, port, cseq, sseq, _ACK)
    ending = rng.random()
    if ending < 0.8:
        yield b.tcp(client, server, sport, port, cseq, sseq, _FIN | _ACK)
        yield b.tcp(server, client, port, sport, sseq, cseq + 1, _FIN | _ACK)
        yield b.tcp(client, server, sport, port, cseq + 1, sseq + 1, _ACK)
    elif ending < 0.9:
        yield b.tcp(client, server, sport, port, cseq, sseq, _RST | _ACK)
    # else: the capture never sees this connection end


def _dns_session(b: _PcapBuilder, world: World, rng: random.Random, client: str,
                 host: str) -> Iterator[bytes]:
    dpkt = b.dpkt
    ident = rng.randrange(65536)
    v6 = host in world.v6_of and rng.random() < 0.5
    qtype = dpkt.dns.DNS_AAAA if v6 else dpkt.dns.DNS_A
    query = dpkt.dns.DNS(id=ident, rd=1, qd=[dpkt.dns.DNS.Q(name=host, type=qtype)])
    resolver = rng.choice(_RESOLVERS_V4)
    sport = rng.randrange(32768, 61000)
    yield b.udp(client, resolver, sport, 53, bytes(query))
    answers = []
    owner = host
    if host in world.cname:
        answers.append(dpkt.dns.DNS.RR(name=host, type=dpkt.dns.DNS_CNAME, ttl=600,
                                       cname=world.cname[host]))
        owner = world.cname[host]
    if v6:
        answers.append(dpkt.dns.DNS.RR(name=owner, type=dpkt.dns.DNS_AAAA, ttl=60,
                                       ip6=_ip_bytes(world.v6_of[host])))
    else:
        for address in world.addresses[host]:
            answers.append(dpkt.dns.DNS.RR(name=owner, type=dpkt.dns.DNS_A, ttl=60,
                                           ip=_ip_bytes(address)))
    response = dpkt.dns.DNS(id=ident, qr=dpkt.dns.DNS_R, rd=1, ra=1,
                            qd=[dpkt.dns.DNS.Q(name=host, type=qtype)], an=answers)
    yield b.udp(resolver, client, 53, sport, bytes(response))


def _http_payloads(world: World, rng: random.Random, host: str) -> list[tuple[bool, bytes]]:
    payloads = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        method = "POST" if rng.random() < 0.2 else "GET"
        head = f"{method} {_path(rng)} HTTP/1.1\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in _request_headers(rng, host))
        body = b""
        if method == "POST":
            body = f'{{"uid": {rng.randrange(10**9)}, "ts": {rng.randrange(10**10)}}}'.encode()
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        payloads.append((True, (head + "\r\n").encode() + body))
        mime = rng.choice(_MIME_BODIES)
        content = _body(world, rng, mime)
        if rng.random() < 0.1:  # some responses are large: several segments
            content += b" " * rng.randrange(2000, 12000)
        when = datetime.fromtimestamp(BASE_TIME, UTC)
        status = rng.choice((200,) * 12 + (204, 301, 302, 304, 404, 500))
        headers = _response_headers(rng, mime, len(content), when)
        if status in (301, 302):
            headers.append(("Location", f"https://{host}{_path(rng)}"))
        if status in (204, 304):
            content = b""
            headers = [(n, v) for n, v in headers if n != "Content-Length"]
        reason = {200: "OK", 204: "No Content", 301: "Moved Permanently", 302: "Found",
                  304: "Not Modified", 404: "Not Found", 500: "Internal Server Error"}[status]
        response = f"HTTP/1.1 {status} {reason}\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in headers) + "\r\n"
        payloads.append((False, response.encode() + content))
    return payloads


def _pcap_session(b: _PcapBuilder, world: World, rng: random.Random) -> Iterator[bytes]:
    """One client activity: resolve a host, then talk to it over TLS or HTTP (or QUIC)."""
    client = f"192.168.1.{rng.randrange(2, 60)}"
    host = world.host(rng)
    if rng.random() < 0.7:
        yield from _dns_session(b, world, rng, client, host)
    server = world.address(host, rng)
    roll = rng.random()
    if host in world.v6_of and roll < 0.1:
        client, server = f"fd00::{rng.randrange(2, 60):x}", world.v6_of[host]
    if roll < 0.6:
        payloads = [(True, _client_hello(rng, host)), (False, _server_flight(rng)),
                    (True, _app_data(rng, 60, 120))]
        for _ in range(rng.randrange(1, 5)):
            payloads.append((True, _app_data(rng, 200, 900)))
            payloads.append((False, _app_data(rng, 300, 6000)))
        yield from _tcp_session(b, rng, client, server, 443, payloads)
    elif roll < 0.95:
        port = 80 if rng.random() < 0.85 else rng.choice((8080, 7777))
        yield from _tcp_session(b, rng, client, server, port, _http_payloads(world, rng, host))
    else:
        sport = rng.randrange(32768, 61000)
        for _ in range(rng.randrange(2, 6)):
            yield b.udp(client, server, sport, 443, b"\xc3\x00\x00\x00\x01" + rng.randbytes(1200))


def write_pcap(path: Path, count: int, world: World, seed: int) -> int:
    import dpkt

    rng = random.Random(f"{seed}:pcap")
    builder = _PcapBuilder()
    clock = _Clock()
    active: list[Iterator[bytes]] = []
    written = 0
    with path.open("wb") as stream:
        writer = dpkt.pcap.Writer(stream, snaplen=65535, linktype=dpkt.pcap.DLT_EN10MB)
        while written < count:
            while len(active) < 24:  # interleaved sessions, as a busy phone's capture has
                active.append(_pcap_session(builder, world, rng))
            index = rng.randrange(len(active))
            packet = next(active[index], None)
            if packet is None:
                active[index] = active[-1]
                active.pop()
                continue
            writer.writepkt(packet, ts=clock.tick(rng))
            written += 1
    return written


# -- HAR -------------------------------------------------------------------------------------

def _har_headers(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in pairs]


_CHROME_HEADERS = [
    ("sec-ch-ua", '" Not A;Brand";v="99", "Chromium";v="102", "Google Chrome";v="102"'),
    ("sec-ch-ua-mobile", "?1"), ("sec-ch-ua-platform", '"Android"'),
    ("Sec-Fetch-Dest", "empty"), ("Sec-Fetch-Mode", "cors"), ("Sec-Fetch-Site", "same-site"),
]


def _har_entry(world: World, rng: random.Random, index: int) -> dict[str, object]:
    host = world.host(rng)
    scheme = "https" if rng.random() < 0.85 else "http"
    port = "" if rng.random() < 0.95 else f":{rng.choice((8080, 8443, 7777))}"
    path = _path(rng)
    url = f"{scheme}://{host}{port}{path}"
    method = "POST" if rng.random() < 0.2 else "GET"
    started = datetime.fromtimestamp(BASE_TIME, UTC) + timedelta(milliseconds=index * 37
                                                                  + rng.randrange(30))
    mime = rng.choice(_MIME_BODIES)
    body = _body(world, rng, mime)
    status = rng.choice((200,) * 12 + (204, 301, 302, 304, 404, 0))
    headers = _response_headers(rng, mime, len(body), started)
    redirect = ""
    if status in (301, 302):
        redirect = f"https://{world.host(rng)}{_path(rng)}"
        headers.append(("Location", redirect))
    content: dict[str, object] = {"size": len(body), "mimeType": mime.split(";")[0]}
    if mime.startswith(("text/", "application/json", "application/javascript")):
        content["text"] = body.decode()
    elif rng.random() < 0.3:
        content["text"] = base64.b64encode(body).decode()
        content["encoding"] = "base64"
    query = [{"name": k, "value": v} for k, _, v in
             (part.partition("=") for part in path.partition("?")[2].split("&") if part)]
    request: dict[str, object] = {
        "method": method, "url": url, "httpVersion": "HTTP/1.1",
        "headers": _har_headers(_request_headers(rng, host) + _CHROME_HEADERS),
        "queryString": query, "cookies": [], "headersSize": -1, "bodySize": 0,
    }
    if method == "POST":
        text = f'{{"uid": {rng.randrange(10**9)}, "ts": {rng.randrange(10**10)}}}'
        request["postData"] = {"mimeType": "application/json", "text": text}
        request["bodySize"] = len(text)
    timings = {"blocked": round(rng.random() * 5, 3), "dns": -1, "ssl": -1,
               "connect": -1, "send": 0.1, "wait": round(rng.random() * 200, 3),
               "receive": round(rng.random() * 20, 3)}
    return {
        "_initiator": {"type": "script"},
        "_priority": "High",
        "_resourceType": rng.choice(("xhr", "fetch", "script", "image", "document")),
        "cache": {},
        "connection": str(rng.randrange(10000, 99999)),
        "pageref": "page_1",
        "request": request,
        "response": {
            "status": status, "statusText": "OK" if status == 200 else "",
            "httpVersion": "HTTP/1.1", "headers": _har_headers(headers), "cookies": [],
            "content": content, "redirectURL": redirect, "headersSize": -1,
            "bodySize": len(body), "_transferSize": len(body) + 300, "_error": None,
        },
        "serverIPAddress": world.address(host, rng) if status else "",
        "startedDateTime": started.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "time": round(sum(v for v in timings.values() if v > 0), 3),
        "timings": timings,
    }


def write_har(path: Path, count: int, world: World, seed: int) -> int:
    rng = random.Random(f"{seed}:har")
    creator = {"name": "WebInspector", "version": "537.36"}
    pages = [{"startedDateTime": "2022-06-14T00:00:00.000Z", "id": "page_1",
              "title": "https://jkm.example.cn/", "pageTimings": {}}]
    with path.open("w", encoding="utf-8", newline="\n") as stream:
        stream.write('{\n  "log": {\n    "version": "1.2",\n    "creator": '
                     f'{json.dumps(creator)},\n    "pages": {json.dumps(pages)},\n'
                     '    "entries": [\n')
        for index in range(count):
            entry = json.dumps(_har_entry(world, rng, index), ensure_ascii=False)
            stream.write(("      " if index == 0 else ",\n      ") + entry)
        stream.write("\n    ]\n  }\n}\n")
    return count


# -- mitmproxy flows -------------------------------------------------------------------------

class _Certificates:
    """Leaf certificates per registrable domain: Ed25519 (deterministic signatures)."""

    def __init__(self, seed: int) -> None:
        from cryptography.hazmat.primitives.asymmetric import ed25519

        self._seed = seed
        self._ca_key = ed25519.Ed25519PrivateKey.from_private_bytes(
            hashlib.sha256(f"{seed}:ca".encode()).digest())
        self._cache: dict[str, object] = {}

    def for_host(self, host: str) -> object:
        from cryptography import x509
        from cryptography.hazmat.primitives.asymmetric import ed25519
        from cryptography.x509.oid import NameOID
        from mitmproxy import certs

        domain = host.split(".", 1)[1] if host.count(".") > 1 else host
        if domain not in self._cache:
            key = ed25519.Ed25519PrivateKey.from_private_bytes(
                hashlib.sha256(f"{self._seed}:{domain}".encode()).digest())
            issuer = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Bench Trust"),
                                x509.NameAttribute(NameOID.COMMON_NAME, "Bench Trust RSA CA")])
            subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"*.{domain}")])
            serial = int.from_bytes(hashlib.sha256(domain.encode()).digest()[:8], "big")
            cert = (x509.CertificateBuilder()
                    .subject_name(subject).issuer_name(issuer).public_key(key.public_key())
                    .serial_number(serial)
                    .not_valid_before(datetime(2022, 1, 1, tzinfo=UTC))
                    .not_valid_after(datetime(2023, 1, 1, tzinfo=UTC))
                    .add_extension(x509.SubjectAlternativeName(
                        [x509.DNSName(f"*.{domain}"), x509.DNSName(domain)]), critical=False)
                    .sign(self._ca_key, None))
            self._cache[domain] = certs.Cert(cert)
        return self._cache[domain]


def _mitm_flow(world: World, rng: random.Random, index: int, certificates: _Certificates
               ) -> object:
    from mitmproxy import connection, flow, http
    from mitmproxy.connection import ConnectionState
    from mitmproxy.proxy.mode_specs import ProxyMode

    def ident() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    host = world.host(rng)
    https = rng.random() < 0.85
    port = 443 if https else 80
    address = world.address(host, rng)
    start = BASE_TIME + index * 0.05 + rng.random() * 0.04
    client = connection.Client(
        id=ident(), peername=(f"192.168.1.{rng.randrange(2, 60)}", rng.randrange(32768, 61000)),
        sockname=("192.168.1.100", 8080), mitmcert=None, timestamp_start=start,
        timestamp_tls_setup=start + 0.01 if https else None, timestamp_end=start + 1.5,
        sni=host if https else None, cipher="TLS_AES_128_GCM_SHA256" if https else None,
        alpn=b"http/1.1" if https else None, tls_version="TLSv1.3" if https else None,
        state=ConnectionState.CLOSED, error=None, tls=https, certificate_list=[],
        alpn_offers=[b"h2", b"http/1.1"] if https else [], cipher_list=[],
        proxy_mode=ProxyMode.parse("regular"))
    server = connection.Server(
        id=ident(), address=(host, port), peername=(address, port),
        sockname=("192.168.1.100", rng.randrange(32768, 61000)), timestamp_start=start + 0.002,
        timestamp_tcp_setup=start + 0.02, timestamp_tls_setup=start + 0.05 if https else None,
        timestamp_end=start + 1.4, sni=host if https else None,
        alpn=b"http/1.1" if https else None, tls_version="TLSv1.3" if https else None,
        via=None, state=ConnectionState.CLOSED, error=None, tls=https,
        certificate_list=[certificates.for_host(host)] if https else [],  # type: ignore[list-item]
        alpn_offers=[], cipher="TLS_AES_128_GCM_SHA256" if https else None, cipher_list=[])
    method = "POST" if rng.random() < 0.2 else "GET"
    content = b""
    request_headers = _request_headers(rng, host)
    if method == "POST":
        content = f'{{"uid": {rng.randrange(10**9)}, "ts": {rng.randrange(10**10)}}}'.encode()
        request_headers += [("Content-Type", "application/json"),
                            ("Content-Length", str(len(content)))]
    request = http.Request(
        host, port, method.encode(), b"https" if https else b"http", b"",
        _path(rng).encode(), b"HTTP/1.1",
        http.Headers([(n.encode(), v.encode()) for n, v in request_headers]),
        content, None, start + 0.06, start + 0.061)
    f = http.HTTPFlow(client, server)
    f.id = ident()
    f.timestamp_created = start
    f.request = request
    if rng.random() < 0.03:
        f.error = flow.Error("Connection killed.", start + 0.5)
        return f
    mime = rng.choice(_MIME_BODIES)
    body = _body(world, rng, mime)
    when = datetime.fromtimestamp(int(start), UTC)
    status = rng.choice((200,) * 12 + (204, 301, 302, 304, 404, 500))
    headers = _response_headers(rng, mime, len(body), when)
    if status in (301, 302):
        headers.append(("Location", f"/{rng.choice(_SYLLABLES)}/"))
    if mime.startswith(("text/", "application/json")) and rng.random() < 0.4:
        body = gzip.compress(body, mtime=0)
        headers = [(n, str(len(body)) if n == "Content-Length" else v) for n, v in headers]
        headers.append(("Content-Encoding", "gzip"))
    f.response = http.Response(
        b"HTTP/1.1", status, b"OK" if status == 200 else b"",
        http.Headers([(n.encode(), v.encode()) for n, v in headers]), body, None,
        start + 0.2, start + 0.25)
    return f


def write_mitm(path: Path, count: int, world: World, seed: int) -> int:
    from mitmproxy import io

    rng = random.Random(f"{seed}:mitm")
    certificates = _Certificates(seed)
    with path.open("wb") as stream:
        writer = io.FlowWriter(stream)
        for index in range(count):
            writer.add(_mitm_flow(world, rng, index, certificates))  # type: ignore[arg-type]
    return count


# -- zone file -------------------------------------------------------------------------------

def write_zone(path: Path, count: int, world: World, seed: int) -> int:
    rng = random.Random(f"{seed}:zone")
    records = 0
    lines: list[str] = []

    def emit(line: str, record: bool = True) -> None:
        nonlocal records
        lines.append(line)
        records += record

    with path.open("w", encoding="utf-8", newline="\n") as stream:
        emit(f"; benchmark zone, seed {seed}", False)
        emit(f"$ORIGIN {ZONE_ORIGIN}", False)
        emit("$TTL 3600", False)
        emit(f"@\tIN\tSOA\tns1.{ZONE_ORIGIN} hostmaster.{ZONE_ORIGIN} (", False)
        emit("\t\t2022061401 ; serial\n\t\t7200       ; refresh\n\t\t3600       ; retry\n"
             "\t\t1209600    ; expire\n\t\t3600 )     ; minimum")
        emit("\tIN\tNS\tns1")
        emit("\tIN\tNS\tns2")
        emit(f"ns1\tIN\tA\t{world.v4[0]}")
        emit(f"ns2\tIN\tA\t{world.v4[1]}")
        origin = ZONE_ORIGIN
        label = 0
        while records < count:
            if rng.random() < 0.002:  # a subdomain block
                sub = f"{rng.choice(_SYLLABLES)}{rng.randrange(1000)}"
                origin = ZONE_ORIGIN if rng.random() < 0.3 else f"{sub}.{ZONE_ORIGIN}"
                emit(f"$ORIGIN {origin}", False)
            if rng.random() < 0.01:
                emit(f"; {rng.choice(_WORDS)} {rng.choice(_SYLLABLES)} block", False)
            label += 1
            owner = (f"{rng.choice(_CITIES)}-{rng.choice(_SYLLABLES)}{label}"
                     if rng.random() < 0.3 else f"{rng.choice(_SYLLABLES)}{label}")
            if rng.random() < 0.05:
                owner = f"{owner}.{origin}"  # absolute
            ttl = f"{rng.choice((60, 300, 600, 3600, 86400))}\t" if rng.random() < 0.4 else ""
            klass = "IN\t" if rng.random() < 0.8 else ""
            for position in range(rng.choice((1, 1, 1, 2, 3))):
                lead = owner if position == 0 else ""
                roll = rng.random()
                if roll < 0.5:
                    rdata = f"A\t{rng.choice(world.v4)}"
                elif roll < 0.6:
                    rdata = f"AAAA\t{rng.choice(world.v6)}"
                elif roll < 0.75 and position == 0:
                    target = rng.choice((world.host(rng) + ".", f"{rng.choice(_SYLLABLES)}"
                                         f"{rng.randrange(label)}"))
                    emit(f"{lead}\t{ttl}{klass}CNAME\t{target}")
                    break
                elif roll < 0.8:
                    rdata = f"MX\t{rng.choice((5, 10, 20))} mx{rng.randrange(3)}.{ZONE_ORIGIN}"
                elif roll < 0.9:
                    rdata = (f'TXT\t"v=spf1 ip4:{rng.choice(world.v4)} include:spf.'
                             f'{rng.choice(world.domains)} ~all"')
                elif roll < 0.95:
                    rdata = (f"SRV\t10 {rng.randrange(100)} {rng.choice((443, 5060, 5222))} "
                             f"sip{rng.randrange(9)}.{ZONE_ORIGIN}")
                elif roll < 0.98:
                    rdata = f"NS\tns{rng.randrange(1, 3)}.{rng.choice(world.domains)}."
                else:
                    rdata = f'CAA\t0 issue "{rng.choice(("letsencrypt.org", "digicert.com"))}"'
                emit(f"{lead}\t{ttl}{klass}{rdata}")
                if records >= count:
                    break
            if len(lines) >= 10_000:
                stream.write("\n".join(lines) + "\n")
                lines.clear()
        stream.write("\n".join(lines) + "\n")
    return records


# -- passive DNS -----------------------------------------------------------------------------

def _v4_of(number: int) -> str:
    """A public-looking IPv4 address for a pool index (distinct for distinct indexes)."""
    mixed = (number * 2654435761) & 0xFFFFFF
    first = _FIRST_OCTETS[(number >> 24) % len(_FIRST_OCTETS)]
    return f"{first}.{mixed >> 16}.{(mixed >> 8) & 255}.{mixed & 255}"


def write_pdns(path: Path, count: int, world: World, seed: int) -> int:
    rng = random.Random(f"{seed}:pdns")
    names = max(50, count // 5)
    v4 = max(20, count // 20)
    domains = world.domains
    lines: list[str] = []
    random_ = rng.random
    randrange = rng.randrange
    with path.open("w", encoding="utf-8", newline="\n") as stream:
        for _ in range(count):
            # skewed picks: popular names and addresses recur
            n = int(names * random_() ** 2)
            domain = domains[n % len(domains)]
            stem = _SYLLABLES[n % len(_SYLLABLES)]
            name = f"{stem}{n}.{domain}."
            roll = random_()
            if roll < 0.72:
                rtype = "A"
                picks = {int(v4 * random_() ** 1.5) for _ in range(1 + (random_() < 0.3))}
                rdata = ",".join(f'"{_v4_of(a)}"' for a in sorted(picks))
            elif roll < 0.82:
                rtype = "AAAA"
                a = int(v4 * random_() ** 1.5)
                rdata = f'"240e:{(a >> 16) & 0xfff:x}:{a & 0xffff:x}::{a % 997 + 1:x}"'
            elif roll < 0.94:
                rtype = "CNAME"
                rdata = f'"{stem}{n}.{_CDN_SUFFIXES[n % len(_CDN_SUFFIXES)]}."'
            elif roll < 0.97:
                rtype = "NS"
                rdata = f'"ns{n % 4 + 1}.{domain}."'
            else:
                rtype = "MX"
                rdata = f'"10 mx.{domain}."'
            first = BASE_TIME - randrange(3 * 365 * 86400)
            last = first + randrange(400 * 86400)
            lines.append(
                f'{{"count":{randrange(1, 50000)},"time_first":{first},"time_last":{last},'
                f'"rrtype":"{rtype}","rrname":"{name}","rdata":[{rdata}],'
                f'"bailiwick":"{domain}."}}\n')
            if len(lines) >= 20_000:
                stream.writelines(lines)
                lines.clear()
        stream.writelines(lines)
    return count


WRITERS = {"pcap": write_pcap, "har": write_har, "mitm": write_mitm, "zone": write_zone,
           "pdns": write_pdns}


def generate(kind: str, size: str, out: Path, seed: int = DEFAULT_SEED,
             world: World | None = None) -> dict[str, object]:
    """Write one input; returns its manifest entry (file, unit, count, bytes)."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / FILES[kind]
    world = world or World(seed)
    count = WRITERS[kind](path, SIZES[size][kind], world, seed)
    return {"file": path.name, "unit": UNITS[kind], "count": count,
            "bytes": path.stat().st_size}


def update_manifest(out: Path, size: str, seed: int, entries: dict[str, object]) -> None:
    manifest_path = out / "manifest.json"
    manifest: dict[str, object] = {"size": size, "seed": seed, "inputs": {}}
    if manifest_path.exists():
        old = json.loads(manifest_path.read_text())
        if old.get("size") == size and old.get("seed") == seed:
            manifest = old
    inputs = manifest["inputs"]
    assert isinstance(inputs, dict)
    inputs.update(entries)
    manifest["inputs"] = dict(sorted(inputs.items()))
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=list(SIZES), default="small")
    parser.add_argument("--kind", default="all",
                        help=f"one of {', '.join(KINDS)}, a comma list, or all")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    kinds = list(KINDS) if args.kind == "all" else args.kind.split(",")
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        parser.error(f"unknown --kind {', '.join(unknown)}; known: {', '.join(KINDS)}, all")
    world = World(args.seed)
    entries = {}
    for kind in kinds:
        entry = generate(kind, args.size, args.out, args.seed, world)
        entries[kind] = entry
        print(f"{kind}: {args.out / str(entry['file'])}: {entry['count']:,} {entry['unit']}, "
              f"{int(entry['bytes']) / 1e6:,.1f} MB", file=sys.stderr)  # type: ignore[call-overload]
    update_manifest(args.out, args.size, args.seed, entries)
    return 0


if __name__ == "__main__":
    sys.exit(main())
