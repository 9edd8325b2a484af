"""Response bodies decoded only to search them for URLs (SAZ and pcap readers).

Only text-like bodies (`is_text_media_type`) are decoded.  Content codings
read: identity, gzip, deflate (a zlib stream, or the bare deflate old IIS
sent), and br/zstd through brotli/zstandard, which mitmproxy installs.
Decoding is incremental and bounded: a `Body` keeps at most `limit` decoded
bytes and never asks a decompressor for much more, so a compression bomb
costs no more memory than a body of the limit's size.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

from hostmap.ingest.har import is_text_media_type

try:
    import brotli  # type: ignore[import-untyped]
except ImportError:  # pragma: no cover - mitmproxy depends on it
    brotli = None
try:
    import zstandard
except ImportError:  # pragma: no cover - mitmproxy depends on it
    zstandard = None  # type: ignore[assignment]

__all__ = ["DECODE_ERRORS", "Body", "Decode", "decoder", "text_body"]

DECODE_ERRORS: tuple[type[Exception], ...] = (
    (zlib.error,)
    + ((brotli.error,) if brotli is not None else ())
    + ((zstandard.ZstdError,) if zstandard is not None else ())
)

Decode = Callable[[bytes, int], bytes]
"""Decode the next piece of a body, returning at most about `limit` bytes."""


def text_body(
    content_type: str | None, content_encoding: str | None, limit: int, warnings: list[str]
) -> Body | None:
    """A body to search, for text-like responses in a coding that can be decoded.

    None for other media types (their bodies are not decoded at all), and for
    a coding that cannot be decoded, which also adds a warning.
    """
    if not is_text_media_type(content_type):
        return None
    coding = (content_encoding or "identity").strip().lower()
    decode = decoder(coding)
    if decode is None:
        warnings.append(f"Content-Encoding {coding!r} is not decoded; body not searched")
        return None
    return Body(decode, coding, limit)


class Body:
    """A response body decoded up to `limit` bytes; nothing past that is kept."""

    __slots__ = ("_decode", "_coding", "_limit", "data", "full", "problem")

    def __init__(self, decode: Decode, coding: str, limit: int) -> None:
        self._decode, self._coding, self._limit = decode, coding, limit
        self.data = bytearray()
        self.full = False
        """More than `limit` bytes decoded: the rest is not searched."""
        self.problem: str | None = None
        """Why decoding stopped early (the data is not valid in its coding)."""

    @property
    def done(self) -> bool:
        """Nothing more will be kept: further pieces need not be fed."""
        return self.full or self.problem is not None

    def feed(self, piece: bytes) -> None:
        if self.done:
            return
        room = self._limit - len(self.data)
        try:
            out = self._decode(piece, room + 1)
        except DECODE_ERRORS as exc:
            self.problem = f"response body is not valid {self._coding} ({exc}); partly searched"
            return
        self.data += out[:room]
        self.full = len(out) > room


def decoder(coding: str) -> Decode | None:
    """The decoder for a lower-cased Content-Encoding value; None if it is not read."""
    if coding in ("identity", ""):
        return lambda data, limit: data[:limit]
    if coding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress
    if coding == "deflate":
        return _deflate()
    # brotli 1.1 and zstandard take no output limit: feed them small slices.  An
    # 8-byte slice cannot hold two brotli meta-blocks (16 MiB each, RFC 7932 §9.2);
    # a zstd block is at most 128 KiB from 4 bytes up (RFC 8878 §3.1.1.2), 8 MiB per 256.
    if coding == "br" and brotli is not None:
        return _sliced(brotli.Decompressor().process, 8)
    if coding == "zstd" and zstandard is not None:
        # RFC 9659: a zstd content coding uses a window of at most 8 MiB.
        decompressor = zstandard.ZstdDecompressor(max_window_size=2**23).decompressobj()
        return _sliced(decompressor.decompress, 256)
    return None


def _deflate() -> Decode:
    """RFC 9110 §8.4.1.2 "deflate" is a zlib stream; old IIS sent bare deflate instead."""
    chosen: list[Decode] = []

    def decode(data: bytes, limit: int) -> bytes:
        if not chosen:
            if not data:
                return b""
            zlib_header = data[0] & 0x0F == 8  # CMF: compression method 8
            chosen.append(zlib.decompressobj(zlib.MAX_WBITS if zlib_header else -15).decompress)
        return chosen[0](data, limit)

    return decode


def _sliced(process: Callable[[bytes], bytes], step: int) -> Decode:
    def decode(data: bytes, limit: int) -> bytes:
        out = bytearray()
        for start in range(0, len(data), step):
            out += process(data[start : start + step])
            if len(out) >= limit:
                break
        return bytes(out)

    return decode
