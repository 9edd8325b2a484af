"""The pcap reader's fast path yields exactly what reading every frame through every layer yields.

`read_capture(path)` skips frames from a few header bytes and reuses parsed
DNS answers; `read_capture(path, fast=False)` reads every frame through every layer, as
the reader did before.  Both must give the same items in the same order on
every capture in the corpus and in captures/, and on captures built here
around what the fast path hands back to h11.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from hostmap.ingest.pcap import read_capture
from hostmap.model import HttpExchange, ReadIssue, Resolution
from tests.conftest import CAPTURES, CORPUS
from tests.ingest.test_pcap import (
    ACK,
    CLIENT,
    FIN_ACK,
    RESOLVER,
    SERVER,
    SYN,
    Session,
    client_hello,
    dns_response,
    ether,
    ipv4,
    ipv6,
    tcp,
    udp,
    udp_dns_frame,
    write_pcap,
)

CAPTURE_FILES = sorted(
    path
    for folder in (CAPTURES, CORPUS)
    for path in folder.rglob("*")
    if path.is_file() and path.suffix in (".pcap", ".pcapng", ".cap")
)


def both(path: Path) -> tuple[list[object], list[object]]:
    return list(read_capture(path)), list(read_capture(path, fast=False))


def test_there_are_captures_to_compare() -> None:
    assert len(CAPTURE_FILES) >= 12


@pytest.mark.parametrize("path", CAPTURE_FILES, ids=lambda p: p.name)
def test_fast_path_gives_the_same_items_on_every_corpus_capture(path: Path) -> None:
    fast, full = both(path)
    assert fast == full


def http_capture(
    path: Path, talk: list[tuple[bool, bytes]], segment: int = 1400, closed: bool = True
) -> Path:
    """One connection on port 80: handshake, the payloads in segments, FIN from both sides."""
    session = Session()
    frames = session.handshake()
    for from_client, payload in talk:
        frames += session.send(from_client, payload, pieces=-(-len(payload) // segment))
    if closed:
        frames += session.close()
    return write_pcap(path, frames)


def response(status: str, headers: str, body: bytes = b"") -> bytes:
    return f"HTTP/1.1 {status}\r\n{headers}\r\n".encode() + body


PAGE = b'<html><script src="https://cdn.example.net/app.js"></script></html>'
HTML = f"Content-Type: text/html\r\nContent-Length: {len(PAGE)}\r\n"
GET = b"GET /p HTTP/1.1\r\nHost: www.example.com\r\n\r\n"
UPGRADE = b"Connection: Upgrade\r\n\r\n"

HTTP_CASES = {
    "keep-alive with bodies": [
        (True, GET),
        (False, response("200 OK", HTML, PAGE)),
        (True, b"POST /form HTTP/1.1\r\nHost: www.example.com\r\nContent-Length: 5\r\n\r\nx=1&y"),
        (False, response("302 Found", "Location: /next\r\nContent-Length: 0\r\n")),
        (True, GET),
        (False, response("304 Not Modified", "Content-Type: text/html\r\nContent-Length: 9\r\n")),
    ],
    "bodies over 32 KiB in many segments": [
        (True, b"POST /up HTTP/1.1\r\nHost: a.example\r\nContent-Length: 70000\r\n\r\n"),
        (True, b"u" * 70000),
        (False, response("200 OK", "Content-Type: text/plain\r\nContent-Length: 90000\r\n")),
        (False, b"see http://b.example/x " + b"z" * 89977),
        (True, GET),
        (False, response("200 OK", HTML, PAGE)),
    ],
    "gzip body": [
        (True, GET),
        (
            False,
            response(
                "200 OK",
                "Content-Type: application/json\r\nContent-Encoding: gzip\r\n"
                f"Content-Length: {len(gzip.compress(PAGE))}\r\n",
                gzip.compress(PAGE),
            ),
        ),
    ],
    "pipelined, chunked, HEAD": [
        (
            True,
            b"GET /a HTTP/1.1\r\nHost: a.example\r\n\r\n"
            b"HEAD /b HTTP/1.1\r\nHost: a.example\r\n\r\n"
            b"GET /c HTTP/1.1\r\nHost: a.example\r\n\r\n",
        ),
        (
            False,
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhttp:\r\n12\r\n//chunk.example/x \r\n0\r\n\r\n"
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 1000\r\n\r\n"
            + response("200 OK", HTML, PAGE),
        ),
    ],
    "HTTP/1.0 and Connection: close, then more requests": [
        (True, b"GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
        (False, b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n" + HTML.encode() + b"\r\n" + PAGE),
        (True, b"GET /c HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n"),
        (False, response("200 OK", "Connection: close\r\n" + HTML, PAGE)),
        (True, GET),
        (False, response("200 OK", HTML, PAGE)),
    ],
    "response read to the end of the stream": [
        (True, GET),
        (False, b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + PAGE),
    ],
    "100 Continue and Expect": [
        (
            True,
            b"PUT /f HTTP/1.1\r\nHost: a.example\r\nExpect: 100-continue\r\n"
            b"Content-Length: 3\r\n\r\n",
        ),
        (False, b"HTTP/1.1 100 Continue\r\n\r\n"),
        (True, b"abc"),
        (False, response("201 Created", HTML, PAGE)),
        (True, GET),
        (False, response("200 OK", HTML, PAGE)),
    ],
    "CONNECT": [
        (True, b"CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n"),
        (False, b"HTTP/1.1 200 Connection established\r\n\r\n"),
        (True, b"\x16\x03\x01\x00\x05hello"),
    ],
    "Upgrade to websocket": [
        (True, b"GET /ws HTTP/1.1\r\nHost: a.example\r\nUpgrade: websocket\r\n" + UPGRADE),
        (False, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n" + UPGRADE),
        (True, b"\x81\x05hello"),
    ],
    "folded, bare-LF and odd headers": [
        (True, b"GET /fold HTTP/1.1\r\nHost: a.example\r\nX-Long: one\r\n two\r\n\r\n"),
        (False, b"HTTP/1.1 200 OK\nContent-Type: text/html\nContent-Length: 4\n\nhttp"),
        (True, b"GET /ctl HTTP/1.1\r\nHost: a.example\r\nX-Ctl: a\x01b\r\n\r\n"),
        (False, response("200 OK", "Content-Length: 5, 5\r\nX-Empty:\r\n", b"12345")),
        (True, GET),
        (False, b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"),
    ],
    "conflicting lengths and unknown codings": [
        (True, GET),
        (False, response("200 OK", "Content-Length: 5\r\nContent-Length: 6\r\n", b"123456")),
        (True, GET),
        (False, response("200 OK", "Transfer-Encoding: gzip\r\n", b"x")),
    ],
    "bad request line after a good request": [
        (True, GET),
        (False, response("200 OK", HTML, PAGE)),
        (True, b"GET  /two-spaces HTTP/1.1\r\nHost: a.example\r\n\r\n"),
        (False, response("200 OK", HTML, PAGE)),
    ],
    "request without Host, response with an unusual status": [
        (True, b"GET /nohost HTTP/1.1\r\nAccept: */*\r\n\r\n"),
        (True, GET),
        (False, b"HTTP/1.1 600 Odd\r\nContent-Length: 0\r\n\r\n"),
        (False, b"HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"),
    ],
    "a head longer than h11 reads": [
        (True, b"GET /big HTTP/1.1\r\nHost: a.example\r\nX-Big: " + b"b" * 70000 + b"\r\n\r\n"),
        (False, response("200 OK", HTML, PAGE)),
    ],
    "response before any request": [
        (False, response("200 OK", HTML, PAGE)),
        (True, GET),
        (False, response("200 OK", HTML, PAGE)),
    ],
    "leading blank line and lower-case method": [
        (True, b"\r\nGET /blank HTTP/1.1\r\nHost: a.example\r\n\r\n"),
        (False, response("200 OK", HTML, PAGE)),
        (True, b"get /lower HTTP/1.1\r\nHost: a.example\r\n\r\n"),
    ],
}


@pytest.mark.parametrize("segment", [1400, 7])
@pytest.mark.parametrize("case", sorted(HTTP_CASES))
def test_fast_path_gives_the_same_http_items(tmp_path: Path, case: str, segment: int) -> None:
    path = http_capture(tmp_path / "http.pcap", HTTP_CASES[case], segment=segment)
    fast, full = both(path)
    assert fast == full
    assert any(isinstance(item, HttpExchange | ReadIssue) for item in full)


def test_fast_path_gives_the_same_http_items_when_the_capture_ends_mid_body(
    tmp_path: Path,
) -> None:
    talk = [(True, GET), (False, response("200 OK", HTML.replace(str(len(PAGE)), "900"), PAGE))]
    fast, full = both(http_capture(tmp_path / "cut.pcap", talk, closed=False))
    assert fast == full
    assert [x.body_urls for x in full if isinstance(x, HttpExchange)] == [
        ("https://cdn.example.net/app.js",)
    ]


def test_repeated_dns_answers_under_new_ids_give_what_each_gives_alone(tmp_path: Path) -> None:
    answer = dns_response("www.example.com.", "A", ["192.0.2.7", "192.0.2.8"])
    ptr = dns_response("7.2.0.192.in-addr.arpa.", "PTR", ["www.example.com."])
    broken = answer[:-3]
    frames = []
    for ident in range(3):
        for message in (answer, ptr, broken):
            frames.append(udp_dns_frame(ident.to_bytes(2, "big") + message[2:]))
    frames.append(udp_dns_frame(answer, sport=5353))
    fast, full = both(write_pcap(tmp_path / "dns.pcap", frames))
    assert fast == full
    rounds: dict[int, list[tuple[str, str, str]]] = {}
    for item in full:
        if isinstance(item, Resolution):
            frame = int(item.provenance.locator.split()[1])
            rounds.setdefault((frame - 1) // 3, []).append((item.name, item.rtype, item.value))
    both_addresses = [("www.example.com", "A", "192.0.2.7"), ("www.example.com", "A", "192.0.2.8")]
    assert rounds[0] == rounds[1] == rounds[2]
    assert sorted(rounds[0][:2]) == both_addresses  # dnspython may write the two in any order
    assert sorted(rounds[3]) == both_addresses


def test_frames_around_the_fast_path_give_the_same_items(tmp_path: Path) -> None:
    """What the frame filter passes over and what it must not: every kind side by side."""
    tls = Session(sport=40001, dport=443)
    frames = [*tls.handshake(), *tls.send(True, client_hello("tls.example.com"))]
    frames += tls.send(False, b"\x16\x03\x03\x00\x04\x02\x00\x00\x00\x14\x03\x03\x00\x01\x01")
    frames += tls.send(True, b"\x17\x03\x03\x00\x10" + b"e" * 16)
    frames += tls.send(False, b"\x17\x03\x03\x00\x10" + b"e" * 16)
    other = Session(sport=40002, dport=5000)
    frames += [*other.handshake(), *other.send(True, b"hello"), *other.send(False, b"hi")]
    frames += [*tls.close(), tls.frame(True, ACK), tls.frame(True, ACK, b"late")]
    frames += other.close()
    frames.append(ether(ipv4(CLIENT, SERVER, 17, udp(50000, 443, b"\xc3quic"))))
    frames.append(ether(ipv4(CLIENT, SERVER, 1, b"\x08\x00icmp")))
    frames.append(ether(b"\x00\x01arp", ethertype=0x0806))
    frames.append(ether(ipv6("2001:db8::1", "2001:db8::10", 17, udp(50000, 443, b"q"))))
    frames.append(ether(ipv6("2001:db8::1", "2001:db8::10", 58, b"\x80\x00icmp6")))
    frames.append(ether(ipv4(CLIENT, SERVER, 6, tcp(40003, 80, 5, ACK, b"mid-stream"))))
    frames.append(ether(ipv4(CLIENT, SERVER, 6, tcp(40004, 80, 5, SYN))))
    frames.append(ether(ipv4(CLIENT, SERVER, 6, tcp(40004, 80, 6, FIN_ACK))))
    frames.append(ether(ipv4(RESOLVER, CLIENT, 17, b"\x00\x35")))  # UDP header cut
    frames.append(ether(ipv4(CLIENT, SERVER, 6, b"\x00\x50" * 5)))  # TCP header cut
    frames.append(ether(b"\x45\x00\x00\x10" + b"\x00" * 16))  # IPv4 total length below 20
    frames.append(udp_dns_frame(dns_response("www.example.com.", "A", ["192.0.2.7"]), 53))
    frames.append(ether(ipv4(CLIENT, SERVER, 17, udp(50000, 53, b"query")), tags=(0x8100,)))
    # `_ip` reads the IP version from the packet, whatever the EtherType says
    answer = udp(53, 40000, dns_response("v4.example.com.", "A", ["192.0.2.9"]))
    frames.append(ether(ipv4(RESOLVER, CLIENT, 17, answer, df=1), ethertype=0x86DD))
    fast, full = both(write_pcap(tmp_path / "mixed.pcap", frames))
    assert fast == full
    assert {item.scheme for item in full if isinstance(item, HttpExchange)} == {"https", "tcp"}
    assert "v4.example.com" in {item.name for item in full if isinstance(item, Resolution)}
