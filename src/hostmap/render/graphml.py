"""The map as GraphML, for yEd, Cytoscape desktop, Gephi and graph libraries.

Every node and edge attribute is a GraphML `<data>` value of one type (lists
and dicts as JSON text, see `_escape.flat_graph`); edge ids are the graph's
readable edge ids.
"""

from __future__ import annotations

import io
from typing import Any

import networkx as nx

from hostmap.render._escape import flat_graph

__all__ = ["render"]


def render(report: dict[str, Any], graph: nx.MultiDiGraph) -> bytes:
    """The map as a GraphML document (UTF-8 XML bytes)."""
    buffer = io.BytesIO()
    nx.write_graphml(flat_graph(graph), buffer, encoding="utf-8", prettyprint=True,
                     edge_id_from_attribute="id")
    return buffer.getvalue()
