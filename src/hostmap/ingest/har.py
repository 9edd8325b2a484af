"""HAR (HTTP Archive) 1.1/1.2 reader.

Browsers' developer tools (Chrome, Firefox, Safari, IE 11), Firebug, proxies
(Fiddler, Charles, Burp) and Polly.JS recordings export HAR: one JSON object
whose `log.entries` array holds one request/response pair per entry.  The
spec is W3C's draft "HTTP Archive (HAR) format" (HAR 1.2).

Entries are streamed, never loaded whole (`_har_stream.HarStream`: the standard
library's JSON parser on one entry at a time out of a 1 MiB buffer), and
numbered from 0 in file order: the observation from the first entry has the
locator "entry 0".  Memory holds the buffer and one entry, whatever the file's
size.  An entry nested too deeply for the parser, or not valid JSON while its
brackets balance, becomes a `ReadIssue` and reading goes on after it; so does
an entry holding text that is not Unicode (bytes that are not UTF-8, a lone
surrogate escape).  Where the JSON itself breaks (the file is cut, a bracket
is missing) the entries before are kept and one issue says where.

What each entry gives:

- an `HttpExchange`: host, port, scheme and path come from `request.url`
  (ports default to 80/443), the server address from `serverIPAddress`, the
  time from `startedDateTime`, and absolute URLs found in text-like response
  bodies.
- a `ReadIssue` instead when the entry is unusable (no `request.url`, a port out
  of range, ...); reading goes on with the next entry.
- a WARNING `ReadIssue` next to the exchange when a field is odd but the entry
  is still usable (a `serverIPAddress` that is not an address, a bad date).

No `Certificate` is produced: Chrome's `_securityDetails` carries subject,
issuer and SANs but not the certificate itself, so there is no fingerprint.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import json
import re
from collections.abc import Generator, Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urljoin, urlsplit

import ijson  # type: ignore[import-untyped]

from hostmap.errors import MalformedInput, TruncatedInput
from hostmap.ingest._har_stream import BrokenJson, HarStream, PartEnd
from hostmap.ingest._reader import WHOLE_FILE, Part, PartOverrun, ReadItem, parts_from_starts
from hostmap.model import HttpExchange, Provenance, ReadIssue, Severity, normalize_address

__all__ = ["HarReader", "MAX_BODY_CHARS", "MAX_HEADER_CHARS", "find_urls", "is_text_media_type",
           "reader"]

MAX_BODY_CHARS = 2_000_000
"""How much of a response body is scanned for URLs; the rest is ignored."""

MAX_HEADER_CHARS = 64 * 1024
"""A header value longer than this is cut to it, with a warning: the pcap and SAZ
readers refuse a whole head over 64 KiB (h11's limit there), and nothing the
analyses read from a header is longer; a 100 MiB value would otherwise be
kept in the store and copied by every analysis."""

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}

_NON_NETWORK_SCHEMES = frozenset({"data", "blob", "about", "javascript"})
"""Schemes Chrome and Firefox list in HAR although no request left the browser."""

_NAME_VALUE = itemgetter("name", "value")
_FIRST = itemgetter(0)
_SECOND = itemgetter(1)

_TEXT_MEDIA_HINTS = ("json", "html", "javascript", "ecmascript", "xml", "text/")

_URL = re.compile(
    r"""https?://(?:\[[0-9a-f:.]+\]|[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?)(?::\d{1,5})?"""
    r"""(?:[/?#][^\s"'<>\\`{}|^\ud800-\udfff\ufffd]*)?""",
    re.IGNORECASE,
)
_PLAIN_URL = re.compile(r"((?i:https?|wss?))://([A-Za-z0-9._-]+)(?::([0-9]{1,5}))?(?=[/?#]|\Z)")
"""The usual request URL's scheme, host and port (see `_split_url`)."""
_PLAIN_HOST = re.compile(r"https?://([A-Za-z0-9_.-]*)(?::[0-9]*)?(?:[/?#]|\Z)", re.IGNORECASE)
_TRAILING_PUNCTUATION = ".,;:!?)]"
_CONCATENATED = re.compile(r"""['"]\s*\+""")

_HEAD_HAR = re.compile(rb'\A\s*\{\s*"log"\s*:\s*\{')
_HEAD_KEYS = re.compile(rb'"(?:entries|version|creator|pages|browser)"\s*:')


def find_urls(text: str) -> tuple[str, ...]:
    """Absolute http(s) URLs in `text`, in order of first appearance, without repeats.

    JSON bodies often escape slashes ("https:\\/\\/a.example\\/x"); those are
    read as plain slashes.  Trailing sentence punctuation is not part of a URL.
    Fragments that scripts glue together ('http://www.ugdt'+'urner.com/x',
    'https://ssl' ... + '.google-analytics.com') are left out: a match followed
    by a closing quote and '+', or whose host has no dot, is not a whole URL.
    """
    text = text.replace("\\/", "/")
    seen: dict[str, None] = {}
    for match in _URL.finditer(text):
        if _CONCATENATED.match(text, match.end()):
            continue
        url = match.group(0).rstrip(_TRAILING_PUNCTUATION)
        plain = _PLAIN_HOST.match(url)
        if plain is not None:  # what urlsplit(url).hostname gives for a name or IPv4 host
            host = plain.group(1).lower()
        else:
            try:
                host = urlsplit(url).hostname or ""
            except ValueError:  # a bracketed host that is not IPv6
                continue
        if "." in host or ":" in host:
            seen.setdefault(url, None)
    return tuple(seen)


def is_text_media_type(media_type: str | None) -> bool:
    """True for JSON, HTML, JavaScript, XML and text/* media types (parameters allowed)."""
    if not media_type:
        return False
    media_type = media_type.lower()
    return any(hint in media_type for hint in _TEXT_MEDIA_HINTS)


class HarReader:
    """Reads HAR files as browsers, proxies and Polly.JS export them."""

    format = "har"
    description = (
        "HTTP Archive from Chrome, Firefox, Safari, IE, Firebug, Fiddler, Charles, Burp, Polly.JS"
    )
    suffixes = (".har",)
    signature = 'JSON object whose first key is "log", holding "version"/"creator"/"entries"'
    locator_prefix = "entry "

    def sniff(self, head: bytes, path: Path) -> float:
        head = head.removeprefix(codecs.BOM_UTF8)
        if _HEAD_HAR.match(head):
            return 1.0 if _HEAD_KEYS.search(head) else 0.5
        return 0.0

    def read(self, path: Path) -> Iterator[ReadItem]:
        yield from self._walk(path, WHOLE_FILE, to_end=True)

    def parts(self, path: Path, count: int) -> list[Part]:
        """Up to `count` parts cut where an entry seems to start (see `_entry_near`); the
        walk of each part proves where the next one starts (`HarStream`'s `limit`)."""
        return _cut_entries(path, count)

    def read_part(self, path: Path, part: Part, *,
                  to_end: bool = True) -> Generator[ReadItem, None, int]:
        return (yield from self._walk(path, part, to_end=to_end))

    def _walk(self, path: Path, part: Part, *, to_end: bool) -> Generator[ReadItem, None, int]:
        with open(path, "rb") as stream:
            if part.start == 0:
                _skip_bom(stream)
                resume = None
            else:
                stream.seek(part.start)
                resume = part.first_record or 0
            walk = HarStream(stream, limit=None if part.end is None else part.end - stream.tell(),
                             on_overrun=None if to_end else _refuse_overrun)
            count = resume or 0
            seen_entries = resume is not None
            try:
                for kind, index, value in walk.events(resume):
                    if kind == "entry":
                        count = index + 1
                        provenance = _provenance(path, index)
                        if walk.unicode_ok:
                            yield from _read_entry(value, provenance)
                        else:
                            yield ReadIssue(provenance=provenance, message=_NOT_UNICODE)
                    elif kind == "bad-entry":
                        count = index + 1
                        yield ReadIssue(provenance=_provenance(path, index),
                                        message=f"the entry is not readable JSON ({value}); "
                                                "skipped")
                    elif kind == "entries":
                        seen_entries = True
            except PartEnd as end:
                return end.index
            except BrokenJson as exc:
                if not seen_entries:
                    if exc.truncated:
                        raise TruncatedInput("the file ends before log.entries") from exc
                    raise MalformedInput(f"not a HAR file: invalid JSON ({exc.reason})") from exc
                message = f"the JSON is broken after {count} entries: {exc.reason}"
                yield ReadIssue(provenance=_provenance(path, count), message=message)
            else:
                if not seen_entries:
                    raise MalformedInput("not a HAR file: no log.entries array")
        if part.end is not None:
            # The walk went past the part's end, or the entries (or the JSON) ended
            # before it: whatever the cut was, reading does not go on there.
            raise PartOverrun(f"no entry starts at byte {part.end}")
        return count


def _refuse_overrun() -> None:
    raise PartOverrun("the part does not end where an entry starts")


_CUT_WINDOW = 2 << 20
"""Bytes searched (and parsed) after each place a cut is wanted."""
_BETWEEN_ENTRIES = re.compile(r'\}[ \t\r\n]*,[ \t\r\n]*(\{)[ \t\r\n]*"')


def _cut_entries(path: Path, count: int) -> list[Part]:
    size = path.stat().st_size
    cuts = [WHOLE_FILE]
    with open(path, "rb") as stream:
        for target in (size * k // count for k in range(1, count)):
            if target <= cuts[-1].start:
                continue
            start = _entry_near(stream, target)
            if start is not None and start > cuts[-1].start:
                cuts.append(Part(start, None, None))
    return parts_from_starts(cuts)


def _entry_near(stream: BinaryIO, target: int) -> int | None:
    """The first byte offset after `target` (within `_CUT_WINDOW`) that looks like the
    start of an entry: an object after '},' holding "request" and "response", then ','.

    Only a guess (a HAR entry could hold such an object in a custom field): the walk
    of the part before proves it, or reads on (`PartOverrun`).  The bytes are decoded
    with surrogateescape, so the text encodes back to exactly them.
    """
    stream.seek(target)
    text = stream.read(_CUT_WINDOW).decode("utf-8", "surrogateescape")
    for match in _BETWEEN_ENTRIES.finditer(text):
        at = match.start(1)
        try:
            value, end = _CUT_DECODER.raw_decode(text, at)
        except ValueError:
            continue
        if (isinstance(value, dict) and "request" in value and "response" in value
                and text[end:end + 64].lstrip()[:1] == ","):
            return target + len(text[:at].encode("utf-8", "surrogateescape"))
    return None


_CUT_DECODER = json.JSONDecoder()


_NOT_UNICODE = ("the entry holds text that is not Unicode (bytes that are not UTF-8, or a lone "
                "surrogate escape such as \\udfff); skipped")


def _read_with_ijson(path: Path) -> Iterator[ReadItem]:
    """The reader as it was before `HarStream` (ijson.items): kept to prove both agree.

    tests/ingest/test_har_equivalence.py runs both over every HAR file it finds.
    """
    with open(path, "rb") as stream:
        _skip_bom(stream)
        count = 0
        try:
            for index, entry in enumerate(ijson.items(stream, "log.entries.item")):
                yield from _read_entry(entry, _provenance(path, index))
                count = index + 1
        except ijson.JSONError as exc:
            reason = _json_reason(exc)
            if count == 0 and not _has_entries_array(path):
                if "premature EOF" in reason:
                    raise TruncatedInput("the file ends before log.entries") from exc
                raise MalformedInput(f"not a HAR file: invalid JSON ({reason})") from exc
            message = f"the JSON is broken after {count} entries: {reason}"
            yield ReadIssue(provenance=_provenance(path, count), message=message)
            return
    if count == 0 and not _has_entries_array(path):
        raise MalformedInput("not a HAR file: no log.entries array")


def _provenance(path: Path, index: int) -> Provenance:
    return Provenance(file=str(path), format="har", locator=f"entry {index}")


def _skip_bom(stream: BinaryIO) -> None:
    """Fiddler writes HAR files with a UTF-8 byte-order mark, which ijson rejects."""
    if stream.read(3) != codecs.BOM_UTF8:
        stream.seek(0)


def _json_reason(exc: Exception) -> str:
    """The first line of yajl's message (the rest draws an arrow under the bad bytes)."""
    text = str(exc)
    if text[:2] in ("b'", 'b"'):  # ijson's C backend passes some messages as bytes
        text = text[2:].replace("\\n", "\n")
    lines = text.strip().splitlines()
    return lines[0].strip() if lines else type(exc).__name__


def _has_entries_array(path: Path) -> bool:
    """Whether `log.entries` opens as an array before the JSON ends or breaks."""
    with open(path, "rb") as stream:
        _skip_bom(stream)
        try:
            for prefix, event, _value in ijson.parse(stream):
                if prefix == "log.entries" and event == "start_array":
                    return True
        except ijson.JSONError:
            return False
    return False


def _read_entry(entry: object, provenance: Provenance) -> list[ReadItem]:
    """The items one entry yields; the single place where an entry's errors become issues."""
    warnings: list[str] = []
    try:
        exchange = _exchange(entry, provenance, warnings)
    except MalformedInput as exc:
        return [ReadIssue(provenance=provenance, message=str(exc))]
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        return [ReadIssue(provenance=provenance, message=f"{type(exc).__name__}: {exc}")]
    items: list[ReadItem] = [
        ReadIssue(provenance=provenance, message=text, severity=Severity.WARNING)
        for text in warnings
    ]
    if exchange is not None:
        items.insert(0, exchange)
    return items


def _exchange(entry: object, provenance: Provenance, warnings: list[str]) -> HttpExchange | None:
    """Build the exchange; raise MalformedInput naming what is wrong, or None to skip quietly."""
    entry = _mapping(entry, "entry")
    request = _mapping(entry.get("request"), "request")
    response = _mapping(entry.get("response", {}), "response")
    url = request.get("url")
    if url is None or url == "":
        raise MalformedInput("request.url is missing")
    if not isinstance(url, str):
        raise MalformedInput(f"request.url is {url!r}, expected a URL string")
    scheme, host, port, path = _split_url(url)
    if scheme in _NON_NETWORK_SCHEMES:
        return None
    if not host:
        raise MalformedInput(f"request.url {url!r} has no host")
    if scheme not in _DEFAULT_PORTS:
        raise MalformedInput(f"request.url {url!r} is not an http(s) or ws(s) URL")
    request_headers = _cut(_headers(request.get("headers"), "request.headers"),
                           "request.headers", warnings)
    response_headers = _cut(_headers(response.get("headers"), "response.headers"),
                            "response.headers", warnings)
    if isinstance(port, MalformedInput):  # after the headers' errors, as it always was
        raise port
    return HttpExchange(
        provenance=provenance,
        host=host,
        port=port,
        scheme=scheme,
        method=_text(request.get("method")),
        path=path,
        status=_status(response.get("status"), warnings),
        time=_time(entry.get("startedDateTime"), warnings),
        server_address=_address(entry.get("serverIPAddress"), warnings),
        request_headers=request_headers,
        response_headers=response_headers,
        redirect_url=_redirect(url, response.get("redirectURL"), response_headers),
        body_urls=_body_urls(response.get("content")),
    )


def _mapping(value: object, name: str) -> Mapping[str, Any]:
    if type(value) is dict:  # what the JSON parser gives: skip the ABC check
        return value
    if not isinstance(value, Mapping):
        raise MalformedInput(f"{name} is {type(value).__name__}, expected an object")
    return value


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _split_url(url: str) -> tuple[str, str | None, int | MalformedInput, str]:
    """(scheme, host, port, path with query) of a request URL, as `urlsplit` reads it.

    The port is only meaningful for http(s) and ws(s); a bad one is given as the
    error to raise.  A URL of the usual shape
    (scheme, plain host name or IPv4 address, optional port, no tab or line
    break) is split by one regular expression; anything else goes through
    `urlsplit`, which gives the same for the usual shape (test_har_equivalence).
    """
    text = url.strip()
    match = _PLAIN_URL.match(text)
    if match is not None and "\t" not in text and "\r" not in text and "\n" not in text:
        scheme, host, port = match.groups()
        if port is None or int(port) <= 65535:
            scheme = scheme.lower()
            rest = text[match.end():]
            rest = rest.split("#", 1)[0] if "#" in rest else rest
            path, _, query = rest.partition("?")
            return (scheme, host.lower(),
                    _DEFAULT_PORTS[scheme] if port is None else int(port),
                    (path or "/") + (f"?{query}" if query else ""))
    parts = urlsplit(text)
    scheme = parts.scheme
    host = parts.hostname
    if scheme in _NON_NETWORK_SCHEMES or not host or scheme not in _DEFAULT_PORTS:
        return scheme, host, 0, ""
    try:
        port = parts.port
    except ValueError as exc:
        return scheme, host, MalformedInput(f"request.url {url!r}: {exc}"), ""
    return (scheme, host, _DEFAULT_PORTS[scheme] if port is None else port,
            (parts.path or "/") + (f"?{parts.query}" if parts.query else ""))


def _status(value: object, warnings: list[str]) -> int | None:
    """HAR writes 0 (Chrome, Firebug) when no response arrived: that is no status."""
    if type(value) is int and 100 <= value <= 999:
        return value
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal | str):
        try:
            status = int(value)
        except (ValueError, ArithmeticError):
            pass
        else:
            if status == 0:
                return None
            if 100 <= status <= 999:
                return status
    warnings.append(f"response.status is {value!r}, expected a number")
    return None


def _time(value: object, warnings: list[str]) -> datetime | None:
    """ISO 8601; an offset-less time (some older exporters) is taken as UTC."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        warnings.append(f"startedDateTime {value!r} is not an ISO 8601 time")
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _address(value: object, warnings: list[str]) -> str | None:
    """serverIPAddress: absent, "" (Chrome, no connection), bare or bracketed IPv6."""
    if value is None or value == "":
        return None
    try:
        return normalize_address(str(value))
    except ValueError:
        warnings.append(f"serverIPAddress {value!r} is not an IP address")
        return None


def _headers(value: object, name: str) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise MalformedInput(f"{name} is {type(value).__name__}, expected a list")
    try:  # the usual list: {"name": str, "value": str} objects only, read at C speed
        plain = tuple(map(_NAME_VALUE, value))
    except (KeyError, TypeError, IndexError):
        pass
    else:
        if not plain or set(map(type, chain.from_iterable(plain))) == {str}:
            return plain
    pairs = []
    for header in value:
        if type(header) is dict or isinstance(header, Mapping):
            name = header.get("name")
            if name is not None:
                text = header.get("value", "")
                pairs.append((name if type(name) is str else str(name),
                              text if type(text) is str else str(text)))
    return tuple(pairs)


def _cut(headers: tuple[tuple[str, str], ...], name: str,
         warnings: list[str]) -> tuple[tuple[str, str], ...]:
    """The headers with every value over MAX_HEADER_CHARS cut to it (one warning each)."""
    if max(map(len, map(_SECOND, headers)), default=0) <= MAX_HEADER_CHARS:
        return headers
    for header, value in headers:
        if len(value) > MAX_HEADER_CHARS:
            warnings.append(f"{name} {header[:80]!r}: a value of {len(value):,} characters, "
                            f"cut to {MAX_HEADER_CHARS:,}")
    return tuple((header, value[:MAX_HEADER_CHARS]) for header, value in headers)


def _redirect(url: str, redirect: object, headers: tuple[tuple[str, str], ...]) -> str | None:
    """redirectURL, else the Location header; a relative target is resolved against the URL."""
    target = redirect if isinstance(redirect, str) and redirect else None
    if target is None and "location" in map(str.lower, map(_FIRST, headers)):
        target = next((value for name, value in headers if name.lower() == "location"), None)
    return urljoin(url, target.strip()) if target else None


def _body_urls(content: object) -> tuple[str, ...]:
    if type(content) is not dict and not isinstance(content, Mapping):
        return ()
    if not is_text_media_type(content.get("mimeType")):
        return ()
    text = content.get("text")
    if not isinstance(text, str) or not text:
        return ()
    if content.get("encoding") == "base64":
        chunk = text[: MAX_BODY_CHARS // 3 * 4]
        try:
            text = base64.b64decode(chunk, validate=False).decode("utf-8", errors="replace")
        except (binascii.Error, ValueError):
            return ()
    return find_urls(text[:MAX_BODY_CHARS])


reader = HarReader()
