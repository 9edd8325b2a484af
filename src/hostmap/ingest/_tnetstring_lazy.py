"""A lazy, strict reader of tnetstrings (the format of mitmproxy flow dumps).

A tnetstring is `<length>:<payload><tag>`: the tag says what the payload is
(`,` bytes, `;` UTF-8 text, `#` integer, `^` float, `!` boolean, `~` null,
`]` list, `}` dict of key/value pairs).  mitmproxy's own parser
(`mitmproxy.io.tnetstring`) builds the whole value; this module instead hands
out *spans* -- `(start, end, tag)`, the payload being `data[start:end]` -- so
a caller can look at the parts it needs and decode only those.

It is strict in one direction only: whatever it accepts, mitmproxy's
`tnetstring.loads` accepts too and reads as the same value (`decode` below is
checked against `loads` by the tests).  What it cannot vouch for -- a length
prefix that is not a plain number, a payload that runs past its container, a
wrong tag, a literal that does not parse, nesting deeper than `MAX_DEPTH` --
raises `NotFast` (or the ValueError / IndexError of the failed look-up), and
the caller hands the record to mitmproxy.

Dicts of a known shape are read with a `Schema`: the dict's keys, a check per
value, and the order a writer puts them in.  `walk` reads such a dict in one
pass.  Runs of small values (numbers, short text, nulls, small lists of them)
are matched by one regular expression per run, in which every length prefix
is either spelled out (`12:` then exactly twelve bytes) or compared with the
payload it announces right after the match -- with every prefix confirmed,
the match *is* the tnetstring's own reading, token by token.  Large or
free-form values (bodies, header lists, nested dicts) are stepped over by
their length prefix, never scanned.  A dict in another order, or a run whose
values do not fit its expression, is read entry by entry instead; the result
is the same.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

__all__ = [
    "BOOL",
    "BYTES",
    "DICT",
    "FLOAT",
    "INT",
    "LIST",
    "MAX_DEPTH",
    "NULL",
    "TEXT",
    "Check",
    "Field",
    "Fragment",
    "NotFast",
    "Schema",
    "Span",
    "decode",
    "captured",
    "either",
    "list_of",
    "literal",
    "record_span",
    "scan_dict",
    "scan_list",
    "schema",
    "sized",
    "suspect",
    "walk",
]

Span = tuple[int, int, int]
"""(start, end, tag) of one value: its payload is data[start:end], its tag data[end]."""

BYTES, TEXT, INT, FLOAT, BOOL, NULL, LIST, DICT = b",;#^!~]}"

MAX_DEPTH = 64
"""Deeper nesting than any flow has; `decode` gives up (NotFast) rather than recurse on."""

_COLON = 58
_PREFIX_MAX = 13
"""A length prefix is at most 12 digits (mitmproxy's own limit), then the colon."""


class NotFast(Exception):  # noqa: N818 - a signal, not an error: "use mitmproxy for this one"
    """The lazy reader will not vouch for this value; let mitmproxy's parser read it."""


def record_span(data: bytes) -> Span:
    """The span of a whole record: one tnetstring that fills `data` exactly."""
    colon = data.index(_COLON, 0, _PREFIX_MAX)
    start = colon + 1
    end = start + int(data[:colon])
    if end != len(data) - 1 or colon == 0 or not data[:colon].isdigit():
        raise NotFast("the record's length prefix does not match its size")
    return start, end, data[end]


def scan_dict(data: bytes, start: int, end: int) -> dict[bytes, Span]:
    """The entries of the dict payload data[start:end], as raw key -> value span.

    Keys must be text (`;`), as every dict of a current flow has; the raw key
    bytes stand for the text (an invalid UTF-8 key will not match any key a
    caller looks up, and `decode` rejects it).  A repeated key keeps its last
    value, as in mitmproxy's parser.
    """
    entries: dict[bytes, Span] = {}
    index = data.index
    pos = start
    while pos < end:
        colon = index(_COLON, pos, pos + _PREFIX_MAX)
        key_start = colon + 1
        key_end = key_start + int(data[pos:colon])
        if key_end >= end or data[key_end] != TEXT or key_end < key_start:
            raise NotFast("a dict key is not text")
        pos = key_end + 1
        colon = index(_COLON, pos, pos + _PREFIX_MAX)
        value_start = colon + 1
        value_end = value_start + int(data[pos:colon])
        if value_end >= end or value_end < value_start:
            raise NotFast("a dict value runs past its dict")
        entries[data[key_start:key_end]] = (value_start, value_end, data[value_end])
        pos = value_end + 1
    if pos != end:
        raise NotFast("a dict's payload does not end where its last value does")
    return entries


def scan_list(data: bytes, start: int, end: int) -> list[Span]:
    """The items of the list payload data[start:end], as spans."""
    items: list[Span] = []
    index = data.index
    pos = start
    while pos < end:
        colon = index(_COLON, pos, pos + _PREFIX_MAX)
        value_start = colon + 1
        value_end = value_start + int(data[pos:colon])
        if value_end >= end or value_end < value_start:
            raise NotFast("a list item runs past its list")
        items.append((value_start, value_end, data[value_end]))
        pos = value_end + 1
    if pos != end:
        raise NotFast("a list's payload does not end where its last item does")
    return items


def decode(data: bytes, span: Span, depth: int = 0) -> Any:
    """The value of `span`, exactly as mitmproxy's `tnetstring.loads` reads it."""
    start, end, tag = span
    if tag == TEXT:
        return data[start:end].decode("utf-8")
    if tag == BYTES:
        return data[start:end]
    if tag == INT:
        return int(data[start:end])
    if tag == FLOAT:
        return float(data[start:end])
    if tag == NULL:
        if start != end:
            raise NotFast("a null with a payload")
        return None
    if tag == BOOL:
        literal = data[start:end]
        if literal == b"true":
            return True
        if literal == b"false":
            return False
        raise NotFast("a boolean that is neither true nor false")
    if depth >= MAX_DEPTH:
        raise NotFast("nested too deeply")
    if tag == LIST:
        return [decode(data, item, depth + 1) for item in scan_list(data, start, end)]
    if tag == DICT:
        return _decode_dict(data, start, end, depth + 1)
    raise NotFast(f"unknown type tag {tag!r}")


def _decode_dict(data: bytes, start: int, end: int, depth: int) -> dict[Any, Any]:
    """A dict whose keys may be of any scalar type (mitmproxy's metadata, old flows)."""
    items = scan_list(data, start, end)
    if len(items) % 2:
        raise NotFast("a dict with a key but no value")
    result: dict[Any, Any] = {}
    for position in range(0, len(items), 2):
        key_span = items[position]
        if key_span[2] in (LIST, DICT):
            raise NotFast("a dict key that is a list or a dict")
        result[decode(data, key_span, depth)] = decode(data, items[position + 1], depth)
    return result


# -- regular expressions for runs of small values --------------------------------------------
#
# A fragment builds the expression for one value.  Most fragments vouch for
# themselves: `sized` spells out every length it accepts (`12:` then exactly
# twelve payload bytes, then the tag), so a match is the tnetstring's own
# reading.  Where that is impractical (a certificate, a list), `captured`
# names the length digits and the payload as groups l<n> and c<n> (numbered
# from the iterator the fragment is given), and `walk` compares the two after
# the match.  Payload classes in `captured` exclude the tag and repeat
# possessively, so a match never backtracks into a payload.

Fragment = Callable[[Iterator[int]], bytes]

_DIGITS = rb"[0-9]{1,12}"


def sized(payload: bytes, tag: bytes, longest: int, grammar: bytes | None = None) -> Fragment:
    """A value of at most `longest` bytes of class `payload`, written out length by length.

    `grammar`, if given, must match the whole payload too (a float literal).
    The lengths form a trie of their digits, so matching one costs a few steps.
    """
    escaped_tag = re.escape(tag)

    def node(digits: str) -> bytes:
        branches = []
        if digits:
            size = int(digits)
            body = b"%s{%d}" % (payload, size) if size else b""
            branches.append(b":%s%s" % (body, escaped_tag))
        if digits != "0":
            for digit in "0123456789":
                longer = digits + digit
                if int(longer) <= longest:
                    branches.append(digit.encode() + b"(?:%s)" % node(longer))
        return b"|".join(branches)

    check = b"(?=[0-9]{1,12}:%s%s)" % (grammar, escaped_tag) if grammar is not None else b""
    pattern = b"%s(?:%s)" % (check, node(""))
    return lambda numbers: pattern


def captured(payload: bytes, tag: bytes) -> Fragment:
    """A value of any length whose payload matches `payload`: its length is checked after."""

    def build(numbers: Iterator[int]) -> bytes:
        n = next(numbers)
        return rb"(?P<l%d>%s):(?P<c%d>%s)%s" % (n, _DIGITS, n, payload, re.escape(tag))

    return build


def literal(*tokens: bytes) -> Fragment:
    """One of these exact tokens (`0:~`, `4:true!`): they vouch for themselves."""
    pattern = b"(?:%s)" % b"|".join(re.escape(t) for t in tokens)
    return lambda numbers: pattern


def either(*fragments: Fragment) -> Fragment:
    return lambda numbers: b"(?:%s)" % b"|".join(f(numbers) for f in fragments)


def suspect(fragment: Fragment) -> Fragment:
    """`fragment`, but a value it matches is not vouched for: the field's check runs on it.

    For the rarer shapes of a field whose usual shape vouches for itself (a
    proxy mode other than the plain ones, a certificate where null is usual).
    """

    def build(numbers: Iterator[int]) -> bytes:
        return b"(?P<s%d>%s)" % (next(numbers), fragment(numbers))

    return build


def list_of(*items: Fragment, more: Fragment | None = None, up_to: int = 0) -> Fragment:
    """A list of exactly `items`, then up to `up_to` more items matching `more` (or none)."""

    def build(numbers: Iterator[int]) -> bytes:
        n = next(numbers)
        body = b"".join(item(numbers) for item in items)
        if more is not None:
            body += b"".join(b"(?:%s)?" % more(numbers) for _ in range(up_to))
        pattern = rb"(?P<l%d>%s):(?P<c%d>%s)\]" % (n, _DIGITS, n, body)
        return pattern if items else rb"(?:0:\]|%s)" % pattern

    return build


# -- schemas ---------------------------------------------------------------------------------

Check = Callable[[bytes, int, int, int], Any]
"""Checks (and reads) one value, given as (data, start, end, tag); raises NotFast if unfit."""


class Field(NamedTuple):
    check: Check
    """Run on the value unless `fragment` vouches for it and nobody reads it."""
    fragment: Fragment | None = None
    """How the value usually looks, for matching runs; None steps over it by its length."""
    trusted: bool = True
    """Whether a value the fragment matched needs no check (else the check runs anyway)."""


class _Step(NamedTuple):
    pattern: re.Pattern[bytes] | None
    """The run's expression; None for a single entry stepped over by its length."""
    pairs: tuple[tuple[int, int], ...]
    """(group of the length digits, group of the payload) of each `captured` value."""
    reads: tuple[tuple[bytes, int, Check, tuple[int, ...]], ...]
    """(key, group of its value, check, suspect groups) for the values of a matched run that
    are checked: always if there are no suspect groups, else if one of them took part."""
    entries: tuple[tuple[bytes, bytes, int, Check], ...]
    """(key, the key as a tnetstring, that tnetstring's length, check), in order."""


class Schema(NamedTuple):
    checks: dict[bytes, Check]
    required: frozenset[bytes]
    steps: tuple[_Step, ...]


def _run(fields: list[tuple[bytes, bytes, Field]], reads: frozenset[bytes]) -> _Step:
    numbers = itertools.count()
    parts = []
    suspects: list[list[str]] = []
    for position, (_key, key_token, field) in enumerate(fields):
        assert field.fragment is not None
        fragment = field.fragment(numbers)
        suspects.append(re.findall(r"\(\?P<(s[0-9]+)>", fragment.decode("latin-1")))
        parts.append(b"%s(?P<v%d>%s)" % (re.escape(key_token), position, fragment))
    pattern = re.compile(b"".join(parts), re.DOTALL)
    names = pattern.groupindex
    captures = sorted(int(name[1:]) for name in names if name.startswith("l"))
    step_reads = []
    for position, (key, _token, field) in enumerate(fields):
        if key in reads or not field.trusted:
            step_reads.append((key, names[f"v{position}"], field.check, ()))
        elif suspects[position]:
            groups = tuple(names[name] for name in suspects[position])
            step_reads.append((key, names[f"v{position}"], field.check, groups))
    return _Step(
        pattern=pattern,
        pairs=tuple((names[f"l{n}"], names[f"c{n}"]) for n in captures),
        reads=tuple(step_reads),
        entries=tuple((key, token, len(token), field.check) for key, token, field in fields),
    )


def schema(
    fields: dict[bytes, Field],
    order: Iterable[bytes],
    reads: Iterable[bytes] = (),
    optional: Iterable[bytes] = (),
) -> Schema:
    """A dict with keys `fields` (`optional` ones may be missing), usually written in `order`.

    `walk` returns the values of the `reads` keys (and of any other key it had
    to check one by one).
    """
    reads = frozenset(reads)
    order = [key for key in order if key in fields]
    steps: list[_Step] = []
    run: list[tuple[bytes, bytes, Field]] = []
    for key in order:
        key_token = b"%d:%s;" % (len(key), key)
        field = fields[key]
        if field.fragment is not None:
            run.append((key, key_token, field))
            continue
        if run:
            steps.append(_run(run, reads))
            run = []
        entry = (key, key_token, len(key_token), field.check)
        steps.append(_Step(None, (), (), (entry,)))
    if run:
        steps.append(_run(run, reads))
    checks = {key: field.check for key, field in fields.items()}
    return Schema(checks, frozenset(fields) - frozenset(optional), tuple(steps))


def walk(data: bytes, start: int, end: int, schema: Schema) -> dict[bytes, Any]:
    """Check every entry of the dict payload data[start:end]; the values read, by key."""
    values: dict[bytes, Any] = {}
    startswith = data.startswith
    index = data.index
    pos = start
    for pattern, pairs, reads, entries in schema.steps:
        if pattern is not None:
            match = pattern.match(data, pos, end)
            if match is not None and (not pairs or _lengths_agree(data, match, pairs)):
                for key, group, check, suspects in reads:
                    if suspects and all(match.start(g) < 0 for g in suspects):
                        continue  # the usual shape, which vouches for itself
                    value_start, value_end = match.span(group)
                    colon = index(_COLON, value_start, value_start + _PREFIX_MAX)
                    values[key] = check(data, colon + 1, value_end - 1, data[value_end - 1])
                pos = match.end()
                continue
        for key, key_token, key_length, check in entries:
            if not startswith(key_token, pos):
                return _walk_any_order(data, start, end, schema)
            pos += key_length
            colon = index(_COLON, pos, pos + _PREFIX_MAX)
            value_start = colon + 1
            value_end = value_start + int(data[pos:colon])
            if value_end >= end or value_end < value_start:
                raise NotFast("a value runs past its dict")
            values[key] = check(data, value_start, value_end, data[value_end])
            pos = value_end + 1
    if pos != end:
        raise NotFast("a dict with more keys than its schema")
    return values


def _lengths_agree(data: bytes, match: re.Match[bytes], pairs: tuple[tuple[int, int], ...]) -> bool:
    """Whether every captured length prefix announces exactly the payload matched after it."""
    spans = match.regs
    for digits_group, payload_group in pairs:
        digits_start, digits_end = spans[digits_group]
        if digits_start >= 0:
            payload_start, payload_end = spans[payload_group]
            if int(data[digits_start:digits_end]) != payload_end - payload_start:
                return False
    return True


def _walk_any_order(data: bytes, start: int, end: int, schema: Schema) -> dict[bytes, Any]:
    """`walk` for a dict whose keys are not in the usual order (or one is missing)."""
    entries = scan_dict(data, start, end)
    keys = entries.keys()
    if not schema.required <= keys <= schema.checks.keys():
        raise NotFast("a dict whose keys are not the expected ones")
    return {key: schema.checks[key](data, *span) for key, span in entries.items()}
