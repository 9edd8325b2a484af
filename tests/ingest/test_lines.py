"""Bounded line reading and JSON nesting, and the line readers that use them."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest

from hostmap.ingest import _lines, read_file, reader_named
from hostmap.ingest._lines import OverlongLine, bounded_lines, json_loads
from hostmap.model import ReadIssue

DEEP = b"{\"a\": " + b"[" * 100_000 + b"]" * 100_000 + b"}"


def test_bounded_lines_are_the_lines_of_the_stream() -> None:
    data = b"a\nbb\r\n\nlast"
    assert list(bounded_lines(io.BytesIO(data), 64)) == [b"a\n", b"bb\r\n", b"\n", b"last"]


def test_an_overlong_line_is_skipped_with_its_size_and_reading_goes_on() -> None:
    data = b"first\n" + b"x" * 1000 + b"\nafter\n" + b"y" * 50
    found = list(bounded_lines(io.BytesIO(data), 16))
    assert found == [b"first\n", OverlongLine(1001, 16), b"after\n", OverlongLine(50, 16)]
    assert "1,001 bytes" in found[1].message()


def test_a_line_of_exactly_the_limit_is_kept() -> None:
    assert list(bounded_lines(io.BytesIO(b"x" * 15 + b"\nz"), 16)) == [b"x" * 15 + b"\n", b"z"]


def test_deep_json_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="nested too deeply"):
        json_loads(DEEP)
    assert json_loads(b'{"a": [1]}') == {"a": [1]}


GOOD = {
    "passive-dns": b'{"rrname": "%s.example", "rrtype": "A", "rdata": "192.0.2.1"}\n',
    "rapid7-fdns": b'{"timestamp": "1704067200", "name": "%s.example", "type": "a", '
                   b'"value": "192.0.2.1"}\n',
    "zeek": b'{"ts": 1704067200, "uid": "C1", "id.orig_h": "198.51.100.7", "id.orig_p": 1, '
            b'"id.resp_h": "192.0.2.1", "id.resp_p": 80, "method": "GET", "host": "%s.example"}\n',
    "securitytrails": b'{"endpoint": "/v1/history/%s.example/dns/a", "pages": 1, "type": "a", '
                      b'"records": [{"first_seen": "2022-01-01", "last_seen": "2022-02-01", '
                      b'"values": [{"ip": "192.0.2.1"}]}]}\n',
}


@pytest.mark.parametrize("fmt", sorted(GOOD))
def test_a_deep_line_is_one_issue_between_good_records(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "deep.log"
    path.write_bytes(GOOD[fmt] % b"before" + DEEP + b"\n" + GOOD[fmt] % b"after")
    items = list(read_file(path, reader_named(fmt)))
    issues = [i for i in items if isinstance(i, ReadIssue)]
    assert [i.provenance.locator for i in issues] == ["line 2"], issues
    assert "nested too deeply" in issues[0].message
    assert len(items) - len(issues) >= 2


@pytest.mark.parametrize("fmt", ["rapid7-fdns", "iptoasn", "passive-dns"])
def test_a_gzip_line_over_the_limit_is_one_issue(tmp_path: Path, fmt: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_lines, "MAX_LINE_BYTES", 4096)
    good = (b"1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n" if fmt == "iptoasn"
            else GOOD[fmt] % b"good")
    path = tmp_path / "bomb.gz"
    path.write_bytes(gzip.compress(good * 3 + b"x" * 100_000 + b"\n" + good))
    reader = reader_named(fmt)
    items = list(read_file(path, reader))
    issues = [i for i in items if isinstance(i, ReadIssue)]
    assert [(i.provenance.locator, "over the 0 MiB limit" in i.message) for i in issues] == \
        [("line 4", True)], issues
    assert len(items) - len(issues) == 4
