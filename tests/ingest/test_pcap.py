"""The pcap reader: the third-party corpus, captures built here with dpkt, bad input."""

from __future__ import annotations

import gzip
import hashlib
import ipaddress
import struct
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dns.message
import dns.rrset
import dpkt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from hostmap.errors import MalformedInput, TruncatedInput
from hostmap.ingest import _bodies, _http1, _ip, _tcp, har, pcap
from hostmap.ingest.pcap import PcapReader, reader
from hostmap.model import (
    Certificate,
    HttpExchange,
    ReadIssue,
    RecordType,
    Resolution,
    ResolutionSource,
    Severity,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
CLIENT, SERVER, RESOLVER = "192.0.2.1", "192.0.2.10", "192.0.2.53"
CLIENT6, SERVER6 = "2001:db8::1", "2001:db8::10"


# --- what the corpus captures must give (../shared/corpus/EXPECTED.md, section pcap/) ---


@dataclass
class Expected:
    resolutions: set[tuple[str, str, str]] = field(default_factory=set)
    """(name, type, value) facts from answer sections."""
    exchanges: set[tuple[str, str, str, int]] = field(default_factory=set)
    """(scheme, host, server address, port)."""
    not_resolved: set[str] = field(default_factory=set)
    """Names that appear only outside answer sections, so must not be resolved."""


NETFLIX_POOL = (
    "34.252.114.84 34.253.36.84 52.208.174.58 54.154.12.178 "
    "54.194.103.216 54.194.216.197 54.229.85.178 54.77.199.154"
).split()
GOOGLE_DNS_TCP = [f"216.197.242.{n}" for n in (210, 216, 217, 223, 224, 230, 231, 237, 238)]
GOOGLE_DNS_TCP += [f"216.197.242.{n}" for n in (244, 245, 251)]

CORPUS_PCAP = {
    "zeek-wikipedia.pcap": Expected(
        resolutions={
            ("upload.wikimedia.org", "CNAME", "upload.pmtpa.wikimedia.org"),
            ("upload.pmtpa.wikimedia.org", "A", "208.80.152.3"),
            ("meta.wikimedia.org", "CNAME", "text.wikimedia.org"),
            ("text.wikimedia.org", "CNAME", "text.pmtpa.wikimedia.org"),
            ("text.pmtpa.wikimedia.org", "A", "208.80.152.2"),
        },
        exchanges={
            ("http", "upload.wikimedia.org", "208.80.152.3", 80),
            ("http", "meta.wikimedia.org", "208.80.152.2", 80),
            ("http", "www.wikipedia.org", "208.80.152.2", 80),
            ("http", "bits.wikimedia.org", "208.80.152.118", 80),
        },
        not_resolved={"ns0.wikimedia.org", "ns1.wikimedia.org", "ns2.wikimedia.org"},
    ),
    "zeek-dns-edns-ecs.pcap": Expected(
        resolutions={
            ("www.netflix.com", "CNAME", "www.geo.netflix.com"),
            ("www.geo.netflix.com", "CNAME", "www.eu-west-1.prodaa.netflix.com"),
            *(("www.eu-west-1.prodaa.netflix.com", "A", ip) for ip in NETFLIX_POOL),
            ("atlas.ripe.net", "CNAME", "atlas-ui.ripe.net"),
            ("atlas-ui.ripe.net", "A", "193.0.6.158"),
            ("ns1.weberdns.de", "A", "80.154.108.230"),
            ("ns2.weberdns.de", "A", "194.247.5.14"),
            ("ns2.weberdns.de", "AAAA", "2001:470:1f0b:16b0::a26:53"),
            ("fg2-mgmt.weberlab.de", "AAAA", "2001:470:1f0b:16b0::1"),
            ("fg2.weberlab.de", "A", "194.247.4.10"),
            ("sigok.verteiltesysteme.net", "A", "134.91.78.139"),
            ("formel1.de", "A", "85.25.234.253"),
            ("erfpop.de", "AAAA", "2606:4700:30::6818:6291"),
            ("erfpop.de", "AAAA", "2606:4700:30::6818:6391"),
            ("ns-1984.awsdns-56.co.uk", "A", "205.251.199.192"),
            ("ns-1984.awsdns-56.co.uk", "AAAA", "2600:9000:5307:c000::1"),
            ("pdns154.ultradns.net", "A", "156.154.65.154"),
        },
    ),
    "zeek-dns-long-connection.pcap": Expected(
        resolutions={
            ("104.9.192.66.in-addr.arpa", "PTR", "66-192-9-104.gen.twtelecom.net"),
            ("66-192-9-104.gen.twtelecom.net", "A", "66.192.9.104"),
            ("www.netbsd.org", "A", "204.152.190.12"),
            ("www.netbsd.org", "AAAA", "2001:4f8:4:7:2e0:81ff:fe52:9a6b"),
            ("www.google.com", "CNAME", "www.l.google.com"),
            ("www.isc.org", "A", "204.152.184.88"),
            ("www.isc.org", "AAAA", "2001:4f8:0:2::d"),
        },
        not_resolved={f"smtp{n}.google.com" for n in range(1, 7)},
    ),
    "zeek-ipv6-fragmented-dns.pcap": Expected(
        resolutions={
            ("txtpadding_323.n1.netalyzr.icsi.berkeley.edu", "OTHER", "TXT"),
            ("txtpadding_3230.n1.netalyzr.icsi.berkeley.edu", "OTHER", "TXT"),
        },
    ),
    "zeek-tls-chrome-34-google.pcap": Expected(
        exchanges={("https", "google.de", "74.125.239.152", 443)},
    ),
    "zeek-pcapng-multi-interface.pcapng": Expected(
        resolutions={
            ("www.apple.com", "CNAME", "www-apple-com.v.aaplimg.com"),
            ("www-apple-com.v.aaplimg.com", "CNAME", "www.apple.com.edgekey.net"),
            ("www.apple.com.edgekey.net", "CNAME", "e6858.dsce9.akamaiedge.net"),
            ("e6858.dsce9.akamaiedge.net", "A", "23.194.101.24"),
            *(("google.com", "A", f"142.251.181.{n}") for n in (100, 101, 102, 113, 138, 139)),
            *(
                ("google.com", "AAAA", f"2607:f8b0:4023:2007::{n}")
                for n in ("66", "71", "8a", "8b")
            ),
        },
    ),
    "zeek-trunc-hdr.pcap": Expected(),
    "zeek-dns-corrupt.pcap": Expected(
        resolutions={("zeek.org", "A", "192.0.78.212"), ("zeek.org", "A", "192.0.78.150")},
    ),
    "suricata-verify-dns-tcp-www-google-com.pcap": Expected(
        resolutions={("www.google.com", "A", address) for address in GOOGLE_DNS_TCP},
    ),
    # DNS over cleartext HTTP/2 is not read: only where the connection went.
    "suricata-verify-dns-over-https-h2c.pcap": Expected(
        exchanges={("tcp", "8.8.4.4", "8.8.4.4", 80)},
    ),
    # The QUIC half needs Initial-packet decryption; the TLS-over-TCP half gives the SNI.
    "suricata-verify-ja4-tls-quic-ipv6.pcap": Expected(
        exchanges={("https", "cloudflare-quic.com", "2606:4700:10::6816:826", 443)},
    ),
    "suricata-verify-tls-client-hello-frag.pcap": Expected(
        exchanges={("https", "www.google.com", "142.251.111.105", 443)},
    ),
}


def read(path: Path) -> list[object]:
    return list(reader.read(path))


def resolutions(items: list[object]) -> list[Resolution]:
    return [item for item in items if isinstance(item, Resolution)]


def exchanges(items: list[object]) -> list[HttpExchange]:
    return [item for item in items if isinstance(item, HttpExchange)]


def certificates(items: list[object]) -> list[Certificate]:
    return [item for item in items if isinstance(item, Certificate)]


def issues(items: list[object]) -> list[ReadIssue]:
    return [item for item in items if isinstance(item, ReadIssue)]


def facts(items: list[object]) -> set[tuple[str, str, str]]:
    """(name, type, value); OTHER records give their type name instead of their long value."""
    found = set()
    for item in resolutions(items):
        if item.rtype is RecordType.OTHER:
            found.add((item.name, "OTHER", item.raw_type or ""))
        else:
            found.add((item.name, item.rtype.value, item.value))
    return found


def endpoints(items: list[object]) -> set[tuple[str, str, str | None, int]]:
    return {(x.scheme, x.host, x.server_address, x.port) for x in exchanges(items)}


def test_corpus_table_names_every_pcap_in_the_corpus(corpus_dir: Path) -> None:
    assert sorted(p.name for p in (corpus_dir / "pcap").iterdir()) == sorted(CORPUS_PCAP)


@pytest.mark.parametrize("name", sorted(CORPUS_PCAP))
def test_corpus_capture_gives_the_expected_resolutions_and_exchanges(
    corpus_dir: Path, name: str
) -> None:
    expected = CORPUS_PCAP[name]
    items = read(corpus_dir / "pcap" / name)

    assert expected.resolutions <= facts(items)
    assert expected.exchanges <= endpoints(items)
    assert not expected.not_resolved & {item.name for item in resolutions(items)}
    assert [str(i) for i in issues(items) if i.severity is Severity.ERROR] == []
    assert all(item.provenance.locator.startswith("frame ") for item in resolutions(items))
    assert all(item.source is ResolutionSource.CAPTURE for item in resolutions(items))


def test_wikipedia_http_requests_name_the_address_they_went_to(corpus_dir: Path) -> None:
    items = read(corpus_dir / "pcap" / "zeek-wikipedia.pcap")
    http = [x for x in exchanges(items) if x.scheme == "http"]

    by_host = Counter((x.host, x.server_address) for x in http)
    assert by_host == {
        ("upload.wikimedia.org", "208.80.152.3"): 12,
        ("meta.wikimedia.org", "208.80.152.2"): 1,
        ("www.wikipedia.org", "208.80.152.2"): 1,
        ("bits.wikimedia.org", "208.80.152.118"): 1,
    }
    # HTTP/1.0 keep-alive responses: every request gets its 304, not only the first.
    assert {x.status for x in http} == {304}
    assert all(x.method == "GET" and x.path and x.path.startswith("/") for x in http)


def test_wikipedia_upload_lookup_is_answered_four_times(corpus_dir: Path) -> None:
    items = read(corpus_dir / "pcap" / "zeek-wikipedia.pcap")
    answers = [
        r
        for r in resolutions(items)
        if (r.name, r.value) == ("upload.pmtpa.wikimedia.org", "208.80.152.3")
    ]
    assert len(answers) == 4
    assert all(r.first_seen == r.last_seen and r.first_seen is not None for r in answers)
    assert all(r.first_seen.year == 2011 for r in answers if r.first_seen)


def test_wikipedia_mdns_packets_dnspython_rejects_are_warnings_naming_their_frames(
    corpus_dir: Path,
) -> None:
    items = read(corpus_dir / "pcap" / "zeek-wikipedia.pcap")
    dns_warnings = [i for i in issues(items) if "DNS response" in i.message]

    assert [i.provenance.locator for i in dns_warnings] == ["frame 2", "frame 3"]
    assert all(i.severity is Severity.WARNING for i in dns_warnings)
    assert all("decompression" in i.message for i in dns_warnings)


def test_fragmented_dns_answer_is_read_after_ipv4_reassembly(corpus_dir: Path) -> None:
    items = read(corpus_dir / "pcap" / "zeek-dns-edns-ecs.pcap")
    [answer] = [
        r for r in resolutions(items) if r.name == "fg2.weberlab.de" and r.rtype.value == "A"
    ]
    assert answer.value == "194.247.4.10"
    # cited at the frame that completed the datagram (fragments in frames 53/54, ...)
    assert answer.provenance.locator in {"frame 54", "frame 59", "frame 63", "frame 85"}


def test_netflix_chain_comes_from_the_ipv6_response_in_frame_44(corpus_dir: Path) -> None:
    items = read(corpus_dir / "pcap" / "zeek-dns-edns-ecs.pcap")
    in_44 = {(r.name, r.value) for r in resolutions(items) if r.provenance.locator == "frame 44"}
    assert ("www.netflix.com", "www.geo.netflix.com") in in_44
    assert {("www.eu-west-1.prodaa.netflix.com", ip) for ip in NETFLIX_POOL} <= in_44


def test_ipv6_fragmented_txt_answer_and_the_orphan_fragment(corpus_dir: Path) -> None:
    items = read(corpus_dir / "pcap" / "zeek-ipv6-fragmented-dns.pcap")
    [long_answer] = [r for r in resolutions(items) if r.name.startswith("txtpadding_3230.")]
    assert long_answer.provenance.locator == "frame 8"
    assert len(long_answer.value) > 3000
    [orphan] = issues(items)
    assert orphan.provenance.locator == "frame 4"
    assert orphan.severity is Severity.WARNING
    assert "IPv6" in orphan.message


def test_pcapng_interfaces_with_ns_and_us_resolution_give_the_same_day(corpus_dir: Path) -> None:
    items = read(corpus_dir / "pcap" / "zeek-pcapng-multi-interface.pcapng")
    apple = [r for r in resolutions(items) if r.name == "e6858.dsce9.akamaiedge.net"]
    google = [r for r in resolutions(items) if r.name == "google.com"]
    times = {r.first_seen for r in apple + google}
    assert None not in times
    days = {t.date() for t in times if t}
    assert len(days) == 1 and next(iter(days)).year >= 2024


def test_tls_client_hello_over_several_segments_gives_sni_and_certificate(
    corpus_dir: Path,
) -> None:
    items = read(corpus_dir / "pcap" / "suricata-verify-tls-client-hello-frag.pcap")
    [hello] = [x for x in exchanges(items) if x.scheme == "https"]
    assert (hello.sni, hello.host, hello.port) == ("www.google.com", "www.google.com", 443)
    assert hello.method is None
    [certificate] = certificates(items)
    assert certificate.host == "www.google.com"
    assert certificate.address == "142.251.111.105"
    assert "www.google.com" in certificate.sans
    assert len(certificate.fingerprint_sha256) == 64


def test_chrome_34_certificate_is_the_leaf_for_google_de(corpus_dir: Path) -> None:
    items = read(corpus_dir / "pcap" / "zeek-tls-chrome-34-google.pcap")
    [certificate] = certificates(items)
    assert certificate.host == "google.de"
    assert certificate.sans == ("*.google.de", "google.de")
    assert certificate.subject and "CN=*.google.de" in certificate.subject
    assert certificate.not_before and certificate.not_after
    assert certificate.not_before < certificate.not_after


def test_quic_packets_are_counted_and_named_as_skipped(corpus_dir: Path) -> None:
    items = read(corpus_dir / "pcap" / "suricata-verify-ja4-tls-quic-ipv6.pcap")
    [skipped] = issues(items)
    assert "QUIC" in skipped.message and skipped.severity is Severity.WARNING


def test_capture_cut_to_8_bytes_is_one_warning_and_nothing_else(corpus_dir: Path) -> None:
    items = read(corpus_dir / "pcap" / "zeek-trunc-hdr.pcap")
    assert all(isinstance(item, ReadIssue) for item in items)
    assert all(item.severity is Severity.WARNING for item in issues(items))
    assert issues(items)[0].provenance.locator == "frame 1"
    assert "8 of 78 bytes" in issues(items)[0].message


def test_dns_over_tcp_without_a_handshake_is_read(corpus_dir: Path) -> None:
    items = read(corpus_dir / "pcap" / "zeek-dns-edns-ecs.pcap")
    # frame 15 is a lone TCP segment from port 53 holding a length-prefixed response
    in_15 = {
        (r.name, r.rtype.value, r.value)
        for r in resolutions(items)
        if r.provenance.locator == "frame 15"
    }
    assert ("atlas-ui.ripe.net", "A", "193.0.6.158") in in_15


# --- building captures -------------------------------------------------------------------


def addr(text: str) -> bytes:
    return ipaddress.ip_address(text).packed


def ipv4(src: str, dst: str, protocol: int, payload: bytes, **fields: int) -> bytes:
    return bytes(dpkt.ip.IP(src=addr(src), dst=addr(dst), p=protocol, data=payload, **fields))


def ipv6(src: str, dst: str, next_header: int, payload: bytes) -> bytes:
    header = dpkt.ip6.IP6(src=addr(src), dst=addr(dst), nxt=next_header, hlim=64, plen=len(payload))
    return bytes(header) + payload


def udp(sport: int, dport: int, payload: bytes) -> bytes:
    return bytes(dpkt.udp.UDP(sport=sport, dport=dport, ulen=8 + len(payload), data=payload))


def tcp(sport: int, dport: int, seq: int, flags: int, payload: bytes = b"") -> bytes:
    return bytes(dpkt.tcp.TCP(sport=sport, dport=dport, seq=seq, ack=1, flags=flags, data=payload))


def ether(packet: bytes, ethertype: int = 0x0800, tags: tuple[int, ...] = ()) -> bytes:
    header = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01"
    for tag in tags:  # each tag: its TPID, then 2 bytes of priority and VLAN id
        header += struct.pack("!HH", tag, 100)
    return header + struct.pack("!H", ethertype) + packet


def write_pcap(path: Path, frames: list[bytes], link_type: int = 1, nano: bool = False) -> Path:
    with path.open("wb") as stream:
        writer = dpkt.pcap.Writer(stream, snaplen=65535, linktype=link_type, nano=nano)
        for number, frame in enumerate(frames):
            writer.writepkt(frame, ts=(T0 + timedelta(seconds=number)).timestamp())
    return path


def dns_response(name: str, rdtype: str, values: list[str], *, additional: str = "") -> bytes:
    query = dns.message.make_query(name, rdtype)
    response = dns.message.make_response(query)
    response.answer.append(dns.rrset.from_text_list(name, 300, "IN", rdtype, values))
    if additional:
        response.additional.append(dns.rrset.from_text(additional, 300, "IN", "A", "192.0.2.99"))
    return response.to_wire()


def udp_dns_frame(message: bytes, sport: int = 53) -> bytes:
    return ether(ipv4(RESOLVER, CLIENT, 17, udp(sport, 40000, message)))


SYN, ACK, PSH_ACK, FIN_ACK, SYN_ACK = 0x02, 0x10, 0x18, 0x11, 0x12


class Session:
    """Frames of one TCP connection, with sequence numbers kept by hand."""

    def __init__(self, sport: int = 40000, dport: int = 80, server: str = SERVER) -> None:
        self.sport, self.dport, self.server = sport, dport, server
        self.seq = {True: 1000, False: 90000}

    def frame(
        self, from_client: bool, flags: int, payload: bytes = b"", seq: int | None = None
    ) -> bytes:
        seq = self.seq[from_client] if seq is None else seq
        if from_client:
            segment = tcp(self.sport, self.dport, seq, flags, payload)
            return ether(ipv4(CLIENT, self.server, 6, segment))
        return ether(ipv4(self.server, CLIENT, 6, tcp(self.dport, self.sport, seq, flags, payload)))

    def handshake(self) -> list[bytes]:
        frames = [self.frame(True, SYN), self.frame(False, SYN_ACK)]
        self.seq[True] += 1
        self.seq[False] += 1
        return [*frames, self.frame(True, ACK)]

    def send(self, from_client: bool, payload: bytes, pieces: int = 1) -> list[bytes]:
        size = -(-len(payload) // pieces)
        frames = []
        for start in range(0, len(payload), size):
            frames.append(self.frame(from_client, PSH_ACK, payload[start : start + size]))
            self.seq[from_client] += len(payload[start : start + size])
        return frames

    def close(self) -> list[bytes]:
        frames = [self.frame(True, FIN_ACK), self.frame(False, FIN_ACK)]
        self.seq[True] += 1
        self.seq[False] += 1
        return frames


REQUEST = b"GET /old?x=1 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: test/1\r\n\r\n"
REDIRECT = b"HTTP/1.1 301 Moved Permanently\r\nLocation: /new\r\nContent-Length: 5\r\n\r\nmoved"


# --- HTTP -----------------------------------------------------------------------------------


def test_http_request_and_redirect_become_one_exchange(tmp_path: Path) -> None:
    session = Session()
    frames = [*session.handshake(), *session.send(True, REQUEST)]
    frames += [*session.send(False, REDIRECT), *session.close()]
    items = read(write_pcap(tmp_path / "http.pcap", frames))

    [exchange] = exchanges(items)
    assert (exchange.scheme, exchange.host, exchange.port) == ("http", "www.example.com", 80)
    assert exchange.server_address == SERVER
    assert (exchange.method, exchange.path, exchange.status) == ("GET", "/old?x=1", 301)
    assert exchange.redirect_url == "http://www.example.com/new"
    assert ("User-Agent", "test/1") in exchange.request_headers
    assert ("Location", "/new") in exchange.response_headers
    assert exchange.provenance.locator == "frame 4"
    assert exchange.time == T0 + timedelta(seconds=3)
    assert issues(items) == []


def test_pipelined_requests_are_paired_with_their_responses_in_order(tmp_path: Path) -> None:
    session = Session()
    requests = (
        b"GET /a HTTP/1.1\r\nHost: a.example\r\n\r\n"
        b"HEAD /b HTTP/1.1\r\nHost: a.example\r\n\r\n"
        b"POST /c HTTP/1.1\r\nHost: a.example\r\nContent-Length: 4\r\n\r\nbody"
    )
    responses = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 1000\r\n\r\n"  # HEAD: no body follows
        b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
    )
    frames = [*session.handshake(), *session.send(True, requests, pieces=3)]
    frames += session.send(False, responses, pieces=2)
    items = read(write_pcap(tmp_path / "pipelined.pcap", frames))

    assert [(x.method, x.path, x.status) for x in exchanges(items)] == [
        ("GET", "/a", 200),
        ("HEAD", "/b", 404),
        ("POST", "/c", 201),
    ]


def test_request_segments_arriving_out_of_order_are_put_back_in_order(tmp_path: Path) -> None:
    session = Session()
    handshake = session.handshake()
    first, second = session.send(True, REQUEST, pieces=2)
    frames = [*handshake, second, first, *session.send(False, REDIRECT)]
    items = read(write_pcap(tmp_path / "reordered.pcap", frames))

    [exchange] = exchanges(items)
    assert (exchange.path, exchange.status) == ("/old?x=1", 301)


def test_retransmitted_request_is_read_once(tmp_path: Path) -> None:
    session = Session()
    handshake = session.handshake()
    [request] = session.send(True, REQUEST)
    items = read(write_pcap(tmp_path / "again.pcap", [*handshake, request, request]))
    assert len(exchanges(items)) == 1


def test_request_without_response_is_kept_when_the_file_ends(tmp_path: Path) -> None:
    session = Session(dport=8080)
    request = b"GET / HTTP/1.1\r\nHost: [2001:db8::5]:8080\r\n\r\n"
    items = read(
        write_pcap(tmp_path / "alone.pcap", [*session.handshake(), *session.send(True, request)])
    )

    [exchange] = exchanges(items)
    assert (exchange.host, exchange.port, exchange.status) == ("2001:db8::5", 8080, None)


def test_http_10_request_without_host_names_the_server_address(tmp_path: Path) -> None:
    session = Session()
    frames = [*session.handshake(), *session.send(True, b"GET /x HTTP/1.0\r\n\r\n")]
    frames += session.send(False, b"HTTP/1.0 200 OK\r\n\r\nbody until close")
    [exchange] = exchanges(read(write_pcap(tmp_path / "old.pcap", frames)))
    assert (exchange.host, exchange.status) == (SERVER, 200)


def test_connection_with_neither_http_nor_tls_gives_one_tcp_exchange(tmp_path: Path) -> None:
    ssh = Session(dport=22)
    silent = Session(sport=40001, dport=5222)
    frames = [*ssh.handshake(), *ssh.send(True, b"SSH-2.0-OpenSSH_9.6\r\n"), *ssh.close()]
    frames += [silent.frame(True, SYN)]
    items = read(write_pcap(tmp_path / "tcp.pcap", frames))

    assert sorted((x.scheme, x.host, x.port, x.server_address) for x in exchanges(items)) == [
        ("tcp", SERVER, 22, SERVER),
        ("tcp", SERVER, 5222, SERVER),
    ]
    assert {x.provenance.locator for x in exchanges(items)} == {"frame 1", f"frame {len(frames)}"}


def test_segments_without_a_handshake_give_no_tcp_exchange(tmp_path: Path) -> None:
    session = Session(dport=22)
    frames = session.send(True, b"SSH-2.0-OpenSSH_9.6\r\n")
    assert exchanges(read(write_pcap(tmp_path / "midstream.pcap", frames))) == []


def test_more_connections_than_the_cap_still_give_every_exchange(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_tcp, "MAX_CONNECTIONS", 2)
    sessions = [Session(sport=40000 + n) for n in range(5)]
    frames = [frame for s in sessions for frame in s.handshake()]
    frames += [frame for s in sessions for frame in s.send(True, REQUEST)]
    items = read(write_pcap(tmp_path / "many.pcap", frames))
    assert len([x for x in exchanges(items) if x.scheme == "http"]) == 5


def test_a_gap_longer_than_the_limit_is_reported_and_reading_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_tcp, "MAX_OUT_OF_ORDER", 100)
    session = Session()
    handshake = session.handshake()
    pieces = session.send(True, REQUEST + b"x" * 300, pieces=4)
    frames = [
        *handshake,
        *pieces[1:],
        udp_dns_frame(dns_response("a.example.", "A", ["192.0.2.7"])),
    ]
    items = read(write_pcap(tmp_path / "gap.pcap", frames))

    [gap] = issues(items)
    assert "missing segment" in gap.message and gap.severity is Severity.WARNING
    assert facts(items) == {("a.example", "A", "192.0.2.7")}


# --- URLs in HTTP response bodies ----------------------------------------------------------


def chunked(body: bytes, size: int) -> bytes:
    """`body` in the chunked transfer coding, `size` bytes a chunk."""
    chunks = [body[start : start + size] for start in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks) + b"0\r\n\r\n"


def get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: api.example.cn\r\n\r\n".encode()


def test_chunked_gzip_json_response_gives_its_body_urls(tmp_path: Path) -> None:
    document = b'{"cities":[{"name":"x","url":"https:\\/\\/city.example.cn\\/x"}],"pad":"'
    body = gzip.compress(document + b"p" * 3000 + b'"}')
    response = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json;charset=UTF-8\r\n"
        b"Transfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n" + chunked(body, 10)
    )
    session = Session()
    frames = [*session.handshake(), *session.send(True, get("/cities"))]
    frames += [*session.send(False, response, pieces=5), *session.close()]
    items = read(write_pcap(tmp_path / "cities.pcap", frames))

    [exchange] = exchanges(items)
    assert "https://city.example.cn/x" in exchange.body_urls
    assert (exchange.path, exchange.status) == ("/cities", 200)
    assert exchange.provenance.locator == "frame 4"  # still the request's frame
    assert issues(items) == []


def test_binary_response_is_not_decoded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    codings: list[str] = []
    real_decoder = _bodies.decoder

    def spy(coding: str) -> _bodies.Decode | None:
        codings.append(coding)
        return real_decoder(coding)

    monkeypatch.setattr(_bodies, "decoder", spy)
    # Not gzip at all: decoding it would be a warning, and the URL would be found as text.
    body = b"\x89PNG\r\n\x1a\n https://never.example/y " + bytes(range(256))
    response = (
        b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Encoding: gzip\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    session = Session()
    frames = [*session.handshake(), *session.send(True, get("/qrcode"))]
    frames += [*session.send(False, response, pieces=3), *session.close()]
    items = read(write_pcap(tmp_path / "png.pcap", frames))

    [exchange] = exchanges(items)
    assert (exchange.status, exchange.body_urls) == (200, ())
    assert codings == []
    assert issues(items) == []


def test_body_urls_stay_with_their_response_on_a_keep_alive_connection(tmp_path: Path) -> None:
    requests = get("/a.html") + get("/b.png") + get("/c.js")
    html = b'<a href="http://one.example.cn/">one</a>'
    script = b'fetch("https://three.example.cn/api")'
    responses = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunked(html, 7)
        + b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 22\r\n\r\n"
        + b"https://two.example.cn"
        + b"HTTP/1.1 200 OK\r\nContent-Type: application/javascript\r\n"
        + f"Content-Length: {len(script)}\r\n\r\n".encode()
        + script
    )
    session = Session()
    frames = [*session.handshake(), *session.send(True, requests)]
    frames += [*session.send(False, responses, pieces=4), *session.close()]
    items = read(write_pcap(tmp_path / "keep-alive.pcap", frames))

    assert [(x.path, x.body_urls) for x in exchanges(items)] == [
        ("/a.html", ("http://one.example.cn/",)),
        ("/b.png", ()),
        ("/c.js", ("https://three.example.cn/api",)),
    ]


def test_body_is_decoded_only_up_to_the_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_http1, "MAX_BODY_CHARS", 4096)
    kept: list[int] = []
    real_feed = _bodies.Body.feed

    def feed(self: _bodies.Body, piece: bytes) -> None:
        real_feed(self, piece)
        kept.append(len(self.data))

    monkeypatch.setattr(_bodies.Body, "feed", feed)
    text = b"https://first.example.cn/a " + b"a" * 2**20 + b" https://late.example.cn/"
    body = gzip.compress(text)
    response = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Encoding: gzip\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    session = Session()
    frames = [*session.handshake(), *session.send(True, get("/bomb"))]
    frames += [*session.send(False, response, pieces=4), *session.close()]
    items = read(write_pcap(tmp_path / "bomb.pcap", frames))

    [exchange] = exchanges(items)
    assert exchange.body_urls == ("https://first.example.cn/a",)
    assert kept and max(kept) <= 4096
    assert issues(items) == []


def test_body_that_is_not_valid_gzip_is_a_warning_and_its_start_is_searched(
    tmp_path: Path,
) -> None:
    # Hex digests hardly compress: the body spans several of the batches h11 is read in.
    filler = b"".join(hashlib.sha256(b"%d" % n).hexdigest().encode() for n in range(3000))
    body = gzip.compress(b"see https://ok.example.cn/ " + filler)
    assert len(body) > 2 * _http1._BODY_BATCH
    broken = body[:-8] + bytes(8)  # a wrong CRC-32 and length: zlib notices at the end
    response = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\n"
        + f"Content-Length: {len(broken)}\r\n\r\n".encode()
        + broken
    )
    session = Session()
    frames = [*session.handshake(), *session.send(True, get("/broken"))]
    frames += [*session.send(False, response, pieces=60), *session.close()]
    items = read(write_pcap(tmp_path / "broken.pcap", frames))

    [exchange] = exchanges(items)
    assert (exchange.status, exchange.body_urls) == (200, ("https://ok.example.cn/",))
    [issue] = issues(items)
    assert issue.severity is Severity.WARNING and "not valid gzip" in issue.message


def test_unknown_content_encoding_is_a_warning_and_not_searched(tmp_path: Path) -> None:
    response = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: compress\r\n"
        b"Content-Length: 24\r\n\r\nhttps://never.example/x "
    )
    session = Session()
    frames = [*session.handshake(), *session.send(True, get("/lzw"))]
    frames += [*session.send(False, response), *session.close()]
    items = read(write_pcap(tmp_path / "lzw.pcap", frames))

    [exchange] = exchanges(items)
    assert exchange.body_urls == ()
    [issue] = issues(items)
    assert issue.severity is Severity.WARNING and "'compress'" in issue.message


def test_body_cut_by_the_end_of_the_capture_is_searched_as_far_as_it_goes(tmp_path: Path) -> None:
    response = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5000\r\n\r\n"
        b'<a href="https://partial.example.cn/x">'
    )
    session = Session()
    frames = [
        *session.handshake(),
        *session.send(True, get("/cut")),
        *session.send(False, response),
    ]
    items = read(write_pcap(tmp_path / "cut.pcap", frames))

    [exchange] = exchanges(items)
    assert (exchange.status, exchange.body_urls) == (200, ("https://partial.example.cn/x",))


def test_henan_pcap_gives_the_city_urls_the_har_gives(henan_dir: Path) -> None:
    from_har = [x for x in har.reader.read(henan_dir / "app-session.har")]
    [cities] = [x for x in exchanges(from_har) if x.provenance.locator == "entry 5"]
    assert len(cities.body_urls) == 6  # the health-code pages of 6 cities

    from_pcap = exchanges(list(pcap.reader.read(henan_dir / "app-session.pcap")))
    [same] = [x for x in from_pcap if (x.method, x.path) == (cities.method, cities.path)]
    assert set(same.body_urls) == set(cities.body_urls)


# --- TLS ------------------------------------------------------------------------------------


def client_hello(server_name: str | None) -> bytes:
    """A TLS 1.3 ClientHello record (RFC 8446 §4.1.2), with an SNI extension if given."""
    extensions = b""
    if server_name:
        name = server_name.encode()
        entry = b"\x00" + len(name).to_bytes(2, "big") + name
        names = len(entry).to_bytes(2, "big") + entry
        extensions += b"\x00\x00" + len(names).to_bytes(2, "big") + names
    extensions += b"\x00\x2b\x00\x03\x02\x03\x04"  # supported_versions: TLS 1.3
    body = b"\x03\x03" + bytes(32) + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00"
    body += len(extensions).to_bytes(2, "big") + extensions
    message = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + len(message).to_bytes(2, "big") + message


def self_signed(*names: str) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(datetime(2024, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2025, 1, 1, tzinfo=UTC))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(Encoding.DER)


def server_flight(leaf: bytes, other: bytes) -> bytes:
    """ServerHello and a two-certificate Certificate message (RFC 5246 §7.4.2), in 2 records."""
    server_hello = b"\x02\x00\x00\x26\x03\x03" + bytes(32) + b"\x00\xc0\x2f\x00"
    chain = b"".join(len(der).to_bytes(3, "big") + der for der in (leaf, other))
    body = len(chain).to_bytes(3, "big") + chain
    handshake = server_hello + b"\x0b" + len(body).to_bytes(3, "big") + body
    half = len(handshake) // 2
    return b"".join(
        b"\x16\x03\x03" + len(part).to_bytes(2, "big") + part
        for part in (handshake[:half], handshake[half:])
    )


def test_client_hello_split_over_segments_gives_the_sni(tmp_path: Path) -> None:
    session = Session(dport=443)
    frames = [*session.handshake(), *session.send(True, client_hello("api.example.com"), pieces=4)]
    items = read(write_pcap(tmp_path / "tls.pcap", frames))

    [exchange] = exchanges(items)
    assert (exchange.scheme, exchange.host, exchange.sni) == (
        "https",
        "api.example.com",
        "api.example.com",
    )
    assert (exchange.port, exchange.server_address, exchange.method) == (443, SERVER, None)
    assert exchange.provenance.locator == f"frame {len(frames)}"


def test_client_hello_without_sni_names_the_server_address(tmp_path: Path) -> None:
    session = Session(dport=443)
    frames = [*session.handshake(), *session.send(True, client_hello(None)), *session.close()]
    [exchange] = exchanges(read(write_pcap(tmp_path / "nosni.pcap", frames)))
    assert (exchange.scheme, exchange.host, exchange.sni) == ("https", SERVER, None)


def test_tls12_server_certificate_gives_the_leaf_only(tmp_path: Path) -> None:
    leaf, issuer = self_signed("api.example.com", "cdn.example.net"), self_signed("Example CA")
    session = Session(dport=443)
    frames = [*session.handshake(), *session.send(True, client_hello("api.example.com"))]
    frames += session.send(False, server_flight(leaf, issuer), pieces=3)
    items = read(write_pcap(tmp_path / "cert.pcap", frames))

    [certificate] = certificates(items)
    assert certificate.fingerprint_sha256 == hashlib.sha256(leaf).hexdigest()
    assert certificate.host == "api.example.com"
    assert certificate.sans == ("api.example.com", "cdn.example.net")
    assert certificate.subject == "CN=api.example.com"
    assert (certificate.address, certificate.port) == (SERVER, 443)
    assert certificate.not_after == datetime(2025, 1, 1, tzinfo=UTC)


def test_garbage_after_a_tls_record_header_is_a_warning(tmp_path: Path) -> None:
    session = Session(dport=443)
    frames = [
        *session.handshake(),
        *session.send(True, b"\x16\x03\x01\x00\x05\x01\x00\x00\x01\xff"),
    ]
    items = read(write_pcap(tmp_path / "badtls.pcap", frames))
    [problem] = issues(items)
    assert problem.severity is Severity.WARNING and "ClientHello" in problem.message
    assert problem.provenance.locator == f"frame {len(frames)}"


# --- DNS ------------------------------------------------------------------------------------


def test_dns_response_gives_answers_but_not_additional_records(tmp_path: Path) -> None:
    message = dns_response(
        "www.example.com.", "A", ["192.0.2.80", "192.0.2.81"], additional="ns1.example.com."
    )
    items = read(write_pcap(tmp_path / "dns.pcap", [udp_dns_frame(message)]))

    assert facts(items) == {
        ("www.example.com", "A", "192.0.2.80"),
        ("www.example.com", "A", "192.0.2.81"),
    }
    first = resolutions(items)[0]
    assert first.first_seen == first.last_seen == T0
    assert first.provenance.locator == "frame 1" and first.provenance.format == "pcap"


def test_dns_queries_and_llmnr_give_nothing(tmp_path: Path) -> None:
    query = dns.message.make_query("www.example.com.", "A").to_wire()
    llmnr = dns_response("printer.", "A", ["192.0.2.9"])
    frames = [ether(ipv4(CLIENT, RESOLVER, 17, udp(40000, 53, query))), udp_dns_frame(llmnr, 5355)]
    assert read(write_pcap(tmp_path / "quiet.pcap", frames)) == []


def test_mdns_answer_with_the_cache_flush_bit_is_read_as_class_in(tmp_path: Path) -> None:
    message = bytearray(dns_response("printer.local.", "A", ["192.0.2.9"]))
    message[-12:-10] = b"\x80\x01"  # the answer's class: IN with the cache-flush bit
    items = read(write_pcap(tmp_path / "mdns.pcap", [udp_dns_frame(bytes(message), 5353)]))
    assert facts(items) == {("printer.local", "A", "192.0.2.9")}


def test_record_types_hostmap_does_not_model_are_kept_as_other(tmp_path: Path) -> None:
    message = dns_response("example.com.", "MX", ["10 mail.example.com."])
    [record] = resolutions(read(write_pcap(tmp_path / "mx.pcap", [udp_dns_frame(message)])))
    assert (record.rtype, record.raw_type, record.value) == (
        RecordType.OTHER,
        "MX",
        "10 mail.example.com.",
    )


def test_unparsable_dns_response_is_a_warning_and_the_next_frame_reads(tmp_path: Path) -> None:
    broken = b"\x12\x34\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00\x07example"  # cut in the question
    good = dns_response("b.example.", "AAAA", ["2001:db8::b"])
    items = read(write_pcap(tmp_path / "baddns.pcap", [udp_dns_frame(broken), udp_dns_frame(good)]))

    [problem] = issues(items)
    assert problem.provenance.locator == "frame 1" and problem.severity is Severity.WARNING
    assert facts(items) == {("b.example", "AAAA", "2001:db8::b")}


def test_dns_over_tcp_reads_several_messages_per_segment_and_split_ones(tmp_path: Path) -> None:
    first = dns_response("one.example.", "A", ["192.0.2.1"])
    second = dns_response("two.example.", "A", ["192.0.2.2"])
    third = dns_response("three.example.", "CNAME", ["one.example."])
    stream = b"".join(len(m).to_bytes(2, "big") + m for m in (first, second, third))
    session = Session(dport=53, server=RESOLVER)
    cut = len(first) + len(second) + 4 + 7  # inside the third message
    session.seq[False] = 5000
    frames = [
        session.frame(False, PSH_ACK, stream[:cut]),
        session.frame(False, PSH_ACK, stream[cut:], seq=5000 + cut),
    ]
    items = read(write_pcap(tmp_path / "dnstcp.pcap", frames))

    assert facts(items) == {
        ("one.example", "A", "192.0.2.1"),
        ("two.example", "A", "192.0.2.2"),
        ("three.example", "CNAME", "one.example"),
    }
    assert [r.provenance.locator for r in resolutions(items)] == ["frame 1", "frame 1", "frame 2"]
    assert exchanges(items) == []


# --- link layers and IP ---------------------------------------------------------------------


ANSWER = dns_response("link.example.", "A", ["192.0.2.77"])
ANSWER6 = dns_response("link.example.", "AAAA", ["2001:db8::77"])
LINK_FRAMES = {
    "ethernet": (1, ether(ipv4(RESOLVER, CLIENT, 17, udp(53, 40000, ANSWER)))),
    "802.1Q": (1, ether(ipv4(RESOLVER, CLIENT, 17, udp(53, 40000, ANSWER)), tags=(0x8100,))),
    "QinQ": (1, ether(ipv4(RESOLVER, CLIENT, 17, udp(53, 40000, ANSWER)), tags=(0x88A8, 0x8100))),
    "ethernet IPv6": (1, ether(ipv6(SERVER6, CLIENT6, 17, udp(53, 40000, ANSWER6)), 0x86DD)),
    "SLL": (
        113,
        struct.pack("!HHH8sH", 0, 1, 6, bytes(8), 0x0800)
        + ipv4(RESOLVER, CLIENT, 17, udp(53, 40000, ANSWER)),
    ),
    "SLL2": (
        276,
        struct.pack("!HHIHBB8s", 0x86DD, 0, 2, 1, 0, 6, bytes(8))
        + ipv6(SERVER6, CLIENT6, 17, udp(53, 40000, ANSWER6)),
    ),
    "raw IPv4": (101, ipv4(RESOLVER, CLIENT, 17, udp(53, 40000, ANSWER))),
    "raw IPv6": (101, ipv6(SERVER6, CLIENT6, 17, udp(53, 40000, ANSWER6))),
    "IPv4 link type": (228, ipv4(RESOLVER, CLIENT, 17, udp(53, 40000, ANSWER))),
    "BSD loopback IPv4": (
        0,
        struct.pack("<I", 2) + ipv4(RESOLVER, CLIENT, 17, udp(53, 40000, ANSWER)),
    ),
    "BSD loopback IPv6": (
        0,
        struct.pack("<I", 30) + ipv6(SERVER6, CLIENT6, 17, udp(53, 40000, ANSWER6)),
    ),
    "OpenBSD loopback": (
        108,
        struct.pack("!I", 2) + ipv4(RESOLVER, CLIENT, 17, udp(53, 40000, ANSWER)),
    ),
}


@pytest.mark.parametrize("kind", sorted(LINK_FRAMES))
def test_dns_answer_is_read_on_every_link_type(tmp_path: Path, kind: str) -> None:
    link_type, frame = LINK_FRAMES[kind]
    items = read(write_pcap(tmp_path / "link.pcap", [frame], link_type=link_type))
    [record] = resolutions(items)
    assert record.name == "link.example"
    assert record.value in {"192.0.2.77", "2001:db8::77"}
    assert issues(items) == []


def test_ethernet_padding_after_a_short_ip_packet_is_ignored(tmp_path: Path) -> None:
    frame = ether(ipv4(RESOLVER, CLIENT, 17, udp(53, 40000, ANSWER))) + b"\x00" * 20
    items = read(write_pcap(tmp_path / "padded.pcap", [frame]))
    assert facts(items) == {("link.example", "A", "192.0.2.77")}


def ipv4_fragments(payload: bytes, size: int, ident: int = 0x4242) -> list[bytes]:
    frames = []
    for start in range(0, len(payload), size):
        more = int(start + size < len(payload))
        chunk = payload[start : start + size]
        fields = {"id": ident, "offset": start // 8, "mf": more}  # dpkt: offset in 8-byte units
        frames.append(ether(ipv4(RESOLVER, CLIENT, 17, chunk, **fields)))
    return frames


def test_ipv4_fragments_are_reassembled_in_any_order(tmp_path: Path) -> None:
    message = dns_response("frag.example.", "A", [f"192.0.2.{n}" for n in range(1, 40)])
    frames = ipv4_fragments(udp(53, 40000, message), 256)
    assert len(frames) >= 3
    frames = [frames[-1], *frames[:-1]]
    items = read(write_pcap(tmp_path / "frag.pcap", frames))

    assert len(resolutions(items)) == 39
    assert {r.provenance.locator for r in resolutions(items)} == {f"frame {len(frames)}"}
    assert issues(items) == []


def test_ipv6_fragment_headers_are_reassembled(tmp_path: Path) -> None:
    message = dns_response("frag6.example.", "AAAA", [f"2001:db8::{n:x}" for n in range(1, 40)])
    datagram = udp(53, 40000, message)
    frames = []
    for start in range(0, len(datagram), 512):
        more = int(start + 512 < len(datagram))
        header = struct.pack("!BBHI", 17, 0, start | more, 0xBEEF)
        packet = ipv6(SERVER6, CLIENT6, 44, header + datagram[start : start + 512])
        frames.append(ether(packet, 0x86DD))
    items = read(write_pcap(tmp_path / "frag6.pcap", frames))
    assert len(resolutions(items)) == 39


def test_fragments_that_never_complete_are_dropped_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_ip, "MAX_FRAGMENT_AGE", 3)
    message = dns_response("lost.example.", "A", [f"192.0.2.{n}" for n in range(1, 40)])
    first, *_rest = ipv4_fragments(udp(53, 40000, message), 256)
    later = udp_dns_frame(dns_response("later.example.", "A", ["192.0.2.5"]))
    items = read(write_pcap(tmp_path / "lost.pcap", [first, *[later] * 5]))

    [dropped] = issues(items)
    assert dropped.provenance.locator == "frame 1"
    assert "within 3 frames" in dropped.message
    assert {r.name for r in resolutions(items)} == {"later.example"}


# --- the capture file -----------------------------------------------------------------------


def test_nanosecond_pcap_keeps_microseconds(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "nano.pcap", [udp_dns_frame(ANSWER)], nano=True)
    data = bytearray(path.read_bytes())
    data[28:32] = (123456789).to_bytes(4, "little")  # the first record's fraction, in ns
    path.write_bytes(bytes(data))
    [record] = resolutions(read(path))
    assert record.first_seen == T0 + timedelta(microseconds=123456)


def pcapng(blocks: list[bytes]) -> bytes:
    return bytes(dpkt.pcapng.SectionHeaderBlockLE()) + b"".join(blocks)


def interface(link_type: int, resolution: int | None) -> bytes:
    options = [dpkt.pcapng.PcapngOptionLE(code=9, data=bytes([resolution]))] if resolution else []
    options.append(dpkt.pcapng.PcapngOptionLE(code=0))
    return bytes(dpkt.pcapng.InterfaceDescriptionBlockLE(linktype=link_type, opts=options))


def packet(interface_id: int, units: int, frame: bytes) -> bytes:
    block = dpkt.pcapng.EnhancedPacketBlockLE(
        iface_id=interface_id, ts_high=units >> 32, ts_low=units & 0xFFFFFFFF, pkt_data=frame
    )
    return bytes(block)


def test_pcapng_reads_each_interface_with_its_link_type_and_time_resolution(tmp_path: Path) -> None:
    seconds = int(T0.timestamp())
    blocks = [
        interface(1, 9),  # Ethernet, nanoseconds
        interface(101, None),  # raw IP, microseconds (the default)
        packet(
            0,
            seconds * 10**9 + 250_000_000,
            udp_dns_frame(dns_response("ns.example.", "A", ["192.0.2.1"])),
        ),
        packet(1, seconds * 10**6 + 500_000, ipv4(RESOLVER, CLIENT, 17, udp(53, 4000, ANSWER))),
    ]
    path = tmp_path / "two.pcapng"
    path.write_bytes(pcapng(blocks))
    items = read(path)

    times = {r.name: (r.first_seen, r.provenance.locator) for r in resolutions(items)}
    assert times == {
        "ns.example": (T0 + timedelta(milliseconds=250), "frame 1"),
        "link.example": (T0 + timedelta(milliseconds=500), "frame 2"),
    }


def test_pcapng_simple_packet_block_is_a_frame_without_a_time(tmp_path: Path) -> None:
    frame = udp_dns_frame(ANSWER)
    padded = frame + bytes(-len(frame) % 4)
    simple = struct.pack("<III", 3, 16 + len(padded), len(frame)) + padded
    simple += struct.pack("<I", 16 + len(padded))
    path = tmp_path / "simple.pcapng"
    path.write_bytes(pcapng([interface(1, None), simple]))
    [record] = resolutions(read(path))
    assert (record.first_seen, record.provenance.locator) == (None, "frame 1")


def test_file_cut_inside_a_record_keeps_the_frames_before_it(tmp_path: Path) -> None:
    frames = [
        udp_dns_frame(dns_response(f"n{n}.example.", "A", [f"192.0.2.{n}"])) for n in (1, 2, 3)
    ]
    path = write_pcap(tmp_path / "cut.pcap", frames)
    whole = path.read_bytes()
    third_record = len(whole) - 16 - len(frames[2])
    path.write_bytes(whole[: third_record + 16 + 10])
    items = read(path)

    assert {r.name for r in resolutions(items)} == {"n1.example", "n2.example"}
    [cut] = issues(items)
    assert cut.provenance.locator == "frame 3" and cut.severity is Severity.ERROR
    assert f"byte {third_record}" in cut.message
    assert f"10 of {len(frames[2])} captured bytes" in cut.message


def test_file_cut_inside_a_record_header_names_the_frame(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "cuthead.pcap", [udp_dns_frame(ANSWER)])
    path.write_bytes(path.read_bytes() + b"\x00" * 5)
    items = read(path)
    assert len(resolutions(items)) == 1
    [cut] = issues(items)
    assert cut.provenance.locator == "frame 2" and "5 of 16 header bytes" in cut.message


def test_pcapng_cut_inside_a_block_keeps_the_frames_before_it(tmp_path: Path) -> None:
    blocks = [
        interface(1, None),
        packet(0, 0, udp_dns_frame(ANSWER)),
        packet(0, 0, udp_dns_frame(ANSWER)),
    ]
    path = tmp_path / "cut.pcapng"
    path.write_bytes(pcapng(blocks)[:-20])
    items = read(path)
    assert len(resolutions(items)) == 1
    [cut] = issues(items)
    assert cut.provenance.locator == "frame 2" and "ends inside the block" in cut.message


def test_garbage_frame_is_an_error_naming_it_and_the_next_frame_still_reads(tmp_path: Path) -> None:
    garbage = ether(b"\x4f" + bytes(30))  # IPv4 with a 60-byte header in a 31-byte packet
    frames = [udp_dns_frame(ANSWER), garbage, ether(b"\x35" + bytes(30)), udp_dns_frame(ANSWER)]
    items = read(write_pcap(tmp_path / "garbage.pcap", frames))

    assert [(i.provenance.locator, i.severity) for i in issues(items)] == [
        ("frame 2", Severity.ERROR),
        ("frame 3", Severity.ERROR),
    ]
    assert [r.provenance.locator for r in resolutions(items)] == ["frame 1", "frame 4"]


def test_many_bad_frames_are_listed_up_to_the_limit_then_counted(tmp_path: Path) -> None:
    frames = [ether(b"\x35" + bytes(30))] * (pcap.MAX_LISTED_ISSUES + 7)
    items = read(write_pcap(tmp_path / "bad.pcap", frames))

    listed = [i for i in issues(items) if i.provenance.locator]
    assert len(listed) == pcap.MAX_LISTED_ISSUES
    [summary] = [i for i in issues(items) if not i.provenance.locator]
    assert summary.message.startswith("7 more issues not listed")
    assert summary.severity is Severity.ERROR


def test_non_ip_frames_are_skipped_quietly(tmp_path: Path) -> None:
    arp = ether(bytes(28), ethertype=0x0806)
    items = read(write_pcap(tmp_path / "arp.pcap", [arp, udp_dns_frame(ANSWER)]))
    assert issues(items) == [] and len(resolutions(items)) == 1


def test_not_a_capture_raises_malformed_input_naming_the_magic(tmp_path: Path) -> None:
    path = tmp_path / "notes.pcap"
    path.write_bytes(b"hello, this is text\n")
    with pytest.raises(MalformedInput, match="not a pcap or pcapng file: magic 68656c6c"):
        read(path)


def test_empty_file_raises_malformed_input(tmp_path: Path) -> None:
    path = tmp_path / "empty.pcap"
    path.write_bytes(b"")
    with pytest.raises(MalformedInput, match="not a pcap or pcapng file"):
        read(path)


def test_pcap_header_cut_short_raises_truncated_input(tmp_path: Path) -> None:
    path = tmp_path / "short.pcap"
    path.write_bytes(b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00")
    with pytest.raises(TruncatedInput, match="8 of 24 bytes"):
        read(path)


def test_unsupported_link_type_raises_malformed_input(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "radiotap.pcap", [b"\x00" * 40], link_type=127)
    with pytest.raises(MalformedInput, match="link type 127"):
        read(path)


@pytest.mark.parametrize(
    "head",
    [
        b"\xa1\xb2\xc3\xd4",
        b"\xd4\xc3\xb2\xa1",
        b"\xa1\xb2\x3c\x4d",
        b"\x4d\x3c\xb2\xa1",
        b"\x0a\x0d\x0d\x0a\x1c\x00\x00\x00\x4d\x3c\x2b\x1a",
    ],
)
def test_sniff_is_certain_of_pcap_and_pcapng_magic(head: bytes) -> None:
    assert PcapReader().sniff(head + bytes(20), Path("capture.bin")) == 1.0


@pytest.mark.parametrize(
    "head", [b"", b'{"log": {}}', b"\x0a\x0d\x0d\x0a\x1c\x00\x00\x00abcd", b"GET /"]
)
def test_sniff_rejects_other_content_whatever_the_name(head: bytes) -> None:
    assert PcapReader().sniff(head, Path("capture.pcap")) == 0.0


def test_read_is_a_generator_that_yields_before_the_file_ends(tmp_path: Path) -> None:
    frames = [udp_dns_frame(ANSWER)] + [ether(bytes(28), ethertype=0x0806)] * 1000
    iterator = reader.read(write_pcap(tmp_path / "long.pcap", frames))
    first = next(iterator)
    assert isinstance(first, Resolution) and first.provenance.locator == "frame 1"
    iterator.close()


def test_big_endian_pcap_is_read(tmp_path: Path) -> None:
    frame = udp_dns_frame(ANSWER)
    header = struct.pack(">IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    record = struct.pack(">IIII", int(T0.timestamp()), 250_000, len(frame), len(frame))
    path = tmp_path / "big-endian.pcap"
    path.write_bytes(header + record + frame)
    [answer] = resolutions(read(path))
    assert answer.first_seen == T0 + timedelta(milliseconds=250)


def test_big_endian_pcapng_with_two_sections_is_read(tmp_path: Path) -> None:
    seconds = int(T0.timestamp())
    big_endian = bytes(dpkt.pcapng.SectionHeaderBlock()) + b"".join(
        bytes(block)
        for block in (
            dpkt.pcapng.InterfaceDescriptionBlock(linktype=101),
            dpkt.pcapng.EnhancedPacketBlock(
                iface_id=0,
                ts_high=0,
                ts_low=seconds,
                pkt_data=ipv4(RESOLVER, CLIENT, 17, udp(53, 9, ANSWER)),
            ),
        )
    )
    little_endian = pcapng([interface(1, None), packet(0, seconds * 10**6, udp_dns_frame(ANSWER6))])
    path = tmp_path / "sections.pcapng"
    path.write_bytes(big_endian + little_endian)
    items = read(path)

    assert [(r.value, r.provenance.locator) for r in resolutions(items)] == [
        ("192.0.2.77", "frame 1"),
        ("2001:db8::77", "frame 2"),
    ]
    assert issues(items) == []


def test_record_claiming_an_impossible_length_ends_the_file_with_an_error(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "corrupt.pcap", [udp_dns_frame(ANSWER)])
    bogus = struct.pack("<IIII", 0, 0, 0x7FFFFFFF, 60)
    path.write_bytes(path.read_bytes() + bogus + bytes(64))
    items = read(path)

    assert len(resolutions(items)) == 1
    [corrupt] = issues(items)
    assert corrupt.provenance.locator == "frame 2" and corrupt.severity is Severity.ERROR
    assert "claims 2147483647 captured bytes" in corrupt.message
