"""Files in, store filled: discovery, format detection, reading, loading, per-file summaries."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from hostmap import parts
from hostmap.enrich.address_db import AddressDatabase, detect_address_database
from hostmap.errors import InputError, UnknownFormat
from hostmap.ingest import Reader, ReadItem, detect_format, discover, read_file, reader_named
from hostmap.model import Provenance, ReadIssue, Severity
from hostmap.store import Store, file_sha256

__all__ = ["InputSummary", "load_paths"]


@dataclass(frozen=True, slots=True, kw_only=True)
class InputSummary:
    """What reading one file gave: its format, how many records, which issues."""

    path: str
    format: str | None
    records: int
    issues: tuple[ReadIssue, ...]
    skipped: bool = False
    """True when the file was not read at all (unknown format, unreadable, already loaded)."""

    @property
    def errors(self) -> int:
        return sum(1 for i in self.issues if i.severity is Severity.ERROR)


ProgressCallback = Callable[[str, int, bool], None]
"""Called as (path, records read so far, file finished) while files are read: with 0 when a
file's reading begins (it has been hashed and cut; not for a bulk load), every 1,000 records,
and once when each file is done."""


def load_paths(store: Store, paths: Iterable[Path], *, format: str | None = None,
               on_progress: ProgressCallback | None = None,
               on_issue: Callable[[ReadIssue], None] | None = None,
               isolate: bool = True, jobs: int = 1) -> list[InputSummary]:
    """Read every file under `paths` into `store`; one summary per file, in order.

    Files found inside folders that no reader recognises are listed as skipped
    with a warning; a file named explicitly that no reader recognises is an error.
    `format` forces one reader for every file.

    With `isolate` (the default) an unexpected exception while one file is read or
    stored (a reader bug, MemoryError, a DuckDB error) does not end the run: that
    file's rows are taken out again and it gets one ERROR issue naming the
    exception; the other files are read as usual.  `isolate=False` lets it raise
    (the CLI's --debug).

    With `jobs` > 1, a big file whose reader can cut it into parts (`PartReader`)
    is read by up to `jobs` processes at once (`hostmap.parts`); the store ends
    up the same.
    """
    summaries = []
    forced = reader_named(format) if format else None
    for path, explicit in discover(paths):
        input_id = store.begin_input()
        seen: dict[str, str] = {}
        try:
            summary = _load_file(store, input_id, path, explicit, forced, on_progress, on_issue,
                                 seen, jobs)
        except Exception as exc:
            # DuckDB turns Ctrl-C or a signal's exception during a query into an
            # InterruptException: the user stopping the run, not this file failing.
            if not isolate or isinstance(exc, duckdb.InterruptException):
                raise
            summary = _failed_file(store, input_id, path, seen.get("format"), exc, on_issue)
        summaries.append(summary)
    store.flush()
    return summaries


def _failed_file(store: Store, input_id: int, path: Path, fmt: str | None, exc: Exception,
                 on_issue: Callable[[ReadIssue], None] | None) -> InputSummary:
    """Take out what a file stored before `exc` stopped it; record one issue instead."""
    for rows in store._buffers.values():  # only this file's rows: end_input flushed the rest
        rows.clear()
    for table in Store.TABLES:
        store.con.execute(f"DELETE FROM {table} WHERE input_id = ?", [input_id])
    if isinstance(exc, MemoryError) or "OutOfMemory" in type(exc).__name__:
        what = "ran out of memory"
    else:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        what = f"{type(exc).__name__}" + (f": {detail}" if detail else "")
    problem = ReadIssue(provenance=Provenance(file=str(path), format=fmt or "", locator=""),
                        message=f"reading stopped by an unexpected error ({what}); "
                                f"the file is left out of the report")
    store.add(input_id, problem)
    if on_issue:
        on_issue(problem)
    store.end_input(input_id, path=str(path), format=fmt, sha256=None, records=0, errors=1,
                    warnings=0)
    return InputSummary(path=str(path), format=fmt, records=0, issues=(problem,))


def _load_file(store: Store, input_id: int, path: Path, explicit: bool, forced: Reader | None,
               on_progress: ProgressCallback | None,
               on_issue: Callable[[ReadIssue], None] | None,
               seen: dict[str, str], jobs: int) -> InputSummary:
    issues: list[ReadIssue] = []

    def issue(message: str, severity: Severity, fmt: str = "") -> InputSummary:
        problem = ReadIssue(provenance=Provenance(file=str(path), format=fmt, locator=""),
                            message=message, severity=severity)
        store.add(input_id, problem)
        if on_issue:
            on_issue(problem)
        store.end_input(input_id, path=str(path), format=fmt or None, sha256=None, records=0,
                        errors=int(severity is Severity.ERROR),
                        warnings=int(severity is Severity.WARNING))
        return InputSummary(path=str(path), format=fmt or None, records=0, issues=(problem,),
                            skipped=True)

    try:
        try:
            reader = forced or detect_format(path)
        except UnknownFormat:
            database = None if forced else detect_address_database(path)
            if database is None:
                raise
            return _open_database(store, input_id, path, database, issue)
        sha256 = file_sha256(path)
    except InputError as exc:
        return issue(f"skipped: {exc}", Severity.ERROR if explicit else Severity.WARNING)
    except OSError as exc:
        return issue(f"cannot open: {exc.strerror or exc}", Severity.ERROR)
    seen["format"] = reader.format
    if store.has_input(sha256):
        return InputSummary(path=str(path), format=reader.format, records=0, issues=(),
                            skipped=True)
    bulk = getattr(reader, "load_into", None)
    if bulk is not None:
        # A reader that can hand the whole file to the store's own engine (DuckDB reading
        # JSON lines in bulk) does so; it reports the same records and issues.  Its reading
        # is not announced to the progress bar: its own pass over the file (counting lines)
        # would carry the bar to the end before DuckDB has loaded a row.
        records, bulk_issues = bulk(path, store, input_id)
        for problem in bulk_issues:
            store.add(input_id, problem)
            if on_issue:
                on_issue(problem)
        errors = sum(1 for i in bulk_issues if i.severity is Severity.ERROR)
        store.end_input(input_id, path=str(path), format=reader.format, sha256=sha256,
                        records=records, errors=errors, warnings=len(bulk_issues) - errors)
        if on_progress:
            on_progress(str(path), records, True)
        return InputSummary(path=str(path), format=reader.format, records=records,
                            issues=tuple(bulk_issues))
    records = 0

    def take(items: Iterable[ReadItem]) -> None:
        nonlocal records
        for item in items:
            store.add(input_id, item)
            if isinstance(item, ReadIssue):
                issues.append(item)
                if on_issue:
                    on_issue(item)
            else:
                records += 1
                if on_progress and records % 1000 == 0:
                    on_progress(str(path), records, False)

    file_parts = parts.cut(reader, path, jobs)
    if on_progress:  # hashed and cut: from here on, the reading
        on_progress(str(path), 0, False)
    with store.streaming():
        if len(file_parts) == 1:
            take(read_file(path, reader))
        else:
            # Parts from the front here, from the back in workers (see hostmap.parts).
            with parts.split(reader, path, file_parts, jobs) as split:
                take(read_file(path, reader, split.front()))
                if split.trusted:
                    appended, their_issues = split.append_workers(store, input_id)
                    records += appended
                    for problem in their_issues:
                        issues.append(problem)
                        if on_issue:
                            on_issue(problem)
                    if (rest := split.remainder()) is not None:
                        take(read_file(path, reader, reader.read_part(path, rest),  # type: ignore[attr-defined]
                                       records))
        store.flush()
    if on_progress:
        on_progress(str(path), records, True)
    errors = sum(1 for i in issues if i.severity is Severity.ERROR)
    store.end_input(input_id, path=str(path), format=reader.format, sha256=sha256,
                    records=records, errors=errors, warnings=len(issues) - errors)
    return InputSummary(path=str(path), format=reader.format, records=records,
                        issues=tuple(issues))


def _open_database(store: Store, input_id: int, path: Path, database: AddressDatabase,
                   issue: Callable[[str, Severity, str], InputSummary]) -> InputSummary:
    """Open an address database for look-ups; its answers join the store when asked for."""
    try:
        lookup = database.open(path)
    except InputError as exc:
        return issue(f"skipped: {exc}", Severity.ERROR, database.format)
    store.add_lookup(input_id, lookup)
    store.end_input(input_id, path=str(path), format=database.format, sha256=None, records=0,
                    errors=0, warnings=0)
    return InputSummary(path=str(path), format=database.format, records=0, issues=())
