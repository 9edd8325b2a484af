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

__all__ = ["MAX_LISTED_ISSUES", "PcapReader", "reader"]

MAX_LISTED_ISSUES = 20
"""Issues listed one by one per file; the rest are counted in one summary issue."""

_DNS_PORTS = frozenset({53, 5353})
_UDP_HEADER = struct.Struct("!HHH")
_QUIC_PORT = 443


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
        with open(path, "rb") as stream:
            capture = _Capture(str(path))
            for item in read_frames(stream, capture.locate):
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

    def __init__(self, file: str) -> None:
        self._file = file
        self._ip = IpLayer()
        self._tcp = TcpTracker(self.locate, self._dns)
        self._listed = 0
        self._unlisted: Counter[Severity] = Counter()
        self._skipped_links: set[int] = set()
        self._quic = 0
        self._cut = 0

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
            text = str(exc) or type(exc).__name__
            return [self._issue(frame, f"DNS response cannot be parsed: {text}", Severity.WARNING)]
        provenance, time = self.locate(frame.number), frame.time
        items: list[ReadItem] = []
        if parsed.errors:
            error = parsed.errors[0].exception
            text = str(error) or type(error).__name__
            skipped = f"DNS response partly unreadable ({len(parsed.errors)} records skipped)"
            items.append(self._issue(frame, f"{skipped}: {text}", Severity.WARNING))
        for rrset in parsed.answer:
            for rdata in rrset:
                name, type_text, value = _record_text(rrset.name, rdata)
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
                        self._issue(
                            frame, f"DNS answer {name} {type_text}: {exc}", Severity.WARNING
                        )
                    )
        return items


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
