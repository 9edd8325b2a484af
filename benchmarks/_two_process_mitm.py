"""Experiment, not a hostmap feature: a flow dump ingested by two processes at once.

    python benchmarks/_two_process_mitm.py FILE

The records are split in two halves at a record boundary (length prefixes
only, nothing decoded); each half is read by the mitmproxy reader's own
per-record code in a forked process into a store of its own, then written out
as Parquet (what a parent would attach and append in file order; that merge is
not done here).  It prints one JSON line: the wall time, and each worker's
records, seconds and peak RSS.  Compare its wall time with `_ingest.py FILE`
run right before or after it (this machine's speed moves by ~40% within an
hour).  It answers one question for the scale issue: what the second core
would buy.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def record_offsets(path: Path) -> list[int]:
    """Where each record starts: the length prefixes only."""
    starts = []
    with path.open("rb") as f:
        size = os.fstat(f.fileno()).st_size
        position = 0
        while position < size:
            f.seek(position)
            head = f.read(13)
            colon = head.index(b":")
            starts.append(position)
            position += colon + 1 + int(head[:colon]) + 1
    return starts


def worker(path: Path, first_index: int, start: int, end: int, out: Path, results: Any) -> None:
    from hostmap.ingest import mitmproxy_flows
    from hostmap.model import Provenance
    from hostmap.store import Store

    started = time.perf_counter()
    store = Store()
    input_id = store.begin_input()
    items = 0
    with path.open("rb") as stream, store.streaming():
        stream.seek(start)
        index = first_index
        while stream.tell() < end:
            record = mitmproxy_flows._next_record(stream)
            at = Provenance(file=str(path), format="mitmproxy", locator=f"flow {index}")
            for item in mitmproxy_flows._fast_or_mitmproxy_items(record, at):
                store.add(input_id, item)
                items += 1
            index += 1
        store.flush()
    store.export_parquet(out)
    store.close()
    with open("/proc/self/status", encoding="ascii") as status:
        peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
    results.put({"first_flow": first_index, "items": items,
                 "seconds": round(time.perf_counter() - started, 2), "peak_mb": peak // 1024})


def main() -> int:
    path = Path(sys.argv[1])
    started = time.perf_counter()
    starts = record_offsets(path)
    half = len(starts) // 2
    context = mp.get_context("fork")
    results = context.Queue()
    with tempfile.TemporaryDirectory(prefix="hostmap-two-") as folder:
        workers = [
            context.Process(target=worker, args=(path, 0, 0, starts[half],
                                                 Path(folder, "a"), results)),
            context.Process(target=worker, args=(path, half, starts[half], path.stat().st_size,
                                                 Path(folder, "b"), results)),
        ]
        for process in workers:
            process.start()
        done = sorted((results.get() for _ in workers), key=lambda r: r["first_flow"])
        for process in workers:
            process.join()
    print(json.dumps({"flows": len(starts), "seconds": round(time.perf_counter() - started, 2),
                      "workers": done}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
