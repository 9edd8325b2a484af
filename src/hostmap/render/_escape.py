"""Text from the data made safe for each map format: it always shows as text, never as markup.

Host names, operator names, certificate subjects and header values come from
the inputs, so any of them may carry markup or the syntax of the format being
written (`<img onerror=...>`, `"`, `-->`, `|`).  Each function here takes a
value and returns text that the format displays literally.  Control
characters (newlines included) and bidirectional overrides are first shown
as `\\xNN` / `\\uNNNN`, as the text report does, so one record stays one line.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # networkx is imported by the map formats that call flat_graph
    import networkx as nx

__all__ = ["dot_string", "flat_graph", "markdown", "mermaid_label", "visible", "xml_safe"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# XML 1.0 (§2.2) forbids these characters even as character references.
_XML_INVALID = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _show(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(value: object) -> str:
    """`value` as one line of text: None is empty, control characters are shown escaped."""
    text = "" if value is None else str(value)
    return _CONTROL.sub(_show, text)


def xml_safe(value: str) -> str:
    """`value` with what XML 1.0 cannot hold shown escaped (the XML writer escapes the rest)."""
    return _XML_INVALID.sub(_show, value)


# Graphviz decodes HTML character entities in every label (not only HTML-like
# ones), so `&lt;` draws '<' while the DOT text never holds markup.  `{`, `}`
# and `|` only mean something in record shapes, which hostmap does not use;
# they are encoded too so a label stays text whatever shape a user picks.
_DOT_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "{": "&#123;", "}": "&#125;",
                 "|": "&#124;"}


def dot_string(*lines: object) -> str:
    """A double-quoted DOT string showing each value as text, one per line of the label."""
    shown = []
    for line in lines:
        text = visible(line).replace("\\", "\\\\").replace('"', '\\"')
        shown.append("".join(_DOT_ENTITIES.get(ch, ch) for ch in text))
    return '"' + "\\n".join(shown) + '"'


# Mermaid turns `#name;` / `#123;` into the HTML entity `&name;` / `&#123;`
# before drawing, so markup and Mermaid's own syntax (quotes, brackets, pipes,
# arrows, backticks that start a Markdown label) all show as text.
_MERMAID_NAMED = {'"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;"}
_MERMAID_PLAIN = set(" .,:/-_+=@()")


def mermaid_label(value: object) -> str:
    """A double-quoted Mermaid label showing `value` as text."""
    out = []
    for ch in visible(value):
        if ch in _MERMAID_NAMED:
            out.append(_MERMAID_NAMED[ch])
        elif ch.isalnum() or ch in _MERMAID_PLAIN:
            out.append(ch)
        else:
            out.append(f"#{ord(ch)};")
    return '"' + "".join(out) + '"'


# CommonMark lets any ASCII punctuation be backslash-escaped; these are the
# ones that start emphasis, code, links, tables, strikethrough or (on GitHub)
# math inside a line.  '<', '>' and '&' become entities so no HTML is parsed.
_MARKDOWN_ESCAPED = set("\\`*_[]|~$")
_MARKDOWN_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def markdown(value: object) -> str:
    """`value` as inline Markdown text (safe in a paragraph, a list item or a table cell)."""
    out = []
    for ch in visible(value):
        if ch in _MARKDOWN_ENTITIES:
            out.append(_MARKDOWN_ENTITIES[ch])
        elif ch in _MARKDOWN_ESCAPED:
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


Scalar = str | int | float | bool


def _flat(value: Any) -> Scalar:
    if isinstance(value, list | dict | tuple):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                           default=str)
    if isinstance(value, bool | int | float):
        return value
    return xml_safe(str(value))


def flat_graph(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """A copy of `graph` for XML graph formats (GEXF, GraphML): every value one scalar.

    Lists and dicts become compact JSON text; strings lose what XML cannot hold
    (node ids too).  These formats declare one type per attribute name, so a
    name whose values mix types across the graph is written as text throughout.
    """
    import networkx as nx  # here: the text report and the command line do without it

    def types(items: list[dict[str, Any]]) -> set[str]:
        seen: dict[str, set[type]] = {}
        for data in items:
            for key, value in data.items():
                seen.setdefault(key, set()).add(type(_flat(value)))
        return {key for key, kinds in seen.items() if len(kinds) > 1}

    mixed_nodes = types([d for _, d in graph.nodes(data=True)])
    mixed_edges = types([d for *_, d in graph.edges(data=True)])

    def flat(data: dict[str, Any], mixed: set[str]) -> dict[str, Scalar]:
        return {k: xml_safe(str(_flat(v))) if k in mixed else _flat(v)
                for k, v in data.items() if v is not None}

    ids = {node: xml_safe(str(node)) for node in graph.nodes}
    out = nx.MultiDiGraph(**{k: _flat(v) for k, v in graph.graph.items()})
    for node, data in graph.nodes(data=True):
        out.add_node(ids[node], **flat(data, mixed_nodes))
    for source, target, key, data in graph.edges(keys=True, data=True):
        out.add_edge(ids[source], ids[target], key=xml_safe(str(key)), **flat(data, mixed_edges))
    return out
