"""Cytoscape.js JSON: loads, holds every node and edge, ids are strings that match."""

from __future__ import annotations

import json

from hostmap.render import cytoscape
from tests.test_graph import HOSTILE, henan_case, hostile_case


def test_henan_elements_hold_every_node_and_edge_with_their_attributes():
    report, graph = henan_case()
    doc = json.loads(cytoscape.render(report, graph))
    nodes, edges = doc["elements"]["nodes"], doc["elements"]["edges"]
    assert len(nodes) == graph.number_of_nodes() and len(edges) == graph.number_of_edges()
    ids = {n["data"]["id"] for n in nodes}
    assert all(isinstance(i, str) for i in ids)
    assert all(e["data"]["source"] in ids and e["data"]["target"] in ids for e in edges)
    assert len({e["data"]["id"] for e in edges}) == len(edges)
    zz = next(n for n in nodes if n["data"]["id"] == "host:zz-jkm.hnzwfw.gov.cn")
    assert zz["classes"] == "host" and zz["data"]["evidence"]
    moves = [e["data"] for e in edges if e["data"]["source"] == "host:zz-jkm.hnzwfw.gov.cn"
             and e["data"]["kind"] == "resolves-to"]
    assert sorted(m["first_seen"][:10] for m in moves) == ["2020-02-07", "2021-12-29"]


def test_hostile_names_survive_exactly_as_data():
    report, graph = hostile_case()
    doc = json.loads(cytoscape.render(report, graph))
    labels = {n["data"]["label"] for n in doc["elements"]["nodes"]}
    assert f"{HOSTILE}.example" in labels
    assert len(doc["elements"]["nodes"]) == graph.number_of_nodes()
