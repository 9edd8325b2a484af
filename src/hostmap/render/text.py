"""The report for people: findings with their evidence, then the tables behind them."""

from __future__ import annotations

import io
from collections import Counter
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hostmap.render._escape import visible

__all__ = ["clean", "render", "render_to"]

EVIDENCE_SHOWN = 3


def clean(value: object) -> str:
    """Text safe for a terminal, on one line: control characters (newline and tab included),
    escape sequences and bidi overrides shown as `\\xNN`/`\\uNNNN`, rich markup escaped."""
    return escape(visible(value))


def _cite(evidence: list[dict[str, str]], total: int | None = None) -> str:
    shown = [f"{e['file']}: {e['locator']}" if e["locator"] else e["file"]
             for e in evidence[:EVIDENCE_SHOWN]]
    more = (total if total is not None else len(evidence)) - len(shown)
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")


def _head(rows: list[Any], top: int | None) -> tuple[list[Any], int]:
    """The first `top` of `rows` (all of them without `top`), and how many are left out."""
    if top is None or len(rows) <= top:
        return rows, 0
    return rows[:top], len(rows) - top


def _left_out(console: Console, count: int, one: str, more: str) -> None:
    """A line counting what `top` left out of a list ("1 more {one}", "2 more {more}")."""
    if count:
        what = one if count == 1 else more
        console.print(f"  ... and {count} more {what} (the JSON report holds them all)")


def render_to(console: Console, report: dict[str, Any], *, list_issues: bool = True,
              top: int | None = None) -> None:
    """Print the report on a rich console.

    `list_issues=False` prints only how many issues there were (the CLI has
    already named each one on stderr).  `top` keeps a big case readable: at
    most that many findings of each kind (numbered as in the whole report),
    rows of each table after the inputs, family tables and members of each,
    and issues; a line counts what is left out.
    """
    # Here, not at the top: `clean` serves the command line's messages, which should
    # not wait for the analyses to load.
    from hostmap.analyze.findings import format_time

    console.print(f"[bold]hostmap report[/bold] at {clean(format_time(report['at']))}")
    inputs = Table("input", "format", "records", "errors", title="Inputs", title_justify="left")
    for row in report["inputs"]:
        inputs.add_row(clean(row["path"]), clean(row["format"] or "-"), str(row["records"]),
                       str(row["errors"]))
    console.print(inputs)

    console.print("\n[bold]Findings[/bold]")
    if not report["findings"]:
        console.print("  (none: the inputs hold no contacted endpoints or DNS records)")
    shown: Counter[str] = Counter()
    hidden_findings: Counter[str] = Counter()
    for i, finding in enumerate(report["findings"], 1):
        kind = finding.get("kind", "")
        if top is not None and shown[kind] >= top:
            hidden_findings[kind] += 1
            continue
        shown[kind] += 1
        console.print(f"{i:>3}. {clean(finding['text'])}")
        if finding["evidence"]:
            console.print(f"     [dim]evidence: {clean(_cite(finding['evidence']))}[/dim]")
    for kind, count in hidden_findings.items():
        _left_out(console, count, f"{clean(kind)} finding", f"{clean(kind)} findings")

    if report["endpoints"]:
        table = Table("endpoint", "requests", "first seen", "last seen", "server address",
                      title="Contacted endpoints", title_justify="left")
        rows, hidden = _head(report["endpoints"], top)
        for ep in rows:
            table.add_row(clean(f"{ep['scheme']}://{ep['host']}:{ep['port']}"),
                          str(ep["requests"]), format_time(ep["first_seen"]),
                          format_time(ep["last_seen"]), clean(", ".join(ep["server_addresses"])))
        console.print(table)
        _left_out(console, hidden, "endpoint", "endpoints")

    if report["shared"]:
        table = Table("shared", "hosts", "members", title="Shared infrastructure",
                      title_justify="left")
        rows, hidden = _head(report["shared"], top)
        for group in rows:
            table.add_row(clean(f"{group['kind']} {group['target']}"), str(group["host_count"]),
                          clean(", ".join(m["host"] for m in group["hosts"])))
        console.print(table)
        _left_out(console, hidden, "shared address or name", "shared addresses and names")

    families, hidden_families = _head(report["families"], top)
    for family in families:
        table = Table("host", "token", "place", "addresses",
                      title=f"Family {clean(family['pattern'])}", title_justify="left")
        rows, hidden = _head(family["members"], top)
        for m in rows:
            place = m["place"]["label"] if m["place"] else f"{m['place_status']}: {m['reason']}"
            table.add_row(clean(m["host"]), clean(m["token"]), clean(place),
                          clean(", ".join(m["addresses"])))
        console.print(table)
        _left_out(console, hidden, "member", "members")
    _left_out(console, hidden_families, "family", "families")

    fronts = [f for f in report.get("fronts", []) if f["verdict"] != "dedicated"]
    if fronts:
        table = Table("address", "verdict", "hosts", "strongest signals", "backends",
                      title="Fronts (dedicated addresses left out)", title_justify="left")
        rows, hidden = _head(fronts, top)
        for front in rows:
            signals = "; ".join(s["detail"] for s in front["signals"][:3])
            table.add_row(clean(front["address"]),
                          clean(f"{front['verdict']} {front['confidence']:.2f}"),
                          str(len(front["hosts"])), clean(signals),
                          str(len(front["backends"])))
        console.print(table)
        _left_out(console, hidden, "front", "fronts")

    if report["migrations"]:
        table = Table("host", "from", "to", "date", "evidence", title="Migrations",
                      title_justify="left")
        rows, hidden = _head(report["migrations"], top)
        for m in rows:
            table.add_row(clean(m["name"]), clean(m["from_address"]), clean(m["to_address"]),
                          m["date"], clean(_cite(m["evidence"], m["evidence_total"])))
        console.print(table)
        _left_out(console, hidden, "migration", "migrations")

    if report["operators"]:
        table = Table("address", "ASN", "operator", "place", title="Operators",
                      title_justify="left")
        rows, hidden = _head(report["operators"], top)
        for op in rows:
            place = ", ".join(p for p in (op["city"], op["region"], op["country"]) if p)
            table.add_row(clean(op["address"]), str(op["asn"] or "-"), clean(op["operator"]),
                          clean(place))
        console.print(table)
        _left_out(console, hidden, "operator", "operators")

    if report["issues"] and not list_issues:
        console.print(f"\n{len(report['issues'])} issue(s) while reading, listed on stderr.")
    elif report["issues"]:
        console.print("\n[bold]Issues[/bold]")
        rows, hidden = _head(report["issues"], top)
        for issue in rows:
            where = f"{issue['file']}: {issue['locator']}" if issue["locator"] else issue["file"]
            console.print(
                f"  {clean(issue['severity'])}: {clean(where)}: {clean(issue['message'])}")
        _left_out(console, hidden, "issue", "issues")


def render(report: dict[str, Any], *, top: int | None = None) -> str:
    """The report as plain text (no colours), for files and tests; `top` as in `render_to`."""
    buffer = io.StringIO()
    render_to(Console(file=buffer, width=120, no_color=True, highlight=False), report, top=top)
    return buffer.getvalue()
