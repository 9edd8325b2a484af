"""Which names ever shared each address: hostmap's way against DuckDB's bare query.

    python benchmarks/_pdns_query.py hostmap FILE [--threads 2]
    python benchmarks/_pdns_query.py duckdb FILE [--threads 2]

hostmap: `hostmap.pipeline.load_paths` reads the COF lines into an in-memory
`Store` (the passive-DNS reader's DuckDB bulk path, one `Resolution` per
rdata value; the store holds at most `MEMORY_LIMIT` and spills the rest to a
temporary folder), then one GROUP BY over the `resolution` table.
hostmap has no "ever shared" analysis of its own: `analyze.shared` answers
"shared at one moment" for the report's hosts through `resolve_hosts`; the
GROUP BY below is what the store offers for the question over all time.

duckdb: the same question straight from the file, DuckDB reading the JSON
itself (`read_json`, newline-delimited), with `SET threads` as given.

Both keep A and AAAA rows only (addresses) and print one JSON line: the
number of shared addresses, the number of (address, name) pairs in the
answer, load and query seconds.  Names differ in spelling (hostmap drops the
trailing dot and lower-cases) but not in number, so the counts must agree.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HOSTMAP_SQL = """
    SELECT value AS address, list(DISTINCT name) AS names
    FROM resolution
    WHERE rtype IN ('A', 'AAAA')
    GROUP BY value
    HAVING count(DISTINCT name) > 1
"""

DUCKDB_SQL = """
    SELECT address, list(DISTINCT rrname) AS names
    FROM (SELECT unnest(rdata) AS address, rrname
          FROM read_json(?, format = 'newline_delimited')
          WHERE rrtype IN ('A', 'AAAA'))
    GROUP BY address
    HAVING count(DISTINCT rrname) > 1
"""


def run_hostmap(path: Path, threads: int) -> dict[str, object]:
    from hostmap.pipeline import load_paths
    from hostmap.store import Store

    started = time.perf_counter()
    store = Store()
    store.con.execute(f"SET threads = {threads}")
    summaries = load_paths(store, [path])
    loaded = time.perf_counter()
    rows = store.con.execute(HOSTMAP_SQL).fetchall()
    done = time.perf_counter()
    store.close()
    return {"engine": "hostmap", "records": sum(s.records for s in summaries),
            "errors": sum(s.errors for s in summaries), "shared_addresses": len(rows),
            "pairs": sum(len(names) for _, names in rows),
            "load_seconds": round(loaded - started, 3), "query_seconds": round(done - loaded, 3),
            "seconds": round(done - started, 3)}


def run_duckdb(path: Path, threads: int) -> dict[str, object]:
    import duckdb

    started = time.perf_counter()
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    rows = con.execute(DUCKDB_SQL, [str(path)]).fetchall()
    done = time.perf_counter()
    con.close()
    return {"engine": "duckdb", "shared_addresses": len(rows),
            "pairs": sum(len(names) for _, names in rows), "load_seconds": 0.0,
            "query_seconds": round(done - started, 3), "seconds": round(done - started, 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description="shared-address query, hostmap vs DuckDB")
    parser.add_argument("engine", choices=("hostmap", "duckdb"))
    parser.add_argument("file", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    run = run_hostmap if args.engine == "hostmap" else run_duckdb
    print(json.dumps(run(args.file, args.threads)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
