"""One big file read by several processes (`load_paths(jobs=N)`, `hostmap.parts`).

What a user checks: the store -- every table, row for row, in order -- and the
per-file summary are the same whether a flow dump is read by one process or
cut in parts for several; a damaged file reports the same issue; a worker
that dies does not lose or repeat a record.  Parts are made tiny here
(`PART_BYTES`) so that small files are cut too.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from hostmap import parts
from hostmap.ingest import Part, mitmproxy_flows
from hostmap.pipeline import InputSummary, load_paths
from hostmap.store import Store
from tests.conftest import CORPUS, HENAN

FLOW_FILES = sorted((CORPUS / "mitmproxy").glob("*.mitm")) + [HENAN / "app-session.mitm"]
HAR_FILES = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix.lower() == ".har") \
    + sorted(HENAN.glob("*.har"))


def loaded(path: Path, jobs: int) -> tuple[list[InputSummary], dict[str, list[dict[str, Any]]]]:
    store = Store()
    try:
        summaries = load_paths(store, [path], jobs=jobs)
        return summaries, {table: store.query(f"SELECT * FROM {table}") for table in Store.TABLES}
    finally:
        store.close()


@pytest.fixture
def tiny_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parts, "PART_BYTES", 1)


@pytest.fixture
def workers_first(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """This process waits for a worker to take a part before it reads (on small test
    files it would otherwise read every part before a worker has started); the list
    fills with the parts workers read."""
    front, rest = parts.Split.front, parts.Split.rest
    taken: list[int] = []

    def waiting(self: parts.Split) -> Any:
        deadline = time.monotonic() + 60
        while self.claims[1] == len(self.parts) - 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        return front(self)

    def counted(self: parts.Split) -> Any:
        for outcome in rest(self):
            taken.append(outcome.part)
            yield outcome

    monkeypatch.setattr(parts.Split, "front", waiting)
    monkeypatch.setattr(parts.Split, "rest", counted)
    return taken


@pytest.fixture
def many_flows(tmp_path: Path) -> Path:
    """A flow dump of 60 flows: the Henan app session's records, over and over."""
    one = (HENAN / "app-session.mitm").read_bytes()
    path = tmp_path / "many.mitm"
    path.write_bytes(one * (60 // len(records_of(HENAN / "app-session.mitm")) + 1))
    return path


def records_of(path: Path) -> list[bytes]:
    with path.open("rb") as stream:
        found = []
        while (record := mitmproxy_flows._next_record(stream)) is not None:
            found.append(record)
        return found


def test_parts_cover_the_file_at_record_starts(many_flows: Path) -> None:
    starts, position = [], 0
    for record in records_of(many_flows):
        starts.append(position)
        position += len(record)
    cut = mitmproxy_flows.flow_parts(many_flows, 7)
    assert len(cut) == 7
    assert cut[0].start == 0 and cut[-1].end is None
    for part, following in zip(cut, cut[1:], strict=False):
        assert part.end == following.start
    for part in cut:
        assert starts[part.first_record] == part.start


def test_a_file_that_cannot_be_cut_is_one_part(tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.mitm"
    damaged.write_bytes(b"12x:not a record" * 100)
    assert mitmproxy_flows.flow_parts(damaged, 4) == [Part(0, None, 0)]


@pytest.mark.usefixtures("tiny_parts")
def test_several_processes_store_what_one_stores(many_flows: Path,
                                                 workers_first: list[int]) -> None:
    taken = workers_first
    one = loaded(many_flows, jobs=1)
    several = loaded(many_flows, jobs=3)
    assert taken, "no worker read a part: the file was not read in parts"
    assert several == one
    assert parts.bytes_read({}) == {}, "the progress bar would still see the split"
    assert one[0][0].records > 60
    assert [row["locator"] for row in several[1]["http"]] == \
        [row["locator"] for row in one[1]["http"]]


@pytest.mark.usefixtures("tiny_parts")
@pytest.mark.parametrize("path", FLOW_FILES, ids=lambda p: p.name)
def test_every_flow_file_reads_the_same_in_parts(path: Path) -> None:
    assert loaded(path, jobs=2) == loaded(path, jobs=1)


@pytest.mark.usefixtures("tiny_parts")
def test_a_truncated_file_gives_the_same_issue(many_flows: Path, tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.mitm"
    truncated.write_bytes(many_flows.read_bytes()[:-500])
    one, several = loaded(truncated, jobs=1), loaded(truncated, jobs=2)
    assert [i.message for i in one[0][0].issues] == [i.message for i in several[0][0].issues]
    assert "ends inside the record" in one[0][0].issues[-1].message
    assert several == one


@pytest.mark.usefixtures("tiny_parts")
def test_a_worker_that_dies_loses_nothing(many_flows: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker is killed before this process reads a part: this process reads on
    from the first part nobody finished."""
    front = parts.Split.front

    def kill_workers_first(self: parts.Split) -> Any:
        for process, _ in self.workers:
            os.kill(process.pid, signal.SIGKILL)
            process.join()
        return front(self)

    monkeypatch.setattr(parts.Split, "front", kill_workers_first)
    several = loaded(many_flows, jobs=2)
    monkeypatch.setattr(parts.Split, "front", front)
    assert several == loaded(many_flows, jobs=1)


def test_small_files_and_one_job_are_not_cut(many_flows: Path) -> None:
    reader = mitmproxy_flows.reader
    assert parts.cut(reader, many_flows, jobs=8) == [Part(0, None, 0)]  # < 3 parts' bytes
    assert len(parts.cut(reader, many_flows, jobs=1)) == 1


@pytest.mark.usefixtures("tiny_parts")
def test_analyze_reports_the_same_with_any_number_of_jobs(many_flows: Path) -> None:
    from click.testing import CliRunner

    from hostmap.cli import main

    reports = [CliRunner().invoke(main, ["analyze", str(many_flows), "--json", "-q",
                                         "--jobs", jobs])
               for jobs in ("1", "2")]
    assert [r.exit_code for r in reports] == [0, 0]
    assert reports[0].output == reports[1].output
    assert '"hosts"' in reports[0].output


# -- HAR: cuts are guesses the walk of the part before must prove ----------------------------


def entry(n: int, *, custom: str = "") -> str:
    host = f"api{n % 7}.example.cn"
    url = f"https://{host}/v1/{n}?q=\\u4e2d" if n % 11 else "nope"  # every 11th: an issue
    headers = f'[{{"name": "Host", "value": "{host}"}}, {{"name": "X-N", "value": "{n}"}}]'
    content = f'{{"mimeType": "text/plain", "text": "see https://cdn{n % 5}.example.cn/x"}}'
    return (f'{{"startedDateTime": "2022-06-01T08:00:{n % 60:02d}Z", "time": 1,{custom}\n'
            f' "request": {{"method": "GET", "url": "{url}", "headers": {headers}}},\n'
            ' "response": {"status": 200, "headers": [{"name": "Server", "value": "nginx"}], '
            f'"content": {content}}},\n'
            f' "serverIPAddress": "10.0.{n // 250}.{n % 250}"}}')


def har_file(path: Path, entries: list[str], tail: str = "") -> Path:
    path.write_text('{"log": {"version": "1.2", "creator": {"name": "t", "version": "1"},\n'
                    ' "entries": [\n' + ",\n".join(entries) + "\n]" + tail + "}}\n",
                    encoding="utf-8")
    return path


@pytest.mark.usefixtures("tiny_parts")
@pytest.mark.parametrize("path", HAR_FILES, ids=lambda p: p.name)
def test_every_har_file_reads_the_same_in_parts(path: Path) -> None:
    assert loaded(path, jobs=2) == loaded(path, jobs=1)


@pytest.mark.usefixtures("tiny_parts")
def test_a_har_read_in_parts_numbers_its_entries_on(tmp_path: Path,
                                                    workers_first: list[int]) -> None:
    """Workers number their parts' entries from 0: the locators of their rows and
    issues are shifted to the file's numbers."""
    taken = workers_first
    path = har_file(tmp_path / "big.har", [entry(n) for n in range(400)],
                    tail=', "pages": [{"id": "p", "title": "t"}]')
    one, several = loaded(path, jobs=1), loaded(path, jobs=2)
    assert taken, "no worker read a part"
    assert several == one
    assert one[0][0].records == 400 - len(range(0, 400, 11))
    assert [i.provenance.locator for i in several[0][0].issues] == \
        [f"entry {n}" for n in range(0, 400, 11)]


@pytest.mark.usefixtures("tiny_parts")
def test_a_cut_that_is_not_an_entry_start_is_caught(tmp_path: Path) -> None:
    """Entries holding entry-like objects in a custom field: cuts land inside entries,
    the walks overrun them, and this process reads on; nothing changes."""
    decoys = ", ".join(entry(n) for n in (9000, 9001, 9002)).replace("\n", "")
    decoy = f' "_replay": [{decoys}],'
    path = har_file(tmp_path / "decoys.har", [entry(n, custom=decoy) for n in range(60)])
    assert loaded(path, jobs=2) == loaded(path, jobs=1)


@pytest.mark.usefixtures("tiny_parts")
@pytest.mark.parametrize("damage", ["missing comma", "truncated", "bad entry"])
def test_a_damaged_har_gives_the_same_issues_in_parts(tmp_path: Path, damage: str) -> None:
    entries = [entry(n) for n in range(300)]
    if damage == "missing comma":
        entries[200] += " " + entries.pop(201)
    if damage == "bad entry":
        entries[150] = '{"request": {"url": tru}, "response": {}}'
    path = har_file(tmp_path / "damaged.har", entries)
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:-3000])
    one, several = loaded(path, jobs=1), loaded(path, jobs=2)
    assert one[0][0].issues and several == one


@pytest.mark.usefixtures("tiny_parts")
def test_a_case_database_takes_a_file_read_in_parts(many_flows: Path, tmp_path: Path,
                                                    workers_first: list[int]) -> None:
    stores = [Store(tmp_path / f"case-{jobs}.duckdb") for jobs in (1, 2)]
    try:
        for jobs, store in zip((1, 2), stores, strict=True):
            load_paths(store, [many_flows], jobs=jobs)
        tables = [{t: s.query(f"SELECT * FROM {t}") for t in Store.TABLES} for s in stores]
    finally:
        for store in stores:
            store.close()
    assert workers_first
    assert tables[0] == tables[1]
