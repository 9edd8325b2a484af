"""Message bodies for `hostmap sanitize`: undo the content coding, redact, redo it.

`redact_body` decides what a body is: text (JSON, HTML, JavaScript, XML,
text/*, multipart, or any valid UTF-8) goes through `redact_text`, an
urlencoded form through `redact_form` (every value); images, audio, video and
fonts are kept as they are; anything else (protobuf, octet-stream, PDF)
cannot be looked into and is dropped, counted as "body".

Decoding is bounded (the readers' `hostmap.ingest._bodies` decoders): a body
that decodes to more than MAX_DECODED_BYTES, is not valid in its coding, or
uses a coding hostmap cannot read is not looked into, so it is dropped.
"""

from __future__ import annotations

from collections import Counter

from mitmproxy.net import encoding

from hostmap.ingest._bodies import Body, decoder
from hostmap.ingest.har import is_text_media_type
from hostmap.redact import redact_form, redact_text

__all__ = ["MAX_DECODED_BYTES", "SanitizedBody", "redact_body", "sanitize_body"]

MAX_DECODED_BYTES = 64 * 2**20
"""A body that decodes to more than this is dropped rather than redacted."""


class SanitizedBody:
    """What became of one body: the bytes to write and the coding they are in."""

    __slots__ = ("changed", "coding", "data")

    def __init__(self, data: bytes, coding: str | None, changed: bool) -> None:
        self.data = data
        """The body as it goes into the copy (encoded in `coding`)."""
        self.coding = coding
        """The Content-Encoding of `data`; None: identity (drop the header)."""
        self.changed = changed
        """False: `data` is the original body, byte for byte."""


def sanitize_body(raw: bytes, coding: str | None, media_type: str | None,
                  counts: Counter[str]) -> SanitizedBody:
    """Redact a body sent with Content-Encoding `coding` and Content-Type `media_type`."""
    if not raw:
        return SanitizedBody(raw, coding, False)
    name = (coding or "identity").strip().lower()
    decoded = _decode(raw, name)
    if decoded is None:
        counts["body"] += 1
        return SanitizedBody(b"", None, True)
    redacted = redact_body(decoded, media_type, counts)
    if redacted is None:
        return SanitizedBody(b"", None, True)
    if redacted == decoded:
        return SanitizedBody(raw, coding, False)
    if name in ("identity", ""):
        return SanitizedBody(redacted, coding, True)
    try:
        return SanitizedBody(encoding.encode(redacted, name), coding, True)
    except ValueError:  # a coding mitmproxy cannot write: send it plain
        return SanitizedBody(redacted, None, True)


def _decode(raw: bytes, coding: str) -> bytes | None:
    decode = decoder(coding)
    if decode is None:
        return None
    body = Body(decode, coding, MAX_DECODED_BYTES)
    body.feed(raw)
    if body.full or body.problem:
        return None
    return bytes(body.data)


_MEDIA_FILES = ("image/", "audio/", "video/", "font/")


def redact_body(data: bytes, media_type: str | None,
                counts: Counter[str] | None = None) -> bytes | None:
    """A message body with its secrets replaced, or None when it must be dropped.

    Bytes that are not UTF-8 inside a text body pass through unchanged
    (surrogateescape), so a GBK page keeps its bytes around what was replaced.
    """
    if not data:
        return data
    kind = (media_type or "").split(";", 1)[0].strip().lower()
    if kind.startswith(_MEDIA_FILES) and not is_text_media_type(kind):
        return data
    text = data.decode("utf-8", "surrogateescape")
    if kind == "application/x-www-form-urlencoded":
        return redact_form(text, counts).encode("utf-8", "surrogateescape")
    if is_text_media_type(kind) or kind.startswith("multipart/") or _is_utf8_text(data):
        return redact_text(text, counts).encode("utf-8", "surrogateescape")
    if counts is not None:
        counts["body"] += 1
    return None


def _is_utf8_text(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in data
