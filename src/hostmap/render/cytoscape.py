"""The map as Cytoscape.js JSON (`cy.json(...)`, also read by Cytoscape desktop's JSON import).

`{"elements": {"nodes": [{"data": {...}, "classes": kind}], "edges": [...]}}`
with every graph attribute kept (lists and dicts stay JSON arrays and
objects); `data.id`, `data.source` and `data.target` are the graph's
readable ids, always strings.
"""

from __future__ import annotations

import json
from typing import Any

import networkx as nx

__all__ = ["render"]


def render(report: dict[str, Any], graph: nx.MultiDiGraph) -> str:
    """The map as Cytoscape.js elements JSON (UTF-8 text)."""
    nodes = [{"data": {"id": str(node), **data}, "classes": data["kind"]}
             for node, data in graph.nodes(data=True)]
    edges = [{"data": {**data, "id": str(key), "source": str(source), "target": str(target)},
              "classes": data["kind"]}
             for source, target, key, data in graph.edges(keys=True, data=True)]
    document = {
        "format_version": "1.0",
        "generated_by": "hostmap",
        "target_cytoscapejs_version": "~3",
        "data": dict(graph.graph),
        "elements": {"nodes": nodes, "edges": edges},
    }
    return json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n"
