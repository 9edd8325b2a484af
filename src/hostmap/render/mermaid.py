"""The map as a Mermaid flowchart, for Markdown viewers that draw Mermaid (GitHub, GitLab, ...).

`flowchart LR` with one subgraph per front (the front, its address, its
backends) and one per host-name family.  Node ids are `n0`, `n1`, ... and
subgraph ids `s0`, `s1`, ...; every label is quoted and written with
Mermaid's entity escapes (`#quot;`, `#lt;`, `#35;` ...) by
`_escape.mermaid_label`, so a name carrying markup or Mermaid syntax shows
as text.  A resolves-to or cname edge that no longer held at the report's
moment is dotted.  `too_large` says when mermaid.js (and GitHub) would draw
only an error instead.
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from hostmap.graph import clusters
from hostmap.render._escape import mermaid_label

__all__ = ["MERMAID_MAX_CHARS", "MERMAID_MAX_EDGES", "render", "too_large"]

MERMAID_MAX_CHARS = 50_000
MERMAID_MAX_EDGES = 500
"""mermaid.js's default maxTextSize and maxEdges."""


def too_large(graph: nx.MultiDiGraph, flowchart: str | bytes) -> bool:
    """Whether mermaid.js, as configured by default, draws `flowchart` only as an error."""
    return graph.number_of_edges() > MERMAID_MAX_EDGES or len(flowchart) > MERMAID_MAX_CHARS

# Mermaid node shapes around a quoted label: (open, close).
_SHAPES = {
    "endpoint": ("([", "])"),
    "host": ("(", ")"),
    "address": ("[", "]"),
    "front": ("{{", "}}"),
    "backend": ("[[", "]]"),
    "operator": ("[/", "/]"),
    "certificate": (">", "]"),
    "family": ("[(", ")]"),
    "place": ("[\\", "/]"),
}
_CLASSES = {
    "endpoint": "fill:#bfdbfe,stroke:#1d4ed8,stroke-width:2px",
    "host": "fill:#e0f2fe,stroke:#0369a1",
    "address": "fill:#fde68a,stroke:#92400e",
    "front": "fill:#fca5a5,stroke:#b91c1c,stroke-width:2px",
    "backend": "fill:#fecaca,stroke:#b91c1c",
    "operator": "fill:#d9f99d,stroke:#4d7c0f",
    "certificate": "fill:#e9d5ff,stroke:#7e22ce",
    "family": "fill:#fbcfe8,stroke:#be185d",
    "place": "fill:#ccfbf1,stroke:#0f766e",
}
_UNLABELLED = {"member-of-family", "names-place"}


def _node(ident: str, data: dict[str, Any]) -> str:
    opening, closing = _SHAPES.get(data["kind"], ("[", "]"))
    return f"{ident}{opening}{mermaid_label(data['label'])}{closing}"


def _edge(source: str, target: str, data: dict[str, Any]) -> str:
    kind = data["kind"]
    if kind == "member-of-family":
        return f"{source} -.- {target}"
    arrow = "-.->" if kind in _UNLABELLED or data.get("current") is False else "-->"
    if kind in ("contacted", "fronted-by"):
        arrow = "==>"
    if kind in _UNLABELLED:
        return f"{source} {arrow} {target}"
    text = kind
    if kind == "resolves-to" and (data.get("first_seen") or data.get("last_seen")):
        first, last = (data.get("first_seen") or "?")[:10], (data.get("last_seen") or "?")[:10]
        text += f" {first}" if first == last else f" {first} to {last}"
    return f"{source} {arrow}|{mermaid_label(text)}| {target}"


def render(report: dict[str, Any], graph: nx.MultiDiGraph) -> str:
    """The map as Mermaid flowchart text."""
    ids = {node: f"n{i}" for i, node in enumerate(graph.nodes)}  # never data in an id
    lines = ["flowchart LR"]
    placed: set[str] = set()
    for i, (head, members) in enumerate(clusters(graph)):
        data = graph.nodes[head]
        title = (f"front on {data.get('address', '')}" if data["kind"] == "front"
                 else f"family {data['label']}")
        lines.append(f"  subgraph s{i} [{mermaid_label(title)}]")
        lines += [f"    {_node(ids[n], graph.nodes[n])}" for n in members]
        lines.append("  end")
        placed.update(members)
    lines += [f"  {_node(ids[n], d)}" for n, d in graph.nodes(data=True) if n not in placed]
    lines += [f"  {_edge(ids[u], ids[v], d)}" for u, v, d in graph.edges(data=True)]
    by_kind: dict[str, list[str]] = {}
    for node, data in graph.nodes(data=True):
        by_kind.setdefault(data["kind"], []).append(ids[node])
    for kind, members in sorted(by_kind.items()):
        name = "k_" + kind.replace("-", "_")
        lines.append(f"  classDef {name} {_CLASSES.get(kind, 'fill:#f3f4f6')}")
        lines.append(f"  class {','.join(members)} {name}")
    return "\n".join(lines) + "\n"
