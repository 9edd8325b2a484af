"""The streaming HAR reader (HarStream + raw_decode) gives what the ijson reader gave.

`har._read_with_ijson` is the reader as it was before the rewrite for speed
(ijson.items over log.entries).  Both run over every HAR file in the
repository's captures and test data, the third-party corpus, and a Chrome-style
file from the benchmark generator; the new one also with buffers of a few
bytes, so that every entry, string and escape is cut somewhere.  Only the
reason in "the JSON is broken after N entries: <reason>" may differ (it was
yajl's wording).
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

from hostmap.ingest import _har_stream, har
from hostmap.model import ReadIssue
from tests.conftest import CORPUS, REPO

BROKEN = "the JSON is broken after "


def _har_files() -> list[Path]:
    found = [*sorted((REPO / "captures").rglob("*.har")),
             *sorted((REPO / "tests" / "data").rglob("*.har"))]
    if CORPUS.is_dir():
        found += sorted(CORPUS.rglob("*.har"))
    return found


def _outcome(read, path: Path) -> list[object]:
    """Every item, with the broken-JSON reason cut off; or the exception's type at the end."""
    items: list[object] = []
    try:
        for item in read(path):
            if isinstance(item, ReadIssue) and item.message.startswith(BROKEN):
                item = (item.provenance, item.severity, item.message.split(":", 1)[0])
            items.append(item)
    except Exception as exc:  # noqa: BLE001 - the exception's type is part of the outcome
        items.append(type(exc))
    return items


@pytest.fixture(scope="module")
def generated_har(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = importlib.util.spec_from_file_location("hostmap_bench_generate",
                                                  REPO / "benchmarks" / "generate.py")
    assert spec and spec.loader
    generate = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = generate
    spec.loader.exec_module(generate)
    out = tmp_path_factory.mktemp("generated")
    path = out / "session.har"
    generate.write_har(path, 600, generate.World(7), 7)
    return path


def test_every_har_file_is_found() -> None:
    names = {path.name for path in _har_files()}
    assert {"app-session.har", "broken-entries.har", "not-json.har"} <= names
    if CORPUS.is_dir():
        assert "haralyzer-cnn-firebug.har" in names


@pytest.mark.parametrize("path", _har_files(), ids=lambda p: p.name)
def test_each_har_file_reads_as_before(path: Path) -> None:
    before = _outcome(har._read_with_ijson, path)
    assert before, "the old reader gave nothing: pick a file that exercises it"
    assert _outcome(har.reader.read, path) == before


def test_a_chrome_style_generated_file_reads_as_before(generated_har: Path) -> None:
    before = _outcome(har._read_with_ijson, generated_har)
    assert sum(not isinstance(item, ReadIssue) for item in before) >= 550
    assert _outcome(har.reader.read, generated_har) == before


@pytest.mark.parametrize("chunk", [1, 7, 64, 1000])
def test_tiny_buffers_cut_every_value_and_change_nothing(
        chunk: int, generated_har: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = [generated_har, *(p for p in _har_files() if p.stat().st_size < 2_000_000)]
    before = {path: _outcome(har._read_with_ijson, path) for path in paths}
    monkeypatch.setattr(_har_stream, "CHUNK", chunk)
    monkeypatch.setattr(_har_stream, "_LOW_WATER", 0)
    assert {path: _outcome(har.reader.read, path) for path in paths} == before


TRICKY = (
    '\ufeff{"comment": {"log": "not this one"}, "log": {"version": "1.2", '
    '"pages": [{"title": "] } [ { \\" \\\\"}], "entries": [\n'
    ' {"startedDateTime": "2024-01-01T08:00:00+08:00", "serverIPAddress": "[2001:db8::1]",'
    '  "request": {"method": "GET", "url": "https://\u4e2d\u6587.example/\u8def?q=\\u4e2d",'
    '   "headers": [{"name": "X-Emoji", "value": "\\ud83d\\ude00 \U0001f600"},'
    '               {"name": "X-Quote", "value": "a \\"b\\" \\\\ c \\/ d"},'
    '               {"name": 7, "value": null}, {"value": "no name"}, "junk"]},'
    '  "response": {"status": 200.0, "headers": [{"name": "Location", "value": "/next"}],'
    '   "content": {"mimeType": "text/html", "text": "<a href=\\"https://b.example/x\\">"}}},\n'
    ' 42, "text", [1, [2, [3]]], {"request": {"url": "http://c.example:8080/"},'
    '  "response": {"status": 1.5e2, "headers": []}, "startedDateTime": "bad"},\n'
    ' {"request": {"url": "data:text/plain,x"}}, {"request": {"url": "ftp://d.example/"}}\n'
    '], "browser": {"name": "x"}, "entries": [{"request": {"url": "http://e.example/"},'
    ' "response": {"status": -1}}]}, "after": [true, false, null, -0.5e-3]}\n'
)
"""Byte-order mark, non-ASCII text raw and escaped, surrogate pairs, brackets and quotes in
strings, odd header objects, float statuses, entries that are not objects, skipped schemes,
keys before and after the entries, and a second entries array."""


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 1 << 20])
def test_a_tricky_handmade_file_reads_as_before(
        chunk: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "tricky.har"
    path.write_bytes(TRICKY.encode("utf-8"))
    before = _outcome(har._read_with_ijson, path)
    assert sum(not isinstance(item, ReadIssue) for item in before) == 3
    monkeypatch.setattr(_har_stream, "CHUNK", chunk)
    monkeypatch.setattr(_har_stream, "_LOW_WATER", 0)
    assert _outcome(har.reader.read, path) == before


ODD_URLS = [
    "http://a.example/", "HTTP://A.Example:8080/P?Q#F", "https://a.example", "ws://a.example:0",
    "wss://a.example:65535/x", "https://a.example:65536/", "https://a.example:/x",
    "https://a.example:+80/", "http://a.example?q=1#f?g", "http://a.example#f", "http://a.ex?#",
    "http://a.example/p#f?q", "http://a.example/%41?%20", "http://u:p@a.example/",
    "http://[2001:db8::1]:8443/x", "http://[::1/", "http://a.ex\tample/", "http://a.example/\n",
    " http://a.example/ ", "\x01http://a.example/", "http://a_b-c.example/", "http://1.2.3.4:99/",
    "http://a.example:080/", "http://a.example:٣/", "http://ä.example/", "ftp://a.example/",
    "data:,x", "http:///x", "http://", "https://a.example.:443/", "https://A.EXAMPLE/?",
    "http://b.example:70000/", "http://b.example:1e3/", "http://b.example:99999/",
]
"""URL shapes the fast splitter takes or hands to urlsplit; each is an entry (every third
with bad headers: the last one has a bad port too, and the headers' error comes first)."""


def test_odd_request_urls_read_as_before(tmp_path: Path) -> None:
    entries = [{"request": {"url": url, "headers": [] if i % 3 else "bad"},
                "response": {"status": 200}} for i, url in enumerate(ODD_URLS)]
    path = tmp_path / "urls.har"
    path.write_text(json.dumps({"log": {"entries": entries}}), encoding="utf-8")
    before = _outcome(har._read_with_ijson, path)
    assert sum(not isinstance(item, ReadIssue) for item in before) >= 10
    assert _outcome(har.reader.read, path) == before


BODY_URLS = (
    'x https://A.Example/p?q#f, "http://b.example:8080/x". http://c.example:/ '
    "http://[2001:DB8::1]:80/v http://[1.2.3]/ http://[::1] https:\\/\\/d.example\\/e "
    "'http://www.ugdt'+'urner.com/x' http://nodot/ https://e.example:99999/ http://f_g.example "
    "HTTPS://H.EXAMPLE.) http://i.example] http://j.example# http://k.example?a=1&b=2;"
)
"""Hosts as names, IPv4, IPv6 and not-IPv6 in brackets, ports, punctuation, escaped slashes."""


def test_find_urls_gives_what_urlsplit_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    found = har.find_urls(BODY_URLS)
    assert "https://A.Example/p?q#f" in found and "http://[2001:DB8::1]:80/v" in found
    monkeypatch.setattr(har, "_PLAIN_HOST", re.compile(r"(?!)"))  # every URL via urlsplit
    assert har.find_urls(BODY_URLS) == found
