"""The reference case end to end: findings F1-F4 and F6 from the fixture captures alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hostmap.analyze import run_analyses
from hostmap.pipeline import load_paths
from hostmap.store import Store

FRONT = "117.160.221.251"
DNS_FILES = ("dig-city-hosts.txt", "passive-dns.jsonl", "reverse-ip-117.160.221.251.txt",
             "ip-operators.tsv")


def _report(paths: list[Path]) -> dict[str, Any]:
    store = Store()
    summaries = load_paths(store, paths)
    assert [s.path for s in summaries if s.errors] == []
    return run_analyses(store)


@pytest.fixture(scope="module")
def henan_report() -> dict[str, Any]:
    from tests.conftest import HENAN

    return _report([HENAN])


def test_f1_the_app_contacts_yshb_on_7777_and_login_on_443(henan_report):
    endpoints = {(e["host"], e["port"]): e for e in henan_report["endpoints"]}
    assert endpoints[("yshb.hnzwfw.gov.cn", 7777)]["non_standard_port"]
    assert ("login.hnzwfw.gov.cn", 443) in endpoints
    texts = [f["text"] for f in henan_report["findings"] if f["kind"] == "endpoint"]
    assert any("yshb.hnzwfw.gov.cn:7777" in t for t in texts)
    assert all(f["evidence"] for f in henan_report["findings"])


def test_f2_contacted_and_city_hosts_resolve_to_the_front(henan_report):
    hosts = {h["name"]: h for h in henan_report["hosts"]}
    for name in ("yshb.hnzwfw.gov.cn", "login.hnzwfw.gov.cn", "zz-jkm.hnzwfw.gov.cn"):
        assert hosts[name]["addresses"] == [FRONT], name
    assert any(f["kind"] == "resolution" and "yshb.hnzwfw.gov.cn resolves to " + FRONT in f["text"]
               for f in henan_report["findings"])


def test_f3_the_front_is_operated_by_china_mobile_in_pingdingshan_henan(henan_report):
    [op] = [o for o in henan_report["operators"] if o["address"] == FRONT]
    assert "China Mobile" in op["operator"]
    assert "Pingdingshan" in op["city"] and "Henan" in op["region"]
    assert op["evidence"][0]["file"].endswith("ip-operators.tsv")


def test_f4_eighteen_city_hosts_share_the_front_with_their_cities_named(henan_report):
    [family] = [f for f in henan_report["families"] if f["pattern"] == "{}-jkm.hnzwfw.gov.cn"]
    assert family["size"] == 18 and family["places_matched"] == 18
    assert family["shared_addresses"][0] == {"address": FRONT, "members": 18}
    places = {m["token"]: m["place"] for m in family["members"]}
    assert places["zz"]["pinyin"] == "zhengzhou" and places["pds"]["pinyin"] == "pingdingshan"
    assert places["jz"]["pinyin"] == "jiaozuo" and places["xy"]["pinyin"] == "xinyang"
    assert {p["province_pinyin"] for p in places.values()} == {"henan"}
    [finding] = [f for f in henan_report["findings"] if f["kind"] == "family"]
    assert "18 of the 18 hosts" in finding["text"] and FRONT in finding["text"]


def test_f6_zhengzhou_moved_from_a_42_address_to_the_front_on_2021_12_29(henan_report):
    moves = [m for m in henan_report["migrations"] if m["name"] == "zz-jkm.hnzwfw.gov.cn"]
    assert len(moves) == 1
    move = moves[0]
    assert move["from_address"].startswith("42.") and move["to_address"] == FRONT
    assert move["date"] == "2021-12-29"
    assert any(e["file"].endswith("passive-dns.jsonl") for e in move["evidence"])
    assert len(henan_report["migrations"]) == 1, "no other migration is in the fixture"


def test_before_the_move_zhengzhou_resolved_to_the_old_address(henan_dir):
    store = Store()
    load_paths(store, [henan_dir])
    from datetime import UTC, datetime

    report = run_analyses(store, at=datetime(2021, 6, 1, tzinfo=UTC))
    [zz] = [h for h in report["hosts"] if h["name"] == "zz-jkm.hnzwfw.gov.cn"]
    assert [a[:3] for a in zz["addresses"]] == ["42."]


def _facts(report: dict[str, Any]) -> dict[str, Any]:
    """What a reader of the report concludes, without the file names it cites."""
    return {
        "endpoints": sorted((e["scheme"], e["host"], e["port"], e["requests"],
                             tuple(e["server_addresses"])) for e in report["endpoints"]),
        "referenced": sorted(r["host"] for r in report["referenced"]),
        "addresses": sorted((h["name"], tuple(h["addresses"])) for h in report["hosts"]),
        "shared": sorted((g["target"], tuple(m["host"] for m in g["hosts"]))
                         for g in report["shared"]),
        "families": sorted((f["pattern"], f["places_matched"]) for f in report["families"]),
        "migrations": sorted((m["name"], m["from_address"], m["to_address"], m["date"])
                             for m in report["migrations"]),
        "operators": sorted((o["address"], o["operator"]) for o in report["operators"]),
        "findings": sorted(f["text"] for f in report["findings"]),
    }


def test_the_har_alone_and_the_mitmproxy_file_alone_give_the_same_findings(henan_dir):
    dns = [henan_dir / name for name in DNS_FILES]
    from_har = _facts(_report([henan_dir / "app-session.har", *dns]))
    from_mitm = _facts(_report([henan_dir / "app-session.mitm", *dns]))
    assert from_har == from_mitm
    assert from_har["migrations"] and from_har["endpoints"]


def test_f5_the_front_is_a_load_balancer_for_the_city_family_with_its_signals(henan_report):
    [front] = [f for f in henan_report["fronts"] if f["address"] == FRONT]
    assert front["verdict"] == "load-balancer" and front["confidence"] >= 0.8
    assert "China Mobile" in front["operator"]["operator"]
    kinds = {s["signal"] for s in front["signals"]}
    assert {"family", "names", "cname", "cookies", "ports"} <= kinds
    assert all(s["evidence"] for s in front["signals"])
    assert len(front["backends"]) >= 2
    [finding] = [f for f in henan_report["findings"] if f["kind"] == "front"]
    assert "load-balancer" in finding["text"] and "{}-jkm.hnzwfw.gov.cn" in finding["text"]


def _capture_facts(report: dict[str, Any]) -> dict[str, Any]:
    """What must not depend on which tool recorded the session (request counts may: a SAZ
    also holds the CONNECT tunnel, a pcap sees one TLS connection where a proxy saw four
    requests)."""
    facts = _facts(report)
    facts["endpoints"] = sorted((e["scheme"], e["host"], e["port"], tuple(e["server_addresses"]))
                                for e in report["endpoints"])
    facts["findings"] = sorted(f["kind"] for f in report["findings"])
    facts["fronts"] = sorted((f["address"], f["verdict"]) for f in report["fronts"])
    return facts


def test_har_mitmproxy_saz_and_pcap_of_one_session_give_the_same_map(henan_dir):
    dns = [henan_dir / name for name in DNS_FILES]
    facts = {name: _capture_facts(_report([henan_dir / f"app-session.{name}", *dns]))
             for name in ("har", "mitm", "saz", "pcap")}
    for name in ("mitm", "saz", "pcap"):
        assert facts[name] == facts["har"], name
    assert ("http", "yshb.hnzwfw.gov.cn", 7777, ("117.160.221.251",)) in facts["har"]["endpoints"]
