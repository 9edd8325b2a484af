"""Pure-ingest driver for benchmarks/run.py: read one file with hostmap, print one JSON line.

    python benchmarks/_ingest.py FILE            load_paths into an in-memory Store
    python benchmarks/_ingest.py --no-store FILE only iterate the reader (no Store.add)
    python benchmarks/_ingest.py --jobs 1 FILE   one process (default: every processor)

The JSON line holds records, errors, warnings, the format, and the seconds the
reading took inside the process (without interpreter start-up and imports,
which run.py's wall time includes).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

_started = time.perf_counter()

from pathlib import Path  # noqa: E402

from hostmap.ingest import detect_format, read_file  # noqa: E402
from hostmap.model import ReadIssue, Severity  # noqa: E402
from hostmap.parts import default_jobs  # noqa: E402
from hostmap.pipeline import load_paths  # noqa: E402
from hostmap.store import Store  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("file", type=Path)
    parser.add_argument("--jobs", type=int, default=default_jobs(),
                        help="processes for one big file (load_paths(jobs=N)); default: every "
                             "processor, as the CLI's --jobs")
    parser.add_argument("--no-store", action="store_true",
                        help="iterate the reader only; nothing is loaded into DuckDB")
    args = parser.parse_args()
    imported = time.perf_counter()
    if args.no_store:
        reader = detect_format(args.file)
        records = errors = warnings = 0
        for item in read_file(args.file, reader):
            if isinstance(item, ReadIssue):
                errors += item.severity is Severity.ERROR
                warnings += item.severity is Severity.WARNING
            else:
                records += 1
        fmt = reader.format
    else:
        store = Store()
        summaries = load_paths(store, [args.file], jobs=args.jobs)
        store.close()
        records = sum(s.records for s in summaries)
        errors = sum(s.errors for s in summaries)
        warnings = sum(len(s.issues) for s in summaries) - errors
        fmt = summaries[0].format if summaries else None
    done = time.perf_counter()
    print(json.dumps({"records": records, "errors": errors, "warnings": warnings, "format": fmt,
                      "import_seconds": round(imported - _started, 3),
                      "seconds": round(done - imported, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
