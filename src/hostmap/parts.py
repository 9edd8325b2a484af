"""One big file read by several processes at once (`load_paths(..., jobs=N)`).

A reader that can cut a file into runs of whole records (`PartReader`: the
mitmproxy flow dump) lets the pipeline read it with worker processes:

- the file is cut into parts of about `PART_BYTES`; this process takes parts
  from the front, in order, and stores their rows as it reads them; the
  workers take parts from the back, each into a DuckDB database file of its
  own.  Whoever is free takes the next part, so a worker's start-up (about a
  second: it imports hostmap and the reader) and uneven parts even out.
- when the front meets the back, the workers' parts are appended in file
  order (`Store.append_database`), so the store ends up holding what one
  process reading the whole file stores, in the same order, with the same
  locators and issues.
- a worker part that failed (an exception from the reader, a crash) is not
  trusted: this process reads from that part to the end itself, so a
  whole-file issue reads as it would have.  A part of this process's that
  ends in such an issue ends the file there, as reading it whole would.

Workers are started with "spawn", never "fork": the parent holds an open
DuckDB database and its threads.  They ignore Ctrl-C (the parent stops them)
and write into a folder named like the store's spill folders
(`hostmap-store-<pid>-...`), so a parent killed outright has it removed by
the next store, as those are.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hostmap.ingest import Part, Reader, ReadItem, reader_named
from hostmap.model import ReadIssue
from hostmap.store import Store

__all__ = ["PART_BYTES", "Split", "bytes_read", "cut", "default_jobs", "split"]

PART_BYTES = 8 << 20
"""About how big a part is; a file of fewer than two parts is read by one process."""

_SPLITS: dict[str, Split] = {}
"""Real path -> the split it is being read in (for the progress bar)."""


def default_jobs() -> int:
    """The processors this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def cut(reader: Reader, path: Path, jobs: int) -> list[Part]:
    """The parts `path` is read in; one (the whole file) when the reader cannot cut it,
    it is small, or `jobs` is 1."""
    count = path.stat().st_size // PART_BYTES
    cutter = getattr(reader, "parts", None)
    if jobs < 2 or count < 2 or cutter is None:
        return [Part(0, None, 0)]
    return cutter(path, count)


def bytes_read() -> dict[str, int]:
    """Real path -> bytes of its parts read so far, of each file being read in parts."""
    return {real: sum(size for size, done in zip(active.sizes, active.finished, strict=True)
                      if done)
            for real, active in list(_SPLITS.items())}


@dataclass
class Outcome:
    """What a worker read of one part: its database file, records and issues; or why
    it failed."""

    part: int
    database: Path | None
    records: int
    issues: list[ReadIssue]
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
    front_complete: bool = False
    """Every part this process took was read to its end (no whole-file failure)."""

    def front(self) -> Iterator[ReadItem]:
        """The items of the parts this process takes from the front, in order."""
        while (k := self._claim_front()) is not None:
            yield from self.reader.read_part(self.path, self.parts[k])  # type: ignore[attr-defined]
            self.finished[k] = 1
        self.front_complete = True

    def _claim_front(self) -> int | None:
        with self.claims.get_lock():
            k, back = self.claims[0], self.claims[1]
            if k > back:
                return None
            self.claims[0] = k + 1
            return k

    def rest(self) -> list[Outcome]:
        """The workers' outcomes, in part order, once every part is taken and read."""
        outcomes = []
        for process, receive in self.workers:
            while True:
                try:
                    message = receive.recv()
                except EOFError:  # it died: read on from the first part nobody finished
                    process.join()
                    received = {outcome.part for outcome in outcomes}
                    unread = [k for k in range(len(self.parts))
                              if not self.finished[k] and k not in received]
                    if unread:
                        outcomes.append(Outcome(unread[0], None, 0, [],
                                                f"a worker process ended without a result "
                                                f"(exit code {process.exitcode})"))
                    break
                if message is None:
                    break
                outcomes.append(message)
        return sorted(outcomes, key=lambda outcome: outcome.part)


@contextmanager
def split(reader: Reader, path: Path, parts: list[Part], jobs: int) -> Iterator[Split]:
    """Start `jobs` - 1 workers on `parts`; leaving the block stops any worker still
    running and removes their files."""
    context = multiprocessing.get_context("spawn")
    size = path.stat().st_size
    ends = [part.end if part.end is not None else size for part in parts]
    active = Split(reader=reader, path=path, parts=parts,
                   claims=context.Array("q", [0, len(parts) - 1]),
                   finished=context.Array("b", len(parts), lock=False),
                   sizes=[end - part.start for part, end in zip(parts, ends, strict=True)],
                   folder=Path(tempfile.mkdtemp(prefix=f"hostmap-store-{os.getpid()}-parts-")))
    real = os.path.realpath(path)
    _SPLITS[real] = active
    try:
        for n in range(1, min(jobs, len(parts))):
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
                records, issues = _read_into(reader, Path(path), parts[k], database)
            except Exception as exc:  # noqa: BLE001 - the parent reads this part itself
                send.send(Outcome(k, None, 0, [], f"{type(exc).__name__}: {exc}"))
                break
            send.send(Outcome(k, database, records, issues, None))
            finished[k] = 1  # after sending: a part marked finished is never lost
        send.send(None)
    finally:
        send.close()


def _read_into(reader: Reader, path: Path, part: Part, database: Path
               ) -> tuple[int, list[ReadIssue]]:
    store = Store(database)
    input_id = store.begin_input()
    records, issues = 0, []
    with store.streaming():
        for item in reader.read_part(path, part):  # type: ignore[attr-defined]
            store.add(input_id, item)
            if isinstance(item, ReadIssue):
                issues.append(item)
            else:
                records += 1
        store.flush()
    store.close()
    return records, issues

