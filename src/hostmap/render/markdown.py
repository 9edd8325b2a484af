"""The report as Markdown: findings with their evidence, the tables behind them, the Mermaid map.

For a case file, a wiki page or an issue.  Every value from the data goes
through `_escape.markdown` (emphasis, code, links, table pipes, HTML all
shown as text); the map is the Mermaid flowchart of `render.mermaid`, whose
labels never hold a backtick, so it cannot break out of its fenced block.
A map larger than Mermaid draws by default (`MERMAID_MAX_CHARS` of text,
`MERMAID_MAX_EDGES` edges: past them GitHub and mermaid.js show only an
error) is replaced by a line naming the formats that hold it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import networkx as nx

from hostmap.render import mermaid
from hostmap.render._escape import markdown as md
from hostmap.render.mermaid import MERMAID_MAX_CHARS, MERMAID_MAX_EDGES

__all__ = ["EVIDENCE_SHOWN", "MERMAID_MAX_CHARS", "MERMAID_MAX_EDGES", "render"]

EVIDENCE_SHOWN = 5
"""Records cited per finding or row; the rest are counted."""


def _time(value: datetime | str | None) -> str:
    if value is None:
        return "unknown time"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _cite(evidence: list[dict[str, str]], total: int | None = None) -> str:
    shown = [f"{e['file']}: {e['locator']}" if e.get("locator") else e["file"]
             for e in evidence[:EVIDENCE_SHOWN]]
    more = (total if total is not None else len(evidence)) - len(shown)
    return md("; ".join(shown) + (f"; and {more} more" if more > 0 else "")) or "none"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A GFM table; cells are already escaped."""
    if not rows:
        return ["(none)", ""]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell or "-" for cell in row) + " |" for row in rows]
    return lines + [""]


def _list(values: list[Any] | None) -> str:
    return md(", ".join(str(v) for v in values or []))


def _findings(report: dict[str, Any]) -> list[str]:
    lines = ["## Findings", ""]
    if not report.get("findings"):
        return lines + ["(none: the inputs hold no contacted endpoints or DNS records)", ""]
    for i, finding in enumerate(report["findings"], 1):
        lines.append(f"{i}. {md(finding['text'])}  ")
        lines.append(f"   Evidence: {_cite(finding['evidence'], finding.get('evidence_total'))}")
    return lines + [""]


def _endpoints(report: dict[str, Any]) -> list[str]:
    rows = [[md(f"{ep['scheme']}://{ep['host']}:{ep['port']}"), str(ep["requests"]),
             _time(ep["first_seen"]), _time(ep["last_seen"]), _list(ep["server_addresses"]),
             _cite(ep["evidence"], ep.get("evidence_total"))]
            for ep in report.get("endpoints", [])]
    return ["## Contacted endpoints", ""] + _table(
        ["endpoint", "requests", "first seen", "last seen", "server addresses", "evidence"], rows)


def _shared(report: dict[str, Any]) -> list[str]:
    rows = [[md(group["kind"]), md(group["target"]), str(group["host_count"]),
             _list([m["host"] for m in group["hosts"]])] for group in report.get("shared", [])]
    return ["## Shared infrastructure", ""] + _table(["kind", "target", "hosts", "members"], rows)


def _fronts(report: dict[str, Any]) -> list[str]:
    fronts = report.get("fronts", [])
    rows = []
    for f in fronts:
        also = ", ".join(f"{a['verdict']} {a['confidence']:.2f}" for a in f.get("also", []))
        op = f.get("operator") or {}
        operator = " ".join(str(p) for p in (f"AS{op['asn']}" if op.get("asn") else "",
                                             op.get("operator") or "") if p)
        backends = [b.get("address") or b.get("id") or b.get("pool") or "?"
                    for b in f.get("backends", [])]
        rows.append([md(f["address"]), md(f["verdict"]), f"{f['confidence']:.2f}", md(also),
                     str(len(f["hosts"])), md(operator), _list(backends)])
    lines = ["## Fronts", ""] + _table(
        ["address", "verdict", "confidence", "also", "hosts", "operator", "backends"], rows)
    for f in fronts:
        if not f.get("signals"):
            continue
        lines += [f"### Signals for {md(f['address'])}", ""]
        lines += _table(["signal", "supports", "weight", "detail", "evidence"], [
            [md(s["signal"]), md(s["supports"]), f"{s['weight']:.2f}", md(s["detail"]),
             _cite(s["evidence"], s.get("evidence_total"))] for s in f["signals"]])
    return lines


def _families(report: dict[str, Any]) -> list[str]:
    lines = ["## Families", ""]
    if not report.get("families"):
        return lines + ["(none)", ""]
    for family in report["families"]:
        lines += [f"### Family {md(family['pattern'])}", "",
                  f"{family['size']} hosts, {family.get('places_matched', 0)} named after "
                  f"places; provinces: {_list(family.get('provinces')) or 'none'}.", ""]
        rows = []
        for m in family["members"]:
            place = m["place"]["label"] if m.get("place") else m.get("reason") or ""
            rows.append([md(m["host"]), md(m["token"]), md(m["place_status"]), md(place),
                         _list(m.get("addresses"))])
        lines += _table(["host", "token", "status", "place", "addresses"], rows)
    return lines


def _migrations(report: dict[str, Any]) -> list[str]:
    rows = [[md(m["name"]), md(m["from_address"]), md(m["to_address"]), md(m["date"]),
             f"{_time(m['from_seen'][0])} to {_time(m['from_seen'][1])}",
             f"{_time(m['to_seen'][0])} to {_time(m['to_seen'][1])}",
             _cite(m["evidence"], m.get("evidence_total"))] for m in report.get("migrations", [])]
    return ["## Migrations", ""] + _table(
        ["host", "from", "to", "date", "old address seen", "new address seen", "evidence"], rows)


def _operators(report: dict[str, Any]) -> list[str]:
    rows = []
    for op in report.get("operators", []):
        place = ", ".join(p for p in (op.get("city"), op.get("region"), op.get("country")) if p)
        rows.append([md(op["address"]), f"AS{op['asn']}" if op.get("asn") else "-",
                     md(op.get("operator")), md(place),
                     md(f"{op.get('range_start')}-{op.get('range_end')}"),
                     _cite(op["evidence"], op.get("evidence_total"))])
    return ["## Operators", ""] + _table(
        ["address", "ASN", "operator", "place", "range", "evidence"], rows)


def _inputs(report: dict[str, Any]) -> list[str]:
    rows = [[md(i["path"]), md(i.get("format") or "-"), str(i["records"]), str(i["errors"])]
            for i in report.get("inputs", [])]
    lines = ["## Inputs", ""] + _table(["input", "format", "records", "errors"], rows)
    if report.get("issues"):
        lines += ["### Issues", ""]
        for issue in report["issues"]:
            where = f"{issue['file']}: {issue['locator']}" if issue["locator"] else issue["file"]
            lines.append(f"- {md(issue['severity'])}: {md(where)}: {md(issue['message'])}")
        lines.append("")
    return lines


def _map(report: dict[str, Any], graph: nx.MultiDiGraph) -> list[str]:
    flowchart = mermaid.render(report, graph).rstrip("\n")
    if not mermaid.too_large(graph, flowchart):
        return ["```mermaid", flowchart, "```", ""]
    return [f"The map ({graph.number_of_nodes():,} nodes, {graph.number_of_edges():,} edges) is "
            f"larger than Mermaid draws ({MERMAID_MAX_CHARS:,} characters, "
            f"{MERMAID_MAX_EDGES:,} edges): write it with `hostmap map` as `.html`, `.gexf`, "
            "`.graphml` or `.svg`.", ""]


def render(report: dict[str, Any], graph: nx.MultiDiGraph) -> str:
    """The report as a Markdown document with the Mermaid map embedded."""
    lines = ["# hostmap report", "",
             f"Host names resolved as of {_time(report.get('at'))}. Every finding cites the "
             "file and record it rests on.", ""]
    lines += _findings(report)
    lines += ["## Map", ""] + _map(report, graph)
    for section in (_endpoints, _fronts, _shared, _families, _migrations, _operators, _inputs):
        lines += section(report)
    return "\n".join(lines).rstrip("\n") + "\n"
