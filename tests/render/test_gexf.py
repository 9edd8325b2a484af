"""GEXF: Gephi's format read back by networkx, dynamic resolves-to edges, scalar attributes."""

from __future__ import annotations

import io

import networkx as nx

from hostmap.render import gexf
from tests.test_graph import HOSTILE, henan_case, hostile_case


def _read(data: bytes) -> nx.Graph:
    return nx.read_gexf(io.BytesIO(data))


def test_henan_map_reads_back_with_every_node_and_edge():
    report, graph = henan_case()
    data = gexf.render(report, graph)
    back = _read(data)
    assert set(back.nodes) == set(graph.nodes)
    assert back.number_of_edges() == graph.number_of_edges()
    host = back.nodes["host:zz-jkm.hnzwfw.gov.cn"]
    assert (host["kind"], host["family"], host["province"]) == (
        "host", "{}-jkm.hnzwfw.gov.cn", "河南")
    assert back.nodes["address:117.160.221.251"]["operator"].startswith("CMNET-HENAN")
    assert back.nodes["address:117.160.221.251"]["asn"] == 24445
    assert data == gexf.render(report, graph)


def test_resolves_to_edges_are_on_the_timeline():
    report, graph = henan_case()
    data = gexf.render(report, graph)
    assert b'mode="dynamic"' in data and b'timeformat="date"' in data
    back = _read(data)
    spans = {v: (d.get("start"), d.get("end"))
             for _, v, d in back.edges("host:zz-jkm.hnzwfw.gov.cn", data=True)
             if d["kind"] == "resolves-to"}
    assert spans == {"address:42.236.74.19": ("2020-02-07", "2021-12-28"),
                     "address:117.160.221.251": ("2021-12-29", "2022-06-14")}


def test_hostile_names_round_trip_as_text():
    report, graph = hostile_case()
    back = _read(gexf.render(report, graph))
    assert back.number_of_nodes() == graph.number_of_nodes()
    host = f"host:{HOSTILE}.example"
    # The label Gephi shows is one line: the newline is shown as \x0a, markup stays text.
    assert back.nodes[host]["label"] == HOSTILE.replace("\n", "\\x0a") + ".example"
    # XML 1.0 cannot hold a BEL character: it is shown escaped.
    assert back.nodes["operator:AS64500"]["operator"] == HOSTILE + "\\x07"
