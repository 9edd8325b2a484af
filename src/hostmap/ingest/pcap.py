"""Packet captures, pcap and pcapng, as tcpdump, Wireshark, dumpcap and PCAPdroid write them.

The work is split by layer: `_capture_file` reads the container into frames
(pcap and pcapng, every pcapng interface with its own link type and time
resolution, files cut short), `_ip` the link layers and IPv4/IPv6 with
fragment reassembly, `_tcp` connections and stream reassembly, `_tls` the
ClientHello and server certificate, `_http1` HTTP/1.x through h11.  This
module reads UDP and DNS and turns frame errors into issues.

Frames are numbered from 1 as Wireshark numbers them; every observation's
locator is "frame N", the frame that completed it (the last fragment or
segment it needed).  What the frames give:

- DNS responses over UDP from port 53 or 5353 (mDNS) and over TCP port 53:
  one `Resolution` (source CAPTURE, first_seen = last_seen = frame time) per
  record of the ANSWER section only; authority and additional records are a
  server's hints, not answers to the question.  A/AAAA/CNAME/PTR/NS keep
  their type, others become `RecordType.OTHER` with the type's name (mDNS
  records with the cache-flush bit in their class are read as class IN).  A
  PTR from a full reverse name also yields the address record the other way
  round, as in the zone-file reader.  Records dnspython cannot parse
  (DecompressionForbidden in some mDNS packets) are skipped with a WARNING
  naming the frame; the rest of the response is still read.  TSIG-signed
  responses are read without checking the signature.  Queries give nothing,
  and neither do LLMNR (5355) and NetBIOS (137): they name hosts of the
  local network, not the servers an app talks to.
- TLS ClientHello SNI and TLS 1.2 server certificates (`_tls`), HTTP/1.x
  requests with their responses and the URLs in text-like response bodies,
  decoded as in the SAZ reader (`_http1`), and one "tcp" exchange for every
  other connection whose handshake was seen (`_tcp`).
- UDP to or from port 443 (QUIC) is counted and named in one WARNING: its
  SNI sits in Initial packets that would need decrypting.  Cleartext HTTP/2
  (h2c, so DNS over HTTPS in suricata-verify-dns-over-https-h2c.pcap) is
  not read beyond the connection's "tcp" exchange.

A frame that is not understood (cut by the snap length, a DNS, TLS or HTTP
message that does not parse) is a WARNING, a corrupt one (impossible header
fields) an ERROR, and reading goes on with the next frame.  At most
`MAX_LISTED_ISSUES` are listed one by one; one more issue counts the rest.
Checksums are not verified (zeek-dns-corrupt.pcap has wrong UDP checksums
on purpose, and checksum offload leaves outgoing ones wrong).  A file that
is not a capture raises `MalformedInput`.  Memory stays flat however long
the capture: fragments, connections and their buffers are all bounded.

Speed: most frames give nothing (encrypted TLS records, ACKs, QUIC, the
segments of connections already read), so `_Capture.skips` decides that from
a few header bytes before any object is built; DNS answers are parsed once
per distinct message (the bytes after the ID; a bounded cache).  HTTP/1 is
always parsed by h11.
`read_capture(path, fast=False)` reads every frame through every layer
instead; tests/ingest/test_pcap_fast.py holds both to the same items.
"""

from __future__ import annotations

import ipaddress
import struct
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import dns.exception
import dns.message
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype

from hostmap.errors import MalformedInput, TruncatedInput
from hostmap.ingest._capture_file import LINK_TYPES, Frame, is_capture, read_frames
from hostmap.ingest._ip import Datagram, IpLayer
from hostmap.ingest._reader import ReadItem
from hostmap.ingest._tcp import TcpTracker
from hostmap.ingest.zone_file import rdata_fields, record_resolutions
from hostmap.model import Provenance, ReadIssue, ResolutionSource, Severity

__all__ = ["MAX_LISTED_ISSUES", "PcapReader", "read_capture", "reader"]

MAX_LISTED_ISSUES = 20
"""Issues listed one by one per file; the rest are counted in one summary issue."""

_DNS_PORTS = frozenset({53, 5353})
_UDP_HEADER = struct.Struct("!HHH")
_QUIC_PORT = 443
_MAX_KEPT_ANSWERS = 4096
_MAX_KEPT_MESSAGE = 1232  # the usual EDNS buffer size: larger messages are rare and not kept
_COMMON = struct.Struct("!12xHBxH2xHxB2x4s4sHH8xBB")
"""Ethernet, IPv4 and the first 14 bytes of TCP (or UDP's ports), up to the TCP flags:
EtherType, version and header length, total length, flags and fragment offset,
protocol, source, destination, ports, TCP data offset, TCP flags."""
_LINK_WRAPPERS = frozenset({0x8100, 0x88A8, 0x9100, 0x9200, 0x8864})  # VLAN tags, PPPoE
_RAW_IP = frozenset({12, 14, 101, 228, 229})
_IPV6_MORE_HEADERS = frozenset({0, 43, 44, 51, 60, 135, 139, 140})  # extensions, fragment, AH


class PcapReader:
    """Reads pcap and pcapng captures; see the module docstring."""

    format = "pcap"
    description = (
        "Packet captures (pcap, pcapng) from tcpdump, Wireshark, tshark, dumpcap, PCAPdroid"
    )
    suffixes = (".pcap", ".pcapng", ".cap", ".dmp")
    signature = "pcap magic a1b2c3d4 or a1b23c4d in either byte order, or a pcapng 0a0d0d0a block"

    def sniff(self, head: bytes, path: Path) -> float:
        return 1.0 if is_capture(head) else 0.0

    def read(self, path: Path) -> Iterator[ReadItem]:
        return read_capture(path)


def read_capture(path: Path, *, fast: bool = True) -> Iterator[ReadItem]:
    """The observations and issues of one capture file.

    `fast=False` reads every frame through the whole stack, layer by layer;
    the default first skips, from a few header bytes, the frames that cannot
    give anything (see `_Capture.skips`).  Both yield the same items.
    """
    with open(path, "rb") as stream:
        capture = _Capture(str(path), fast=fast)
        skip = capture.skips if fast else None
        for item in read_frames(stream, capture.locate, skip):
            if not isinstance(item, Frame):
                yield item  # the container broke: always listed
                continue
            for found in capture.frame(item):  # most frames give nothing
                if capture.is_listed(found):
                    yield found
        for found in capture.finish():
            if capture.is_listed(found):
                yield found
        yield from capture.summary()


class _Capture:
    """What one file's frames add up to: the IP layer, TCP connections, issue counts."""

    def __init__(self, file: str, *, fast: bool = True) -> None:
        self._file = file
        self._ip = IpLayer()
        self._fragments = self._ip.holding
        self._tcp = TcpTracker(self.locate, self._dns)
        self._tcp_skips = self._tcp.skips
        self._listed = 0
        self._unlisted: Counter[Severity] = Counter()
        self._skipped_links: set[int] = set()
        self._quic = 0
        self._cut = 0
        self._answers: dict[bytes, str | tuple[str | tuple[str, str, str], ...]] | None = (
            {} if fast else None
        )
        """DNS answers by message bytes after the ID (`fast` only): at most
        `_MAX_KEPT_ANSWERS` of at most `_MAX_KEPT_MESSAGE` bytes, the oldest dropped."""

    def skips(self, data: bytes, start: int, end: int, link_type: int) -> bool:
        """Whether the whole frame data[start:end] would give nothing, read from a few bytes.

        True only for what `frame` would read without an issue and without
        keeping anything: Ethernet or raw IP, IPv4 without options or
        fragments or IPv6 without extension headers, holding a UDP datagram
        that is not a DNS response (QUIC is counted here), a TCP segment
        `TcpTracker.skips` passes over, or another protocol.  False sends
        the frame through `frame`: nothing is decided here that it would
        decide differently.
        """
        if self._fragments:  # every frame ages the waiting fragments
            return False
        if link_type == 1 and end - start >= _COMMON.size:  # Ethernet, IPv4: one unpack
            fields = _COMMON.unpack_from(data, start)
            ethertype, first, total, fragment, protocol, source, target = fields[:7]
            source_port, target_port, offset, flags = fields[7:]
            if ethertype == 0x0800 and first == 0x45 and not fragment & 0x3FFF and total != 0:
                at, stop = start + 34, start + 14 + total
                if total < 20 or stop > end:
                    return False
                if protocol == 6:
                    header = (offset >> 4) * 4
                    if header < 20 or at + header > stop:
                        return False
                    return self._tcp_skips(
                        (source, source_port), (target, target_port), flags, stop > at + header
                    )
                if protocol == 17:
                    if stop - at < 8 or source_port in _DNS_PORTS:
                        return False
                    if source_port == _QUIC_PORT or target_port == _QUIC_PORT:
                        self._quic += 1
                return True
        if link_type == 1:
            if end - start < 14:
                return False
            ethertype = data[start + 12] << 8 | data[start + 13]
            at = start + 14
            if ethertype == 0x86DD:
                version = 6
            elif ethertype == 0x0800:
                version = 4
            else:  # ARP and the like give nothing; VLAN tags and PPPoE are read by `_ip`
                return ethertype not in _LINK_WRAPPERS
        elif link_type in _RAW_IP:
            if end <= start:
                return False
            at, version = start, data[start] >> 4
        else:
            return False
        if version == 4:
            if end - at < 20 or data[at] != 0x45 or data[at + 6] & 0x3F or data[at + 7]:
                return False  # options, a fragment, or too short: read by `_ip`
            total = data[at + 2] << 8 | data[at + 3]
            if total:
                stop = at + total
                if total < 20 or stop > end:
                    return False
            else:
                stop = end
            protocol = data[at + 9]
            source, target = data[at + 12 : at + 16], data[at + 16 : at + 20]
            at += 20
        elif version == 6:
            if end - at < 40 or data[at] >> 4 != 6:  # `_ip` goes by this nibble, not EtherType
                return False
            protocol, length = data[at + 6], data[at + 4] << 8 | data[at + 5]
            if protocol in _IPV6_MORE_HEADERS:
                return False
            stop = at + 40 + length if length else end
            if stop > end:
                return False
            source, target = data[at + 8 : at + 24], data[at + 24 : at + 40]
            at += 40
        else:
            return False
        if protocol == 6:
            if stop - at < 20:
                return False
            header = (data[at + 12] >> 4) * 4
            if header < 20 or at + header > stop:
                return False
            source_port = data[at] << 8 | data[at + 1]
            target_port = data[at + 2] << 8 | data[at + 3]
            return self._tcp_skips(
                (source, source_port), (target, target_port), data[at + 13], stop > at + header
            )
        if protocol == 17:
            if stop - at < 8:
                return False
            source_port = data[at] << 8 | data[at + 1]
            if source_port in _DNS_PORTS:
                return False
            if source_port == _QUIC_PORT or data[at + 2] << 8 | data[at + 3] == _QUIC_PORT:
                self._quic += 1
        return True

    def locate(self, number: int) -> Provenance:
        return Provenance(file=self._file, format="pcap", locator=f"frame {number}")

    def frame(self, frame: Frame) -> list[ReadItem]:
        """What one frame adds; the single place where a frame's errors become issues."""
        if frame.link_type not in LINK_TYPES:
            if frame.link_type in self._skipped_links:
                return []
            self._skipped_links.add(frame.link_type)
            message = (
                f"link type {frame.link_type} is not read: frames of that interface are skipped"
            )
            return [self._issue(frame, message, Severity.WARNING)]
        self._cut += frame.is_cut
        items: list[ReadItem] = []
        try:
            datagram = self._ip.datagram(frame)
            if self._ip.lost:
                items += self._lost_fragments()
            if datagram is not None and datagram.protocol == 17:
                items += self._udp(datagram, frame)
            elif datagram is not None and datagram.protocol == 6:
                items += self._tcp.segment(datagram, frame)
        except MalformedInput as exc:
            items.append(self._issue(frame, str(exc), Severity.ERROR))
        except TruncatedInput as exc:  # the snap length cut the frame
            items.append(self._issue(frame, str(exc), Severity.WARNING))
        except (ValueError, IndexError, struct.error) as exc:
            items.append(self._issue(frame, f"{type(exc).__name__}: {exc}", Severity.ERROR))
        return items

    def finish(self) -> list[ReadItem]:
        """What is still held when the file ends: open connections, fragments."""
        self._ip.finish()
        return [*self._tcp.finish(), *self._lost_fragments()]

    def is_listed(self, item: ReadItem) -> bool:
        """False for an issue past the first MAX_LISTED_ISSUES, which is only counted."""
        if not isinstance(item, ReadIssue):
            return True
        if self._listed < MAX_LISTED_ISSUES:
            self._listed += 1
            return True
        self._unlisted[item.severity] += 1
        return False

    def summary(self) -> list[ReadIssue]:
        """One issue counting the unlisted issues, one naming what was skipped (QUIC, cuts)."""
        provenance = Provenance(file=self._file, format="pcap", locator="")
        issues = []
        if self._unlisted:
            errors, warnings = self._unlisted[Severity.ERROR], self._unlisted[Severity.WARNING]
            message = (
                f"{errors + warnings} more issues not listed ({errors} errors, {warnings} warnings)"
            )
            severity = Severity.ERROR if errors else Severity.WARNING
            issues.append(ReadIssue(provenance=provenance, message=message, severity=severity))
        skipped = []
        if self._quic:
            skipped.append(f"{self._quic} QUIC packets (UDP port 443; their SNI is encrypted)")
        if self._cut:
            frames = "1 frame" if self._cut == 1 else f"{self._cut} frames"
            skipped.append(f"the rest of {frames} cut short by the snap length")
        if skipped:
            message = "not read: " + "; ".join(skipped)
            issues.append(
                ReadIssue(provenance=provenance, message=message, severity=Severity.WARNING)
            )
        return issues

    def _issue(self, frame: Frame, message: str, severity: Severity) -> ReadIssue:
        return ReadIssue(provenance=self.locate(frame.number), message=message, severity=severity)

    def _lost_fragments(self) -> list[ReadItem]:
        if not self._ip.lost:
            return []
        lost, self._ip.lost = self._ip.lost, []
        return [
            ReadIssue(
                provenance=self.locate(item.first_frame),
                message=str(item),
                severity=Severity.WARNING,
            )
            for item in lost
        ]

    def _udp(self, datagram: Datagram, frame: Frame) -> list[ReadItem]:
        try:
            source, target, length = _UDP_HEADER.unpack_from(datagram.payload)
        except struct.error as exc:
            if datagram.is_cut:
                cut = f"captured {len(frame.data)} of {frame.wire_length} bytes"
                raise TruncatedInput(f"{cut}, inside the UDP header") from exc
            raise MalformedInput(f"truncated UDP header ({len(datagram.payload)} bytes)") from exc
        if source in _DNS_PORTS:
            end = length if 8 <= length <= len(datagram.payload) else len(datagram.payload)
            return self._dns(datagram.payload[8:end], frame)
        if _QUIC_PORT in (source, target):
            self._quic += 1
        return []

    def _dns(self, message: bytes, frame: Frame) -> list[ReadItem]:
        """The Resolutions in a DNS response's answer section (a query gives nothing)."""
        if len(message) < 12 or not message[2] & 0x80 or message[6:8] == b"\0\0":
            return []  # a query, or a response with an empty answer section
        if self._answers is None:
            answers = _answers(message)
        else:  # the same answer comes again and again, under a new ID (bytes 0-1) each time
            key = message[2:]
            answers = self._answers.get(key)
            if answers is None:
                answers = _answers(message)
                if len(message) <= _MAX_KEPT_MESSAGE:
                    if len(self._answers) >= _MAX_KEPT_ANSWERS:
                        del self._answers[next(iter(self._answers))]  # the oldest
                    self._answers[key] = answers
        if isinstance(answers, str):
            return [self._issue(frame, answers, Severity.WARNING)]
        provenance, time = self.locate(frame.number), frame.time
        items: list[ReadItem] = []
        for record in answers:
            if isinstance(record, str):
                items.append(self._issue(frame, record, Severity.WARNING))
                continue
            name, type_text, value = record
            try:
                items += record_resolutions(
                    name,
                    type_text,
                    value,
                    provenance=provenance,
                    source=ResolutionSource.CAPTURE,
                    first_seen=time,
                    last_seen=time,
                )
            except ValueError as exc:
                items.append(
                    self._issue(frame, f"DNS answer {name} {type_text}: {exc}", Severity.WARNING)
                )
        return items


def _answers(message: bytes) -> str | tuple[str | tuple[str, str, str], ...]:
    """A DNS response's answer records as (name, type, value) texts, parsed by dnspython.

    A string instead of the whole is why the message cannot be parsed; a
    string first among the records says how many records could not be.
    """
    try:
        # keyring=False: read TSIG-signed messages without the key to check them
        parsed = dns.message.from_wire(
            message,
            keyring=False,
            ignore_trailing=True,
            continue_on_error=True,
            one_rr_per_rrset=True,  # no merging of records: a third faster, and all kept
        )
    except (dns.exception.DNSException, ValueError) as exc:
        return f"DNS response cannot be parsed: {str(exc) or type(exc).__name__}"
    answers: list[str | tuple[str, str, str]] = []
    if parsed.errors:
        error = parsed.errors[0].exception
        text = str(error) or type(error).__name__
        skipped = f"DNS response partly unreadable ({len(parsed.errors)} records skipped)"
        answers.append(f"{skipped}: {text}")
    answers += (_record_text(rrset.name, rdata) for rrset in parsed.answer for rdata in rrset)
    return tuple(answers)


def _record_text(owner: dns.name.Name, rdata: dns.rdata.Rdata) -> tuple[str, str, str]:
    """(name, type, value) of an answer record.

    mDNS sets the top bit of the class on records that flush caches (RFC 6762
    §10.2); dnspython then sees an unknown class and keeps A/AAAA data raw.
    """
    flushed = rdata.rdclass == (dns.rdataclass.IN | 0x8000)
    if flushed and rdata.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
        raw = getattr(rdata, "data", b"")
        if len(raw) in (4, 16):
            return (
                owner.to_text(),
                dns.rdatatype.to_text(rdata.rdtype),
                str(ipaddress.ip_address(raw)),
            )
    return rdata_fields(owner, rdata)


reader = PcapReader()
