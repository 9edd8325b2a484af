"""The map as GEXF 1.2 for Gephi, with resolves-to edges on Gephi's timeline.

Nodes carry the attributes Gephi partitions and colours by (`kind`,
`verdict`, `family`, `province`, `operator`, `asn`, ...); every value is one
string, number or boolean (lists and dicts as JSON text, see
`_escape.flat_graph`).  A resolves-to edge seen over a span gets GEXF
`start` / `end` dates (the graph is written in mode "dynamic", timeformat
"date"), so Gephi's timeline shows a host leaving one address for another.
Dates rather than date-times: GEXF's "date" is xsd:date, which both Gephi
and networkx's reader accept.
"""

from __future__ import annotations

import io
from typing import Any

import networkx as nx
from networkx.readwrite.gexf import GEXFWriter

from hostmap.render._escape import flat_graph, visible

__all__ = ["render"]


def render(report: dict[str, Any], graph: nx.MultiDiGraph) -> bytes:
    """The map as a GEXF document (UTF-8 XML bytes)."""
    out = flat_graph(graph)
    out.graph = {"name": "hostmap", "mode": "dynamic"}
    for node, data in out.nodes(data=True):
        # What Gephi shows: control characters and bidi overrides as \xNN / \uNNNN.
        data["label"] = visible(data.get("label", node))
    for _, _, data in out.edges(data=True):
        data["label"] = data["kind"]
        if data["kind"] == "resolves-to":
            if isinstance(data.get("first_seen"), str):
                data["start"] = data["first_seen"][:10]
            if isinstance(data.get("last_seen"), str):
                data["end"] = data["last_seen"][:10]
    writer = GEXFWriter(encoding="utf-8", prettyprint=True, version="1.2draft")
    # The writer stamps today's date into <meta>; the report's moment keeps output reproducible.
    meta = writer.xml.find("meta")
    if meta is not None:
        meta.set("lastmodifieddate", str(graph.graph.get("at") or "1970-01-01")[:10])
        creator = meta.find("creator")
        if creator is not None:
            creator.text = "hostmap"
    writer.add_graph(out)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()
