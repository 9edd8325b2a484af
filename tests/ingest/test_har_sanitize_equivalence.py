"""`hostmap sanitize` on a HAR writes the same bytes as before the one-pass rewrite.

`_sanitize_har._write_har_with_ijson` is the writer as it was (two passes with
ijson).  Both run over every HAR file the reader's equivalence test finds, the
generated Chrome-style file and the tricky hand-made one; the copy, the entry
count and what was removed must be the same.  Issues may be worded differently
where the JSON is broken (the old writer also said so twice).
"""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import pytest

from hostmap import _sanitize_har
from hostmap.ingest import _har_stream
from tests.ingest.test_har_equivalence import TRICKY, _har_files, generated_har  # noqa: F401


def _copy(write, path: Path) -> tuple[object, ...]:
    out, counts = io.BytesIO(), Counter()
    try:
        count, issues = write(str(path), out, counts)
    except Exception as exc:  # noqa: BLE001 - the exception's type is part of the outcome
        return (type(exc),)
    return out.getvalue(), count, dict(counts), bool(issues)


@pytest.mark.parametrize("path", _har_files(), ids=lambda p: p.name)
def test_each_har_file_sanitizes_as_before(path: Path) -> None:
    before = _copy(_sanitize_har._write_har_with_ijson, path)
    assert _copy(_sanitize_har.write_har, path) == before


@pytest.mark.parametrize("chunk", [3, 1 << 20])
def test_generated_and_tricky_files_sanitize_as_before(
        chunk: int, generated_har: Path, tmp_path: Path,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    tricky = tmp_path / "tricky.har"
    tricky.write_bytes(TRICKY.encode("utf-8"))
    files = (generated_har, tricky)
    before = [_copy(_sanitize_har._write_har_with_ijson, path) for path in files]
    assert before[0][1] >= 550 and before[1][1] == 8
    monkeypatch.setattr(_har_stream, "CHUNK", chunk)
    monkeypatch.setattr(_har_stream, "_LOW_WATER", 0)
    assert [_copy(_sanitize_har.write_har, path) for path in files] == before


@pytest.mark.parametrize("depth", [900, 960, 990, 100_000])
def test_deep_entries_are_left_out_with_an_issue_and_the_rest_copied(
        depth: int, tmp_path: Path) -> None:
    deep = "[" * depth + "]" * depth
    path = tmp_path / "deep.har"
    path.write_text('{"log": {"entries": [{"request": {"url": "http://a.example/"}}, '
                    f'{{"_deep": {deep}}}, {{"request": {{"url": "http://b.example/"}}}}]}}}}',
                    encoding="utf-8")
    out, counts = io.BytesIO(), Counter()
    count, issues = _sanitize_har.write_har(str(path), out, counts)
    copy = out.getvalue()
    assert b"a.example" in copy and b"b.example" in copy
    assert count == 3 - len(issues)
    assert all(issue.startswith("entry 1: ") for issue in issues)
