"""pcap and pcapng files as a stream of frames, for the pcap reader.

The container is read record by record here rather than by
`dpkt.pcap.Reader` / `dpkt.pcapng.Reader`: dpkt's pcap reader raises
`NeedData` on a record header cut by the end of the file and returns a cut
record's data as if it were whole, and its pcapng reader applies the first
interface's link type and time resolution to every packet and skips Simple
and obsolete Packet Blocks (which would shift Wireshark's frame numbers).

- pcap (draft-ietf-opsawg-pcap): either byte order, micro- or nanosecond
  time stamps; the link type is the header's low 16 bits (the upper ones
  may announce an FCS).
- pcapng (draft-ietf-opsawg-pcapng): every section (a Section Header Block
  resets byte order and interfaces), every interface with its own link
  type, `if_tsresol` (a power of 10, or of 2 with the high bit set) and
  `if_tsoffset`; Enhanced, Simple (no time stamp) and obsolete Packet
  Blocks are frames, other blocks are skipped.
- Frames are numbered from 1, counting packet records only, as Wireshark
  does.  A file cut inside a record yields every frame before the cut and
  then an ERROR issue naming the frame and byte offset; so does a record
  claiming more than 16 MiB (or, in pcap, more than the snap length allows),
  which can only be corruption.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

from hostmap.errors import MalformedInput, TruncatedInput
from hostmap.model import Provenance, ReadIssue, Severity

__all__ = ["LINK_TYPES", "Frame", "Locate", "Skip", "is_capture", "read_frames"]

LINK_TYPES = {
    0: "BSD loopback",
    1: "Ethernet",
    12: "raw IP",
    14: "raw IP",
    101: "raw IP",
    108: "OpenBSD loopback",
    113: "Linux cooked (SLL)",
    228: "IPv4",
    229: "IPv6",
    276: "Linux cooked v2 (SLL2)",
}
"""The link types `_ip` reads, by LINKTYPE_ number (tcpdump.org/linktypes.html)."""

Locate = Callable[[int], Provenance]
"""Frame number -> the provenance that cites it."""
Skip = Callable[[bytes, int, int, int], bool]
"""(buffer, start, end, link type) -> True when the frame in buffer[start:end] gives nothing."""

_PCAP_MAGICS = {
    b"\xa1\xb2\xc3\xd4": (">", 1_000),
    b"\xd4\xc3\xb2\xa1": ("<", 1_000),
    b"\xa1\xb2\x3c\x4d": (">", 1),
    b"\x4d\x3c\xb2\xa1": ("<", 1),
}
"""pcap magic -> (byte order, nanoseconds per unit of the time stamp's fraction)."""
_PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
_PCAPNG_BYTE_ORDER = {b"\x1a\x2b\x3c\x4d": ">", b"\x4d\x3c\x2b\x1a": "<"}
_INTERFACE_BLOCK, _PACKET_BLOCK, _SIMPLE_PACKET_BLOCK, _ENHANCED_PACKET_BLOCK = 1, 2, 3, 6
_OPTION_TSRESOL, _OPTION_TSOFFSET = 9, 14
_UNREADABLE_INTERFACE = (-1, 0, 1_000_000, 0)
_MAX_RECORD = 16 * 1024 * 1024
_CHUNK = 1024 * 1024
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(slots=True)
class Frame:
    """One captured frame (a pcap record or a pcapng packet block)."""

    number: int
    """1-based, counting every packet record as Wireshark does."""
    stamp: tuple[int, int] | None
    """Seconds and microseconds since 1970; None for pcapng Simple Packet Blocks."""
    link_type: int
    data: bytes
    wire_length: int
    """The frame's length on the wire; more than len(data) when the snap length cut it."""

    @property
    def time(self) -> datetime | None:
        """The time stamp, made only when an observation needs it (most frames give none)."""
        if self.stamp is None:
            return None
        try:
            return _EPOCH + timedelta(seconds=self.stamp[0], microseconds=self.stamp[1])
        except OverflowError:  # a time stamp past the year 9999: corrupt, so no time
            return None

    @property
    def is_cut(self) -> bool:
        return len(self.data) < self.wire_length


def is_capture(head: bytes) -> bool:
    """Whether a file's first bytes are a pcap header or a pcapng Section Header Block."""
    if head[:4] in _PCAP_MAGICS:
        return True
    return head[:4] == _PCAPNG_MAGIC and (len(head) < 12 or head[8:12] in _PCAPNG_BYTE_ORDER)


def read_frames(
    stream: BinaryIO, locate: Locate, skip: Skip | None = None
) -> Iterator[Frame | ReadIssue]:
    """The file's frames, then an issue if it ends inside a record.

    `skip`, when given, sees each whole (not cut) frame's bytes before a
    `Frame` is built; a frame it returns True for is counted but not yielded.
    Raises MalformedInput (bad magic, unread link type) or TruncatedInput
    (no whole file header) before the first frame.
    """
    magic = stream.read(4)
    if magic in _PCAP_MAGICS:
        return _pcap_frames(stream, magic, locate, skip)
    if magic == _PCAPNG_MAGIC:
        return _pcapng_frames(stream, locate, skip)
    raise MalformedInput(f"not a pcap or pcapng file: magic {magic.hex() or '(empty file)'}")


def _pcap_frames(
    stream: BinaryIO, magic: bytes, locate: Locate, skip: Skip | None
) -> Iterator[Frame | ReadIssue]:
    order, nanoseconds = _PCAP_MAGICS[magic]
    header = stream.read(20)
    if len(header) < 20:
        raise TruncatedInput(
            f"the file ends inside the pcap header ({4 + len(header)} of 24 bytes)"
        )
    snap_length, link_type = struct.unpack_from(order + "II", header, 12)
    link_type &= 0xFFFF  # the upper bits may say whether frames end in an FCS
    if link_type not in LINK_TYPES:
        raise MalformedInput(f"link type {link_type} is not one hostmap reads ({_link_names()})")
    return _pcap_records(stream, order, nanoseconds, link_type, snap_length, locate, skip)


def _pcap_records(
    stream: BinaryIO,
    order: str,
    nanoseconds: int,
    link_type: int,
    snap_length: int,
    locate: Locate,
    skip: Skip | None,
) -> Iterator[Frame | ReadIssue]:
    """The records, read from `_CHUNK`-byte pieces of the file (not two reads a record)."""
    unpack = struct.Struct(order + "IIII").unpack_from
    limit = min(max(snap_length, 262144), _MAX_RECORD)
    number = 0
    buffer, position, base = b"", 0, 24  # base: the file offset of buffer[0]
    while True:
        if len(buffer) - position < 16:
            base += position
            buffer, position = buffer[position:] + stream.read(_CHUNK), 0
            if not buffer:
                return
            if len(buffer) < 16:
                where = f"frame {number + 1} (byte {base})"
                message = f"the file ends inside {where}: {len(buffer)} of 16 header bytes"
                yield _broken(locate(number + 1), message)
                return
        number += 1
        seconds, fraction, captured, wire_length = unpack(buffer, position)
        if captured > limit:
            where = f"frame {number} (byte {base + position})"
            message = (
                f"{where} claims {captured} captured bytes (at most {limit}): corrupt from here"
            )
            yield _broken(locate(number), message)
            return
        start = position + 16
        end = start + captured
        if end > len(buffer):
            base += position
            rest = buffer[position:]
            buffer, position = rest + stream.read(max(_CHUNK, 16 + captured - len(rest))), 0
            start, end = 16, 16 + captured
            if end > len(buffer):
                where = f"frame {number} (byte {base})"
                message = (
                    f"the file ends inside {where}: {len(buffer) - 16} of {captured} captured bytes"
                )
                yield _broken(locate(number), message)
                return
        position = end
        if skip is not None and captured >= wire_length and skip(buffer, start, end, link_type):
            continue
        stamp = (seconds, fraction * nanoseconds // 1000)
        yield Frame(number, stamp, link_type, buffer[start:end], max(wire_length, captured))


def _pcapng_frames(
    stream: BinaryIO, locate: Locate, skip: Skip | None
) -> Iterator[Frame | ReadIssue]:
    order = "<"
    interfaces: list[tuple[int, int, int, int]] = []  # link type, snap length, units/s, offset s
    offset, number = 0, 0
    head = _PCAPNG_MAGIC + stream.read(8)
    while head:
        where = f"byte {offset}"
        if len(head) < 12:
            yield _broken(locate(number + 1), f"the file ends inside the block at {where}")
            return
        if head[:4] == _PCAPNG_MAGIC:  # a Section Header Block: byte order first
            if head[8:12] not in _PCAPNG_BYTE_ORDER:
                yield _broken(
                    locate(number + 1), f"section header at {where} has no byte-order magic"
                )
                return
            order, interfaces = _PCAPNG_BYTE_ORDER[head[8:12]], []
        kind, length = struct.unpack_from(order + "II", head)
        if length < 12 or length % 4 or length > _MAX_RECORD:
            yield _broken(
                locate(number + 1),
                f"the block at {where} claims {length} bytes: the file is corrupt from here",
            )
            return
        body = head[8:] + stream.read(length - 12)
        if len(body) < length - 8:
            yield _broken(
                locate(number + 1),
                f"the file ends inside the block at {where} ({len(body) + 8} of {length} bytes)",
            )
            return
        offset, head = offset + length, stream.read(12)
        body = body[:-4]  # the trailing copy of the length
        if kind == _INTERFACE_BLOCK:
            try:
                interfaces.append(_interface(body, order))
            except (struct.error, IndexError):
                interfaces.append(_UNREADABLE_INTERFACE)
                message = f"{where}: interface description {len(interfaces) - 1} too short"
                yield _broken(locate(number + 1), message)
            continue
        if kind not in (_ENHANCED_PACKET_BLOCK, _SIMPLE_PACKET_BLOCK, _PACKET_BLOCK):
            continue
        number += 1
        try:
            frame = _packet(kind, body, order, interfaces, number)
        except (MalformedInput, struct.error) as exc:
            message = str(exc) if isinstance(exc, MalformedInput) else "packet block too short"
            yield ReadIssue(provenance=locate(number), message=f"{where}: {message}")
            continue
        data = frame.data
        if skip is None or frame.is_cut or not skip(data, 0, len(data), frame.link_type):
            yield frame


def _interface(body: bytes, order: str) -> tuple[int, int, int, int]:
    """An Interface Description Block: link type, snap length, time units per second, offset."""
    link_type, snap_length = struct.unpack_from(order + "H2xI", body)
    units, shift, position = 1_000_000, 0, 8
    while position + 4 <= len(body):
        code, size = struct.unpack_from(order + "HH", body, position)
        value = body[position + 4 : position + 4 + size]
        if code == 0:
            break
        if code == _OPTION_TSRESOL and size == 1:  # high bit set: a power of 2, else of 10
            units = 2 ** (value[0] & 0x7F) if value[0] & 0x80 else 10 ** (value[0] & 0x7F)
        elif code == _OPTION_TSOFFSET and size == 8:
            (shift,) = struct.unpack(order + "q", value)
        position += 4 + (size + 3) // 4 * 4
    return link_type, snap_length, units, shift


def _packet(
    kind: int, body: bytes, order: str, interfaces: list[tuple[int, int, int, int]], number: int
) -> Frame:
    if kind == _SIMPLE_PACKET_BLOCK:  # no interface id (always 0) and no time
        (wire_length,) = struct.unpack_from(order + "I", body)
        interface, stamp, data_at = 0, None, 4
        captured = min(wire_length, len(body) - 4)
    elif kind == _ENHANCED_PACKET_BLOCK:
        interface, high, low, captured, wire_length = struct.unpack_from(order + "IIIII", body)
        stamp, data_at = high << 32 | low, 20
    else:  # the obsolete Packet Block: a 2-byte interface id and a drops count
        interface, high, low, captured, wire_length = struct.unpack_from(order + "H2xIIII", body)
        stamp, data_at = high << 32 | low, 20
    if interface >= len(interfaces):
        raise MalformedInput(
            f"packet block names interface {interface}, but {len(interfaces)} are described"
        )
    if data_at + captured > len(body):
        raise MalformedInput(
            f"packet block claims {captured} captured bytes, holds {len(body) - data_at}"
        )
    link_type, snap_length, units, shift = interfaces[interface]
    if kind == _SIMPLE_PACKET_BLOCK and snap_length:
        captured = min(captured, snap_length)
    seconds_and_micro = None
    if stamp is not None:
        seconds, fraction = divmod(stamp, units)
        seconds_and_micro = (seconds + shift, fraction * 1_000_000 // units)
    data = body[data_at : data_at + captured]
    return Frame(number, seconds_and_micro, link_type, data, max(wire_length, captured))


def _broken(provenance: Provenance, message: str) -> ReadIssue:
    return ReadIssue(provenance=provenance, message=message, severity=Severity.ERROR)


def _link_names() -> str:
    return ", ".join(f"{number} {name}" for number, name in sorted(LINK_TYPES.items()))
