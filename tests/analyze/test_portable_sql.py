"""The portable queries give what hostmap's own analyses give, on DuckDB and on Spark."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from hostmap.analyze import run_analyses
from hostmap.analyze.portable_sql import MIGRATIONS_SQL, SHARED_ADDRESSES_SQL
from hostmap.pipeline import load_paths
from hostmap.store import Store
from tests.conftest import HENAN


@pytest.fixture(scope="module")
def henan_parquet(tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("parquet")
    store = Store()
    load_paths(store, [HENAN])
    report = run_analyses(store)
    store.export_parquet(folder)
    store.close()
    return folder, report


def _duckdb(folder: Path, sql: str) -> list[tuple]:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"CREATE VIEW resolution AS SELECT * FROM '{folder / 'resolution.parquet'}'")
    return con.execute(sql).fetchall()


def test_on_duckdb_the_migration_query_finds_what_the_analysis_finds(henan_parquet):
    folder, report = henan_parquet
    rows = [(n, a, b, d.isoformat()) for n, a, b, d in _duckdb(folder, MIGRATIONS_SQL)]
    expected = [(m["name"], m["from_address"], m["to_address"], m["date"])
                for m in report["migrations"]]
    assert rows == expected == [("zz-jkm.hnzwfw.gov.cn", "42.236.74.19", "117.160.221.251",
                                 "2021-12-29")]


def test_on_duckdb_the_shared_query_counts_the_names_on_the_front(henan_parquet):
    folder, _ = henan_parquet
    rows = _duckdb(folder, SHARED_ADDRESSES_SQL)
    assert rows[0][:2] == ("117.160.221.251", 22)


def _spark_available() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java runtime for Spark"
    return None


# Spark talks to its own JVM over loopback sockets, so it runs in a child process: this
# process keeps its no-network guard, and the child only reads the exported Parquet.
_SPARK_SCRIPT = """
import json, sys
from pyspark.sql import SparkSession
from hostmap.analyze.portable_sql import MIGRATIONS_SQL, SHARED_ADDRESSES_SQL
spark = (SparkSession.builder.master("local[1]").appName("hostmap-test")
         .config("spark.sql.session.timeZone", "UTC").config("spark.ui.enabled", "false")
         .getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
spark.read.parquet(sys.argv[1]).createOrReplaceTempView("resolution")
moves = [[r.name, r.from_address, r.to_address, r.moved_on.isoformat()]
         for r in spark.sql(MIGRATIONS_SQL).collect()]
shared = [[r.address, r.names] for r in spark.sql(SHARED_ADDRESSES_SQL).collect()]
spark.stop()
print(json.dumps({"moves": moves, "shared": shared}))
"""


def test_on_spark_the_same_queries_give_the_same_answers(henan_parquet):
    reason = _spark_available()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the Spark check: {reason}")
        pytest.skip(reason)
    folder, report = henan_parquet
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable}
    result = subprocess.run([sys.executable, "-c", _SPARK_SCRIPT,
                             str(folder / "resolution.parquet")],
                            capture_output=True, text=True, timeout=600, env=env, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["moves"] == [[m["name"], m["from_address"], m["to_address"], m["date"]]
                               for m in report["migrations"]]
    assert answer["shared"] == [[a, n] for a, n, *_ in _duckdb(folder, SHARED_ADDRESSES_SQL)]
