"""One file that crashes the reading does not lose the others; exit codes by what was read."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from hostmap import cli, pipeline
from hostmap.cli import main
from hostmap.ingest import detect_format
from hostmap.model import ReadIssue, Severity
from hostmap.pipeline import load_paths
from hostmap.store import Store

LINE = b'{"timestamp": "1704067200", "name": "%s.example", "type": "a", "value": "192.0.2.1"}\n'


def _files(tmp_path: Path) -> tuple[Path, Path]:
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_bytes(LINE % b"good" + LINE % b"also")
    bad.write_bytes(LINE % b"lost" + LINE % b"crash")
    return good, bad


@pytest.fixture
def crashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """read_file raises an exception no reader foresaw after bad.json's first record."""
    real = pipeline.read_file

    def read_file(path: Path, reader: object) -> Iterator[object]:
        for item in real(path, reader):  # type: ignore[arg-type]
            yield item
            if path.name == "bad.json":
                raise AssertionError("a reader bug\nsecond line")

    monkeypatch.setattr(pipeline, "read_file", read_file)


@pytest.mark.usefixtures("crashing")
def test_a_crashing_file_becomes_one_issue_and_its_rows_are_taken_out(tmp_path: Path) -> None:
    good, bad = _files(tmp_path)
    store = Store()
    seen: list[ReadIssue] = []
    summaries = load_paths(store, [bad, good], on_issue=seen.append)
    assert [(s.path, s.records) for s in summaries] == [(str(bad), 0), (str(good), 2)]
    [issue] = summaries[0].issues
    assert seen == [issue] and issue.severity is Severity.ERROR
    assert issue.provenance.file == str(bad) and summaries[0].format == "rapid7-fdns"
    assert "AssertionError: a reader bug" in issue.message and "\n" not in issue.message
    names = {r["name"] for r in store.query("SELECT name FROM resolution")}
    assert names == {"good.example", "also.example"}
    inputs = store.query("SELECT path, records, errors FROM inputs ORDER BY input_id")
    assert inputs == [{"path": str(bad), "records": 0, "errors": 1},
                      {"path": str(good), "records": 2, "errors": 0}]


@pytest.mark.usefixtures("crashing")
def test_without_isolation_the_error_is_raised(tmp_path: Path) -> None:
    good, bad = _files(tmp_path)
    with pytest.raises(AssertionError):
        load_paths(Store(), [bad, good], isolate=False)


@pytest.mark.usefixtures("crashing")
def test_the_cli_writes_the_report_and_exits_1(tmp_path: Path) -> None:
    good, bad = _files(tmp_path)
    for command in (["analyze"], ["map", "-f", "text"]):
        result = CliRunner().invoke(main, [*command, str(bad), str(good)])
        assert result.exit_code == 1, result.output
        assert "good.example" in result.output and "Traceback" not in result.output


def test_a_recognised_file_with_nothing_readable_exits_2_in_analyze_and_map(
        tmp_path: Path) -> None:
    cut = tmp_path / "cut.saz"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as saz:
        saz.writestr("_index.htm", "<html></html>")
        saz.writestr("raw/01_c.txt", "GET http://a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n")
        saz.writestr("raw/01_s.txt", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    cut.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])  # no zip directory
    assert detect_format(cut).format == "saz"
    good = tmp_path / "good.json"
    good.write_bytes(LINE % b"good")
    for command in (["analyze"], ["map", "-f", "text"]):
        alone = CliRunner().invoke(main, [*command, str(cut)])
        assert alone.exit_code == 2, alone.output
        assert "nothing readable" in alone.output
        beside = CliRunner().invoke(main, [*command, str(cut), str(good)])
        assert beside.exit_code == 1, beside.output
    assert CliRunner().invoke(main, ["sanitize", str(cut), str(tmp_path / "o.saz")]).exit_code == 2


def test_out_of_memory_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    good, _ = _files(tmp_path)

    def run_analyses(*args: object, **kwargs: object) -> None:
        raise duckdb.OutOfMemoryException("Out of Memory Error: could not allocate block\nmore")

    monkeypatch.setattr("hostmap.analyze.run_analyses", run_analyses)
    result = CliRunner().invoke(main, ["analyze", str(good)])
    assert result.exit_code == 2
    [line] = result.output.strip().splitlines()
    assert line.startswith("hostmap: error: out of memory (could not allocate block)")


def test_an_interrupted_query_stops_the_run_instead_of_failing_one_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Ctrl-C or SIGTERM during a DuckDB query reaches Python as an InterruptException
    good, bad = _files(tmp_path)
    real = pipeline.read_file

    def read_file(path: Path, reader: object) -> Iterator[object]:
        yield from real(path, reader)  # type: ignore[arg-type]
        if path.name == "bad.json":
            raise duckdb.InterruptException("INTERRUPT Error: Interrupted!")

    monkeypatch.setattr(pipeline, "read_file", read_file)
    store = Store()
    try:
        with pytest.raises(duckdb.InterruptException):
            load_paths(store, [bad, good])
    finally:
        store.close()
    monkeypatch.setattr(cli, "_stopped", [15])
    result = CliRunner().invoke(main, ["analyze", str(bad), "-q"])
    assert result.exit_code == 143  # as the signal would have ended it
    monkeypatch.setattr(cli, "_stopped", [])
    result = CliRunner().invoke(main, ["analyze", str(bad), "-q"])
    assert result.exit_code == 130  # Ctrl-C


@pytest.mark.usefixtures("crashing")
@pytest.mark.parametrize(("signum", "code", "line"), [(15, 143, ""),
                                                     (2, 130, "hostmap: interrupted")])
def test_a_signal_that_duckdb_turned_into_another_error_still_ends_the_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signum: int, code: int,
        line: str) -> None:
    # the handler recorded the signal; the file it hit failed with some other exception
    _, bad = _files(tmp_path)
    monkeypatch.setattr(cli, "_stopped", [signum])
    result = CliRunner().invoke(main, ["analyze", str(bad), "-q"])
    assert (result.exit_code, result.output.strip()) == (code, line)
