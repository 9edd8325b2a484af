"""The map as one interactive HTML page that works opened from disk, with no network.

The page inlines everything it needs: the vendored Cytoscape.js
(`hostmap/data/vendor/`, see VENDOR.md there), the page's own script and
style (`hostmap/data/map.js`, `map.css`) and the map itself as Cytoscape.js
elements (`hostmap.render.cytoscape`) in a `<script type="application/json"
id="hostmap-data">` block.  A Content-Security-Policy meta tag allows inline
script and style and `data:` images only, so the page can load nothing.

What the page shows: nodes coloured by kind and front verdict, with each
front (its address and backends) and each host family drawn inside a
compound box; a search box (`#search`); a side panel (`#details`) with the
clicked node's kind, label, time range, attributes, neighbours and evidence;
and a time control (`#time`, `#time-label`, `#all-time`) that keeps only the
resolves-to edges valid on the chosen day.  The script puts data into the
page with `textContent` only.  Tests drive it through `window.hostmap`.

Layout: a map of at most `COSE_MAX_NODES` nodes is laid out by the browser
(Cytoscape's force-directed "cose").  Its cost grows with the square of the
nodes (~8 s for 500 on the test machine, minutes for the 2,000 nodes of a
capture of a few hundred requests), so a larger map comes with positions
worked out here (`quick_layout`) and without the compound boxes.

Safety of the embedded data: the JSON has every `<`, `>` and `&` written as
a `\\u003c`-style escape (so no `</script>` or `<!--` can occur in it), and
U+2028 / U+2029, C1 controls and bidi overrides escaped too (so the file holds
none raw, while `JSON.parse` gives the data back exactly); the page's script
shows them as `\\xNN` / `\\uNNNN`.  The inlined scripts are checked for
`</script` and `<!--` before they are written.
"""

from __future__ import annotations

import html
import json
import re
from functools import cache
from importlib import resources
from typing import Any

import networkx as nx

from hostmap.graph import clusters
from hostmap.render import cytoscape

__all__ = ["COSE_MAX_NODES", "CSP", "DATA_ID", "VENDOR_JS", "embed_json", "page_data",
           "quick_layout", "render"]

COSE_MAX_NODES = 300
"""Up to this many nodes the page lays the map out itself (a few seconds); beyond, it is
given `quick_layout`'s positions."""

_SPRING_MAX_NODES = 400
"""networkx lays out a group of up to this many nodes with NumPy (more needs SciPy)."""
_SEED = 20220614

CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
       "img-src data:; base-uri 'none'; form-action 'none'")
"""The page's Content-Security-Policy: inline script and style, data: images, nothing loaded."""

DATA_ID = "hostmap-data"
VENDOR_JS = "vendor/cytoscape.min.js"
"""The vendored library, relative to the hostmap.data package."""

# `<`, `>`, `&` could end the script element; U+2028/2029 end a line in old JavaScript;
# C1 controls (U+009B is a terminal's CSI) and bidi overrides must not sit raw in a file a
# terminal or editor may show.  JSON.parse gives each back exactly; the page's script then
# shows them as \xNN / \uNNNN, as the text report does.
_JSON_UNSAFE = re.compile("[<>&\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# What would end or confuse an inline <script> / <style> element's text.
_SCRIPT_UNSAFE = re.compile(r"</script|<!--", re.IGNORECASE)
_STYLE_UNSAFE = re.compile(r"</style", re.IGNORECASE)


def embed_json(value: Any) -> str:
    """`value` as JSON text that is safe inside an HTML `<script>` element.

    JSON allows any character to be written as `\\uXXXX`, and characters
    outside strings are never `<`, `>`, `&` or U+2028/2029, so the escapes
    only ever land inside strings and `JSON.parse` gives back `value` exactly.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


@cache
def _asset(name: str) -> str:
    text = resources.files("hostmap.data").joinpath(name).read_text(encoding="utf-8")
    unsafe = _STYLE_UNSAFE if name.endswith(".css") else _SCRIPT_UNSAFE
    if unsafe.search(text):
        raise RuntimeError(f"hostmap/data/{name} holds {unsafe.pattern!r}: it cannot be inlined")
    return text


def _group_label(graph: nx.MultiDiGraph, head: str) -> str:
    data = graph.nodes[head]
    if data["kind"] == "front":
        return f"front on {data.get('address', '')}: {data['label']}"
    return f"family {data['label']}"


def page_data(report: dict[str, Any], graph: nx.MultiDiGraph) -> dict[str, Any]:
    """What the page's script reads: Cytoscape.js elements, the groups and a summary."""
    doc = json.loads(cytoscape.render(report, graph))
    groups = []
    for head, members in clusters(graph):
        # A front's address stays outside its box (drawn with the verdict's colour and
        # a fronted-by edge): its many resolves-to edges would drag the box across
        # the whole map.
        members = [m for m in members if graph.nodes[m]["kind"] != "address"]
        if len(members) > 1:
            groups.append({"id": f"group:{head}", "head": head, "members": members,
                           "label": _group_label(graph, head), "kind": graph.nodes[head]["kind"],
                           "verdict": graph.nodes[head].get("verdict")})
    data = {
        "schema": "hostmap/html-map/1",
        "at": str(graph.graph.get("at") or report.get("at") or ""),
        "elements": doc["elements"],
        "groups": groups,
    }
    if graph.number_of_nodes() > COSE_MAX_NODES:
        data["positions"] = {str(node): xy for node, xy in quick_layout(graph).items()}
    return data


def quick_layout(graph: nx.MultiDiGraph) -> dict[Any, list[float]]:
    """Positions for a map too large for the page's own layout, in a few seconds for
    thousands of nodes: the graph's communities (Louvain, split again while larger
    than networkx can lay out with NumPy), each drawn with networkx's spring layout
    and sized by its number of nodes, packed in rows, the largest first."""
    simple = nx.Graph(graph)
    pending = [set(c) for c in nx.community.louvain_communities(simple, seed=_SEED)]
    communities = []
    while pending:
        community = pending.pop()
        if len(community) <= _SPRING_MAX_NODES:
            communities.append(community)
            continue
        parts = nx.community.louvain_communities(simple.subgraph(community), resolution=2,
                                                 seed=_SEED)
        if len(parts) > 1:
            pending.extend(set(part) for part in parts)
        else:  # cannot be split: drawn as a circle
            communities.append(community)
    communities.sort(key=lambda c: (-len(c), min(map(str, c))))
    boxes = []
    for community in communities:
        sub = simple.subgraph(community)
        size = 40.0 * len(community) ** 0.5  # half the box's side, in pixels
        if len(community) <= _SPRING_MAX_NODES:
            layout = nx.spring_layout(sub, seed=_SEED, scale=size)
        else:
            layout = nx.circular_layout(sub, scale=size)
        boxes.append((size, layout))
    width = sum((2 * size + 60) ** 2 for size, _ in boxes) ** 0.5
    positions: dict[Any, list[float]] = {}
    x = y = row_height = 0.0
    for size, layout in boxes:
        side = 2 * size + 60
        if x > 0 and x + side > width:
            x, y, row_height = 0.0, y + row_height, 0.0
        centre_x, centre_y = x + side / 2, y + side / 2
        for node, (px, py) in layout.items():
            positions[node] = [round(centre_x + float(px), 1), round(centre_y + float(py), 1)]
        x += side
        row_height = max(row_height, side)
    return positions


def _title(data: dict[str, Any]) -> str:
    at = data["at"]
    return f"hostmap map at {at}" if at else "hostmap map"


def render(report: dict[str, Any], graph: nx.MultiDiGraph) -> str:
    """The map as one self-contained HTML page (UTF-8 text)."""
    data = page_data(report, graph)
    title = html.escape(_title(data))
    nodes, edges = graph.number_of_nodes(), graph.number_of_edges()
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="hostmap">
<title>{title}</title>
<style>
{_asset("map.css")}
</style>
</head>
<body>
<header id="bar">
  <h1>{title}</h1>
  <input id="search" type="search" placeholder="find a host or address" autocomplete="off"
         spellcheck="false" aria-label="find a host or address">
  <span id="matches" aria-live="polite"></span>
  <span class="time">
    <label><input id="all-time" type="checkbox" checked> all time</label>
    <input id="time" type="range" min="0" max="0" step="1" value="0"
           aria-label="day the resolves-to edges must hold on" list="time-marks">
    <datalist id="time-marks"></datalist>
    <output id="time-label" for="time">all time</output>
  </span>
  <span id="counts">{nodes} nodes, {edges} edges</span>
</header>
<main>
  <div id="cy" role="img" aria-label="infrastructure map"></div>
  <aside id="panel">
    <div id="details" aria-live="polite"><p class="hint">Click a node for its details.</p></div>
    <div id="legend"></div>
  </aside>
</main>
<noscript>This map needs JavaScript; the same data is in the JSON and text reports.</noscript>
<script type="application/json" id="{DATA_ID}">{embed_json(data)}</script>
<script>
{_asset(VENDOR_JS)}
</script>
<script>
{_asset("map.js")}
</script>
</body>
</html>
"""
