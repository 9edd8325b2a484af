"""GraphML: read back by networkx with the same nodes, edges and attribute values."""

from __future__ import annotations

import io
import json

import networkx as nx

from hostmap.render import graphml
from tests.test_graph import HOSTILE, henan_case, hostile_case


def _read(data: bytes) -> nx.Graph:
    return nx.read_graphml(io.BytesIO(data), force_multigraph=True)


def test_henan_map_reads_back_with_every_node_edge_and_attribute():
    report, graph = henan_case()
    data = graphml.render(report, graph)
    back = _read(data)
    assert list(back.nodes) == list(graph.nodes)
    assert back.number_of_edges() == graph.number_of_edges()
    assert set(k for _, _, k in back.edges(keys=True)) == set(k for *_, k in graph.edges(keys=True))
    node = back.nodes["host:zz-jkm.hnzwfw.gov.cn"]
    assert node["family"] == "{}-jkm.hnzwfw.gov.cn"
    assert json.loads(node["evidence"]) == graph.nodes["host:zz-jkm.hnzwfw.gov.cn"]["evidence"]
    assert back.nodes["address:117.160.221.251"]["asn"] == 24445
    assert data == graphml.render(report, graph)


def test_hostile_names_round_trip_as_text():
    report, graph = hostile_case()
    back = _read(graphml.render(report, graph))
    assert back.number_of_nodes() == graph.number_of_nodes()
    assert back.nodes[f"host:{HOSTILE}.example"]["label"] == f"{HOSTILE}.example"
    assert back.nodes["operator:AS64500"]["operator"] == HOSTILE + "\\x07"
