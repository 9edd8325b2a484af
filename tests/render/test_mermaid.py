"""Mermaid: every edge and class line names declared ids, subgraphs close, labels stay text."""

from __future__ import annotations

import re

from hostmap.graph import clusters
from hostmap.render import mermaid
from tests.test_graph import henan_case, hostile_case

_LABEL = re.compile(r'"[^"\n]*"')
_OPEN = r"(\(\[|\[\[|\[\(|\[/|\[\\|\{\{|\(|\[|>)"
_CLOSE = r"(\]\)|\]\]|\)\]|/\]|\}\}|\)|\])"
_NODE = re.compile(rf"^\s*(n\d+){_OPEN}\"\"{_CLOSE}$")
_EDGE = re.compile(r"^\s*(n\d+) (-->|-\.->|==>|-\.-)(\|\"\"\|)? (n\d+)$")
_CLASS = re.compile(r"^\s*class ((?:n\d+,)*n\d+) k_[a-z_]+$")


def _check(text: str) -> tuple[list[str], int]:
    lines = _LABEL.sub('""', text).splitlines()
    assert lines[0] == "flowchart LR"
    declared: list[str] = []
    edges = depth = 0
    for line in lines[1:]:
        stripped = line.strip()
        if re.fullmatch(r'subgraph s\d+ \[""\]', stripped):
            depth += 1
        elif stripped == "end":
            depth -= 1
            assert depth >= 0
        elif m := _NODE.match(line):
            declared.append(m.group(1))
        elif m := _EDGE.match(line):
            assert m.group(1) in declared and m.group(4) in declared, line
            edges += 1
        elif m := _CLASS.match(line):
            assert set(m.group(1).split(",")) <= set(declared), line
        else:
            assert stripped.startswith("classDef k_"), f"unexpected line: {line!r}"
    assert depth == 0
    assert len(declared) == len(set(declared))
    return declared, edges


def test_henan_flowchart_is_well_formed():
    report, graph = henan_case()
    text = mermaid.render(report, graph)
    declared, edges = _check(text)
    assert len(declared) == graph.number_of_nodes()
    assert edges == graph.number_of_edges()
    assert text.count("  subgraph ") == len(clusters(graph))
    assert '"resolves-to 2020-02-07 to 2021-12-28"' in text
    assert '("zz-jkm.hnzwfw.gov.cn")' in text


def test_hostile_names_are_entity_escaped():
    report, graph = hostile_case()
    text = mermaid.render(report, graph)
    declared, _ = _check(text)
    assert len(declared) == graph.number_of_nodes()
    assert "<img" not in text and "-->." not in text
    assert "#lt;img src=x onerror=alert(1)#gt;#quot;" in text
    assert "#91;#93;--#gt;" in text
