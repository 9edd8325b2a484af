"""Which host names a report is about (`host_names`), and the store's bounded memory."""

from __future__ import annotations

from pathlib import Path

from hostmap.analyze import host_names, run_analyses
from hostmap.model import RecordType
from hostmap.pipeline import load_paths
from hostmap.store import Store
from tests.factories import make_http_exchange, make_resolution, store_of


def test_without_traffic_every_dns_name_is_a_host():
    store = store_of(
        make_resolution(name="a.example", value="192.0.2.1"),
        make_resolution(name="b.example", rtype=RecordType.CNAME, value="c.example"),
        make_resolution(name="1.2.0.192.in-addr.arpa", rtype=RecordType.PTR, value="a.example"),
    )
    assert host_names(store) == ["a.example", "b.example", "c.example"]


def test_with_traffic_dns_names_count_when_they_reach_its_infrastructure():
    store = store_of(
        make_http_exchange(host="app.example", server_address="192.0.2.1"),
        # the contacted name's chain, over all time
        make_resolution(name="app.example", rtype=RecordType.CNAME, value="lb.example"),
        make_resolution(name="lb.example", value="192.0.2.9"),
        # on an address the traffic reaches: by DNS, or by the connection itself
        make_resolution(name="city1.example", value="192.0.2.9"),
        make_resolution(name="city2.example", value="192.0.2.1"),
        # a CNAME into the chain, with its own chain
        make_resolution(name="alias.example", rtype=RecordType.CNAME, value="lb.example"),
        # elsewhere in a passive-DNS export: not about this case
        make_resolution(name="unrelated.example", value="198.51.100.7"),
        make_resolution(name="other.example", rtype=RecordType.CNAME, value="unrelated.example"),
    )
    assert host_names(store) == ["alias.example", "app.example", "city1.example",
                                 "city2.example", "lb.example"]
    report = run_analyses(store)
    assert "unrelated.example" not in {h["name"] for h in report["hosts"]}
    [group] = [g for g in report["shared"] if g["target"] == "192.0.2.9"]
    assert [m["host"] for m in group["hosts"]] == ["alias.example", "app.example",
                                                   "city1.example", "lb.example"]


def test_an_in_memory_store_spills_to_a_folder_removed_on_close():
    store = Store(memory_limit="64MB")
    limit, folder = store.con.execute(
        "SELECT current_setting('memory_limit'), current_setting('temp_directory')").fetchall()[0]
    assert limit.startswith("61.0 MiB") or limit.startswith("64")
    assert Path(folder).is_dir()
    # more than the limit: DuckDB writes to the folder instead of failing
    store.con.execute("CREATE TABLE big AS SELECT range AS i, repeat('x', 40) || range AS s "
                      "FROM range(3000000)")
    assert store.con.execute("SELECT count(DISTINCT s) FROM big").fetchall() == [(3000000,)]
    store.close()
    assert not Path(folder).exists()


def _zone_of_long_names(path: Path, count: int) -> Path:
    lines = ["$ORIGIN many.example.", "$TTL 300", "@ IN SOA ns1 hostmaster 1 3600 600 86400 300"]
    lines += [f"host-{i:06d}-{'x' * 40}.{'y' * 40} IN A 198.51.{i % 256}.{i // 256 % 256}"
              for i in range(count)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _count_names(store: Store) -> tuple[int, int]:
    row = store.query("SELECT count(*) AS n, count(DISTINCT name) AS names FROM resolution "
                      "WHERE rtype = 'A'")[0]
    return row["n"], row["names"]


def test_rows_streamed_from_a_reader_spill_past_the_small_limit_and_all_come_back(tmp_path):
    # 200,000 A records with long names: ~30 MB of table data against a 16 MB stream limit
    zone = _zone_of_long_names(tmp_path / "many.example.zone", 200_000)
    store = Store(memory_limit="256MB", stream_memory_limit="16MB")
    try:
        [summary] = load_paths(store, [zone])
        assert summary.errors == 0
        used, spilled = store.con.execute(
            "SELECT sum(memory_usage_bytes), sum(temporary_storage_bytes) "
            "FROM duckdb_memory()").fetchall()[0]
        assert used <= 16 * 2**20 and spilled > 0
        # queries get the whole limit back, and see every row
        limit = store.con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        assert limit.startswith(("244", "256"))
        assert _count_names(store) == (200_000, 200_000)
        assert summary.records == 200_001  # and the SOA
    finally:
        store.close()


def test_a_batch_too_big_for_the_stream_limit_is_still_stored(tmp_path):
    zone = _zone_of_long_names(tmp_path / "many.example.zone", 20_000)
    store = Store(memory_limit="256MB", stream_memory_limit="2MB")
    try:
        [summary] = load_paths(store, [zone])
        assert summary.errors == 0 and summary.records == 20_001
        assert _count_names(store) == (20_000, 20_000)
    finally:
        store.close()


def test_spill_folders_of_processes_that_died_are_removed_and_live_ones_kept(tmp_path,
                                                                            monkeypatch):
    import os
    import subprocess
    import sys
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    dead = tmp_path / f"hostmap-store-{gone}-abc"
    (dead / "duckdb_temp_storage").mkdir(parents=True)
    (dead / "duckdb_temp_storage" / "block").write_bytes(b"x" * 1024)
    alive = tmp_path / f"hostmap-store-{os.getpid()}-def"
    alive.mkdir()
    other = tmp_path / "hostmap-store-notes"
    other.mkdir()
    store = Store()
    try:
        assert not dead.exists()
        assert alive.is_dir() and other.is_dir()
        folder = Path(store.con.execute("SELECT current_setting('temp_directory')").fetchone()[0])
        assert folder.parent == tmp_path and folder.name.startswith(f"hostmap-store-{os.getpid()}-")
    finally:
        store.close()
