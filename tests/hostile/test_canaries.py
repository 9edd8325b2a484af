"""Canary secrets never reach an output: analyze (text, JSON), map (every format), sanitize.

The secrets/ folder of the hostile corpus carries canary cookies, tokens and
passwords (`CANARY-<kind>-5e1f`), a valid resident ID (11010519491231002X), a
mobile number (13800138000) and an e-mail address (canary@example.com) in
Cookie, Set-Cookie, Authorization and Proxy-Authorization headers, query
strings, URL userinfo and fragments, form and JSON bodies (gzip-encoded too),
body URLs, Location headers, DNS TXT data, a Zeek uri and an issue message,
in HAR, mitmproxy, SAZ, pcap, Zeek, dig and passive-DNS files.

Secrets are redacted by default (`--show-secrets` keeps them), so every
output is searched, case-insensitively, for every needle: stdout, stderr and
the files written.  A sanitized copy is searched after decoding what a reader
would decode (gzip/deflate/br/zstd bodies, base64 HAR content, zip members),
so a secret cannot hide in compressed bytes.  The control run with
`--show-secrets` must show canaries: that proves they reach the pipeline, so
their absence elsewhere means redaction, not a broken corpus.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hostile import harness
from tests.hostile.build_corpus import SECRET_NEEDLES, Hostile
from tests.hostile.conftest import Runs, map_formats, per_file_inputs, sanitized_inputs

NEEDLES = re.compile("|".join(re.escape(n) for n in SECRET_NEEDLES), re.IGNORECASE)


def _leaks(text: str) -> list[str]:
    return sorted(set(NEEDLES.findall(text)))


@pytest.mark.parametrize("key", ["analyze", "analyze --json"])
def test_no_secret_in_the_report(runs: Runs, key: str) -> None:
    run = runs.folders[key]
    assert not _leaks(run.out), run.out
    assert not _leaks(run.err), run.err


@pytest.mark.parametrize("name", map_formats())
def test_no_secret_in_any_map_format(runs: Runs, name: str) -> None:
    run = runs.folders[f"map {name}"]
    [data] = run.outputs.values()
    assert not _leaks(data.decode("utf-8", errors="replace"))
    assert not _leaks(run.out + run.err)


@pytest.mark.parametrize("hostile", per_file_inputs(), ids=lambda f: f.name)
def test_no_secret_on_the_terminal_for_any_hostile_file(runs: Runs, hostile: Hostile) -> None:
    run = runs.analyzed[hostile.name]
    assert not _leaks(run.out + run.err), run.describe()


def test_the_show_secrets_control_run_does_show_the_canaries(runs: Runs) -> None:
    shown = sorted(set(re.findall(r"CANARY-[A-Z0-9]+-5e1f", runs.shown.out)))
    assert len(shown) >= 5, f"--show-secrets showed only {shown}: the canary corpus is too weak"
    assert {"11010519491231002X", "13800138000"} <= set(_leaks(runs.shown.out))


# --- sanitize ------------------------------------------------------------------------------


def _decoded(body: bytes, coding: str) -> bytes:
    """A body decoded as a reader would (at most 64 MiB): what a secret could hide in."""
    coding = coding.strip().lower()
    limit = 64 * 2**20
    try:
        if coding in ("gzip", "x-gzip"):
            import zlib
            return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(body, limit)
        if coding == "deflate":
            import zlib
            try:
                return zlib.decompressobj().decompress(body, limit)
            except zlib.error:
                return zlib.decompressobj(-15).decompress(body, limit)
        if coding == "br":
            import brotli  # type: ignore[import-untyped]
            return bytes(brotli.decompress(body)[:limit])
        if coding == "zstd":
            import zstandard
            return zstandard.ZstdDecompressor().decompressobj().decompress(body)[:limit]
    except Exception as exc:  # a body that does not decode hides nothing
        return f"(undecodable {coding}: {exc})".encode()
    return body


def _http_views(message: bytes) -> Iterator[bytes]:
    """A raw HTTP message, and its body decoded by its Content-Encoding."""
    yield message
    head, _, body = message.partition(b"\r\n\r\n")
    coding = re.search(rb"(?im)^content-encoding:\s*([^\r\n]+)", head)
    if coding and body:
        yield _decoded(body, coding.group(1).decode("latin-1"))


def _har_views(data: bytes) -> Iterator[bytes]:
    yield data
    document = json.loads(data.decode("utf-8-sig"))
    for entry in document.get("log", {}).get("entries", []):
        content = entry.get("response", {}).get("content", {})
        if content.get("encoding") == "base64" and isinstance(content.get("text"), str):
            try:
                yield base64.b64decode(content["text"])
            except (binascii.Error, ValueError):
                pass


def _mitm_views(data: bytes) -> Iterator[bytes]:
    from mitmproxy import http
    from mitmproxy.io import FlowReader

    yield data
    for flow in FlowReader(io.BytesIO(data)).stream():
        if not isinstance(flow, http.HTTPFlow):
            continue
        yield flow.request.url.encode()
        for message in (flow.request, flow.response):
            if message is None:
                continue
            yield bytes(message.headers)
            yield message.get_content(strict=False) or b""


def _saz_views(data: bytes) -> Iterator[bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            yield info.filename.encode()
            yield from _http_views(archive.read(info))


VIEWS = {".har": _har_views, ".mitm": _mitm_views, ".saz": _saz_views}


def _sanitized(runs: Runs, name: str) -> tuple[harness.Run, bytes | None]:
    run = runs.sanitized[name]
    [(path, data)] = run.outputs.items() or [("", None)]
    del path
    return run, data


@pytest.mark.parametrize("hostile", [f for f in sanitized_inputs() if f.name.startswith(
    "secrets/")], ids=lambda f: f.name)
def test_sanitized_copy_holds_no_secret_even_decoded(runs: Runs, hostile: Hostile) -> None:
    run, data = _sanitized(runs, hostile.name)
    assert run.returncode == 0 and data is not None, run.describe()
    assert not _leaks(run.out + run.err), run.describe()
    for view in VIEWS[Path(hostile.name).suffix](data):
        leaks = _leaks(view.decode("utf-8", errors="replace"))
        assert not leaks, f"{leaks} in {view[:300]!r}"


@pytest.mark.parametrize("hostile", sanitized_inputs(), ids=lambda f: f.name)
def test_sanitize_prints_no_secret_for_any_hostile_file(runs: Runs, hostile: Hostile) -> None:
    run, data = _sanitized(runs, hostile.name)
    assert not _leaks(run.out + run.err), run.describe()
    if data is not None and hostile.name.startswith("secrets/"):
        assert not _leaks(data.decode("utf-8", errors="replace"))


def test_sanitized_copies_read_back_with_the_same_endpoints(runs: Runs) -> None:
    copies = [Path(path) for name in ("secrets/har-secrets.har", "secrets/mitm-secrets.mitm",
                                      "secrets/saz-secrets.saz")
              for path in runs.sanitized[name].outputs]
    run = harness.run_hostmap("analyze", "--json", "-q", *copies, timeout=180)
    assert run.returncode in (0, 1) and "Traceback" not in run.err, run.describe()
    hosts = {endpoint["host"] for endpoint in json.loads(run.stdout)["endpoints"]}
    assert {"api.secrets.example", "app.secrets.example"} <= hosts, hosts
    assert not _leaks(run.out + run.err)
