"""Which host names a report is about (`host_names`), and the store's bounded memory."""

from __future__ import annotations

from pathlib import Path

from hostmap.analyze import host_names, run_analyses
from hostmap.model import RecordType
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
