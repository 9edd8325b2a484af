"""From a captured frame to an IP datagram, for the pcap reader.

Link layers (the numbers are tcpdump.org's LINKTYPE_ values):

- Ethernet (1), with any number of 802.1Q / 802.1ad (QinQ) tags and
  PPPoE session frames;
- Linux cooked capture SLL (113: 16-byte header, protocol at byte 14) and
  SLL2 (276: 20-byte header, protocol at byte 0), VLAN tags included;
- raw IP (101, and 12/14 as OpenBSD and old libpcap wrote it), IPv4 (228),
  IPv6 (229);
- BSD loopback / null (0) and OpenBSD loopback (108): a 4-byte address
  family whose value differs between systems (AF_INET6 is 10, 24, 28 or 30),
  so the IP version nibble decides instead.

IPv4 (RFC 791) and IPv6 (RFC 8200) are reassembled from fragments: IPv4 by
(source, destination, protocol, identification), IPv6 by the Fragment
header's (source, destination, identification), after skipping hop-by-hop,
routing, destination-options, AH (RFC 4302: length in 4-byte units) and
mobility headers.  Reassembly is bounded: a set not complete within
`MAX_FRAGMENT_AGE` frames, or pushed out by `MAX_FRAGMENT_SETS` /
`MAX_FRAGMENT_BYTES`, is dropped and reported.

The headers are read with `struct`, not dpkt's packet classes: those decode
the whole stack eagerly (about 17 µs a frame, thirty times the cost of
reading the few fields needed here) and decode a first fragment as if it
were the whole datagram.  Checksums are never verified: capture offload
leaves them wrong, and zeek-dns-corrupt.pcap has bad UDP checksums on
purpose.
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from dataclasses import dataclass, field

from hostmap.errors import MalformedInput, TruncatedInput
from hostmap.ingest._capture_file import LINK_TYPES, Frame

__all__ = [
    "MAX_FRAGMENT_AGE",
    "MAX_FRAGMENT_BYTES",
    "MAX_FRAGMENT_SETS",
    "Datagram",
    "IpLayer",
    "LostFragments",
]

MAX_FRAGMENT_AGE = 2000
"""Frames after its first fragment by which a datagram must be complete."""
MAX_FRAGMENT_SETS = 256
"""Datagrams being reassembled at once; the oldest is dropped beyond this."""
MAX_FRAGMENT_BYTES = 4 * 1024 * 1024
"""Bytes held for reassembly in all; the oldest sets are dropped beyond this."""
_MAX_DATAGRAM = 65535 + 65535  # an IPv6 payload plus its headers; no jumbograms

_ETHERTYPE_IPV4, _ETHERTYPE_IPV6 = 0x0800, 0x86DD
_ETHERTYPE_VLAN = frozenset({0x8100, 0x88A8, 0x9100, 0x9200})
_ETHERTYPE_PPPOE_SESSION = 0x8864
_PPP_IPV4, _PPP_IPV6 = 0x0021, 0x0057

_IPV4_HEADER = struct.Struct("!BxHHHxB2x4s4s")
_IPV6_EXTENSIONS = frozenset({0, 43, 60, 135, 139, 140})  # length in 8-byte units, less one
_IPV6_AH, _IPV6_FRAGMENT, _IPV6_NO_NEXT = 51, 44, 59
_U16 = struct.Struct("!H")
_FRAGMENT_HEADER = struct.Struct("!BxHI")


@dataclass(slots=True)
class Datagram:
    """An IP datagram's transport payload, reassembled when it came in fragments."""

    src: bytes
    """The source address, 4 or 16 bytes."""
    dst: bytes
    protocol: int
    payload: bytes
    is_cut: bool
    """The capture holds less than the datagram's stated length."""


@dataclass(frozen=True, slots=True)
class LostFragments:
    """A datagram whose fragments never all arrived (or did not fit together)."""

    first_frame: int
    version: int
    ident: int
    fragments: int
    reason: str

    def __str__(self) -> str:
        family = "IPv4" if self.version == 4 else "IPv6"
        return (
            f"{family} datagram (id {self.ident:#x}) dropped after {self.fragments} "
            f"fragment{'s' if self.fragments != 1 else ''}: {self.reason}"
        )


@dataclass(slots=True)
class _FragmentSet:
    first_frame: int
    version: int
    ident: int
    protocol: int | None = None
    total: int | None = None
    size: int = 0
    pieces: dict[int, bytes] = field(default_factory=dict)


class IpLayer:
    """Turns frames into datagrams, holding fragments until their datagram is whole."""

    def __init__(self) -> None:
        self._sets: OrderedDict[tuple[bytes, bytes, int, int], _FragmentSet] = OrderedDict()
        self.holding = self._sets
        """Non-empty while fragments wait for the rest of their datagram (never replaced)."""
        self._held = 0
        self.lost: list[LostFragments] = []
        """Datagrams dropped since the caller last emptied this list."""

    def datagram(self, frame: Frame) -> Datagram | None:
        """The frame's IP datagram; None when it is not IP or is a fragment still waiting.

        Raises MalformedInput for a frame whose headers are wrong and
        TruncatedInput for one the snap length cut inside a header.
        """
        self._expire(frame.number)
        packet = _network_layer(frame)
        if packet is None:
            return None
        try:
            if packet[0] >> 4 == 4:
                return self._ipv4(packet, frame.number)
            if packet[0] >> 4 == 6:
                return self._ipv6(packet, frame.number)
        except (IndexError, struct.error) as exc:
            what = "IPv4" if packet[0] >> 4 == 4 else "IPv6"
            if frame.is_cut:
                raise TruncatedInput(f"{_cut(frame)}, inside the {what} header") from exc
            raise MalformedInput(f"truncated {what} header ({len(packet)} bytes)") from exc
        raise MalformedInput(f"IP version {packet[0] >> 4} in a frame that should hold IP")

    def finish(self) -> None:
        """Report every datagram still incomplete at the end of the capture."""
        for fragments in self._sets.values():
            self._lose(fragments, "the capture ends before the rest")
        self._sets.clear()
        self._held = 0

    def _ipv4(self, packet: bytes, number: int) -> Datagram | None:
        first, total, ident, flags_offset, protocol, src, dst = _IPV4_HEADER.unpack_from(packet)
        header = (first & 0x0F) * 4
        if header < 20:
            raise MalformedInput(f"IPv4 header length {header} is below 20")
        if len(packet) < header:
            raise struct.error("options cut")
        end = total if total else len(packet)  # 0: segmentation offload wrote no length
        if end < header:
            raise MalformedInput(f"IPv4 total length {total} is below its header length {header}")
        payload, is_cut = packet[header:end], end > len(packet)
        offset, more = (flags_offset & 0x1FFF) * 8, bool(flags_offset & 0x2000)
        if not offset and not more:
            return Datagram(src, dst, protocol, payload, is_cut)
        whole = self._add((src, dst, protocol, ident), 4, offset, more, payload, number, protocol)
        if whole is None:
            return None
        return Datagram(src, dst, protocol, whole, False)

    def _ipv6(self, packet: bytes, number: int) -> Datagram | None:
        (length,) = _U16.unpack_from(packet, 4)
        src, dst = packet[8:24], packet[24:40]
        if len(src) + len(dst) < 32:
            raise struct.error("addresses cut")
        end = 40 + length if length else len(packet)  # 0: a jumbogram or segmentation offload
        protocol, position = _skip_extensions(packet[6], packet, 40, end)
        if protocol != _IPV6_FRAGMENT:
            return Datagram(src, dst, protocol, packet[position:end], end > len(packet))
        following, offset_flags, ident = _FRAGMENT_HEADER.unpack_from(packet, position)
        payload = packet[position + 8 : end]
        offset, more = offset_flags & 0xFFF8, bool(offset_flags & 1)
        if not offset and not more:  # an atomic fragment (RFC 6946)
            protocol, position = _skip_extensions(following, payload, 0, len(payload))
            return Datagram(src, dst, protocol, payload[position:], end > len(packet))
        whole = self._add((src, dst, 0, ident), 6, offset, more, payload, number, following)
        if whole is None:
            return None
        protocol, position = _skip_extensions(following, whole, 0, len(whole))
        return Datagram(src, dst, protocol, whole[position:], False)

    def _add(
        self,
        key: tuple[bytes, bytes, int, int],
        version: int,
        offset: int,
        more: bool,
        payload: bytes,
        number: int,
        protocol: int,
    ) -> bytes | None:
        """Hold one fragment; the whole payload once every piece is there."""
        fragments = self._sets.get(key)
        if fragments is None:
            fragments = self._sets[key] = _FragmentSet(number, version, key[3])
        if offset == 0:
            fragments.protocol = protocol
        if not more:
            fragments.total = offset + len(payload)
        if offset + len(payload) > _MAX_DATAGRAM:
            del self._sets[key]
            self._held -= fragments.size
            self._lose(fragments, f"a fragment ends at byte {offset + len(payload)}, past 65535")
            return None
        previous = fragments.pieces.get(offset, b"")
        if len(payload) > len(previous):
            fragments.pieces[offset] = payload
            fragments.size += len(payload) - len(previous)
            self._held += len(payload) - len(previous)
        whole = _assemble(fragments)
        if whole is not None:
            del self._sets[key]
            self._held -= fragments.size
            return whole
        while self._held > MAX_FRAGMENT_BYTES or len(self._sets) > MAX_FRAGMENT_SETS:
            _, oldest = self._sets.popitem(last=False)
            self._held -= oldest.size
            self._lose(oldest, "too many fragments held at once")
        return None

    def _expire(self, number: int) -> None:
        while self._sets:
            oldest = next(iter(self._sets.values()))
            if number - oldest.first_frame <= MAX_FRAGMENT_AGE:
                return
            self._sets.popitem(last=False)
            self._held -= oldest.size
            self._lose(oldest, f"the rest did not arrive within {MAX_FRAGMENT_AGE} frames")

    def _lose(self, fragments: _FragmentSet, reason: str) -> None:
        self.lost.append(
            LostFragments(
                fragments.first_frame,
                fragments.version,
                fragments.ident,
                len(fragments.pieces),
                reason,
            )
        )


def _assemble(fragments: _FragmentSet) -> bytes | None:
    """The reassembled payload if the pieces cover 0..total; later bytes win overlaps."""
    if fragments.total is None or fragments.protocol is None:
        return None
    covered = 0
    for offset in sorted(fragments.pieces):
        if offset > covered:
            return None
        covered = max(covered, offset + len(fragments.pieces[offset]))
    if covered < fragments.total:
        return None
    whole = bytearray(fragments.total)
    for offset in sorted(fragments.pieces):
        piece = fragments.pieces[offset][: fragments.total - offset]
        whole[offset : offset + len(piece)] = piece
    return bytes(whole)


def _skip_extensions(protocol: int, packet: bytes, position: int, end: int) -> tuple[int, int]:
    """The protocol after IPv6 extension headers, and where its data starts.

    Stops at a Fragment header (reassembly comes first) or No Next Header.
    """
    while protocol in _IPV6_EXTENSIONS or protocol == _IPV6_AH:
        if position + 2 > min(end, len(packet)):
            raise struct.error("extension header cut")
        unit, extra = (4, 2) if protocol == _IPV6_AH else (8, 1)
        protocol, position = packet[position], position + (packet[position + 1] + extra) * unit
    if position > end:
        raise MalformedInput(f"IPv6 extension headers run past the payload ({position} > {end})")
    return protocol, position


def _network_layer(frame: Frame) -> bytes | None:
    """The IP packet inside the frame, or None for a frame that carries no IP."""
    data, link_type = frame.data, frame.link_type
    try:
        if link_type == 1:
            return _after_ethertype(data, 12, 14)
        if link_type in (12, 14, 101, 228, 229):
            return data if data else None
        if link_type in (0, 108):
            return data[4:] if data[4] >> 4 in (4, 6) else None
        if link_type == 113:
            return _after_ethertype(data, 14, 16)
        if link_type == 276:
            return _after_ethertype(data, 0, 20)
    except (IndexError, struct.error) as exc:
        name = LINK_TYPES[link_type]
        if frame.is_cut:
            raise TruncatedInput(f"{_cut(frame)}, inside the {name} header") from exc
        raise MalformedInput(f"truncated {name} header ({len(data)} bytes)") from exc
    raise ValueError(f"link type {link_type} is not read")  # callers check LINK_TYPES first


def _after_ethertype(data: bytes, type_at: int, data_at: int) -> bytes | None:
    """The payload of an IPv4/IPv6 EtherType, looking through VLAN tags and PPPoE."""
    (ethertype,) = _U16.unpack_from(data, type_at)
    while ethertype in _ETHERTYPE_VLAN:  # IEEE 802.1Q: 2 bytes of tag, then the EtherType
        (ethertype,) = _U16.unpack_from(data, data_at + 2)
        data_at += 4
    if ethertype == _ETHERTYPE_PPPOE_SESSION:  # RFC 2516: 6-byte PPPoE header, PPP protocol
        (protocol,) = _U16.unpack_from(data, data_at + 6)
        data_at += 8
        ethertype = {_PPP_IPV4: _ETHERTYPE_IPV4, _PPP_IPV6: _ETHERTYPE_IPV6}.get(protocol, 0)
    if ethertype not in (_ETHERTYPE_IPV4, _ETHERTYPE_IPV6):
        return None
    if data_at >= len(data):
        raise IndexError("no IP header")
    return data[data_at:]


def _cut(frame: Frame) -> str:
    return f"captured {len(frame.data)} of {frame.wire_length} bytes"
