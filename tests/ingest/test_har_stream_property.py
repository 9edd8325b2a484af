"""HarStream against ijson on generated documents: any valid JSON, any layout, any buffer size.

Hypothesis draws a HAR-shaped document (entries that are objects like a
browser's, or any JSON value), writes it with a random indentation and
separators, and the streaming reader must give what the ijson reader gave,
with buffers down to one byte.  Bounded by HOSTMAP_FUZZ_EXAMPLES (40 by
default, as the fuzz tests).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from hostmap.ingest import _har_stream, har
from tests.ingest.test_har_equivalence import _outcome

hypothesis = pytest.importorskip("hypothesis", reason="needs hypothesis (the test extra)")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

EXAMPLES = int(os.environ.get("HOSTMAP_FUZZ_EXAMPLES", "40"))

_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
_scalar = (st.none() | st.booleans() | st.integers(-10**20, 10**20) | _text
           | st.floats(allow_nan=False, allow_infinity=False))
_json = st.recursive(_scalar, lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(_text, inner, max_size=4), max_leaves=12)
_host = st.from_regex(r"[a-z0-9]{1,8}(\.[a-z0-9]{1,8}){0,2}", fullmatch=True)
_header = st.fixed_dictionaries({"name": _text, "value": _text}) | _json
_entry = st.fixed_dictionaries(
    {"request": st.fixed_dictionaries({
        "url": st.builds(lambda s, h, p: f"{s}://{h}{p}", st.sampled_from(["http", "https", "ws"]),
                         _host, st.sampled_from(["", "/", "/a?b=1", ":8080/x#f"])),
        "headers": st.lists(_header, max_size=3)}),
     "response": st.fixed_dictionaries({"status": st.sampled_from([200, 0, 301, "x"]),
                                        "headers": st.lists(_header, max_size=3)})},
    optional={"serverIPAddress": st.sampled_from(["", "192.0.2.1", "[2001:db8::1]", "nope"]),
              "startedDateTime": st.sampled_from(["2024-01-01T00:00:00Z", "bad"]),
              "_extra": _json})


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(entries=st.lists(_entry | _json, max_size=6), before=_json, after=_json,
       indent=st.sampled_from([None, 0, 1, 2, "\t"]), ascii_only=st.booleans(),
       chunk=st.sampled_from([1, 2, 5, 64, 1 << 20]))
def test_any_layout_and_buffer_reads_as_ijson_did(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entries: list[object], before: object,
        after: object, indent: object, ascii_only: bool, chunk: int) -> None:
    document = {"log": {"version": "1.2", "pages": before, "entries": entries, "comment": after}}
    path = tmp_path / "generated.har"
    path.write_text(json.dumps(document, indent=indent, ensure_ascii=ascii_only),
                    encoding="utf-8")
    expected = _outcome(har._read_with_ijson, path)
    monkeypatch.setattr(_har_stream, "CHUNK", chunk)
    monkeypatch.setattr(_har_stream, "_LOW_WATER", 0)
    assert _outcome(har.reader.read, path) == expected
