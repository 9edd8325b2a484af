"""A HAR document walked one JSON value at a time: `log` members and each of `log.entries`.

The file is decoded in chunks of `CHUNK` bytes into one text buffer, and each
value (an entry, a `log` member) is parsed by the standard library's
`json.JSONDecoder.raw_decode` straight out of that buffer, so memory holds the
buffer and the value being read, never the whole document.  A value that runs
past the end of the buffer is completed first: a scanner that only knows
strings and brackets finds where it ends, reading more of the file as it goes
(the buffer grows by whole chunks and is scanned once, so a 100 MiB string
costs linear time).

Hostile values do not stop the walk when their brackets balance:

- a value nested deeper than the interpreter's recursion allows (Python's JSON
  parser recurses per level) is skipped with `BadValue`, found by the scanner
  in linear time;
- a value that is not valid JSON (a bad literal, a stray comma) but whose
  brackets balance is skipped with `BadValue`;
- a value holding text that is not Unicode (bytes that are not UTF-8, decoded
  with surrogateescape, or a lone surrogate escape such as "\\udfff") is
  given with `unicode_ok=False` so the caller decides.

Anything else that breaks the document's structure (it ends early, brackets or
separators are wrong) raises `BrokenJson`, after which nothing more is read.

Numbers are read as ijson read them (the reader used it before): integers as
`int`, others as `Decimal`; NaN and Infinity are not JSON and are refused.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, BinaryIO

__all__ = ["CHUNK", "BadValue", "BrokenJson", "Event", "HarStream", "PartEnd",
           "has_lone_surrogate"]

CHUNK = 1 << 20
"""Bytes read from the file at a time."""
_LOW_WATER = 64 * 1024
"""Below this many characters left in the buffer, the next chunk is read before parsing on."""
_BIG_VALUE = 1 << 22
"""After a value longer than this (in characters), the buffer is cut at once."""

_WS = re.compile(r"[ \t\n\r]*")
_STRING_BODY = re.compile(r'[^"\\]*+(?:\\.[^"\\]*+)*+', re.DOTALL)
"""The inside of a JSON string up to its closing quote (escapes skipped), at C speed."""
_OUTSIDE_STRINGS = re.compile(r'(?:[^\[\]{}"]++|"[^"\\]*+(?:\\.[^"\\]*+)*+")*+', re.DOTALL)
"""Everything up to the next bracket, whole strings included (possessive: no backtracking)."""
_SCALAR = re.compile(r"[-+.0-9A-Za-z]*")
_SURROGATE = re.compile("[\ud800-\udfff]")
_VALUE_START = frozenset('{["-0123456789tfn')


class BrokenJson(Exception):
    """The document's structure is broken at `offset` (in characters); nothing more can be read."""

    def __init__(self, reason: str, *, truncated: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.truncated = truncated
        """True when the file ends before the document does."""


class BadValue(Exception):
    """One value could not be parsed, but the walk goes on after it."""


class PartEnd(Exception):  # noqa: N818 - not an error: the walk reached its part's end
    """A walk limited to a part of the file (`limit`) ended exactly where it should: right
    after an entry's comma, the next entry starting at the limit.  `index` is that next
    entry's number."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


Event = tuple[str, Any, Any]
"""("field", key, value) for a `log` member other than an entries array;
("bad-field", key, BadValue); ("entries", None, None) when an entries array
opens; ("entry", index, value); ("bad-entry", index, BadValue);
("entries-end", count, None) when it closes."""


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_refuse_constant)
_raw_decode = _DECODER.raw_decode
_FLOAT_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def has_lone_surrogate(value: object) -> bool:
    """Whether any string in `value` (keys included) holds a surrogate code point."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class HarStream:
    """Walks a HAR document read from a binary stream (positioned after any byte-order mark)."""

    def __init__(self, stream: BinaryIO, chunk: int | None = None,
                 low_water: int | None = None, *, floats: bool = False,
                 limit: int | None = None, on_overrun: Callable[[], None] | None = None
                 ) -> None:
        """`floats`: numbers with a fraction or exponent as float, not Decimal.

        `limit`: read at most this many bytes, a part of the file that should end
        where an entry starts (`PartEnd` is raised there).  Where it does not -- the
        limit falls inside a value, or the entries array ends first -- the walk
        calls `on_overrun` (which may raise) and reads on past the limit.
        """
        self._raw_decode = _FLOAT_DECODER.raw_decode if floats else _raw_decode
        self._stream = stream
        self._chunk = chunk or CHUNK
        self._low_water = _LOW_WATER if low_water is None else low_water
        self._decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        self._text = ""
        self._pos = 0
        self._eof = False
        self._raw_surrogates = False
        self._left = limit
        self._at_limit = False
        self._on_overrun = on_overrun
        self.unicode_ok = True
        """False when the last value given held text that is not Unicode."""

    # --- the buffer ---------------------------------------------------------------------

    def _read_more(self, size: int = 0, *, inside: bool = False) -> bool:
        """Append the next chunk (at least `size` bytes) to the buffer, dropping what was read.

        False at the end of the file, or at the limit (unless `inside` a value: a
        part's end cannot be there, so the walk reads on past it).
        """
        if self._at_limit and inside:
            self._overrun()
        if self._eof:
            return False
        want = max(size, self._chunk)
        if self._left is not None:
            want = min(want, self._left)
            if want == 0:
                self._at_limit = self._eof = True
                return False
        data = self._stream.read(want)
        if self._left is not None:
            self._left -= len(data)
        final = not data
        text = self._decoder.decode(data, final)
        if not self._raw_surrogates and not text.isascii() and _SURROGATE.search(text):
            self._raw_surrogates = True  # bytes that are not UTF-8, from here on
        if final:
            self._eof = True
        if self._pos:
            self._text = self._text[self._pos:] + text
            self._pos = 0
        else:
            self._text += text
        return bool(text) or not final

    def _peek(self, *, at_part_end: bool = False) -> str:
        """The next character that is not white space ("" at the end of the file, or at
        the limit when `at_part_end`: the one place a part may end)."""
        while True:
            pos = _WS.match(self._text, self._pos).end()
            self._pos = pos
            if len(self._text) - pos <= self._low_water and not self._eof:
                self._read_more()
                continue
            if pos >= len(self._text) and self._at_limit and not at_part_end:
                self._overrun()
                continue
            return self._text[pos] if pos < len(self._text) else ""

    def _overrun(self) -> None:
        """The limit is not where an entry starts: read on past it."""
        if self._on_overrun is not None:
            self._on_overrun()
        self._left = None
        self._at_limit = self._eof = False

    def _expect(self, char: str, where: str) -> None:
        found = self._peek()
        if found != char:
            raise self._broken(f"expected '{char}' {where}", found)
        self._pos += 1

    def _broken(self, what: str, found: str) -> BrokenJson:
        if not found:
            return BrokenJson(f"the file ends early ({what})", truncated=True)
        return BrokenJson(f"{what}, found {found!r}")

    def _value_end(self, start: int) -> int:
        """Index just past the value at `start`, reading more of the file as needed."""
        depth = 0
        in_string = False
        scan = start
        if self._text[start] not in '{["':
            while True:
                end = _SCALAR.match(self._text, start).end()
                if end < len(self._text) or not self._read_more(len(self._text) - start,
                                                                 inside=True):
                    return end
                start = self._pos
        if self._text[start] == '"':
            in_string = True
            scan = start + 1
        while True:
            text = self._text
            while True:
                if in_string:
                    scan = _STRING_BODY.match(text, scan).end()
                    if scan >= len(text) or text[scan] == "\\":  # a backslash ends the buffer
                        break
                    scan += 1
                    in_string = False
                    if depth == 0:
                        return scan
                    continue
                scan = _OUTSIDE_STRINGS.match(text, scan).end()
                if scan >= len(text):
                    break
                char = text[scan]
                scan += 1
                if char == '"':  # a string that runs past the end of the buffer
                    in_string = True
                elif char in "[{":
                    depth += 1
                else:
                    depth -= 1
                    if depth == 0:
                        return scan
                    if depth < 0:
                        raise BrokenJson(f"unbalanced {char!r}")
            # The buffer ran out inside the value (which starts at self._pos): grow the
            # buffer by at least what it holds of the value, so a long value is copied
            # a logarithmic number of times.
            if not self._read_more(len(text) - start, inside=True):
                raise BrokenJson("the file ends inside a value", truncated=True)
            scan -= start - self._pos
            start = self._pos

    def _value(self) -> Any:
        """The next value; BadValue (and the walk moves past it) when it cannot be parsed."""
        char = self._peek()
        if char not in _VALUE_START or not char:
            raise self._broken("expected a value", char)
        start = self._pos
        text = self._text
        try:
            value, end = self._raw_decode(text, start)
            if end >= len(text) and (not self._eof or self._at_limit):
                raise ValueError("the value may go on in the next chunk")
        except (ValueError, RecursionError):
            end = self._value_end(start)
            start = self._pos
            text = self._text
            try:
                value, parsed_end = self._raw_decode(text, start)
                if parsed_end != end:
                    raise ValueError("unexpected data after the value")
            except ValueError as exc:
                self._pos = end
                raise BadValue(_reason(exc)) from None
            except RecursionError:
                self._pos = end
                raise BadValue("nested too deeply to read") from None
        self._pos = end
        if end - start > _BIG_VALUE:  # let the raw text go while the caller holds the value
            self._text = text[end:]
            self._pos = 0
        self.unicode_ok = not (
            (self._raw_surrogates or text.find("\\ud", start, end) >= 0
             or text.find("\\uD", start, end) >= 0)
            and has_lone_surrogate(value))
        return value

    def _key(self) -> str:
        char = self._peek()
        if char != '"':
            raise self._broken("expected a member name", char)
        try:
            key = self._value()
        except BadValue as exc:
            raise BrokenJson(f"bad member name ({exc})") from None
        self._expect(":", "after a member name")
        return key

    def _after_member(self, close: str, where: str) -> bool:
        """Consume ',' (True: another member follows) or `close` (False)."""
        char = self._peek()
        if char == ",":
            self._pos += 1
            return True
        if char == close:
            self._pos += 1
            return False
        raise self._broken(f"expected ',' or '{close}' {where}", char)

    # --- the walk -----------------------------------------------------------------------

    def events(self, resume: int | None = None) -> Iterator[Event]:
        """Every `log` member and entry in file order; raises BrokenJson where it breaks.

        `resume`: the stream starts at an entry of `log.entries` (where a part of the
        file begins), whose number this is; the walk goes on from there to the end
        of the document.
        """
        if resume is not None:
            yield from self._log(resume)
            more = self._after_member("}", "in the top-level object")
        else:
            self._expect("{", "at the start of the document")
            more = self._peek() != "}"
            if not more:
                self._pos += 1
        while more:
            key = self._key()
            if key == "log" and self._peek() == "{":
                self._pos += 1
                yield from self._log()
            else:
                try:
                    self._value()
                except BadValue:
                    pass
            more = self._after_member("}", "in the top-level object")
        if self._peek():
            raise BrokenJson("data after the end of the document")

    def _log(self, resume: int | None = None) -> Iterator[Event]:
        if resume is not None:
            count = yield from self._entries(resume, inside=True)
            yield ("entries-end", count, None)
            if not self._after_member("}", "in the log object"):
                return
        elif self._peek() == "}":
            self._pos += 1
            return
        count = 0
        while True:
            key = self._key()
            if key == "entries" and self._peek() == "[":
                self._pos += 1
                yield ("entries", None, None)
                count = yield from self._entries(count)
                yield ("entries-end", count, None)
            else:
                try:
                    yield ("field", key, self._value())
                except BadValue as exc:
                    yield ("bad-field", key, exc)
            if not self._after_member("}", "in the log object"):
                return

    def _entries(self, index: int, *, inside: bool = False) -> Iterator[Event]:
        """The entries of one array, numbered on from `index`; returns the next number.

        `inside`: the array's opening bracket is behind (a part starts at an entry).
        """
        if not inside and self._peek() == "]":
            self._pos += 1
            return index
        while True:
            try:
                yield ("entry", index, self._value())
            except BadValue as exc:
                yield ("bad-entry", index, exc)
            index += 1
            if not self._after_member("]", "after an entry"):
                return index
            if self._at_limit and self._peek(at_part_end=True) == "":
                raise PartEnd(index)


def _reason(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return exc.msg
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
