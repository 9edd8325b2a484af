"""Findings: the report's conclusions in plain sentences, each with the records it rests on."""

from __future__ import annotations

from datetime import datetime
from typing import Any

__all__ = ["DETAIL_LIMIT", "format_time", "state_findings"]

DETAIL_LIMIT = 10
"""Up to this many endpoints each get a finding of their own; more are summarised."""
FRONT_CONFIDENCE = 0.5
"""Front verdicts below this confidence stay in the `fronts` table without a finding."""


def format_time(value: datetime | None) -> str:
    """'2022-06-14 01:02:03 UTC'."""
    return "unknown time" if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")


def _finding(kind: str, text: str, evidence: list[dict[str, str]]) -> dict[str, Any]:
    unique = list({(e["file"], e["locator"]): e for e in evidence}.values())
    return {"kind": kind, "text": text, "evidence": unique}


def _operator_text(op: dict[str, Any]) -> str:
    parts = []
    if op.get("asn"):
        parts.append(f"AS{op['asn']}")
    if op.get("operator"):
        parts.append(op["operator"])
    place = ", ".join(p for p in (op.get("city"), op.get("region"), op.get("country")) if p)
    return " ".join(parts) + (f" ({place})" if place else "")


def _endpoint_text(ep: dict[str, Any]) -> str:
    port_note = ", a non-standard port" if ep["non_standard_port"] else ""
    servers = (f"; server address {', '.join(ep['server_addresses'])}"
               if ep["server_addresses"] else "")
    return (f"The app contacted {ep['scheme']}://{ep['host']}:{ep['port']}{port_note}: "
            f"{ep['requests']} request(s) from {format_time(ep['first_seen'])} "
            f"to {format_time(ep['last_seen'])}{servers}.")


def _endpoint_summary(endpoints: list[dict[str, Any]], hosts: int) -> dict[str, Any]:
    """One finding for many endpoints: the busiest ones and every non-standard port."""
    busiest = sorted(endpoints, key=lambda e: (-e["requests"], e["host"], e["port"]))[:5]
    odd = [e for e in endpoints if e["non_standard_port"]]
    text = (f"The captures contacted {len(endpoints)} endpoints on {hosts} hosts; the busiest: "
            + ", ".join(f"{e['scheme']}://{e['host']}:{e['port']} ({e['requests']})"
                        for e in busiest))
    if odd:
        text += "; on non-standard ports: " + _names(
            [f"{e['scheme']}://{e['host']}:{e['port']}" for e in odd], 10)
    return _finding("endpoint", text + ".", [e["evidence"][0] for e in busiest + odd
                                             if e["evidence"]])


def _front_finding(front: dict[str, Any], op: dict[str, Any] | None) -> dict[str, Any]:
    text = (f"{front['address']} is a {front['verdict']} (confidence {front['confidence']:.2f}) "
            f"for {len(front['hosts'])} host(s)")
    if op is not None:
        text += f", operated by {_operator_text(op)}"
    strong = [s["detail"] for s in front["signals"] if s["supports"] == front["verdict"]][:4]
    text += "; signals: " + "; ".join(strong)
    if front["backends"]:
        text += (f"; {len(front['backends'])} backend(s) behind it: "
                 + ", ".join(_backend_text(b) for b in front["backends"][:5]))
    if front["also"]:
        text += "; also scored: " + ", ".join(
            f"{a['verdict']} {a['confidence']:.2f}" for a in front["also"])
    evidence = [e for s in front["signals"] for e in s["evidence"][:2]]
    return _finding("front", text + ".", evidence)


def _backend_text(backend: dict[str, Any]) -> str:
    where = (f"{backend['address']}:{backend['port']}" if backend["address"]
             else f"server id {backend['id']}")
    return f"{where} ({backend['vendor']})"


def _names(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def state_findings(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Sentences for endpoints, resolutions, operators, shared addresses, families, migrations."""
    findings: list[dict[str, Any]] = []
    at = format_time(report["at"])
    hosts = {h["name"]: h for h in report["hosts"]}
    operators = {o["address"]: o for o in report["operators"]}

    contacted = list(dict.fromkeys(ep["host"] for ep in report["endpoints"]))
    if len(report["endpoints"]) <= DETAIL_LIMIT:
        for ep in report["endpoints"]:
            findings.append(_finding("endpoint", _endpoint_text(ep), ep["evidence"]))
    else:
        findings.append(_endpoint_summary(report["endpoints"], len(contacted)))

    for name in contacted if len(contacted) <= DETAIL_LIMIT else []:
        host = hosts.get(name)
        if host is None or not host["addresses"]:
            continue
        cnames = [s["value"] for s in host["chain"] if s["rtype"] == "CNAME"]
        via = f" via CNAME {' -> '.join(cnames)}" if cnames else ""
        sources = sorted({src for s in host["chain"] for src in s["sources"]})
        evidence = [e for s in host["chain"] for e in s["evidence"]]
        findings.append(_finding("resolution", (
            f"{name} resolves to {', '.join(host['addresses'])}{via} at {at} "
            f"(from {', '.join(sources)})."), evidence))

    for group in report["shared"]:
        if group["kind"] != "address":
            continue
        names = [m["host"] for m in group["hosts"]]
        involved = [n for n in names if n in contacted]
        if involved and involved != names:  # each name once: the contacted, then the others
            others = [n for n in names if n not in involved]
            listed = (f", including the contacted {_names(involved)}; the others: "
                      f"{_names(others)}")
        else:
            listed = f"{' (all contacted)' if involved else ''}: {_names(names)}"
        findings.append(_finding("shared", (
            f"{group['host_count']} hosts share the address {group['target']} at {at}{listed}."),
            [e for m in group["hosts"] for e in m["evidence"][:2]]))

    mentioned = {g["target"] for g in report["shared"] if g["kind"] == "address"}
    mentioned |= {a for n in contacted if n in hosts for a in hosts[n]["addresses"]}
    mentioned |= {m[k] for m in report["migrations"] for k in ("from_address", "to_address")}
    for address in sorted(mentioned):
        op = operators.get(address)
        if op is not None:
            findings.append(_finding("operator", (
                f"{address} is announced by {_operator_text(op)}, "
                f"range {op['range_start']}-{op['range_end']}."), op["evidence"]))

    for front in report.get("fronts", []):
        if front["verdict"] in ("dedicated", "unknown") or front["confidence"] < FRONT_CONFIDENCE:
            continue
        findings.append(_front_finding(front, operators.get(front["address"])))

    for family in report["families"]:
        # A family whose tokens name no place adds nothing to the shared-address finding.
        if not family["shared_addresses"] or not family["places_matched"]:
            continue
        top = family["shared_addresses"][0]
        places = [f"{m['token']} = {m['place']['label']}" for m in family["members"]
                  if m["place"] is not None]
        unresolved = [f"{m['token']} ({m['place_status']})" for m in family["members"]
                      if m["place"] is None]
        text = (f"{top['members']} of the {family['size']} hosts of the family "
                f"{family['pattern']} share {top['address']}")
        if places:
            text += f"; their varying token names a place: {'; '.join(places)}"
        if unresolved:
            text += f"; not placed: {', '.join(unresolved)}"
        elsewhere = [f"{m['host']} ({', '.join(m['addresses']) or 'no address'})"
                     for m in family["members"] if top["address"] not in m["addresses"]]
        if elsewhere:
            text += f"; not sharing it: {', '.join(elsewhere)}"
        evidence = [e for m in family["members"] for e in
                    (hosts[m["host"]]["chain"][0]["evidence"][:1]
                     if hosts.get(m["host"]) and hosts[m["host"]]["chain"] else [])]
        findings.append(_finding("family", text + ".", evidence))

    for move in report["migrations"]:
        findings.append(_finding("migration", (
            f"{move['name']} moved from {move['from_address']} to {move['to_address']} "
            f"on {move['date']} ({move['from_address']} last seen "
            f"{format_time(move['from_seen'][1])}, {move['to_address']} first seen "
            f"{format_time(move['to_seen'][0])})."), move["evidence"]))

    if report["referenced"]:
        names = [r["host"] for r in report["referenced"]]
        sources = sorted({s for r in report["referenced"] for s in r["referenced_by"]})
        findings.append(_finding("referenced", (
            f"{len(names)} host(s) are referenced by {', '.join(sources)} (redirects or "
            f"response bodies) but never contacted in the captures: {_names(names, 10)}."),
            [e for r in report["referenced"] for e in r["evidence"][:1]]))
    return findings
