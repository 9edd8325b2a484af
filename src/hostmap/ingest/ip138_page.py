"""ip138.com pages saved from a browser: an address's bound domains, a domain's history.

site.ip138.com has two pages hostmap reads, each saved as HTML ("Save page as"):

- the IP page, `https://site.ip138.com/<address>/` ("IP反查域名"), lists the
  domains bound to the address, each after its date span:
  `<ul id="list"><li><span class="date">2021-12-29-----2022-06-14</span>
  <a href="/zz-jkm.example.cn/">zz-jkm.example.cn</a></li>...`
- the domain page, `https://site.ip138.com/<domain>/`, lists the domain's
  resolution history ("历史解析记录"), each address after its date span:
  `<div id="J_ip_history"><p><span class="date">...</span><a>192.0.2.1</a></p>...`

The layout changes now and then, so records are found by text, not by
element ids: in the page's text (the standard library's `html.parser`,
scripts and styles left out) every date span 'YYYY-MM-DD-----YYYY-MM-DD' (any
run of dashes, the end date may be missing) is a record, and the first host
name (IP page) or address (domain page) among the next few words is what it
dates.  Which page it is, and its own address or domain, comes from the URL
in the browser's `<!-- saved from url=(0040)https://site.ip138.com/<x>/ -->`
comment, else the canonical link, else the `<title>`, else the file name.

IP page: `Resolution(name=domain, rtype=A/AAAA, value=address, source=REVERSE_IP)`.
Domain page: `Resolution(name=domain, rtype=A/AAAA, value=address, source=PASSIVE_DNS)`.
Spans are whole UTC days, as in `reverse_ip`.  Locator "record N" (the Nth
date span in the page).  A span with nothing usable after it becomes a
`ReadIssue` and reading goes on; a page with no address or domain of its own
raises `MalformedInput`.  Pages are small (tens of kilobytes): read whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

from hostmap.errors import MalformedInput
from hostmap.hostnames import is_address
from hostmap.ingest._reader import ReadItem
from hostmap.ingest.reverse_ip import _span, is_plausible_host
from hostmap.model import (
    Provenance,
    ReadIssue,
    RecordType,
    Resolution,
    ResolutionSource,
    Severity,
    normalize_address,
)

__all__ = ["Ip138PageReader", "reader"]

_DATE = r"\d{4}-\d{1,2}-\d{1,2}"
# An open span needs a run of dashes ('2021-12-01-----'): one dash is just punctuation.
_SPAN = re.compile(rf"(?P<start>{_DATE})\s*(?:-+\s*(?P<end>{_DATE})|-{{2,}})")
_SPAN_BYTES = re.compile(rb"\d{4}-\d{1,2}-\d{1,2}\s*-{2,}")
_SAVED_FROM = re.compile(r"saved from url=\(\d+\)(?P<url>\S+)", re.IGNORECASE)
_CHARSET = re.compile(rb"""charset\s*=\s*["']?(?P<name>[\w-]+)""", re.IGNORECASE)
_NAME_IN_TEXT = re.compile(r"[0-9A-Za-z][0-9A-Za-z_.:-]*[0-9A-Za-z]")
_TRIM = "\"'()[]{}<>,;.，；：。（）【】"  # not ':', which IPv6 addresses end with
_WORDS_AFTER_SPAN = 4
"""How many words after a date span may precede the name it dates (labels, separators)."""


class _PageText(HTMLParser):
    """The page's text in document order, its title, comments and canonical URL."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.title: list[str] = []
        self.comments: list[str] = []
        self.canonical: str | None = None
        self._hidden = 0
        self._in_title = False
        self.bad_sections = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("script", "style", "noscript", "template"):
            self._hidden += 1
        elif tag == "title":
            self._in_title = True
        elif tag == "link" and (values.get("rel") or "").lower() == "canonical":
            self.canonical = self.canonical or values.get("href")
        elif tag == "meta" and values.get("property") == "og:url":
            self.canonical = self.canonical or values.get("content")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "noscript", "template"):
            self._hidden = max(0, self._hidden - 1)
        elif tag == "title":
            self._in_title = False

    def parse_marked_section(self, i: int, report: int = 1) -> int:
        """`<![name[ ... ]]>`; one html.parser does not know ('<![x[', '<!["') is skipped
        to the next '>' and counted (the standard library raises AssertionError)."""
        try:
            return super().parse_marked_section(i, report)
        except AssertionError:
            self.bad_sections += 1
            end = self.rawdata.find(">", i + 3)
            return len(self.rawdata) if end < 0 else end + 1

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)
        elif not self._hidden:
            self.chunks.append(data)

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)


def _page_subject(page: _PageText, path: Path) -> str | None:
    """The page's own address or domain: saved-from URL, canonical link, title, file name."""
    urls = [m.group("url") for c in page.comments if (m := _SAVED_FROM.search(c))]
    for url in [*urls, page.canonical or ""]:
        segment = urlsplit(url).path.strip("/").split("/", 1)[0]
        if (name := _as_name(segment)) is not None:
            return name
    for text in ("".join(page.title), path.stem):
        for match in _NAME_IN_TEXT.finditer(text):
            if (name := _as_name(match.group())) is not None:
                return name
    return None


def _as_name(text: str) -> str | None:
    """`text` as an address or a host name other than ip138's own, else None."""
    text = text.strip(_TRIM)
    if is_address(text):
        return normalize_address(text)
    lowered = text.lower().rstrip(".")
    if is_plausible_host(text) and not (lowered == "ip138.com" or lowered.endswith(".ip138.com")):
        return text
    return None


def _decode(data: bytes) -> tuple[str, bool]:
    """The page as text in its declared charset (GB pages as GB18030); True if damaged."""
    match = _CHARSET.search(data[:4096])
    charset = match.group("name").decode("ascii").lower() if match else "utf-8"
    if charset in ("gb2312", "gbk", "gb18030", "x-gbk"):
        charset = "gb18030"
    try:
        return data.decode(charset).removeprefix("\ufeff"), False
    except LookupError:
        charset = "utf-8"
    except UnicodeDecodeError:
        pass
    return data.decode(charset, errors="replace").removeprefix("\ufeff"), True


class Ip138PageReader:
    """Reads ip138.com IP and domain pages saved as HTML; see the module docstring."""

    format = "ip138"
    description = "ip138.com pages saved from a browser: an IP's bound domains, a domain's history"
    suffixes = (".html", ".htm")
    signature = "HTML mentioning ip138 with 'YYYY-MM-DD-----YYYY-MM-DD' spans before names"

    def sniff(self, head: bytes, path: Path) -> float:
        head = head.removeprefix(b"\xef\xbb\xbf").lstrip()
        if not head.startswith(b"<"):
            return 0.0
        lowered = head.lower()
        if b"ip138" not in lowered:
            return 0.0
        if not any(mark in lowered for mark in (b"<html", b"<!doctype html", b"saved from url")):
            return 0.0
        return 0.9 if _SPAN_BYTES.search(head) else 0.5

    def read(self, path: Path) -> Iterator[ReadItem]:
        text, damaged = _decode(path.read_bytes())
        if damaged:
            yield ReadIssue(
                provenance=self._at(path, ""),
                severity=Severity.WARNING,
                message="the page is not valid in its declared charset: some characters replaced",
            )
        page = _PageText()
        try:
            page.feed(text)
            page.close()
        except AssertionError as exc:  # html.parser's way to say it cannot go on
            raise MalformedInput(f"HTML that the parser cannot read: {exc}") from None
        if page.bad_sections:
            yield ReadIssue(
                provenance=self._at(path, ""),
                severity=Severity.WARNING,
                message=f"{page.bad_sections} unknown '<![' marked section(s) skipped",
            )
        subject = _page_subject(page, path)
        if subject is None:
            raise MalformedInput(
                "no address or domain of its own: keep the browser's 'saved from url' comment, "
                "or name the file <address>.html / <domain>.html"
            )
        is_ip_page = is_address(subject)
        body = "\n".join(page.chunks)
        spans = list(_SPAN.finditer(body))
        if not spans:
            message = f"no 'YYYY-MM-DD-----YYYY-MM-DD' records on the page of {subject}"
            warning = Severity.WARNING
            yield ReadIssue(provenance=self._at(path, ""), severity=warning, message=message)
        for number, match in enumerate(spans, 1):
            at = self._at(path, f"record {number}")
            stop = spans[number].start() if number < len(spans) else len(body)
            words = [w.strip(_TRIM) for w in body[match.end() : stop].split()]
            wanted = [w for w in words[:_WORDS_AFTER_SPAN] if _is_wanted(w, is_ip_page)]
            if not wanted:
                kind = "host name" if is_ip_page else "address"
                seen = " ".join(words[:_WORDS_AFTER_SPAN])[:80]
                message = f"date range with no {kind} after it (found {seen!r})"
                yield ReadIssue(provenance=at, severity=Severity.WARNING, message=message)
                continue
            try:
                first, last = _span(match.group("start"), match.group("end"))
                yield _resolution(at, subject, wanted[0], is_ip_page, first, last)
            except ValueError as exc:
                yield ReadIssue(provenance=at, message=f"bad record: {exc}")

    def _at(self, path: Path, locator: str) -> Provenance:
        return Provenance(file=str(path), format=self.format, locator=locator)


def _is_wanted(word: str, is_ip_page: bool) -> bool:
    return is_plausible_host(word) if is_ip_page else is_address(word)


def _resolution(
    at: Provenance,
    subject: str,
    found: str,
    is_ip_page: bool,
    first: datetime,
    last: datetime | None,
) -> Resolution:
    name, address = (found, subject) if is_ip_page else (subject, found)
    value = normalize_address(address)
    return Resolution(
        provenance=at,
        name=name,
        rtype=RecordType.AAAA if ":" in value else RecordType.A,
        value=value,
        source=ResolutionSource.REVERSE_IP if is_ip_page else ResolutionSource.PASSIVE_DNS,
        first_seen=first,
        last_seen=last,
    )


reader = Ip138PageReader()
