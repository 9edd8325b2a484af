"""The infrastructure map: nodes, edges, evidence and times, on the Henan case and by hand.

`henan_case()` and `hostile_case()` are shared with tests/render/.
"""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

import networkx as nx

from hostmap.analyze import run_analyses
from hostmap.graph import EDGE_KINDS, NODE_KINDS, build_graph, clusters
from hostmap.model import Certificate, RecordType, ResolutionSource
from hostmap.pipeline import load_paths
from hostmap.store import Store
from tests.conftest import HENAN
from tests.factories import (
    T0,
    make_address_info,
    make_http_exchange,
    make_resolution,
    prov,
    store_of,
)

HOSTILE = '<img src=x onerror=alert(1)>"\n{}|[]-->'
"""Markup, quotes, a newline and the syntax of DOT, Mermaid and Markdown, in one name."""
CITY_FAMILY = "{}-jkm.hnzwfw.gov.cn"


@functools.cache
def henan_case() -> tuple[dict[str, Any], nx.MultiDiGraph]:
    """The bundled Henan 2022 case: its report and its map (shared: do not modify)."""
    store = Store()
    load_paths(store, [HENAN])
    report = run_analyses(store)
    return report, build_graph(store, report)


def _hostile_front(address: str) -> dict[str, Any]:
    ev = [{"file": f"{HOSTILE}.har", "format": "har", "locator": f"entry {HOSTILE}"}]
    return {
        "address": address, "verdict": "load-balancer", "confidence": 0.91,
        "also": [{"verdict": "reverse-proxy", "confidence": 0.35}], "hosts": [HOSTILE],
        "operator": {"asn": 64500, "operator": HOSTILE, "country": "CN", "region": None,
                     "city": None},
        "signals": [{"signal": "headers", "supports": "load-balancer", "weight": 0.35,
                     "detail": f"Server: {HOSTILE}", "evidence": ev, "evidence_total": 1}],
        "backends": [{"vendor": HOSTILE, "address": None, "port": None, "id": HOSTILE,
                      "pool": HOSTILE, "note": HOSTILE, "evidence": ev}],
    }


@functools.cache
def hostile_case() -> tuple[dict[str, Any], nx.MultiDiGraph]:
    """Names, operators, certificates, fronts and a family all carrying markup and syntax."""
    host = f"{HOSTILE}.example"
    items: list[Any] = [
        make_http_exchange(host=host, server_address="192.0.2.7",
                           response_headers=(("Server", HOSTILE),)),
        make_resolution(name=host, value="192.0.2.7"),
        make_resolution(name="cdn.example", rtype=RecordType.CNAME, value=host),
        make_address_info(operator=HOSTILE + "\x07"),
        Certificate(provenance=prov(), host=host, fingerprint_sha256="ab" * 32,
                    subject=HOSTILE, address="192.0.2.7", port=443, time=T0),
    ]
    items += [make_resolution(name=f"{token}-{HOSTILE}.example.cn", value="192.0.2.7",
                              provenance=prov(f"line {i}", f"{HOSTILE}.txt", "dig"))
              for i, token in enumerate(("zz", "kf", "ly"))]
    store = store_of(*items)
    report = run_analyses(store)
    report["fronts"] = [_hostile_front("192.0.2.7")]
    return report, build_graph(store, report)


def _edges(graph: nx.MultiDiGraph, kind: str, source: str | None = None
           ) -> list[tuple[str, str, dict[str, Any]]]:
    return [(u, v, d) for u, v, d in graph.edges(source, data=True) if d["kind"] == kind]


def test_henan_map_has_the_shared_address_its_front_and_its_operator():
    report, graph = henan_case()
    address = graph.nodes["address:117.160.221.251"]
    assert address["kind"] == "address"
    assert address["asn"] == 24445
    hosts = {u for u, _, d in graph.in_edges("address:117.160.221.251", data=True)
             if d["kind"] == "resolves-to"}
    assert len(hosts) == 22
    [(_, operator, _)] = _edges(graph, "announced-by", "address:117.160.221.251")
    assert graph.nodes[operator]["label"].startswith("AS24445 ")
    endpoints = {u for u, _, d in graph.in_edges("address:117.160.221.251", data=True)
                 if d["kind"] == "contacted"}
    assert endpoints == {"endpoint:https://login.hnzwfw.gov.cn:443",
                         "endpoint:http://yshb.hnzwfw.gov.cn:7777"}
    if report.get("fronts"):
        [(_, front, _)] = _edges(graph, "fronted-by", "address:117.160.221.251")
        assert front == "front:117.160.221.251"
        assert graph.nodes[front]["label"].startswith("load-balancer ")


def test_henan_city_hosts_are_family_members_that_name_places():
    _, graph = henan_case()
    family = f"family:{CITY_FAMILY}"
    members = [u for u, _, d in graph.in_edges(family, data=True)
               if d["kind"] == "member-of-family"]
    assert len(members) == 18
    places = set()
    for host in members:
        [(_, place, edge)] = _edges(graph, "names-place", host)
        assert graph.nodes[place]["province"] == "河南"
        assert edge["place_status"] == "matched"
        assert graph.nodes[host]["family"] == CITY_FAMILY
        places.add(place)
    assert len(places) == 18
    assert graph.nodes["place:410100"]["label"].startswith("Zhengzhou")


def test_henan_zz_jkm_moves_between_two_dated_resolves_to_edges():
    _, graph = henan_case()
    edges = {v: d for _, v, d in _edges(graph, "resolves-to", "host:zz-jkm.hnzwfw.gov.cn")}
    assert set(edges) == {"address:42.236.74.19", "address:117.160.221.251"}
    old, new = edges["address:42.236.74.19"], edges["address:117.160.221.251"]
    assert old["last_seen"].startswith("2021-12-28") and old["current"] is False
    assert new["first_seen"].startswith("2021-12-29") and new["current"] is True
    assert "passive-dns" in old["sources"]


def test_henan_cnames_point_at_the_front_name():
    _, graph = henan_case()
    sources = {u for u, v, d in graph.edges(data=True)
               if d["kind"] == "cname" and v == "host:slb.hnzwfw.gov.cn"}
    assert sources == {"host:pds-jkm.hnzwfw.gov.cn", "host:yshb.hnzwfw.gov.cn"}


def test_every_node_and_edge_has_evidence_and_a_known_kind():
    for _, graph in (henan_case(), hostile_case()):
        for _, data in graph.nodes(data=True):
            assert data["kind"] in NODE_KINDS
            assert data["evidence"] and len(data["evidence"]) <= 20
            assert data["evidence_total"] >= len(data["evidence"])
            assert set(data["evidence"][0]) == {"file", "format", "locator"}
            assert "label" in data
        for _, _, data in graph.edges(data=True):
            assert data["kind"] in EDGE_KINDS
            assert data["evidence"] and data["evidence_total"] >= len(data["evidence"])
            for key in ("first_seen", "last_seen"):
                assert key not in data or data[key].endswith("Z")


def test_the_map_is_built_in_the_same_order_every_time():
    store = store_of(make_resolution(name="b.example", value="192.0.2.2"),
                     make_resolution(name="a.example", value="192.0.2.1"))
    report = run_analyses(store)
    first, second = build_graph(store, report), build_graph(store, report)
    assert list(first.nodes) == sorted(first.nodes) == list(second.nodes)
    assert list(first.edges(keys=True)) == list(second.edges(keys=True))
    assert list(first.nodes(data=True)) == list(second.nodes(data=True))


def test_undated_records_make_one_undated_resolves_to_edge():
    store = store_of(make_resolution(name="z.example", value="192.0.2.9", first_seen=None,
                                     last_seen=None, source=ResolutionSource.ZONE,
                                     provenance=prov("line 3", "db.example", "zone")))
    graph = build_graph(store, run_analyses(store))
    [(_, target, key, data)] = graph.out_edges("host:z.example", keys=True, data=True)
    assert target == "address:192.0.2.9"
    assert key == data["id"] == "resolves-to:host:z.example->address:192.0.2.9"
    assert "first_seen" not in data and data["sources"] == ["zone"]
    assert data["evidence"] == [{"file": "db.example", "format": "zone", "locator": "line 3"}]


def test_dated_periods_are_separate_edges_with_their_span():
    later = T0 + timedelta(days=30)
    store = store_of(make_resolution(name="m.example", value="192.0.2.1"),
                     make_resolution(name="m.example", value="198.51.100.1", first_seen=later,
                                     last_seen=later, provenance=prov("line 9", "dig.txt", "dig")))
    graph = build_graph(store, run_analyses(store))
    spans = {v: (d["first_seen"], d["last_seen"])
             for _, v, d in _edges(graph, "resolves-to", "host:m.example")}
    assert spans == {"address:192.0.2.1": ("2022-06-14T02:00:00Z", "2022-06-14T02:00:00Z"),
                     "address:198.51.100.1": ("2022-07-14T02:00:00Z", "2022-07-14T02:00:00Z")}
    assert graph.nodes["host:m.example"]["first_seen"] == "2022-06-14T02:00:00Z"
    assert graph.nodes["host:m.example"]["last_seen"] == "2022-07-14T02:00:00Z"


def test_fronts_backends_and_certificates_become_nodes():
    report, graph = hostile_case()
    front = graph.nodes["front:192.0.2.7"]
    assert (front["label"], front["verdict"], front["confidence"]) == (
        "load-balancer 0.91", "load-balancer", 0.91)
    [(_, target, _)] = _edges(graph, "fronted-by", "address:192.0.2.7")
    assert target == "front:192.0.2.7"
    [(backend, _, _)] = [e for e in graph.in_edges("front:192.0.2.7", data=True)
                         if e[2]["kind"] == "backend-of"]
    assert graph.nodes[backend]["vendor"] == HOSTILE
    [(_, cert, edge)] = _edges(graph, "presents-certificate", f"host:{HOSTILE}.example")
    assert cert == "certificate:" + "ab" * 32
    assert graph.nodes[cert]["subject"] == HOSTILE and edge["ports"] == [443]
    assert [head for head, _ in clusters(graph)][0] == "front:192.0.2.7"


def test_dedicated_and_unknown_fronts_stay_attributes_of_the_address():
    store = store_of(make_resolution())
    report = run_analyses(store)
    report["fronts"] = [{**_hostile_front("192.0.2.1"), "verdict": "dedicated",
                         "confidence": 0.5}]
    graph = build_graph(store, report)
    assert "front:192.0.2.1" not in graph
    assert graph.nodes["address:192.0.2.1"]["verdict"] == "dedicated"


def test_a_report_without_fronts_still_maps():
    report, _ = henan_case()
    store = Store()
    load_paths(store, [HENAN])
    graph = build_graph(store, {k: v for k, v in report.items() if k != "fronts"})
    assert not [n for n, d in graph.nodes(data=True) if d["kind"] in ("front", "backend")]
