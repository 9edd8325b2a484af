"""Output formats: one module per format, listed in RENDERERS.

Every renderer is called as `RENDERERS[name](report, graph)` with the report
dict (`hostmap.analyze.run_analyses`) and the map (`hostmap.graph.build_graph`)
and returns text (`str`) or, for binary and XML formats, `bytes`.  The map
formats import networkx, stix2 or run Graphviz only when called, so the
command line starts fast and a missing optional package fails only the
format that needs it, with an OutputError that says what to install.

`FORMAT_BY_SUFFIX` maps an output file's ending to a format name; use
`format_for_path` to look one up (it tries the longest ending first, so
`map.stix.json` is "stix" and `map.json` is "json").
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from hostmap.errors import OutputError
from hostmap.render import json_doc, text

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["FORMAT_BY_SUFFIX", "RENDERERS", "Renderer", "format_for_path"]

Renderer = Callable[[dict[str, Any], "nx.MultiDiGraph"], str | bytes]
"""render(report, graph) -> text or bytes."""

# The package each lazily loaded format needs beyond hostmap's own, for the error message.
_NEEDS = {"stix": "stix2", "gexf": "networkx", "graphml": "networkx"}


def _lazy(format_name: str, module: str, function: str = "render") -> Renderer:
    """A renderer that imports `hostmap.render.<module>` on its first call."""
    def run(report: dict[str, Any], graph: nx.MultiDiGraph) -> str | bytes:
        try:
            loaded = importlib.import_module(f"hostmap.render.{module}")
        except ImportError as exc:
            if exc.name and exc.name.split(".")[0] == "hostmap":
                raise
            package = exc.name or _NEEDS.get(format_name, "?")
            raise OutputError(f"the {format_name} format needs the Python package "
                              f"{package!r}: pip install {package}") from exc
        result: str | bytes = getattr(loaded, function)(report, graph)
        return result

    run.__name__ = f"render_{format_name}"
    run.__doc__ = f"The report and map as {format_name} (hostmap.render.{module}.{function})."
    return run


RENDERERS: dict[str, Renderer] = {
    "cytoscape": _lazy("cytoscape", "cytoscape"),
    "dot": _lazy("dot", "dot"),
    "gexf": _lazy("gexf", "gexf"),
    "graphml": _lazy("graphml", "graphml"),
    "html": _lazy("html", "html_page"),
    "json": lambda report, graph: json_doc.render(report),
    "md": _lazy("md", "markdown"),
    "mermaid": _lazy("mermaid", "mermaid"),
    "png": _lazy("png", "dot", "render_png"),
    "stix": _lazy("stix", "stix"),
    "svg": _lazy("svg", "dot", "render_svg"),
    "text": lambda report, graph: text.render(report),
}

FORMAT_BY_SUFFIX = {
    ".cy.json": "cytoscape",
    ".cyjs": "cytoscape",
    ".dot": "dot",
    ".gexf": "gexf",
    ".graphml": "graphml",
    ".gv": "dot",
    ".html": "html",
    ".json": "json",
    ".md": "md",
    ".mmd": "mermaid",
    ".png": "png",
    ".stix.json": "stix",
    ".svg": "svg",
    ".txt": "text",
}
"""Output file endings and the format each one means."""


def format_for_path(path: str | PurePath) -> str | None:
    """The format an output file's name asks for, or None if its ending is not known."""
    name = PurePath(path).name.lower()
    for suffix in sorted(FORMAT_BY_SUFFIX, key=len, reverse=True):
        if name.endswith(suffix):
            return FORMAT_BY_SUFFIX[suffix]
    return None
