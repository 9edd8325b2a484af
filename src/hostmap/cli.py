"""The command line: options in, library calls, report out, one line per problem, exit codes.

Exit codes (also in --help and the README):
  0  every input was read completely
  1  the report was written, but some input (or record) was skipped
  2  usage error, or nothing readable in the inputs
  130, 143  stopped by Ctrl-C (SIGINT) or SIGTERM: nothing written
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click
import duckdb
from rich.console import Console

from hostmap import __version__
from hostmap._processors import default_jobs
from hostmap.errors import HostmapError, InputError, OutputError, UsageError
from hostmap.model import ReadIssue, Severity
from hostmap.render import FORMAT_BY_SUFFIX, RENDERERS, format_for_path, json_doc, text
from hostmap.sanitize import SUPPORTED_FORMATS

if TYPE_CHECKING:
    from hostmap.pipeline import InputSummary
    from hostmap.store import Store

# The readers, the store and the analyses are imported by the commands that use them,
# so `--help`, `--version` and a usage error answer in a fraction of a second.

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE = 0, 1, 2

QUERY_TABLE_ROWS = 1_000
"""Rows `hostmap query` shows as a table (--json prints them all, a batch at a time)."""
QUERY_BATCH = 10_000

EXIT_CODES_HELP = """\b
Exit codes:
  0  every input was read completely
  1  report written, but some input or record was skipped (see stderr)
  2  usage error, or nothing readable in the inputs
  130, 143  stopped by Ctrl-C or SIGTERM; nothing written"""


def _fail(err: Console, exc: Exception, debug: bool) -> NoReturn:
    """One line on stderr and exit code 2 (or the traceback, with --debug)."""
    if debug:
        raise exc
    err.print(f"hostmap: error: {text.clean(exc)}")
    sys.exit(EXIT_USAGE)


def _out_of_memory(exc: BaseException) -> Exception:
    """MemoryError or DuckDB's OutOfMemoryException as one line saying what to do."""
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    detail = detail.removeprefix("Out of Memory Error: ")
    return RuntimeError("out of memory" + (f" ({detail})" if detail else "")
                        + ": read fewer inputs at once, or allow hostmap more memory")


def _parse_moment(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date; use YYYY-MM-DD or YYYY-MM-DDTHH:MM[+08:00]") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _write_atomically(path: Path, content: str | bytes) -> None:
    """Write to a temporary file beside `path`, then rename: no half-written report."""
    if not path.parent.is_dir():
        raise OutputError(f"{path}: folder {path.parent} does not exist")
    data = content.encode("utf-8") if isinstance(content, str) else content
    if path.exists() and not path.is_file():
        # /dev/null, a FIFO, a terminal: write through it; renaming over it (as root) would
        # replace the device with a regular file.
        with path.open("wb") as f:
            f.write(data)
        return
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; a report is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


JOBS = click.option(
    "-j", "--jobs", type=click.IntRange(min=1), default=default_jobs, metavar="N",
    help="Processes that read one big file at once where its format allows it (HAR files "
         "and mitmproxy flow dumps of 24 MB and more); the result is the same. Default: every "
         "processor this process may use.")

SHOW_SECRETS = click.option(
    "--show-secrets", is_flag=True,
    help="Keep cookie values, credentials, tokens, resident ID numbers, phone numbers and "
         "e-mail addresses in the output (redacted by default).")


class _Commands(click.Group):
    """The command group; Ctrl-C ends any command with one line and exit code 130
    (128 + SIGINT, as the signal itself would), not click's "Aborted!" and 1, which
    would read as "report written, some input skipped"."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            # On a terminal the ^C echo is still on the line: start a new one.
            newline = "\n" if sys.stderr.isatty() else ""
            click.echo(f"{newline}hostmap: interrupted", err=True)
            sys.exit(128 + signal.SIGINT)


@click.group(cls=_Commands,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="hostmap")
def main() -> None:
    """Map an app's endpoints to backend hosts, shared fronts, operators and migrations.

    hostmap reads recorded data only (traffic captures and DNS records) and
    never touches the network. Every finding cites the file and record it
    rests on.

    \b
    Start with:
      hostmap analyze captures/henan-2022       a readable report
      hostmap analyze captures/henan-2022 --json
      hostmap map captures/henan-2022 -o map.html  an interactive map
      hostmap formats                           what hostmap can read
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminated)
        signal.signal(signal.SIGINT, _interrupted)


def _terminated(signum: int, frame: object) -> None:
    """SIGTERM unwinds like Ctrl-C: the store's spill folder and a half-written output
    file are removed; the exit status is the usual 128 + 15."""
    _stopped.append(signum)
    raise SystemExit(128 + signal.SIGTERM)


def _interrupted(signum: int, frame: object) -> None:
    """Ctrl-C raises KeyboardInterrupt as Python's own handler does, and is recorded: a
    DuckDB statement it lands in may fail with another exception instead."""
    _stopped.append(signum)
    raise KeyboardInterrupt


def _stop_as_signalled() -> NoReturn:
    """End the run as the signal that stopped it would: SIGTERM 143, Ctrl-C 130."""
    if _stopped and _stopped[-1] == signal.SIGTERM:
        raise SystemExit(128 + signal.SIGTERM)
    raise KeyboardInterrupt  # one line and 130 (`_Commands`)


_stopped: list[int] = []
"""Signals that stopped this run (a DuckDB query they interrupt raises its own exception)."""


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True,
              help="Print the report as JSON (schema hostmap/report/1) instead of text.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the report to FILE (atomically) instead of standard output.")
@click.option("--at", "at", metavar="DATE",
              help="Resolve host names as of DATE (YYYY-MM-DD or ISO 8601; UTC unless an "
                   "offset is given). Default: the capture time (last HTTP exchange).")
@click.option("--db", type=click.Path(path_type=Path, dir_okay=False),
              help="Keep the observations in this DuckDB file (default: in memory). "
                   "Files already loaded (same content) are not read again.")
@click.option("--format", "format_name", metavar="NAME",
              help="Read every input as this format instead of detecting it "
                   "(see `hostmap formats`).")
@click.option("--map", "map_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write the infrastructure map to FILE, in the format its ending names "
                   "(.html .dot .svg .png .gexf .graphml .mmd .md .cy.json .stix.json).")
@click.option("--strict", is_flag=True, help="Treat any skipped record as a failure (exit 2).")
@click.option("--top", type=click.IntRange(min=1), metavar="N",
              help="Keep a big case's text report readable: at most N findings of each kind "
                   "and N rows of each table, with a line counting the rest (--json and "
                   "--map always hold everything).")
@JOBS
@SHOW_SECRETS
@click.option("-q", "--quiet", is_flag=True, help="No progress and no issue lines on stderr.")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
def analyze(paths: tuple[Path, ...], as_json: bool, output: Path | None, at: str | None,
            db: Path | None, format_name: str | None, map_file: Path | None, strict: bool,
            top: int | None, jobs: int, show_secrets: bool, quiet: bool, debug: bool) -> None:
    """Read captures and DNS records, then report endpoints, shared hosts, families, moves.

    PATHS are files or folders (read recursively); each file's format is
    detected from its content. The report states findings such as: which
    endpoints the app contacted, what they resolved to at capture time, which
    hosts share an address, which host-name family (one host per city) sits
    on it and which places its tokens name, who operates the address, and
    when a host moved between addresses.

    \b
    Examples:
      hostmap analyze captures/henan-2022
      hostmap analyze session.har dns/ --at 2021-06-01
      hostmap analyze captures/ --json -o report.json
      hostmap analyze big-day.pcap passive-dns.jsonl --top 20
    """
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        moment = _parse_moment(at)
        if top is not None and as_json:
            raise UsageError("--top shortens the text report; the JSON report always holds "
                             "everything (leave out one of --top and --json)")
        if format_name:
            from hostmap.ingest import READERS

            if format_name not in {r.format for r in READERS}:
                raise UsageError(f"unknown --format {format_name!r}; see `hostmap formats`")
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            raise UsageError(f"no such file or folder: {', '.join(missing)}")
        map_format = _map_format(map_file) if map_file else None
        report, problems, readable, graph = _run(paths, moment, db, format_name, quiet, err,
                                                 with_graph=map_file is not None, jobs=jobs,
                                                 show_secrets=show_secrets, debug=debug)
        if map_file is not None and map_format is not None:
            _write_atomically(map_file, _draw_map(quiet, err, map_format, report, graph))
        rendered = json_doc.render(report) if as_json else None
        if output is not None:
            _write_atomically(output, rendered if rendered is not None
                              else text.render(report, top=top))
        elif rendered is not None:
            click.echo(rendered, nl=False)
        else:
            text.render_to(Console(highlight=False), report, list_issues=quiet, top=top)
    except (HostmapError, click.BadParameter) as exc:
        _fail(err, exc, debug)
    except (MemoryError, duckdb.OutOfMemoryException) as exc:
        if debug:
            raise
        _fail(err, _out_of_memory(exc), debug)
    if not readable:
        err.print("hostmap: error: nothing readable in the inputs")
        sys.exit(EXIT_USAGE)
    if problems and strict:
        sys.exit(EXIT_USAGE)
    sys.exit(EXIT_PARTIAL if problems else EXIT_OK)


def _run(paths: tuple[Path, ...], moment: datetime | None, db: Path | None,
         format_name: str | None, quiet: bool, err: Console, *, with_graph: bool = False,
         jobs: int = 1, show_secrets: bool = False, debug: bool = False
         ) -> tuple[dict[str, Any], int, int, Any]:
    """Read, analyse and (when asked) build the map; redact both unless `show_secrets`."""
    from hostmap.analyze import run_analyses
    from hostmap.redact import redact_graph, redact_issue_message, redact_report
    from hostmap.store import Store

    store = Store(db)
    graph = None
    problems = 0

    def on_issue(issue: ReadIssue) -> None:
        nonlocal problems
        if issue.severity is Severity.ERROR:
            problems += 1
        if not quiet:
            message = issue.message if show_secrets else redact_issue_message(issue.message)
            where = text.clean(issue.provenance)
            err.print(f"hostmap: {text.clean(issue.severity)}: {where}: {text.clean(message)}")

    try:
        summaries = _read_inputs(store, paths, quiet, err, on_issue, format=format_name,
                                 isolate=not debug, jobs=jobs)
        with _status(quiet, err, "analysing what was read"):
            report = run_analyses(store, at=moment)
        if with_graph:
            from hostmap.graph import build_graph

            with _status(quiet, err, "building the map"):
                graph = build_graph(store, report)
    except duckdb.InterruptException:
        # Ctrl-C or SIGTERM arrived while DuckDB ran a query: stop as the signal would.
        _stop_as_signalled()
    finally:
        store.close()
    if not show_secrets:
        report = redact_report(report)
        graph = None if graph is None else redact_graph(graph)
    readable = sum(1 for s in summaries if _readable(s)) or (1 if db else 0)
    return report, problems, readable, graph


def _read_inputs(store: Store, paths: tuple[Path, ...], quiet: bool, err: Console,
                 on_issue: Any, **options: Any) -> list[InputSummary]:
    """`load_paths` under the progress bar; a signal that DuckDB turned into a failing
    file's error still ends the run as the signal would."""
    from hostmap.pipeline import load_paths

    with _progress(quiet, err, paths) as on_progress:
        summaries = load_paths(store, paths, on_progress=on_progress, on_issue=on_issue,
                               **options)
    if _stopped:
        _stop_as_signalled()
    return summaries


def _readable(summary: InputSummary) -> bool:
    """A file counts as read when its format was recognised and it gave records, or gave
    none without an error (an empty capture, an address database, a file already in --db).
    A recognised file from which nothing could be read (a SAZ cut before its zip directory)
    is not readable, as `hostmap sanitize` says of it too."""
    return summary.format is not None and (summary.records > 0 or summary.errors == 0)


class _progress:
    """A rich progress bar on stderr while files are read (only on a terminal, not --quiet).

    The bar counts bytes: those of the files finished, plus how far into the file
    being read this process is (the offset of its open descriptors on it, looked
    up a few times a second, once its reading has begun: `update(path, 0, False)`;
    before that the file is hashed or cut, which runs through it too), so it moves
    through one large capture too.  The line (80 columns) shows the file's name,
    the bar, the bytes, the records per second and the time left.
    """

    POLL_SECONDS = 0.5

    def __init__(self, quiet: bool, err: Console, paths: tuple[Path, ...]) -> None:
        self.enabled = not quiet and err.is_terminal
        self.err = err
        self.paths = paths
        self.progress: Any = None
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None

    def __enter__(self) -> Any:
        if not self.enabled:
            return None
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        from hostmap.ingest import discover
        from hostmap.parts import bytes_read

        sizes = {str(p): p.stat().st_size for p, _ in discover(self.paths) if p.is_file()}
        by_real_path = {os.path.realpath(p): p for p in sizes}
        # One line that fits 80 columns: the file, the bar, bytes, records/s, time left.
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(bar_width=18),
                                 DownloadColumn(), TextColumn("{task.fields[rate]}"),
                                 TimeRemainingColumn(), console=self.err, transient=True)
        task = self.progress.add_task("reading", total=sum(sizes.values()) or 1, rate="")
        self.progress.start()
        started = time.monotonic()
        total_records = 0
        finished: set[str] = set()
        begun: set[str] = set()
        lock = threading.Lock()
        done_bytes = 0

        def advance_to(completed: int) -> None:
            """Move the bar forward (never back: a file read twice counts once); the caller
            holds `lock`."""
            if completed > self.progress.tasks[0].completed:
                self.progress.update(task, completed=completed)

        def poll() -> None:
            while not self._stop.wait(self.POLL_SECONDS):
                offsets = _open_offsets(by_real_path)
                # A file read in parts by several processes: the parts read so far.
                positions = {real: offsets[name] for real, name in by_real_path.items()
                             if name in offsets}
                for real, read in bytes_read(positions).items():
                    if real in by_real_path:
                        offsets[by_real_path[real]] = read
                with lock:  # a file finished since the offsets were read counts once
                    # Before its records are read, a file is only hashed or cut: its
                    # descriptor's offset then says nothing about the reading.
                    reading = sum(min(offset, sizes[path]) for path, offset in offsets.items()
                                  if path in begun and path not in finished)
                    advance_to(done_bytes + reading)

        def update(path: str, records: int, done: bool) -> None:
            nonlocal total_records, done_bytes
            elapsed = max(time.monotonic() - started, 1e-6)
            counted = total_records + records
            rate = f"{counted / elapsed:,.0f} records/s" if counted else ""  # none counted yet
            name = text.clean(Path(path).name)
            name = name if len(name) <= 20 else name[:19] + "\u2026"
            if done:
                total_records += records
                with lock:
                    finished.add(path)
                    done_bytes += sizes.get(path, 0)
                    advance_to(done_bytes)
            else:
                with lock:
                    begun.add(path)
            self.progress.update(task, rate=rate, description=name)

        self._poller = threading.Thread(target=poll, name="hostmap-progress", daemon=True)
        self._poller.start()
        return update

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._poller is not None:
            self._poller.join()
        if self.progress is not None:
            self.progress.stop()


def _status(quiet: bool, err: Console, what: str) -> Any:
    """A spinner on stderr saying what runs after the reading (on a large capture the
    analyses and the map take as long as the reading): only on a terminal, not --quiet."""
    if quiet or not err.is_terminal:
        return contextlib.nullcontext()
    return err.status(f"{what}...")


def _open_offsets(files: dict[str, str]) -> dict[str, int]:
    """How far this process is into each of `files` (real path -> name) it has open: the
    largest offset of its descriptors on the file (Linux's /proc; elsewhere nothing)."""
    offsets: dict[str, int] = {}
    try:
        descriptors = os.listdir("/proc/self/fd")
    except OSError:
        return offsets
    for fd in descriptors:
        try:
            name = files.get(os.readlink(f"/proc/self/fd/{fd}"))
            if name is None:
                continue
            with open(f"/proc/self/fdinfo/{fd}", encoding="ascii") as info:
                position = int(info.readline().split()[1])  # "pos:\t<offset>"
        except (OSError, ValueError, IndexError):
            continue  # closed meanwhile, or not what we expect: no position
        offsets[name] = max(position, offsets.get(name, 0))
    return offsets


def _draw_map(quiet: bool, err: Console, map_format: str, report: dict[str, Any],
              graph: Any) -> str | bytes:
    """The map in `map_format`, under a spinner; a warning when it is a Mermaid map past
    mermaid.js's defaults, which mermaid.js draws as an error message."""
    from hostmap.render.mermaid import MERMAID_MAX_CHARS, MERMAID_MAX_EDGES, too_large

    with _status(quiet, err, f"drawing the map ({map_format})"):
        rendered = RENDERERS[map_format](report, graph)
    if not quiet and map_format == "mermaid" and too_large(graph, rendered):
        err.print(f"hostmap: warning: the map has {graph.number_of_edges():,} edges and "
                  f"{len(rendered):,} characters; Mermaid draws at most {MERMAID_MAX_EDGES:,} "
                  f"and {MERMAID_MAX_CHARS:,} unless configured otherwise: write it as .html, "
                  ".gexf, .graphml or .svg")
    return rendered


def _map_format(path: Path) -> str:
    name = format_for_path(path)
    if name is None or name not in RENDERERS:
        known = ", ".join(sorted(FORMAT_BY_SUFFIX))
        raise UsageError(f"{path}: cannot tell the map format from its ending; use one of {known}")
    return name


MAP_FORMATS = ("html", "dot", "svg", "png", "gexf", "graphml", "mermaid", "md", "cytoscape",
               "stix", "json", "text")


@main.command("map")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-f", "--format", "map_format", type=click.Choice(MAP_FORMATS),
              help="Map format (default: from the --output ending, else mermaid).")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the map to FILE (atomically) instead of standard output.")
@click.option("--at", "at", metavar="DATE", help="Resolve host names as of DATE (as in analyze).")
@click.option("--db", type=click.Path(path_type=Path, dir_okay=False),
              help="Keep the observations in this DuckDB file (as in analyze).")
@JOBS
@SHOW_SECRETS
@click.option("-q", "--quiet", is_flag=True, help="No progress and no issue lines on stderr.")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
def map_command(paths: tuple[Path, ...], map_format: str | None, output: Path | None,
                at: str | None, db: Path | None, jobs: int, show_secrets: bool, quiet: bool,
                debug: bool) -> None:
    """Render the infrastructure map of the inputs: hosts, addresses, fronts, families, moves.

    Nodes are endpoints, hosts, addresses, fronts, backends, operators,
    certificates, families and places; edges say contacted, resolves-to (with
    first/last seen), cname, fronted-by, backend-of, announced-by,
    presents-certificate, member-of-family and names-place. Every node and
    edge keeps the records it rests on.

    \b
    Examples:
      hostmap map captures/henan-2022 -o henan.html      interactive page, works offline
      hostmap map captures/henan-2022 -f dot | dot -Tsvg > henan.svg
      hostmap map captures/henan-2022 -o henan.gexf      for Gephi (timeline included)
      hostmap map captures/henan-2022 -o henan.stix.json
    """
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        if map_format is None:
            map_format = _map_format(output) if output is not None else "mermaid"
        if map_format not in RENDERERS:
            raise UsageError(f"the {map_format} format is not available in this installation")
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            raise UsageError(f"no such file or folder: {', '.join(missing)}")
        report, problems, readable, graph = _run(paths, _parse_moment(at), db, None, quiet,
                                                 err, with_graph=True, jobs=jobs,
                                                 show_secrets=show_secrets, debug=debug)
        rendered = _draw_map(quiet, err, map_format, report, graph)
        if output is not None:
            _write_atomically(output, rendered)
        elif isinstance(rendered, bytes):
            sys.stdout.buffer.write(rendered)
        else:
            click.echo(rendered, nl=False)
    except (HostmapError, click.BadParameter) as exc:
        _fail(err, exc, debug)
    except (MemoryError, duckdb.OutOfMemoryException) as exc:
        if debug:
            raise
        _fail(err, _out_of_memory(exc), debug)
    if not readable:
        err.print("hostmap: error: nothing readable in the inputs")
        sys.exit(EXIT_USAGE)
    sys.exit(EXIT_PARTIAL if problems else EXIT_OK)


@main.command()
@click.argument("db", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.argument("sql")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON lines.")
def query(db: Path, sql: str, as_json: bool) -> None:
    """Answer an ad-hoc question with SQL over a case database made with --db.

    The tables (inputs, http, reference, resolution, address_info,
    certificate, issue) are described in the README. The database is opened
    read-only. The table shows the first 1,000 rows (and says when there are
    more); --json prints every row as it comes, so it suits any size.

    \b
    Examples:
      hostmap analyze captures/henan-2022 --db case.duckdb -q -o /dev/null
      hostmap query case.duckdb "SELECT value, count(DISTINCT name) FROM resolution
                                 WHERE rtype = 'A' GROUP BY value ORDER BY 2 DESC"
    """
    import duckdb

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        con = duckdb.connect(str(db), read_only=True)
        con.execute("SET TimeZone = 'UTC'")
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description or ()]
        # Rows come a batch at a time: a case database may hold billions.
        rows = cursor.fetchmany(QUERY_BATCH if as_json else QUERY_TABLE_ROWS + 1)
        if as_json:
            while rows:
                for row in rows:
                    click.echo(json.dumps(json_doc.to_jsonable(dict(zip(names, row,
                                                                        strict=True))),
                                          ensure_ascii=False, default=str))
                rows = cursor.fetchmany(QUERY_BATCH)
            return
    except duckdb.Error as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        err.print(f"hostmap: error: {text.clean(db)}: {text.clean(first_line)}")
        sys.exit(EXIT_USAGE)
    from rich.table import Table

    table = Table(*names)
    for row in rows[:QUERY_TABLE_ROWS]:
        table.add_row(*(text.clean("" if v is None else v) for v in row))
    Console(highlight=False).print(table)
    if len(rows) > QUERY_TABLE_ROWS:
        err.print(f"hostmap: the first {QUERY_TABLE_ROWS:,} rows are shown; --json prints "
                  "every row (or add LIMIT / OFFSET to the query)")


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--parquet", "folder", required=True,
              type=click.Path(path_type=Path, file_okay=False),
              help="Write every observation table as FOLDER/<table>.parquet.")
@click.option("--db", type=click.Path(path_type=Path, dir_okay=False),
              help="Export (and add PATHS to) this case database instead of reading into "
                   "memory.")
@JOBS
@click.option("-q", "--quiet", is_flag=True, help="No progress and no issue lines on stderr.")
def export(paths: tuple[Path, ...], folder: Path, db: Path | None, jobs: int, quiet: bool) -> None:
    """Write the observation tables as Parquet, for Spark, DuckDB or pandas elsewhere.

    Reads PATHS (if any) into the store first, like analyze. The queries in
    docs/scale.md run unchanged on DuckDB and on Spark over these files.

    \b
    Examples:
      hostmap export captures/henan-2022 --parquet out/henan
      hostmap export --db case.duckdb --parquet out/case
    """
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if not paths and db is None:
        err.print("hostmap: error: give inputs to read, or --db with a case database")
        sys.exit(EXIT_USAGE)
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        err.print(f"hostmap: error: no such file or folder: {text.clean(', '.join(missing))}")
        sys.exit(EXIT_USAGE)
    from hostmap.store import Store

    store = Store(db)
    problems = 0
    try:
        if paths:
            def on_issue(issue: ReadIssue) -> None:
                nonlocal problems
                problems += issue.severity is Severity.ERROR
                if not quiet:
                    err.print(f"hostmap: {text.clean(issue.severity)}: {text.clean(issue)}")

            _read_inputs(store, paths, quiet, err, on_issue, jobs=jobs)
        written = store.export_parquet(folder)
    finally:
        store.close()
    if not quiet:
        for path in written:
            err.print(f"hostmap: wrote {text.clean(path)}")
    sys.exit(EXIT_PARTIAL if problems else EXIT_OK)


@main.command()
@click.argument("source", metavar="IN", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("target", metavar="OUT", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--format", "format_name", type=click.Choice(SUPPORTED_FORMATS),
              help="Read IN as this format instead of detecting it.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
def sanitize(source: Path, target: Path, format_name: str | None, quiet: bool,
             debug: bool) -> None:
    """Write a redacted copy of a HAR, mitmproxy or SAZ capture to share as evidence.

    Cookie values (persistence cookies keep only what names their backend),
    credentials, tokens in URLs and bodies, resident ID numbers, phone
    numbers, e-mail addresses and the client's own address are removed; the
    copy reads back with the same endpoints. It says what it removed.

    \b
    Example:
      hostmap sanitize session.har session.clean.har
    """
    from hostmap.sanitize import sanitize_file

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        with _progress(quiet, err, (source,)) as on_progress:
            if on_progress and source.is_file():
                on_progress(str(source), 0, False)
            summary = sanitize_file(source, target, format=format_name)
            if on_progress:
                on_progress(str(source), summary.records, True)
    except InputError as exc:
        _fail(err, InputError(f"{source}: {exc}"), debug)
    except HostmapError as exc:
        _fail(err, exc, debug)
    for issue in summary.issues:
        err.print(f"hostmap: error: {text.clean(f'{summary.source}: {issue}')}")
    if not quiet:
        for line in summary.lines():
            click.echo(line)
    sys.exit(EXIT_PARTIAL if summary.issues else EXIT_OK)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="List the formats as JSON.")
def formats(as_json: bool) -> None:
    """List the input formats hostmap reads, with file endings and content signatures.

    Formats are recognised by content; the endings are only hints.
    """
    from hostmap.enrich.address_db import ADDRESS_DATABASES
    from hostmap.ingest import READERS

    rows = [{"format": r.format, "description": r.description, "suffixes": list(r.suffixes),
             "signature": r.signature, "kind": "records"}
            for r in sorted(READERS, key=lambda r: r.format)]
    rows += [{"format": d.format, "description": d.description, "suffixes": list(d.suffixes),
              "signature": d.signature, "kind": "address database (looked up)"}
             for d in sorted(ADDRESS_DATABASES, key=lambda d: d.format)]
    if as_json:
        click.echo(json_doc.render({"formats": rows}), nl=False)
        return
    from rich.table import Table

    table = Table("format", "what", "endings", "recognised by")
    for row in rows:
        table.add_row(row["format"], row["description"], " ".join(row["suffixes"]),
                      row["signature"])
    Console(highlight=False).print(table)


analyze.epilog = EXIT_CODES_HELP

if __name__ == "__main__":
    main()
