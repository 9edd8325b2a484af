"""Markdown: findings with evidence, tables, the Mermaid map, and data shown as text."""

from __future__ import annotations

import re

import pytest

from hostmap.render import markdown, mermaid
from hostmap.render._escape import markdown as md
from tests.test_graph import HOSTILE, henan_case, hostile_case


def _table_widths(text: str) -> list[int]:
    """Cells per table line, counting only unescaped pipes."""
    return [len(re.findall(r"(?<!\\)\|", line)) for line in text.splitlines()
            if line.startswith("|")]


def test_henan_report_has_findings_tables_and_the_map():
    report, graph = henan_case()
    text = markdown.render(report, graph)
    assert text.startswith("# hostmap report\n")
    for i, finding in enumerate(report["findings"], 1):
        assert f"{i}. {md(finding['text'])}" in text
    assert "henan-2022/passive-dns.jsonl: line 22; " in text
    for heading in ("## Findings", "## Contacted endpoints", "## Fronts", "## Families",
                    "## Migrations", "## Operators", "## Map"):
        assert heading in text
    assert "| zz-jkm.hnzwfw.gov.cn | 42.236.74.19 | 117.160.221.251 | 2021-12-29 |" in text
    assert "```mermaid\n" + mermaid.render(report, graph) + "```\n" in text
    assert text.count("```") == 2


def test_a_map_larger_than_mermaid_draws_is_named_not_embedded():
    # mermaid.js (and GitHub) draw nothing but an error past 500 edges or 50,000 characters
    from tests.render.test_html_page import many_hosts_case

    report, _ = henan_case()
    graph = many_hosts_case()
    assert graph.number_of_edges() > markdown.MERMAID_MAX_EDGES
    text = markdown.render(report, graph)
    assert "```mermaid" not in text
    assert (f"The map ({graph.number_of_nodes():,} nodes, {graph.number_of_edges():,} edges) "
            "is larger than Mermaid draws") in text
    assert "## Fronts" in text  # the rest of the report is all there


def test_hostile_values_are_escaped_everywhere():
    report, graph = hostile_case()
    text = markdown.render(report, graph)
    assert "<img" not in text
    # The newline is shown as the text \x0a (its backslash escaped for Markdown).
    assert "&lt;img src=x onerror=alert(1)&gt;\"\\\\x0a{}\\|\\[\\]--&gt;" in text
    assert HOSTILE not in text
    assert text.count("```") == 2
    # Every table line has as many cells as its header: no pipe from the data splits a row.
    widths = _table_widths(text)
    assert widths and all(w in (5, 6, 7, 8) for w in widths)
    blocks = re.split(r"\n\n", text)
    for block in blocks:
        rows = _table_widths(block)
        assert len(set(rows)) <= 1, block


def test_escaping_covers_emphasis_code_links_and_html():
    assert md("a*b_c`d[e](f)|g~h$i\\j") == "a\\*b\\_c\\`d\\[e\\](f)\\|g\\~h\\$i\\\\j"
    assert md("<b>&amp;</b>") == "&lt;b&gt;&amp;amp;&lt;/b&gt;"
    assert md("line\nbreak") == "line\\\\x0abreak"  # shows as line\x0abreak


def test_a_markdown_renderer_shows_hostile_values_as_text():
    markdown_it = pytest.importorskip("markdown_it")  # comes with rich
    report, graph = hostile_case()
    html = markdown_it.MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(
        markdown.render(report, graph))
    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;&quot;\\x0a{}|[]--&gt;.example" in html
    for table in re.findall(r"<table>.*?</table>", html, re.S):
        header = len(re.findall(r"<th>", table.split("</thead>")[0]))
        for row in re.findall(r"<tr>(.*?)</tr>", table.split("</thead>")[1], re.S):
            assert len(re.findall(r"<td>", row)) == header
