"""One big file read by several processes at once (`load_paths(..., jobs=N)`).

A reader that can cut a file into runs of whole records (`PartReader`: the
mitmproxy flow dump, HAR) lets the pipeline read it with worker processes:

- the file is cut into parts of about `PART_BYTES`.  This process takes parts
  from the front, in order, and stores their rows as it reads them; the
  workers take parts from the back, each into a DuckDB
  database file of its own.  Whoever is free takes the next part, so a
  worker's start-up (about a second: it imports hostmap and the reader) and
  uneven parts even out.
- when the front meets the back, the workers' parts are appended in file
  order (`Store.append_database`; a part numbered from 0 because its cut could
  not know its first record number gets its locators shifted); the last part
  of such a file is left to this process, numbered on: the store ends up holding
  what one process reading the whole file stores, in the same order, with the
  same locators and issues.
- a part that does not end where the next begins (a HAR cut is a guess: the
  walk of the part before proves it), or a worker that fails or dies, is not
  trusted: this process reads on from there to the end of the file itself.

Workers are started with "spawn", never "fork": the parent holds an open
DuckDB database and its threads.  They ignore Ctrl-C (the parent stops them)
and write into a folder named like the store's spill folders
(`hostmap-store-<pid>-...`), so a parent killed outright has it removed by
the next store, as those are.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import shutil
import signal
import tempfile
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hostmap._processors import default_jobs
from hostmap.ingest import WHOLE_FILE, Part, PartOverrun, Reader, ReadItem, reader_named
from hostmap.model import ReadIssue
from hostmap.store import Store

__all__ = ["PART_BYTES", "Outcome", "Split", "bytes_read", "cut", "default_jobs", "split"]

PART_BYTES = 8 << 20
"""About how big a part is; a file of fewer than three parts is read by one process."""

_SPLITS: dict[str, Split] = {}
"""Real path -> the split it is being read in (for the progress bar)."""


def cut(reader: Reader, path: Path, jobs: int) -> list[Part]:
    """The parts `path` is read in; one (the whole file) when the reader cannot cut it,
    it is small, or `jobs` is 1."""
    count = path.stat().st_size // PART_BYTES
    cutter = getattr(reader, "parts", None)
    if jobs < 2 or count < 3 or cutter is None:
        return [WHOLE_FILE]
    parts: list[Part] = cutter(path, count)
    return parts if len(parts) >= 3 else [WHOLE_FILE]


def bytes_read(positions: dict[str, int]) -> dict[str, int]:
    """Real path -> bytes read so far, of each file being read in parts.

    `positions` holds how far this process is into a file (real path -> offset),
    when it is reading one: this process reads from the front (or reads on after
    the workers' parts), so everything before its position is read, and so is a
    part after it that a worker finished.  Without a position, the finished
    parts.
    """
    read = {}
    for real, active in list(_SPLITS.items()):
        finished = [(part.start, size) for part, size, done
                    in zip(active.parts, active.sizes, active.finished, strict=True) if done]
        done = sum(size for _, size in finished)
        position = positions.get(real)
        if position is not None:
            done = max(done, position + sum(size for start, size in finished
                                            if start >= position))
        read[real] = done
    return read


def _shifted(issue: ReadIssue, prefix: str, offset: int) -> ReadIssue:
    """`issue` of a part numbered from 0, its locator "<prefix>N" made "<prefix>N+offset"."""
    locator = issue.provenance.locator
    if not offset or not locator.startswith(prefix) or not locator[len(prefix):].isdigit():
        return issue
    moved = dataclasses.replace(issue.provenance,
                                locator=f"{prefix}{int(locator[len(prefix):]) + offset}")
    return dataclasses.replace(issue, provenance=moved)


@dataclass
class Outcome:
    """What a worker read of one part: its database file, records, issues and the
    number of the record after the part (from 0 if the part's first was unknown); or
    why it failed."""

    part: int
    database: Path | None
    records: int
    issues: list[ReadIssue]
    next_record: int
    failure: str | None


@dataclass
class Split:
    """One file being read in parts by this process and workers; see the module."""

    reader: Reader
    path: Path
    parts: list[Part]
    claims: Any  # shared [next front part, next back part]
    finished: Any  # shared, one flag per part
    sizes: list[int]
    folder: Path
    workers: list[tuple[Any, Any]] = field(default_factory=list)  # (process, pipe end)
    next_record: int = 0
    """The number of the record after the parts read (or appended) so far."""
    trusted: bool = False
    """The front ended where the workers' parts begin: reading goes on with them."""
    resume_at: int = 0
    """After `append_workers`: the part to read on from (none past the last)."""

    def front(self) -> Iterator[ReadItem]:
        """The items of the parts this process takes from the front, in order."""
        while (k := self._claim_front()) is not None:
            part = self.parts[k]
            if part.first_record is None:
                part = part._replace(first_record=self.next_record)
            try:
                self.next_record = yield from self.reader.read_part(  # type: ignore[attr-defined]
                    self.path, part)
            except PartOverrun:
                return  # read on to the end of the file: nothing more to add
            self.finished[k] = 1
        self.trusted = True

    def _claim_front(self) -> int | None:
        with self.claims.get_lock():
            k, back = self.claims[0], self.claims[1]
            if k > back:
                return None
            self.claims[0] = k + 1
            return k

    def rest(self) -> Iterator[Outcome]:
        """The workers' parts, in order, up to the first that failed or is missing;
        `resume_at` is then the part to read on from."""
        outcomes: dict[int, Outcome] = {}
        for process, receive in self.workers:
            while True:
                try:
                    message = receive.recv()
                except EOFError:  # it died: what it sent before still counts
                    process.join()
                    break
                if message is None:
                    break
                outcomes[message.part] = message
        k = self.claims[0]
        while (outcome := outcomes.get(k)) is not None and outcome.failure is None:
            yield outcome
            k += 1
        self.resume_at = k

    def append_workers(self, store: Store, input_id: int) -> tuple[int, list[ReadIssue]]:
        """Append the workers' parts to `store` in order, numbering on; (records, issues)
        they held, their locators shifted where a part was numbered from 0."""
        prefix = getattr(self.reader, "locator_prefix", "")
        records, issues = 0, []
        for outcome in self.rest():
            unnumbered = self.parts[outcome.part].first_record is None
            shift = self.next_record if unnumbered else 0
            store.append_database(outcome.database, input_id,  # type: ignore[arg-type]
                                  locator_prefix=prefix, shift=shift)
            records += outcome.records
            issues.extend(_shifted(issue, prefix, shift) for issue in outcome.issues)
            self.next_record = shift + outcome.next_record
        return records, issues

    def remainder(self) -> Part | None:
        """After `append_workers`: what this process reads on, to the end of the file."""
        if self.resume_at >= len(self.parts):
            return None
        return self.parts[self.resume_at]._replace(end=None, first_record=self.next_record)


@contextmanager
def split(reader: Reader, path: Path, parts: list[Part], jobs: int) -> Iterator[Split]:
    """Start `jobs` - 1 workers on `parts`; leaving the block stops any worker still
    running and removes their files."""
    context = multiprocessing.get_context("spawn")
    size = path.stat().st_size
    ends = [part.end if part.end is not None else size for part in parts]
    # The last part's issues may name the records before it ("broken after N entries"):
    # it is left to this process unless the cut knows its first record's number.
    last = len(parts) - 1 if parts[-1].first_record is not None else len(parts) - 2
    active = Split(reader=reader, path=path, parts=parts,
                   claims=context.Array("q", [0, last]),
                   finished=context.Array("b", len(parts), lock=False),
                   sizes=[end - part.start for part, end in zip(parts, ends, strict=True)],
                   folder=Path(tempfile.mkdtemp(prefix=f"hostmap-store-{os.getpid()}-parts-")))
    real = os.path.realpath(path)
    _SPLITS[real] = active
    try:
        for n in range(1, min(jobs, len(parts) - 1)):
            receive, send = context.Pipe(duplex=False)
            process = context.Process(
                target=_work, name=f"hostmap-part-worker-{n}", daemon=True,
                args=(reader.format, str(path), parts, active.claims, active.finished,
                      str(active.folder), send))
            _start_deaf_to_ctrl_c(process)
            send.close()
            active.workers.append((process, receive))
        yield active
    finally:
        for process, receive in active.workers:
            if process.is_alive():
                process.terminate()
            process.join()
            receive.close()
        _SPLITS.pop(real, None)
        shutil.rmtree(active.folder, ignore_errors=True)


def _start_deaf_to_ctrl_c(process: Any) -> None:
    """Start `process` with Ctrl-C ignored from its first instruction (an ignored signal
    stays ignored across exec), so its start-up never prints a KeyboardInterrupt."""
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: signals are not ours to set
        process.start()
        return
    try:
        process.start()
    finally:
        signal.signal(signal.SIGINT, previous)


def _work(format_name: str, path: str, parts: list[Part], claims: Any, finished: Any,
          folder: str, send: Any) -> None:
    """In a worker: take parts from the back until none is left, each read into
    `<folder>/part-<k>.duckdb`; send an `Outcome` for each, then None."""
    reader = reader_named(format_name)
    try:
        while True:
            with claims.get_lock():
                k = claims[1]
                if k < claims[0]:
                    break
                claims[1] = k - 1
            database = Path(folder, f"part-{k}.duckdb")
            try:
                records, issues, following = _read_into(reader, Path(path), parts[k], database)
            except Exception as exc:  # noqa: BLE001 - the parent reads on from this part
                send.send(Outcome(k, None, 0, [], 0, f"{type(exc).__name__}: {exc}"))
                break
            send.send(Outcome(k, database, records, issues, following, None))
            finished[k] = 1  # after sending: a part marked finished is never lost
        send.send(None)
    finally:
        send.close()


def _read_into(reader: Reader, path: Path, part: Part, database: Path
               ) -> tuple[int, list[ReadIssue], int]:
    """(records, issues, number of the record after the part) of `part`, stored at
    `database`; raises PartOverrun at once if the part does not end where it should."""
    store = Store(database)
    input_id = store.begin_input()
    records, issues = 0, []
    items: Generator[ReadItem, None, int] = reader.read_part(  # type: ignore[attr-defined]
        path, part, to_end=False)
    with store.streaming():
        while True:
            try:
                item = next(items)
            except StopIteration as end:
                following = end.value
                break
            store.add(input_id, item)
            if isinstance(item, ReadIssue):
                issues.append(item)
            else:
                records += 1
        store.flush()
    store.close()
    return records, issues, following
