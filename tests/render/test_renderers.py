"""The registry: every format renders both cases; output file endings map to formats."""

from __future__ import annotations

import shutil
import sys

import pytest

from hostmap.analyze import run_analyses
from hostmap.errors import OutputError
from hostmap.graph import build_graph
from hostmap.render import FORMAT_BY_SUFFIX, RENDERERS, format_for_path
from tests.factories import store_of
from tests.test_graph import henan_case, hostile_case

_NEEDS_GRAPHVIZ = {"svg", "png"}


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_every_format_renders_both_cases(name):
    if name in _NEEDS_GRAPHVIZ and shutil.which("dot") is None:
        pytest.skip("Graphviz is not installed")
    for report, graph in (henan_case(), hostile_case()):
        out = RENDERERS[name](report, graph)
        assert isinstance(out, str | bytes) and out


def test_suffixes_name_registered_formats():
    assert set(FORMAT_BY_SUFFIX.values()) - set(RENDERERS) <= {"html"}
    assert format_for_path("out/map.stix.json") == "stix"
    assert format_for_path("map.cy.json") == "cytoscape"
    assert format_for_path("REPORT.JSON") == "json"
    assert format_for_path("map.gv") == "dot"
    assert format_for_path("notes.docx") is None


def test_a_missing_package_fails_only_its_format(monkeypatch):
    monkeypatch.delitem(sys.modules, "hostmap.render.stix", raising=False)
    monkeypatch.setitem(sys.modules, "stix2", None)  # import stix2 now raises ImportError
    report, graph = hostile_case()
    with pytest.raises(OutputError, match="pip install stix2"):
        RENDERERS["stix"](report, graph)
    assert RENDERERS["mermaid"](report, graph)


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_every_format_renders_an_empty_report(name):
    if name in _NEEDS_GRAPHVIZ and shutil.which("dot") is None:
        pytest.skip("Graphviz is not installed")
    store = store_of()
    report = run_analyses(store)
    assert RENDERERS[name](report, build_graph(store, report))
