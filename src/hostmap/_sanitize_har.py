"""`hostmap sanitize` for HAR files.

The file is read once with `HarStream` (one JSON value at a time) and never
held whole; the copy is written entry by entry, with the `log` fields other
than `entries` (version, creator, browser, pages, comment, …) where they were
(those after the entries are held until the entries are written).  An entry
that is not readable JSON (nested too deeply, a bad literal) is left out with
an issue; where the JSON breaks, the copy ends with the entries before.

In each entry: `request.url` and `response.redirectURL` through `redact_url`,
`queryString` and `postData.params` values replaced, headers through
`redact_header` (persistence cookies kept decodable), `cookies` values through
`redact_cookie`, `postData.text` and `response.content.text` through
`redact_body` (base64 bodies decoded first; a body that cannot be looked into
is emptied).  Every other string (pages' titles, `_initiator`, comments) goes
through `redact_url` when it is an absolute URL, else `redact_text`; a string
under a key that names a secret is replaced outright.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import json
import re
from collections import Counter
from collections.abc import Callable
from typing import Any, BinaryIO

import ijson  # type: ignore[import-untyped]

from hostmap._sanitize_bodies import redact_body
from hostmap.errors import MalformedInput
from hostmap.ingest._har_stream import BrokenJson, HarStream
from hostmap.redact import (
    REDACTED,
    is_secret_name,
    redact_cookie,
    redact_header,
    redact_text,
    redact_url,
)

__all__ = ["write_har"]

_ABSOLUTE_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")

_Redact = Callable[[str, str, Counter[str]], str]
"""redact(name, value, counts) -> the value to write."""


def write_har(source: str, out: BinaryIO, counts: Counter[str]) -> tuple[int, list[str]]:
    """Write the redacted HAR to `out`; return (entries written, issues)."""
    issues: list[str] = []
    count = 0
    opened = False
    after: list[tuple[str, Any]] = []
    with open(source, "rb") as stream:
        _skip_bom(stream)
        walk = HarStream(stream, floats=True)
        out.write(b'{"log": {')
        try:
            for kind, key, value in walk.events():
                if kind == "entry":
                    try:
                        data = _json(_entry(value, counts))
                    except RecursionError:  # parsed, but too deep to walk again
                        issues.append(f"entry {key}: nested too deeply to redact; "
                                      "left out of the copy")
                        continue
                    count += 1
                    out.write(b"\n" if count == 1 else b",\n")
                    out.write(data)
                elif kind == "bad-entry":
                    issues.append(f"entry {key}: not readable JSON ({value}); "
                                  "left out of the copy")
                elif kind == "field" and opened:
                    after.append((key, value))
                elif kind == "field":
                    out.write(_field(key, _strings(value, key, counts)) + b", ")
                elif kind == "bad-field":
                    issues.append(f"log.{key}: not readable JSON ({value}); "
                                  "left out of the copy")
                elif kind == "entries" and not opened:
                    opened = True
                    out.write(b'"entries": [')
        except BrokenJson as exc:
            if not opened:
                raise MalformedInput(f"not a HAR file: invalid JSON ({exc.reason})") from exc
            issues.append(f"entry {count}: the JSON is broken ({exc.reason}); "
                          f"the copy ends after {count} entries")
    if not opened:
        raise MalformedInput("not a HAR file: no log.entries array")
    out.write(b"\n]")
    for key, value in after:
        out.write(b", " + _field(key, _strings(value, key, counts)))
    out.write(b"}}\n")
    return count, issues


def _write_har_with_ijson(source: str, out: BinaryIO, counts: Counter[str]
                          ) -> tuple[int, list[str]]:
    """`write_har` as it was before `HarStream` (ijson, two passes): kept to prove both agree.

    tests/ingest/test_har_sanitize_equivalence.py runs both over every HAR file it finds.
    """
    issues: list[str] = []
    log, order = _log_fields(source, issues)
    if "entries" not in order:
        raise MalformedInput("not a HAR file: no log.entries array")
    before = order[: order.index("entries")]
    after = [key for key in order[order.index("entries") + 1 :] if key in log]
    out.write(b'{"log": {')
    for key in before:
        if key in log:
            out.write(_field(key, _strings(log[key], key, counts)) + b", ")
    out.write(b'"entries": [')
    count = 0
    with open(source, "rb") as stream:
        _skip_bom(stream)
        try:
            for count, entry in enumerate(ijson.items(stream, "log.entries.item", use_float=True),
                                          start=1):
                out.write(b"\n" if count == 1 else b",\n")
                out.write(_json(_entry(entry, counts)))
        except ijson.JSONError as exc:
            issues.append(f"entry {count}: the JSON is broken ({_first_line(exc)}); "
                          f"the copy ends after {count} entries")
    out.write(b"\n]")
    for key in after:
        out.write(b", " + _field(key, _strings(log[key], key, counts)))
    out.write(b"}}\n")
    return count, issues


def _log_fields(source: str, issues: list[str]) -> tuple[dict[str, Any], list[str]]:
    """The `log` object without its entries, and the order of its keys (entries included)."""
    builder = ijson.ObjectBuilder()
    order: list[str] = []
    with open(source, "rb") as stream:
        _skip_bom(stream)
        try:
            for prefix, event, value in ijson.parse(stream, use_float=True):
                if prefix == "log.entries" or prefix.startswith("log.entries."):
                    continue
                if prefix == "log" and event == "map_key":
                    order.append(value)
                    if value == "entries":
                        continue
                if prefix == "log" or prefix.startswith("log."):
                    builder.event(event, value)
        except ijson.JSONError as exc:
            if not order:
                raise MalformedInput(f"not a HAR file: invalid JSON ({_first_line(exc)})") from exc
            issues.append(f"the JSON is broken ({_first_line(exc)}); read as far as it goes")
    if not isinstance(builder.value, dict):
        raise MalformedInput("not a HAR file: no log object")
    return builder.value, order


def _entry(entry: Any, counts: Counter[str]) -> Any:
    if not isinstance(entry, dict):
        return _strings(entry, None, counts)
    out: dict[str, Any] = {}
    for key, value in entry.items():
        if key == "request" and isinstance(value, dict):
            out[key] = _message(value, counts, request=True)
        elif key == "response" and isinstance(value, dict):
            out[key] = _message(value, counts, request=False)
        else:
            out[key] = _strings(value, key, counts)
    return out


def _message(message: dict[str, Any], counts: Counter[str], *, request: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in message.items():
        if key in ("url", "redirectURL") and isinstance(value, str):
            out[key] = redact_url(value, counts)
        elif key in ("headers", "trailers") and isinstance(value, list):
            out[key] = [_pair(item, counts, _header) for item in value]
        elif key == "cookies" and isinstance(value, list):
            out[key] = [_pair(item, counts, _cookie) for item in value]
        elif key == "queryString" and isinstance(value, list):
            out[key] = [_pair(item, counts, _value("query")) for item in value]
        elif key == "postData" and request and isinstance(value, dict):
            out[key] = _body(value, counts)
        elif key == "content" and not request and isinstance(value, dict):
            out[key] = _body(value, counts)
        else:
            out[key] = _strings(value, key, counts)
    return out


def _pair(item: Any, counts: Counter[str], redact: _Redact) -> Any:
    """One {name, value, …} object of headers, cookies, queryString or params."""
    if not isinstance(item, dict) or not isinstance(item.get("value"), str):
        return _strings(item, None, counts)
    name = str(item.get("name") or "")
    return {key: redact(name, value, counts) if key == "value" else _strings(value, key, counts)
            for key, value in item.items()}


def _header(name: str, value: str, counts: Counter[str]) -> str:
    return redact_header(name, value, counts, decodable=True)


def _cookie(name: str, value: str, counts: Counter[str]) -> str:
    return redact_cookie(name, value, counts, decodable=True)


def _value(kind: str) -> _Redact:
    def replace(name: str, value: str, counts: Counter[str]) -> str:
        if not value or value == REDACTED:
            return value
        counts[kind] += 1
        return REDACTED
    return replace


def _body(body: dict[str, Any], counts: Counter[str]) -> dict[str, Any]:
    """postData or response.content: params' values replaced, text redacted."""
    out: dict[str, Any] = {}
    media_type = body.get("mimeType") if isinstance(body.get("mimeType"), str) else None
    for key, value in body.items():
        if key == "params" and isinstance(value, list):
            out[key] = [_pair(item, counts, _value("form")) for item in value]
        elif key == "text" and isinstance(value, str):
            out[key] = _text(value, body.get("encoding") == "base64", media_type, counts)
        else:
            out[key] = _strings(value, key, counts)
    return out


def _text(text: str, is_base64: bool, media_type: str | None, counts: Counter[str]) -> str:
    if is_base64:
        try:
            data = base64.b64decode(text, validate=False)
        except (binascii.Error, ValueError):
            counts["body"] += 1
            return ""
        redacted = redact_body(data, media_type, counts)
        if redacted == data:
            return text
        return base64.b64encode(redacted or b"").decode("ascii")
    data = text.encode("utf-8", "surrogatepass")
    redacted = redact_body(data, media_type, counts)
    if redacted is None:
        return ""
    return redacted.decode("utf-8", "surrogatepass") if redacted != data else text


def _strings(value: Any, key: str | None, counts: Counter[str]) -> Any:
    """Any other part of the HAR: strings redacted, structure kept."""
    if isinstance(value, dict):
        return {k: _strings(v, k, counts) for k, v in value.items()}
    if isinstance(value, list):
        return [_strings(item, key, counts) for item in value]
    if not isinstance(value, str) or not value:
        return value
    if key is not None and is_secret_name(key) and value != REDACTED:
        counts["secret"] += 1
        return REDACTED
    if _ABSOLUTE_URL.match(value):
        return redact_url(value, counts)
    return redact_text(value, counts)


def _skip_bom(stream: BinaryIO) -> None:
    """Fiddler writes HAR files with a UTF-8 byte-order mark."""
    if stream.read(3) != codecs.BOM_UTF8:
        stream.seek(0)


def _field(key: str, value: Any) -> bytes:
    return _json(key) + b": " + _json(value)


def _json(value: Any) -> bytes:
    text = json.dumps(value, ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (from a \ud800 escape) stays escaped
        return json.dumps(value).encode("ascii")


def _first_line(exc: Exception) -> str:
    text = str(exc)
    if text[:2] in ("b'", 'b"'):  # ijson's C backend passes some messages as bytes
        text = text[2:].replace("\\n", "\n")
    lines = text.strip().splitlines()
    return lines[0].strip() if lines else type(exc).__name__
