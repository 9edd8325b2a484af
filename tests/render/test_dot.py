"""DOT: structure, Graphviz accepts it, and names with markup are drawn as text."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from hostmap.errors import OutputError
from hostmap.graph import clusters
from hostmap.render import dot
from tests.test_graph import henan_case, hostile_case

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_NODE = re.compile(r"^\s*(n\d+) \[", re.M)
_EDGE = re.compile(r"^\s*(n\d+) -> (n\d+) \[", re.M)


def _structure(text: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Declared node ids and edges, after checking braces and brackets balance outside strings."""
    bare = _STRING.sub('""', text)
    assert bare.count("{") == bare.count("}")
    assert bare.count("[") == bare.count("]")
    assert bare.startswith("digraph hostmap {") and bare.rstrip().endswith("}")
    assert '"' not in _STRING.sub("", text), "an unbalanced quote"
    nodes = _NODE.findall(bare)
    edges = _EDGE.findall(bare)
    assert len(nodes) == len(set(nodes))
    assert {end for edge in edges for end in edge} <= set(nodes)
    return nodes, edges


def _graphviz(text: str) -> str:
    done = subprocess.run(["dot", "-Tsvg"], input=text.encode(), capture_output=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


def test_henan_map_declares_every_node_once_and_clusters_fronts_and_families():
    report, graph = henan_case()
    text = dot.render(report, graph)
    nodes, edges = _structure(text)
    assert len(nodes) == graph.number_of_nodes()
    assert len(edges) == graph.number_of_edges()
    assert text.count("subgraph cluster_") == len(clusters(graph))
    assert 'label="family &#123;&#125;-jkm.hnzwfw.gov.cn (18 hosts)"' in text
    assert '"zz-jkm.hnzwfw.gov.cn"' in text
    assert 'label="resolves-to\\n2020-02-07 to 2021-12-28"' in text
    assert text == dot.render(report, graph)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_graphviz_lays_out_the_henan_map():
    report, graph = henan_case()
    svg = _graphviz(dot.render(report, graph))
    assert "117.160.221.251" in svg and "hnzwfw.gov.cn" in svg
    assert dot.render_svg(report, graph).startswith(b"<?xml")
    assert dot.render_png(report, graph).startswith(b"\x89PNG")


@pytest.mark.skipif(shutil.which("sfdp") is None, reason="Graphviz is not installed")
def test_a_large_map_is_drawn_by_sfdp(monkeypatch):
    # dot failed on the 2,024-node map of a 1,000-entry HAR ("trouble in init_rank")
    from tests.render.test_html_page import many_hosts_case

    report, _ = henan_case()
    graph = many_hosts_case()
    assert graph.number_of_nodes() > dot.LAYERED_MAX_NODES
    programs, run = [], subprocess.run
    monkeypatch.setattr(subprocess, "run", lambda args, **kw: programs.append(args[0])
                        or run(args, **kw))
    svg = dot.render_svg(report, graph).decode("utf-8")
    assert [Path(p).name for p in programs] == ["sfdp"]
    assert "h7.c59.example" in svg and "117.160.221.251" in svg
    assert 'class="graph"' in svg and svg.count('class="node"') == graph.number_of_nodes()


def test_hostile_names_stay_text_and_the_dot_still_parses():
    report, graph = hostile_case()
    text = dot.render(report, graph)
    nodes, _ = _structure(text)
    assert len(nodes) == graph.number_of_nodes()
    assert "<img" not in text and "<" not in _STRING.sub("", text)
    assert "&lt;img src=x onerror=alert(1)&gt;\\\"\\\\x0a&#123;&#125;&#124;[]--&gt;" in text
    if shutil.which("dot"):
        svg = _graphviz(text)
        assert "<img" not in svg
        assert "&lt;img src=x onerror=alert(1)&gt;" in svg


def test_without_graphviz_images_fail_with_an_install_hint(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(OutputError, match="apt-get install graphviz"):
        dot.render_image("digraph {}", "svg")
