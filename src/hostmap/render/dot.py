"""The map as Graphviz DOT, and drawn to SVG or PNG by Graphviz when it is installed.

Graphviz's layered `dot` draws a map of up to `LAYERED_MAX_NODES` nodes; a larger
one goes to its force-directed `sfdp`, which takes seconds where `dot` takes
minutes or fails ("trouble in init_rank" on 2,000 nodes with clusters).

Fronts (with their address and backends) and host-name families are drawn
as clusters; node shapes and colours follow the node kind; a resolves-to
edge carries the dates it was seen and is dashed when it no longer held at
the report's moment.  Node ids are `n0`, `n1`, ... (the data never reaches an
id); every label is a plain quoted string escaped by `_escape.dot_string`,
never an HTML-like label, so a name carrying markup or DOT syntax is drawn
as text.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import networkx as nx

from hostmap.errors import OutputError
from hostmap.graph import clusters
from hostmap.render._escape import dot_string

__all__ = ["IMAGE_FORMATS", "render", "render_image", "render_png", "render_svg"]

IMAGE_FORMATS = ("svg", "png")
LAYERED_MAX_NODES = 300
"""The largest map drawn with `dot`; larger ones with `sfdp`."""
DOT_TIMEOUT = 600
"""Seconds Graphviz may take to lay out one map."""

_NODE_STYLE: dict[str, dict[str, str]] = {
    "endpoint": {"shape": "box", "style": '"rounded,filled,bold"', "fillcolor": '"#bfdbfe"'},
    "host": {"shape": "ellipse", "style": "filled", "fillcolor": '"#e0f2fe"'},
    "address": {"shape": "box", "style": "filled", "fillcolor": '"#fde68a"'},
    "front": {"shape": "hexagon", "style": "filled", "fillcolor": '"#fca5a5"'},
    "backend": {"shape": "box3d", "style": "filled", "fillcolor": '"#fecaca"'},
    "operator": {"shape": "component", "style": "filled", "fillcolor": '"#d9f99d"'},
    "certificate": {"shape": "note", "style": "filled", "fillcolor": '"#e9d5ff"'},
    "family": {"shape": "tab", "style": "filled", "fillcolor": '"#fbcfe8"'},
    "place": {"shape": "house", "style": "filled", "fillcolor": '"#ccfbf1"'},
}
_EDGE_STYLE: dict[str, dict[str, str]] = {
    "contacted": {"color": '"#1d4ed8"', "penwidth": "2"},
    "resolves-to": {"color": '"#92400e"'},
    "cname": {"color": '"#0e7490"', "style": "bold"},
    "fronted-by": {"color": '"#b91c1c"', "penwidth": "2"},
    "backend-of": {"color": '"#b91c1c"', "style": "dashed"},
    "announced-by": {"color": '"#4d7c0f"'},
    "presents-certificate": {"color": '"#7e22ce"'},
    "member-of-family": {"color": '"#be185d"', "style": "dotted", "arrowhead": "none"},
    "names-place": {"color": '"#0f766e"', "style": "dotted"},
}
_CLUSTER_STYLE = {
    "front": 'style="rounded,filled"; fillcolor="#fff1f2"; color="#b91c1c"',
    "family": 'style="rounded,dashed"; color="#be185d"',
}
_UNLABELLED = {"member-of-family", "names-place"}


def _day(text: str | None) -> str:
    return text[:10] if text else "?"


def _span(data: dict[str, Any]) -> str | None:
    first, last = data.get("first_seen"), data.get("last_seen")
    if first is None and last is None:
        return None
    if _day(first) == _day(last):
        return _day(first)
    return f"{_day(first)} to {_day(last)}"


def _tooltip(data: dict[str, Any]) -> str:
    cited = "; ".join(f"{e['file']}: {e['locator']}" if e["locator"] else e["file"]
                      for e in data["evidence"][:3])
    more = data["evidence_total"] - min(3, len(data["evidence"]))
    span = _span(data)
    return (f"{data['kind']}" + (f", seen {span}" if span else "")
            + f"; evidence: {cited}" + (f" and {more} more" if more > 0 else ""))


def _attrs(attrs: dict[str, str]) -> str:
    return "[" + ", ".join(f"{key}={value}" for key, value in attrs.items()) + "]"


def _node_line(ident: str, data: dict[str, Any]) -> str:
    attrs = {"label": dot_string(data["label"]), "tooltip": dot_string(_tooltip(data))}
    attrs.update(_NODE_STYLE.get(data["kind"], {"shape": "box"}))
    return f"{ident} {_attrs(attrs)};"


def _edge_line(source: str, target: str, data: dict[str, Any]) -> str:
    kind = data["kind"]
    attrs = {"tooltip": dot_string(_tooltip(data))}
    if kind not in _UNLABELLED:
        span = _span(data) if kind == "resolves-to" else None
        attrs["label"] = dot_string(kind, span) if span else dot_string(kind)
    attrs.update(_EDGE_STYLE.get(kind, {}))
    if kind in ("resolves-to", "cname") and data.get("current") is False:
        attrs["style"] = "dashed"  # no longer held at the report's moment
    return f"{source} -> {target} {_attrs(attrs)};"


def render(report: dict[str, Any], graph: nx.MultiDiGraph) -> str:
    """The map as a DOT digraph (UTF-8 text)."""
    ids = {node: f"n{i}" for i, node in enumerate(graph.nodes)}  # never data in an id
    at = report.get("at")
    title = f"hostmap infrastructure map at {graph.graph.get('at') or at or '?'}"
    lines = [
        "digraph hostmap {",
        f"  graph [rankdir=LR, compound=true, fontname=Helvetica, fontsize=11, "
        f"labelloc=t, label={dot_string(title)}];",
        "  node [fontname=Helvetica, fontsize=10];",
        "  edge [fontname=Helvetica, fontsize=8];",
    ]
    placed: set[str] = set()
    for i, (head, members) in enumerate(clusters(graph)):
        kind = graph.nodes[head]["kind"]
        data = graph.nodes[head]
        title = (f"front on {data.get('address', '')}" if kind == "front"
                 else f"family {data['label']} ({data.get('size', len(members) - 1)} hosts)")
        lines.append(f"  subgraph cluster_{i} {{")
        lines.append(f"    label={dot_string(title)}; {_CLUSTER_STYLE[kind]};")
        for node in members:
            lines.append("    " + _node_line(ids[node], graph.nodes[node]))
            placed.add(node)
        lines.append("  }")
    for node, data in graph.nodes(data=True):
        if node not in placed:
            lines.append("  " + _node_line(ids[node], data))
    for source, target, data in graph.edges(data=True):
        lines.append("  " + _edge_line(ids[source], ids[target], data))
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_image(dot_text: str, fmt: str, engine: str = "dot") -> bytes:
    """`dot_text` laid out and drawn by Graphviz's `engine` (dot, sfdp) as `fmt` (svg
    or png)."""
    if fmt not in IMAGE_FORMATS:
        raise ValueError(f"unknown image format {fmt!r}; expected one of {IMAGE_FORMATS}")
    program = shutil.which(engine)
    if program is None:
        raise OutputError(f"Graphviz `{engine}` is not installed; install graphviz "
                          "(apt-get install graphviz) or use --format dot")
    try:
        done = subprocess.run([program, f"-T{fmt}"], input=dot_text.encode("utf-8"),
                              capture_output=True, timeout=DOT_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as exc:
        raise OutputError(f"Graphviz `{engine}` took longer than {DOT_TIMEOUT} s") from exc
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise OutputError(f"Graphviz `{engine}` failed (exit {done.returncode}): "
                          f"{message[0] if message else 'no message'}")
    return done.stdout


def _engine(graph: nx.MultiDiGraph) -> str:
    return "dot" if graph.number_of_nodes() <= LAYERED_MAX_NODES else "sfdp"


def render_svg(report: dict[str, Any], graph: nx.MultiDiGraph) -> bytes:
    """The map drawn as SVG by Graphviz."""
    return render_image(render(report, graph), "svg", _engine(graph))


def render_png(report: dict[str, Any], graph: nx.MultiDiGraph) -> bytes:
    """The map drawn as PNG by Graphviz."""
    return render_image(render(report, graph), "png", _engine(graph))
