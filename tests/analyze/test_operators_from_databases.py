"""Address databases given among the inputs answer for the addresses a run saw."""

from hostmap.analyze import run_analyses
from hostmap.pipeline import load_paths
from hostmap.store import Store
from tests.enrich.address_dbs import ASN_RECORDS, CITY_RECORDS, write_mmdb
from tests.factories import make_resolution, store_of


def test_asn_and_city_databases_complete_each_other_and_are_cited(tmp_path):
    write_mmdb(tmp_path / "asn.mmdb", ASN_RECORDS)
    write_mmdb(tmp_path / "city.bin", CITY_RECORDS)  # found by content, not by its ending
    (tmp_path / "dig.txt").write_text(
        "front.example.cn.\t600\tIN\tA\t117.160.221.251\n", encoding="utf-8")
    store = Store()
    summaries = load_paths(store, [tmp_path])
    assert sorted(s.format or "" for s in summaries) == ["dig", "mmdb", "mmdb"]
    [op] = run_analyses(store)["operators"]
    assert op["asn"] == 24445 and "China Mobile" in op["operator"]
    assert op["city"] == "Pingdingshan 平顶山" and op["region"] == "Henan 河南"
    assert {e["file"].rsplit("/", 1)[-1] for e in op["evidence"]} == {"asn.mmdb", "city.bin"}
    store.close()


def test_without_a_database_the_address_has_no_operator():
    store = store_of(make_resolution(name="front.example.cn", value="117.160.221.251"))
    assert run_analyses(store)["operators"] == []
