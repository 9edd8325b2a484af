"""Run hostmap and its peers on the same generated files; print throughput, peak memory, ratios.

    python benchmarks/run.py --size small [--only pcap,har,mitm,zone,pdns] [--repeat 3]

For each input kind the files from `generate.py` (made on first use, under
`benchmarks/data/SIZE/`) are read by:

- hostmap ingest: `benchmarks/_ingest.py FILE` (`load_paths` into an in-memory
  Store), and `_ingest.py --no-store FILE` (the reader alone, to split the
  time between reading and loading);
- hostmap analyze: `python -m hostmap analyze FILE --json -q -o TMP/report.json`;
- the peer(s): tshark, jq, mitmdump and a `FlowReader` loop, `dns.zone.from_file`,
  DuckDB's `read_json` + GROUP BY (listed by `--help`).

Every command runs in its own subprocess under `/usr/bin/time -f '%M %e'`
(psutil polling if there is no GNU time), so each has its own peak RSS; the
resident memory of its whole process tree is polled too (every 50 ms), and
the peak is the larger of the two: hostmap reads one big flow dump with
several processes (`--jobs`, every processor by default), whose sum counts.
Commands run in rounds: each round runs every command once, so a change in
the machine's load hits hostmap and its peers alike.
Wall time is the median of `--repeat` runs and includes interpreter start-up;
peak memory is the largest of the runs.  Rates are input units (packets,
entries, flows, records, rows, from the manifest) per second of wall time;
ratio = hostmap rate / peer rate (above 1: hostmap is faster).

"Memory flat" targets compare hostmap's peak with its peak on the same kind
of file one size smaller (generated if missing): flat when it grows by at
most FLAT_GROWTH.  Nothing here asserts: the table says which targets are met.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import DEFAULT_SEED, FILES, KINDS, SIZES  # noqa: E402

PYTHON = sys.executable
GNU_TIME = "/usr/bin/time"
SMALLER = {"tiny": None, "small": "tiny", "medium": "small", "large": "medium"}
FLAT_GROWTH = 1.25
"""Peak memory may grow by this factor (plus FLAT_SLACK_MB) from one size to the next."""
FLAT_SLACK_MB = 16

PEER_HELP = """\
peers, one per input kind (the same file as hostmap reads):
  pcap   tshark -r FILE -T fields -e dns.qry.name -e dns.a -e dns.aaaa
             -e tls.handshake.extensions_server_name -e http.host
  har    jq -r '.log.entries[] | [.request.url, .serverIPAddress] | @tsv' FILE
  mitm   mitmdump -n -r FILE -q ; python benchmarks/_peers.py flowreader FILE
  zone   python benchmarks/_peers.py dnszone FILE   (dns.zone.from_file)
  pdns   python benchmarks/_pdns_query.py duckdb FILE  (read_json + GROUP BY, 2 threads)
         vs python benchmarks/_pdns_query.py hostmap FILE (load_paths + GROUP BY)
"""


@dataclass
class Measure:
    """One command, measured --repeat times."""

    name: str
    command: list[str]
    available: str | None = None
    """None when the command can run; else why not (a peer not installed)."""
    ok_codes: tuple[int, ...] = (0,)
    walls: list[float] = field(default_factory=list)
    peaks_mb: list[float] = field(default_factory=list)
    output: str = ""
    failure: str | None = None

    @property
    def wall(self) -> float | None:
        return statistics.median(self.walls) if self.walls else None

    @property
    def peak_mb(self) -> float | None:
        return max(self.peaks_mb) if self.peaks_mb else None

    @property
    def info(self) -> dict[str, object]:
        """The JSON line a Python driver printed, if any."""
        for line in reversed(self.output.splitlines()):
            if line.startswith("{"):
                try:
                    value = json.loads(line)
                except ValueError:
                    continue
                return value if isinstance(value, dict) else {}
        return {}


@dataclass
class Compare:
    """One table row: a hostmap measure against a peer measure, with a target."""

    kind: str
    hostmap: str
    peer: str
    target_ratio: float | None = None
    target_mb: float | None = None
    flat: str | None = None
    """Name of the same hostmap measure on the next smaller size (memory-flat target)."""
    target_text: str = ""


def run_measured(command: list[str], timeout: float, workdir: Path) -> tuple[float, float, int,
                                                                               str]:
    """(wall seconds, peak RSS MB, exit code, stdout head) of one run of `command`."""
    out_path = workdir / "stdout"
    err_path = workdir / "stderr"
    time_path = workdir / "time"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        if os.path.exists(GNU_TIME):
            full = [GNU_TIME, "-o", str(time_path), "-f", "%M %e", *command]
            started = time.perf_counter()
            # A session of its own: on timeout the whole group goes, not only GNU time.
            proc = subprocess.Popen(full, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
            # GNU time's %M is the largest single process; hostmap reading one file in
            # parts runs several at once, so the processes' sum is polled as well.
            tree_peak = 0
            while (code := proc.poll()) is None:
                if time.perf_counter() - started > timeout:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    raise subprocess.TimeoutExpired(command, timeout)
                tree_peak = max(tree_peak, _descendants_rss(proc.pid))
                time.sleep(0.05)
            wall = time.perf_counter() - started
            lines = time_path.read_text().strip().splitlines()
            peak_mb = int(lines[-1].split()[0]) / 1024 if lines else float("nan")
            peak_mb = max(peak_mb, tree_peak / 2**20)
        else:
            wall, peak_mb, code = _run_polled(command, out, err, timeout)
    with out_path.open("rb") as f:
        head = f.read(1 << 16).decode("utf-8", "replace")
    if code not in (0, 1):
        head += "\n" + err_path.read_text(errors="replace")[-2000:]
    return wall, peak_mb, code, head


def _descendants_rss(root: int) -> int:
    """Bytes resident in the processes below `root` (Linux /proc; 0 elsewhere)."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return 0
    for entry in entries:
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    total, todo = 0, list(children.get(root, []))
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            with open(f"/proc/{pid}/statm", encoding="ascii") as statm:
                total += int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    return total


def _run_polled(command: list[str], out: object, err: object, timeout: float
                ) -> tuple[float, float, int]:
    """Fallback without GNU time: poll the RSS of the process tree with psutil."""
    try:
        import psutil  # type: ignore[import-untyped]
    except ImportError:
        psutil = None
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=out, stderr=err,  # type: ignore[arg-type]
                            stdin=subprocess.DEVNULL, start_new_session=True)
    peak = 0
    handle = psutil.Process(proc.pid) if psutil else None
    while proc.poll() is None:
        if handle is not None:
            try:
                rss = handle.memory_info().rss + sum(
                    c.memory_info().rss for c in handle.children(recursive=True))
                peak = max(peak, rss)
            except psutil.Error:
                pass
        if time.perf_counter() - started > timeout:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise subprocess.TimeoutExpired(command, timeout)
        time.sleep(0.02)
    wall = time.perf_counter() - started
    return wall, (peak / 2**20 if handle is not None else float("nan")), proc.returncode


def ensure_inputs(size: str, kinds: list[str], data: Path) -> dict[str, dict[str, object]]:
    """The manifest entries for `kinds` at `size`, generating what is missing."""
    manifest_path = data / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    usable = manifest.get("size") == size and manifest.get("seed") == DEFAULT_SEED
    inputs = manifest.get("inputs", {}) if usable else {}
    missing = [k for k in kinds if k not in inputs or not (data / FILES[k]).exists()
               or (data / FILES[k]).stat().st_size != inputs[k]["bytes"]]
    if missing:
        print(f"generating {size} {','.join(missing)} in {data} ...", file=sys.stderr)
        started = time.perf_counter()
        subprocess.run([PYTHON, str(HERE / "generate.py"), "--size", size, "--kind",
                        ",".join(missing), "--out", str(data)], check=True)
        print(f"  generated in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        manifest = json.loads(manifest_path.read_text())
        inputs = manifest["inputs"]
    return {k: inputs[k] for k in kinds}


def _which(name: str) -> str | None:
    beside = Path(PYTHON).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


def plan(kind: str, file: Path, report: Path, smaller_file: Path | None,
         analyze: bool) -> tuple[list[Measure], list[Compare]]:
    """The commands to measure for one kind, and the rows comparing them."""
    f = str(file)
    measures = [Measure("hostmap ingest", [PYTHON, str(HERE / "_ingest.py"), f])]
    if kind != "pdns":  # passive DNS loads through DuckDB (load_into): no reader-only path
        measures.append(Measure("hostmap read only",
                                [PYTHON, str(HERE / "_ingest.py"), "--no-store", f]))
    if analyze:
        measures.append(Measure("hostmap analyze", [PYTHON, "-m", "hostmap", "analyze", f,
                                                    "--json", "-q", "-o", str(report)],
                                ok_codes=(0, 1)))
    if smaller_file is not None:
        measures.append(Measure("hostmap ingest, smaller size",
                                [PYTHON, str(HERE / "_ingest.py"), str(smaller_file)]))
    compares: list[Compare] = []
    flat = "hostmap ingest, smaller size" if smaller_file is not None else None
    if kind == "pcap":
        tshark = shutil.which("tshark")
        measures.append(Measure("tshark -T fields", [
            tshark or "tshark", "-r", f, "-T", "fields", "-e", "dns.qry.name", "-e", "dns.a",
            "-e", "dns.aaaa", "-e", "tls.handshake.extensions_server_name", "-e", "http.host"],
            available=None if tshark else "tshark not installed (apt-get install tshark)"))
        compares += [Compare(kind, "hostmap ingest", "tshark -T fields", 4.0, 150.0,
                             target_text=">= 4x, <= 150 MB")]
        compares += [Compare(kind, m, "tshark -T fields") for m in
                     ("hostmap read only", "hostmap analyze")]
    elif kind == "har":
        jq = shutil.which("jq")
        measures.append(Measure("jq @tsv", [
            jq or "jq", "-r", ".log.entries[] | [.request.url, .serverIPAddress] | @tsv", f],
            available=None if jq else "jq not installed (apt-get install jq)"))
        compares += [Compare(kind, "hostmap ingest", "jq @tsv", 1.0, 300.0,
                             target_text=">= 1x, <= 300 MB")]
        compares += [Compare(kind, m, "jq @tsv") for m in ("hostmap read only",
                                                             "hostmap analyze")]
    elif kind == "mitm":
        mitmdump = _which("mitmdump")
        measures.append(Measure("FlowReader loop", [PYTHON, str(HERE / "_peers.py"),
                                                    "flowreader", f]))
        measures.append(Measure("mitmdump -n -r -q", [mitmdump or "mitmdump", "-n", "-r", f,
                                                       "-q"],
                                available=None if mitmdump else "mitmdump not installed"))
        compares += [Compare(kind, "hostmap ingest", "FlowReader loop", 3.0, flat=flat,
                             target_text=">= 3x, memory flat")]
        compares += [Compare(kind, "hostmap ingest", "mitmdump -n -r -q")]
        compares += [Compare(kind, m, "FlowReader loop") for m in ("hostmap read only",
                                                                    "hostmap analyze")]
    elif kind == "zone":
        measures.append(Measure("dns.zone.from_file", [PYTHON, str(HERE / "_peers.py"),
                                                       "dnszone", f]))
        compares += [Compare(kind, "hostmap ingest", "dns.zone.from_file", 5.0, flat=flat,
                             target_text=">= 5x, memory flat")]
        compares += [Compare(kind, m, "dns.zone.from_file") for m in ("hostmap read only",
                                                                       "hostmap analyze")]
    elif kind == "pdns":
        measures.append(Measure("hostmap load + GROUP BY", [
            PYTHON, str(HERE / "_pdns_query.py"), "hostmap", f, "--threads", "2"]))
        measures.append(Measure("duckdb read_json + GROUP BY", [
            PYTHON, str(HERE / "_pdns_query.py"), "duckdb", f, "--threads", "2"]))
        compares += [Compare(kind, "hostmap load + GROUP BY", "duckdb read_json + GROUP BY",
                             1 / 1.5, 2048.0, target_text="time <= 1.5x, <= 2 GB")]
        compares += [Compare(kind, m, "duckdb read_json + GROUP BY") for m in
                     ("hostmap ingest", "hostmap analyze")]
    names = {m.name for m in measures}
    return measures, [c for c in compares if c.hostmap in names and c.peer in names]


def source_state() -> dict[str, object]:
    """Which hostmap was measured: commit, files changed since, and a hash of src/ as it is."""
    repo = HERE.parent
    state: dict[str, object] = {}
    try:
        state["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo,
                                         capture_output=True, text=True, check=True
                                         ).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=repo,
                                capture_output=True, text=True, check=True).stdout
        state["src_changed_files"] = len(status.splitlines())
    except (OSError, subprocess.CalledProcessError):
        state["commit"] = "unknown"
    digest = hashlib.sha256()
    for path in sorted((repo / "src").rglob("*.py")):
        digest.update(str(path.relative_to(repo)).encode() + b"\0" + path.read_bytes())
    state["src_sha256"] = digest.hexdigest()[:12]
    return state


def _fmt_rate(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 1e6:
        return f"{value / 1e6:.2f}M/s"
    if value >= 1e3:
        return f"{value / 1e3:.1f}k/s"
    return f"{value:.0f}/s"


def _fmt_mb(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def evaluate(c: Compare, measures: dict[str, Measure], count: int) -> dict[str, object]:
    h, p = measures[c.hostmap], measures[c.peer]
    h_rate = count / h.wall if h.wall and not h.failure else None
    p_rate = count / p.wall if p.wall and not p.failure else None
    ratio = h_rate / p_rate if h_rate and p_rate else None
    met: list[bool] = []
    notes: list[str] = []
    if c.target_ratio is not None:
        if ratio is None:
            notes.append("ratio n/a")
        else:
            met.append(ratio >= c.target_ratio)
    if c.target_mb is not None and h.peak_mb is not None:
        met.append(h.peak_mb <= c.target_mb)
    if c.flat is not None:
        small = measures.get(c.flat)
        if small is not None and small.peak_mb and h.peak_mb:
            growth = h.peak_mb / small.peak_mb
            met.append(h.peak_mb <= small.peak_mb * FLAT_GROWTH + FLAT_SLACK_MB)
            notes.append(f"peak {growth:.2f}x the smaller size's {small.peak_mb:.0f} MB")
        else:
            notes.append("flatness n/a")
    elif "flat" in c.target_text:
        notes.append("flatness n/a: no smaller size")
    if not c.target_text:
        verdict = ""
    elif p.available or p.failure or h.failure:
        verdict = "skipped"
    elif met and all(met) and "ratio n/a" not in notes:
        verdict = "yes"
    else:
        verdict = "no"
    return {"hostmap": c.hostmap, "peer": c.peer, "hostmap_rate": h_rate, "peer_rate": p_rate,
            "ratio": ratio, "hostmap_peak_mb": h.peak_mb, "peer_peak_mb": p.peak_mb,
            "target": c.target_text, "met": verdict, "notes": "; ".join(notes),
            "peer_note": p.available or p.failure or "", "hostmap_note": h.failure or ""}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=PEER_HELP,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=list(SIZES), default="small")
    parser.add_argument("--only", default=",".join(KINDS),
                        help=f"comma list of kinds (default: {','.join(KINDS)})")
    parser.add_argument("--repeat", type=int, default=3, help="runs per command (median wall)")
    parser.add_argument("--data", type=Path, default=None,
                        help="folder of generated inputs (default benchmarks/data/SIZE)")
    parser.add_argument("--no-analyze", action="store_true",
                        help="leave out `hostmap analyze` (ingest and peers only)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per command run")
    parser.add_argument("--analyze-timeout", type=float, default=900,
                        help="seconds per `hostmap analyze` run (it can take far longer than "
                             "ingest on DNS-heavy inputs); a run past it is reported, not kept")
    parser.add_argument("--json", type=Path, help="also write every measurement to this file")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args(argv)
    kinds = [k for k in args.only.split(",") if k]
    if unknown := [k for k in kinds if k not in KINDS]:
        parser.error(f"unknown kind {', '.join(unknown)}; known: {', '.join(KINDS)}")
    data = args.data or HERE / "data" / args.size
    inputs = ensure_inputs(args.size, kinds, data)
    smaller = SMALLER[args.size]
    smaller_inputs: dict[str, dict[str, object]] = {}
    flat_kinds = [k for k in kinds if k in ("mitm", "zone")]
    if smaller and flat_kinds:
        smaller_inputs = ensure_inputs(smaller, flat_kinds, HERE / "data" / smaller)
    if not os.path.exists(GNU_TIME):
        print(f"note: {GNU_TIME} not found; peak memory by psutil polling", file=sys.stderr)
    rows: list[dict[str, object]] = []
    state = source_state()
    raw: dict[str, object] = {"size": args.size, "repeat": args.repeat, "inputs": inputs,
                              "source": state, "measures": {}}
    with tempfile.TemporaryDirectory(prefix="hostmap-bench-") as tmp:
        workdir = Path(tmp)
        for kind in kinds:
            entry = inputs[kind]
            file = data / str(entry["file"])
            smaller_file = (HERE / "data" / str(smaller) / str(smaller_inputs[kind]["file"])
                            if kind in smaller_inputs else None)
            measures, compares = plan(kind, file, workdir / "report.json", smaller_file,
                                      not args.no_analyze)
            by_name = {m.name: m for m in measures}
            for m in measures:
                if m.available:
                    print(f"{kind}: {m.name}: skipped, {m.available}", file=sys.stderr)
            # Rounds, not blocks: each round runs every command once, so a change in the
            # machine's load hits hostmap and its peers alike.
            for round_ in range(args.repeat):
                for m in measures:
                    if m.available or m.failure or (round_ and m.name.endswith("smaller size")):
                        continue
                    timeout = args.analyze_timeout if m.name == "hostmap analyze" \
                        else args.timeout
                    try:
                        wall, peak, code, head = run_measured(m.command, timeout, workdir)
                    except subprocess.TimeoutExpired:
                        m.failure = f"timed out after {timeout:.0f} s"
                        print(f"{kind}: {m.name}: {m.failure}", file=sys.stderr)
                        continue
                    if code not in m.ok_codes:
                        m.failure = f"exit code {code}"
                        print(f"{kind}: {m.name}: exit {code}: {head[-500:]}", file=sys.stderr)
                        continue
                    m.walls.append(wall)
                    m.peaks_mb.append(peak)
                    m.output = head
                    print(f"{kind}: {m.name}: run {round_ + 1}: {wall:.2f} s, {peak:.0f} MB "
                          f"{json.dumps(m.info) if m.info else ''}", file=sys.stderr)
            count = int(entry["count"])  # type: ignore[call-overload]
            for c in compares:
                row = evaluate(c, by_name, count)
                row.update(kind=kind, count=count, unit=entry["unit"],
                           mb=int(entry["bytes"]) / 1e6)  # type: ignore[call-overload]
                rows.append(row)
            raw["measures"][kind] = {  # type: ignore[index]
                m.name: {"command": m.command, "walls": m.walls, "peaks_mb": m.peaks_mb,
                         "info": m.info, "failure": m.failure or m.available}
                for m in measures}
    print_table(rows, args.size, args.repeat, markdown=args.markdown)
    end_state = source_state()
    if end_state["src_sha256"] != state["src_sha256"]:
        raw["source_at_end"] = end_state
        print(f"\nwarning: src/ changed during the run (sha256 {state['src_sha256']} -> "
              f"{end_state['src_sha256']}): rows measured before and after differ in code")
    print(f"\nhostmap measured (src at the start of the run): commit {state.get('commit')}, "
          f"{state.get('src_changed_files', '?')} files under src/ changed since, "
          f"src sha256 {state['src_sha256']}; {os.cpu_count()} CPUs; "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    if args.json:
        raw["rows"] = rows
        args.json.write_text(json.dumps(raw, indent=2, default=str) + "\n")
    return 0


def print_table(rows: list[dict[str, object]], size: str, repeat: int, markdown: bool) -> None:
    header = ["input", "size", "hostmap", "rate", "peer", "peer rate", "hostmap/peer",
              "hostmap MB", "peer MB", "target", "met?"]
    table = []
    for r in rows:
        table.append([
            str(r["kind"]), f"{r['count']:,} {r['unit']} ({r['mb']:,.0f} MB)",
            str(r["hostmap"]) + (f" ({r['hostmap_note']})" if r["hostmap_note"] else ""),
            _fmt_rate(r["hostmap_rate"]),  # type: ignore[arg-type]
            str(r["peer"]) + (f" ({r['peer_note']})" if r["peer_note"] else ""),
            _fmt_rate(r["peer_rate"]),  # type: ignore[arg-type]
            f"{r['ratio']:.2f}x" if r["ratio"] is not None else "-",
            _fmt_mb(r["hostmap_peak_mb"]), _fmt_mb(r["peer_peak_mb"]),  # type: ignore[arg-type]
            str(r["target"]) or "-",
            str(r["met"]) + (f" ({r['notes']})" if r["notes"] and r["target"] else ""),
        ])
    print(f"\nsize {size}, median of {repeat} runs; rates in input units per second of wall "
          f"time\n")
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join("---" for _ in header) + "|")
        for line in table:
            print("| " + " | ".join(cell.replace("|", "\\|") for cell in line) + " |")
        return
    widths = [max(len(h), *(len(line[i]) for line in table)) if table else len(h)
              for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for line in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)))


if __name__ == "__main__":
    sys.exit(main())
