"""The command line as a user meets it: exit codes, stdout, one-line stderr messages."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from hostmap.cli import main
from hostmap.ingest import READERS
from tests.conftest import HENAN


def _run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_help_teaches_the_commands_and_exit_codes():
    result = _run("--help")
    assert result.exit_code == 0
    assert "analyze" in result.output and "formats" in result.output
    result = _run("analyze", "--help")
    assert "Exit codes" in result.output and "--at" in result.output


def test_formats_lists_every_reader():
    result = _run("formats", "--json")
    assert result.exit_code == 0
    listed = {f["format"] for f in json.loads(result.output)["formats"]}
    assert listed == {r.format for r in READERS} | {"mmdb", "ip2region"}


def test_analyze_the_henan_case_states_the_findings():
    result = _run("analyze", str(HENAN))
    assert result.exit_code == 0, result.output
    assert "yshb.hnzwfw.gov.cn:7777" in result.output
    assert "117.160.221.251" in result.output
    assert "2021-12-29" in result.output
    assert "evidence:" in result.output


def test_analyze_json_has_the_documented_top_level_keys():
    result = _run("analyze", str(HENAN), "--json")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["schema"] == "hostmap/report/1"
    for key in ("inputs", "endpoints", "referenced", "hosts", "shared", "families",
                "migrations", "operators", "findings"):
        assert key in report, key
    assert report["at"].endswith("Z")


def test_output_file_is_written(tmp_path):
    out = tmp_path / "report.json"
    result = _run("analyze", str(HENAN), "--json", "-o", str(out))
    assert result.exit_code == 0
    assert json.loads(out.read_text(encoding="utf-8"))["schema"] == "hostmap/report/1"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_a_missing_path_is_a_usage_error_on_one_line(tmp_path):
    result = _run("analyze", str(tmp_path / "nope.har"))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "nope.har" in lines[0]


def test_a_bad_date_is_a_usage_error():
    result = _run("analyze", str(HENAN), "--at", "yesterday")
    assert result.exit_code == 2 and "yesterday" in result.stderr


def test_a_malformed_file_is_named_and_the_others_still_report(tmp_path):
    (tmp_path / "broken.har").write_text('{"log": {"version": "1.2", "entries": [{"request": ',
                                         encoding="utf-8")
    (tmp_path / "good.txt").write_text(
        (HENAN / "reverse-ip-117.160.221.251.txt").read_text(encoding="utf-8"), encoding="utf-8")
    result = _run("analyze", str(tmp_path / "broken.har"),
                  str(HENAN / "reverse-ip-117.160.221.251.txt"))
    assert result.exit_code == 1
    assert "broken.har" in result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert "117.160.221.251" in result.stdout
    assert _run("analyze", "--strict", str(tmp_path / "broken.har"),
                str(HENAN / "reverse-ip-117.160.221.251.txt")).exit_code == 2


def test_nothing_readable_exits_2(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01\x02 not a capture")
    result = _run("analyze", str(junk))
    assert result.exit_code == 2
    assert "junk.bin" in result.stderr


def test_map_writes_the_format_its_ending_names(tmp_path):
    out = tmp_path / "henan.graphml"
    result = _run("map", str(HENAN), "-q", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    import networkx as nx

    graph = nx.read_graphml(out)
    assert "address:117.160.221.251" in graph


def test_analyze_can_write_the_map_beside_the_report(tmp_path):
    out = tmp_path / "henan.mmd"
    result = _run("analyze", str(HENAN), "-q", "--map", str(out))
    assert result.exit_code == 0
    assert out.read_text(encoding="utf-8").startswith("flowchart")


def test_a_map_file_with_an_unknown_ending_is_a_usage_error(tmp_path):
    result = _run("map", str(HENAN), "-o", str(tmp_path / "map.weird"))
    assert result.exit_code == 2 and "map.weird" in result.stderr
    assert not (tmp_path / "map.weird").exists()


def test_a_case_database_is_queried_and_not_loaded_twice(tmp_path):
    db = tmp_path / "case.duckdb"
    assert _run("analyze", str(HENAN), "-q", "--db", str(db), "-o", str(tmp_path / "r.txt")
                ).exit_code == 0
    first = _run("query", str(db), "SELECT count(*) AS n FROM resolution", "--json")
    assert first.exit_code == 0
    _run("analyze", str(HENAN), "-q", "--db", str(db), "-o", str(tmp_path / "r.txt"))
    again = _run("query", str(db), "SELECT count(*) AS n FROM resolution", "--json")
    assert json.loads(again.output) == json.loads(first.output) and json.loads(first.output)["n"]


def test_a_bad_query_is_one_line_and_exit_2(tmp_path):
    db = tmp_path / "case.duckdb"
    _run("analyze", str(HENAN), "-q", "--db", str(db), "-o", str(tmp_path / "r.txt"))
    result = _run("query", str(db), "SELEC nothing")
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1


def test_query_shows_a_thousand_rows_and_json_prints_them_all(tmp_path):
    # a case database may hold billions of rows: they were all fetched before printing
    lines = [json.dumps({"rrname": f"h{i}.example.", "rrtype": "A", "rdata": [f"192.0.2.{i % 250}"],
                         "time_first": 1600000000, "time_last": 1600000000 + i})
             for i in range(1_500)]
    (tmp_path / "pdns.jsonl").write_text("\n".join(lines) + "\n")
    db = tmp_path / "case.duckdb"
    _run("analyze", str(tmp_path / "pdns.jsonl"), "-q", "--db", str(db),
         "-o", str(tmp_path / "r.txt"))
    sql = "SELECT name, value FROM resolution ORDER BY last_seen"
    shown = _run("query", str(db), sql)
    assert shown.exit_code == 0
    assert "h999.example" in shown.stdout and "h1000.example" not in shown.stdout
    assert shown.stderr.strip() == ("hostmap: the first 1,000 rows are shown; --json prints "
                                    "every row (or add LIMIT / OFFSET to the query)")
    every = _run("query", str(db), sql, "--json")
    assert [json.loads(line)["name"] for line in every.stdout.splitlines()] == \
        [f"h{i}.example" for i in range(1_500)]
    assert every.stderr == ""


def test_a_mermaid_map_too_large_to_draw_is_written_with_a_warning(tmp_path):
    lines = [json.dumps({"rrname": f"h{i}.example.", "rrtype": "A",
                         "rdata": [f"192.0.2.{i % 250}"]}) for i in range(600)]
    (tmp_path / "pdns.jsonl").write_text("\n".join(lines) + "\n")
    result = _run("map", str(tmp_path / "pdns.jsonl"), "-o", str(tmp_path / "map.mmd"))
    assert result.exit_code == 0
    assert (tmp_path / "map.mmd").read_text().startswith("flowchart")
    assert result.stderr.startswith("hostmap: warning: the map has ")
    assert "Mermaid draws at most 500" in result.stderr
    small = _run("map", str(HENAN), "-o", str(tmp_path / "henan.mmd"))
    assert "Mermaid" not in small.stderr


def test_export_writes_every_table_as_parquet(tmp_path):
    result = _run("export", str(HENAN), "-q", "--parquet", str(tmp_path / "pq"))
    assert result.exit_code == 0
    import duckdb

    names = sorted(p.stem for p in (tmp_path / "pq").iterdir())
    assert names == sorted(["inputs", "http", "reference", "resolution", "address_info",
                            "certificate", "issue"])
    [(count,)] = duckdb.sql(f"SELECT count(*) FROM '{tmp_path / 'pq' / 'http.parquet'}'"
                            ).fetchall()
    assert count > 0


def test_writing_to_a_device_does_not_replace_it(tmp_path):
    import os
    import stat

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        result = _run("analyze", str(HENAN / "ip-operators.tsv"), "-q", "-o", str(fifo))
    finally:
        os.close(reader)
    assert result.exit_code == 0
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


@pytest.mark.parametrize(("stop", "code", "line"), [
    ("SIGTERM", 143, ""), ("SIGINT", 130, "hostmap: interrupted")])
def test_a_run_stopped_by_a_signal_leaves_no_spill_folder_or_partial_report(
        tmp_path, stop, code, line):
    # Ctrl-C is SIGINT: one line and 130, not click's "Aborted!" and 1 ("report written")
    import signal
    import subprocess
    import time

    zone = tmp_path / "many.example.zone"
    lines = ["$ORIGIN many.example.", "$TTL 300", "@ IN SOA ns1 hostmaster 1 3600 600 86400 300"]
    lines += [f"h{i} IN A 198.51.{i % 256}.{i // 256 % 256}" for i in range(300_000)]
    zone.write_text("\n".join(lines) + "\n")
    temp = tmp_path / "tmp"
    temp.mkdir()
    report = tmp_path / "report.json"
    run = subprocess.Popen([sys.executable, "-m", "hostmap", "analyze", str(zone), "--json",
                            "-q", "-o", str(report)], env={**os.environ, "TMPDIR": str(temp)},
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           # a shell's background job may inherit SIGINT ignored
                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not list(temp.glob("hostmap-store-*")) and run.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert run.poll() is None, "finished before it could be stopped"
    time.sleep(0.5)
    run.send_signal(getattr(signal, stop))
    _, err = run.communicate(timeout=60)
    assert (run.returncode, err.strip()) == (code, line)
    assert list(temp.iterdir()) == []
    assert not report.exists()


def _completed_soon(progress, expected: int) -> float:
    """The bar's position once it reaches `expected`, or after 10 s."""
    import time

    deadline = time.monotonic() + 10
    while progress.progress.tasks[0].completed != expected and time.monotonic() < deadline:
        time.sleep(0.01)
    return progress.progress.tasks[0].completed


def test_the_progress_bar_moves_through_a_file_while_it_is_read(tmp_path):
    import io
    import time

    from rich.console import Console

    from hostmap.cli import _progress

    big, small = tmp_path / "big.pcap", tmp_path / "small.har"
    big.write_bytes(b"x" * 100_000)
    small.write_bytes(b"y" * 1_000)
    progress = _progress(False, Console(file=io.StringIO(), force_terminal=True), (tmp_path,))
    progress.POLL_SECONDS = 0.01

    def completed_soon(expected: int) -> float:
        return _completed_soon(progress, expected)

    with progress as update:
        assert progress.progress.tasks[0].total == 101_000
        with big.open("rb", buffering=0) as f:  # hashed before it is read: not counted
            f.read(90_000)
            time.sleep(0.05)
            assert progress.progress.tasks[0].completed == 0
        update(str(big), 0, False)  # its reading begins
        with big.open("rb", buffering=0) as f:
            f.read(40_000)
            assert completed_soon(40_000) == 40_000
            update(str(big), 7, False)
            assert progress.progress.tasks[0].description == "big.pcap"
            assert progress.progress.tasks[0].fields["rate"].endswith(" records/s")
        update(str(big), 10, True)
        assert completed_soon(100_000) == 100_000
        update(str(small), 0, False)
        with small.open("rb", buffering=0) as f:
            f.read(1_000)
            assert completed_soon(101_000) == 101_000
        update(str(small), 3, True)
        with big.open("rb", buffering=0) as f:  # read again: the bar does not move back
            f.read(10)
            time.sleep(0.05)
            assert progress.progress.tasks[0].completed == 101_000
    assert progress._poller is not None and not progress._poller.is_alive()


@pytest.fixture
def progress_calls(monkeypatch) -> list:
    """What the commands tell the progress bar (which is off without a terminal)."""
    from hostmap import cli

    calls: list = []

    class Recording:
        def __init__(self, quiet, err, paths):
            calls.append(("paths", [str(p) for p in paths]))

        def __enter__(self):
            return lambda path, records, done: calls.append((path, records, done))

        def __exit__(self, *exc):
            calls.append("closed")

    monkeypatch.setattr(cli, "_progress", Recording)
    return calls


def test_sanitize_shows_the_progress_bar_over_its_input(tmp_path, progress_calls):
    # a 700 MB HAR takes minutes to sanitize: the bar must move through it as for analyze
    source = HENAN / "app-session.har"
    result = _run("sanitize", str(source), str(tmp_path / "clean.har"))
    assert result.exit_code == 0
    assert progress_calls == [("paths", [str(source)]), (str(source), 0, False),
                              (str(source), 15, True), "closed"]


def test_export_shows_the_progress_bar_while_it_reads(tmp_path, progress_calls):
    source = HENAN / "app-session.mitm"
    result = _run("export", str(source), "--parquet", str(tmp_path / "pq"))
    assert result.exit_code == 0
    assert progress_calls == [("paths", [str(source)]), (str(source), 0, False),
                              (str(source), 15, True), "closed"]


def test_the_steps_after_reading_show_a_spinner(tmp_path, monkeypatch):
    # on a large capture the analyses and the map take as long as the reading
    import contextlib

    from rich.console import Console

    from hostmap import cli

    terminal = Console(file=io.StringIO(), force_terminal=True)
    assert isinstance(cli._status(True, terminal, "x"), contextlib.nullcontext)  # --quiet
    assert not isinstance(cli._status(False, terminal, "x"), contextlib.nullcontext)
    steps = []
    monkeypatch.setattr(cli, "_status", lambda quiet, err, what: steps.append((quiet, what))
                        or contextlib.nullcontext())
    assert _run("map", str(HENAN), "-o", str(tmp_path / "map.html")).exit_code == 0
    assert steps == [(False, "analysing what was read"), (False, "building the map"),
                     (False, "drawing the map (html)")]


def test_the_progress_bar_counts_the_parts_of_a_file_read_by_several_processes(tmp_path,
                                                                              monkeypatch):
    import io
    import os
    from types import SimpleNamespace

    from rich.console import Console

    from hostmap import parts
    from hostmap.cli import _progress
    from hostmap.ingest import Part

    big = tmp_path / "big.har"
    big.write_bytes(b"x" * 100_000)
    split = SimpleNamespace(parts=[Part(0, 30_000, 0), Part(30_000, 60_000, None),
                                   Part(60_000, None, None)],
                            sizes=[30_000, 30_000, 40_000], finished=[0, 0, 0])
    monkeypatch.setitem(parts._SPLITS, os.path.realpath(big), split)
    progress = _progress(False, Console(file=io.StringIO(), force_terminal=True), (big,))
    progress.POLL_SECONDS = 0.01

    def completed_soon(expected: int) -> float:
        return _completed_soon(progress, expected)

    with progress as update:
        update(str(big), 0, False)
        split.finished[2] = 1  # a worker finished the last part first
        assert completed_soon(40_000) == 40_000
        with big.open("rb", buffering=0) as f:  # this process, into the first part
            f.read(10_000)
            assert completed_soon(50_000) == 50_000
        split.finished[0] = 1
        assert completed_soon(70_000) == 70_000
        with big.open("rb", buffering=0) as f:  # this process reads on after the workers'
            f.seek(45_000)
            assert completed_soon(85_000) == 85_000


def test_help_does_not_load_the_readers_the_store_or_the_analyses():
    # --help, --version and usage errors answer without them (1.5 s -> 0.5 s here).
    code = ("import sys; from click.testing import CliRunner; from hostmap.cli import main; "
            "CliRunner().invoke(main, ['--help']); "
            "CliRunner().invoke(main, ['analyze', '/nonexistent/input']); "
            "print(' '.join(sorted(m for m in sys.modules if m.startswith(('hostmap', 'networkx', "
            "'mitmproxy', 'dns')))))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.split()
    assert "hostmap.cli" in loaded
    for heavy in ("hostmap.ingest", "hostmap.store", "hostmap.analyze", "hostmap.pipeline",
                  "networkx", "mitmproxy", "dns"):
        assert heavy not in loaded, heavy
