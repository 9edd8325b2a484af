"""The zone-file reader's fast path: one-line records of the common shapes.

`SimpleRecords.parse` takes one physical line such as `www 300 IN A 192.0.2.1`
(owner or blank owner, optional TTL in seconds and/or class IN, a type, the
rdata) and reads it with regular expressions and string operations instead of
dnspython's character-by-character tokenizer:

- owner and target names made of letters, digits, '-', '_', '*' and '/' are
  resolved against the origin by string concatenation (the text is what
  `dns.name.Name.to_text` would print for them);
- A, AAAA, CNAME, NS, PTR, DNAME, MX, SRV, TXT and SPF rdata is built by
  calling dnspython's own rdata classes (the ones `dns.rdata.from_text` picks)
  with the parsed fields, so dnspython still validates every address, name,
  label length and integer range;
- any other known type is parsed by `dns.rdata.from_text` on the rest of the
  line, exactly as the full path does, skipping only its slow prefix parsing.

Anything else — non-ASCII text, escapes, parentheses, TTLs with units,
classes other than IN, SOA (it may set the origin), `TYPEnnn`, and every line
dnspython would reject — gives None, and the caller parses the line with the
full path (`zone_file.parse_record`), which then yields what it always did,
records or issue.  tests/ingest/test_zone_file.py checks that both paths give
the same items in the same order.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.ttl

from hostmap.model import RecordType

__all__ = ["SimpleRecords"]

_IN = dns.rdataclass.IN
_LABEL = r"[-\w*/]{1,63}"
_NAME = rf"(?:@|{_LABEL}(?:\.{_LABEL})*\.?)"
_OWNER = re.compile(rf"{_NAME}(?=[ \t])", re.ASCII)
_TAIL = re.compile(
    r"[ \t]+(?:(\d+)[ \t]+(?:IN[ \t]+)?|IN[ \t]+(?:(\d+)[ \t]+)?)?([A-Za-z][-\w]*)(?=[ \t]|$)",
    re.ASCII | re.IGNORECASE,
)
_END = r"[ \t]*(?:;.*)?"
_ONE_TOKEN = re.compile(rf"[ \t]+([^\s;\"\\()]+){_END}", re.ASCII)
_ONE_NAME = re.compile(rf"[ \t]+({_NAME}){_END}", re.ASCII)
_MX = re.compile(rf"[ \t]+(\d+)[ \t]+({_NAME}){_END}", re.ASCII)
_SRV = re.compile(rf"[ \t]+(\d+)[ \t]+(\d+)[ \t]+(\d+)[ \t]+({_NAME}){_END}", re.ASCII)
_QUOTED = r'"[ !#-\[\]-~]*"'
_TXT = re.compile(rf"((?:[ \t]+{_QUOTED})+){_END}", re.ASCII)
_TXT_STRING = re.compile(r'"([^"]*)"')

_DIRECT = {t.value: t for t in RecordType if t is not RecordType.OTHER}
_CACHE_SIZE = 16_384
_NOT_SIMPLE = ""
"""Rdata the fast path leaves to the full path (no rdata it reads has this text)."""

# How the rdata of each type is read: one of dnspython's rdata classes, built from
# fields parsed here, or (types not listed) `dns.rdata.from_text` on the rest of the line.
_A, _AAAA, _TARGET, _MXLIKE, _SRVLIKE, _TXTLIKE = range(6)
_SHAPES = {
    dns.rdatatype.A: _A,
    dns.rdatatype.AAAA: _AAAA,
    dns.rdatatype.CNAME: _TARGET,
    dns.rdatatype.NS: _TARGET,
    dns.rdatatype.PTR: _TARGET,
    dns.rdatatype.DNAME: _TARGET,
    dns.rdatatype.MX: _MXLIKE,
    dns.rdatatype.SRV: _SRVLIKE,
    dns.rdatatype.TXT: _TXTLIKE,
    dns.rdatatype.SPF: _TXTLIKE,
}
_NO_NAMES = (_A, _AAAA, _TXTLIKE)
"""Shapes whose rdata holds no name: what they give does not depend on the origin."""


def _type_table() -> dict[str, tuple[dns.rdatatype.RdataType, int | None, RecordType, str | None]]:
    """Type mnemonics the fast path reads: upper-case text -> (type, shape, rtype, raw_type).

    Only names `dns.rdatatype.from_text` reads back to the same type, and none
    that `dns.rdataclass.from_text` takes for a class (ANY), where the full
    path would read the token as the class; SOA stays with the full path (it
    may set the origin).  rtype and raw_type are what `record_resolutions`
    derives from the type's text.
    """
    table = {}
    for rdtype in dns.rdatatype.RdataType:
        text = dns.rdatatype.to_text(rdtype)
        if rdtype == dns.rdatatype.SOA or text.startswith("TYPE"):
            continue
        try:
            dns.rdataclass.from_text(text)
        except dns.exception.DNSException:
            pass
        else:
            continue
        try:
            if dns.rdatatype.from_text(text) != rdtype:
                continue
        except dns.exception.DNSException:
            continue
        rtype = _DIRECT.get(text, RecordType.OTHER)
        raw_type = text if rtype is RecordType.OTHER else None
        table[text.upper()] = (rdtype, _SHAPES.get(rdtype), rtype, raw_type)
    return table


_TYPES = _type_table()

Fields = tuple[RecordType, str | None, str]
"""(rtype, raw_type, value text) of a record, as `record_resolutions` gets them."""
SimpleRecord = tuple[str | None, str, Fields]
"""(owner token or None for a blank owner, owner text, fields)."""


class _Named(NamedTuple):
    """A tail whose rdata holds names: its text depends on the origin."""

    rdtype: dns.rdatatype.RdataType
    shape: int | None
    rtype: RecordType
    raw_type: str | None
    rdata_text: str


class SimpleRecords:
    """Reads one-line records of the common shapes; see the module docstring.

    A line is its owner and its tail (TTL, class, type, rdata, comment).  What
    a tail gives is cached, in LRU caches of `_CACHE_SIZE` entries (so memory
    stays flat): addresses and MX, SRV, NS targets repeat across a zone, and
    each distinct tail is parsed (its rdata by dnspython) once, or once per
    origin when its rdata holds names; A and AAAA addresses are also cached on
    their own, as the same address comes with many TTL, class and comment texts.
    """

    def __init__(self) -> None:
        self._origin: dns.name.Name | None = None
        self._origin_text = ""
        self._suffix = ""
        self._origin_wire = 0
        self._classes = {rdtype: dns.rdata.get_rdata_class(_IN, rdtype) for rdtype in _SHAPES}
        self._tail_fields = functools.lru_cache(maxsize=_CACHE_SIZE)(self._read_tail)
        self._named_fields = functools.lru_cache(maxsize=_CACHE_SIZE)(self._read_named)
        self._address = functools.lru_cache(maxsize=_CACHE_SIZE)(self._read_address)

    def _set_origin(self, origin: dns.name.Name) -> None:
        self._origin = origin
        self._origin_text = origin.to_text()
        self._suffix = "." if origin == dns.name.root else "." + self._origin_text
        self._origin_wire = sum(len(label) + 1 for label in origin.labels)

    def parse(
        self, line: str, origin: dns.name.Name, last_owner_text: str | None
    ) -> SimpleRecord | None:
        """The record on `line`, or None when the full path must read it."""
        if not line.isascii() or "\\" in line:
            return None
        if origin is not self._origin:
            self._set_origin(origin)
        first = line[0]
        if first == " " or first == "\t":
            if last_owner_text is None:
                return None
            owner, owner_text, tail = None, last_owner_text, line
        else:
            match = _OWNER.match(line)
            if match is None:
                return None
            owner = match[0]
            tail = line[match.end() :]
            if owner == "@":
                owner_text = self._origin_text
            elif owner[-1] == ".":
                if len(owner) + 1 > 255:  # the wire length, as dns.name checks it
                    return None
                owner_text = owner
            else:
                if len(owner) + 1 + self._origin_wire > 255:
                    return None
                owner_text = owner + self._suffix
        fields = self._tail_fields(tail)
        if type(fields) is _Named:
            fields = self._named_fields(fields, self._origin_text)
        if fields is None:
            return None
        return owner, owner_text, fields

    def _read_tail(self, tail: str) -> Fields | _Named | None:
        """What `tail` gives: fields, None for the full path, or _Named to read per origin."""
        match = _TAIL.match(tail)
        if match is None:
            return None
        ttl, ttl2, type_text = match.groups()
        kind = _TYPES.get(type_text.upper())
        if kind is None:
            return None
        ttl = ttl or ttl2
        if ttl is not None and int(ttl) > dns.ttl.MAX_TTL:
            return None
        rdtype, shape, rtype, raw_type = kind
        if shape not in _NO_NAMES:
            return _Named(rdtype, shape, rtype, raw_type, tail[match.end() :])
        try:
            value = self._rdata(rdtype, shape, tail[match.end() :], dns.name.root)
        except (dns.exception.DNSException, ValueError, TypeError):
            return None
        return (rtype, raw_type, value) if value else None

    def _read_named(self, named: _Named, origin_text: str) -> Fields | None:
        """The fields of a _Named tail under the current origin (`origin_text` keys the cache)."""
        assert self._origin is not None and origin_text == self._origin_text
        try:
            value = self._rdata(named.rdtype, named.shape, named.rdata_text, self._origin)
        except (dns.exception.DNSException, ValueError, TypeError):
            return None
        return (named.rtype, named.raw_type, value) if value else None

    def _read_address(self, rdtype: dns.rdatatype.RdataType, token: str) -> str:
        """The A or AAAA rdata's address (its text), or _NOT_SIMPLE if dnspython rejects it."""
        try:
            return self._classes[rdtype](_IN, rdtype, token).address
        except (dns.exception.DNSException, ValueError, TypeError):
            return _NOT_SIMPLE

    def _name(self, token: str) -> tuple[dns.name.Name, str]:
        """`dns.name.from_text(token, origin)` (for these simple tokens) and its text."""
        origin = self._origin
        assert origin is not None
        if token == "@":
            return origin, self._origin_text
        if token[-1] == ".":
            return dns.name.Name(token.encode().split(b".")), token
        labels = tuple(token.encode().split(b".")) + origin.labels
        return dns.name.Name(labels), token + self._suffix

    def _rdata(
        self, rdtype: dns.rdatatype.RdataType, shape: int | None, rest: str, origin: dns.name.Name
    ) -> str:
        """The rdata's text as `Rdata.to_text()` gives it, or _NOT_SIMPLE; raises like dnspython."""
        if shape is None:
            return dns.rdata.from_text(_IN, rdtype, rest, origin, relativize=False).to_text()
        cls = self._classes[rdtype]
        if shape == _A or shape == _AAAA:
            if (match := _ONE_TOKEN.fullmatch(rest)) is None:
                return _NOT_SIMPLE
            return self._address(rdtype, match[1])
        if shape == _TARGET:
            if (match := _ONE_NAME.fullmatch(rest)) is None:
                return _NOT_SIMPLE
            target, text = self._name(match[1])
            cls(_IN, rdtype, target)
            return text
        if shape == _MXLIKE:
            if (match := _MX.fullmatch(rest)) is None:
                return _NOT_SIMPLE
            target, text = self._name(match[2])
            rdata = cls(_IN, rdtype, int(match[1]), target)
            return f"{rdata.preference} {text}"
        if shape == _SRVLIKE:
            if (match := _SRV.fullmatch(rest)) is None:
                return _NOT_SIMPLE
            target, text = self._name(match[4])
            rdata = cls(_IN, rdtype, int(match[1]), int(match[2]), int(match[3]), target)
            return f"{rdata.priority} {rdata.weight} {rdata.port} {text}"
        # TXT, SPF: quoted strings of printable ASCII other than '"' and '\\'.
        if (match := _TXT.fullmatch(rest)) is None:
            return _NOT_SIMPLE
        strings = _TXT_STRING.findall(match[1])
        cls(_IN, rdtype, strings)
        return " ".join(f'"{text}"' for text in strings)
