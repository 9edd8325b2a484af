"""Shared infrastructure: host names that share an address (or a CNAME target) at a moment."""

from __future__ import annotations

from typing import Any

__all__ = ["find_shared"]


def find_shared(hosts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Addresses and CNAME targets that two or more hosts lead to, with per-host evidence.

    `hosts` is the output of `resolve_hosts`.  A host reaches an address
    through DNS (its chain at the moment) or through a connection a capture
    recorded; both are kept apart in `via`.
    """
    groups: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}

    def member(kind: str, key: str, host: str) -> dict[str, Any]:
        members = groups.setdefault((kind, key), {})
        return members.setdefault(host, {"host": host, "via": [], "evidence": []})

    for host in hosts:
        name = host["name"]
        for step in host["chain"]:
            if step["rtype"] == "CNAME":
                if step["name"] == name:
                    entry = member("cname-target", step["value"], name)
                    entry["via"].append("dns")
                    entry["evidence"].extend(step["evidence"])
            elif step["value"] in host["addresses"]:
                entry = member("address", step["value"], name)
                if "dns" not in entry["via"]:
                    entry["via"].append("dns")
                entry["evidence"].extend(step["evidence"])
        for conn in host["connected"]:
            entry = member("address", conn["address"], name)
            entry["via"].append("connected")
            entry["evidence"].extend(conn["evidence"])

    by_name = {host["name"]: host for host in hosts}
    shared = []
    for (kind, key), members in groups.items():
        # A name and its own CNAME target reach one address trivially: that is one host.
        if len(members) < 2 or (kind == "address" and not _independent(members, by_name)):
            continue
        shared.append({
            "kind": kind,
            "target": key,
            "host_count": len(members),
            "hosts": [
                {**m, "evidence": m["evidence"][:20], "evidence_total": len(m["evidence"])}
                for _, m in sorted(members.items())
            ],
        })
    shared.sort(key=lambda g: (-g["host_count"], g["kind"], g["target"]))
    return shared


def _independent(members: dict[str, dict[str, Any]], by_name: dict[str, dict[str, Any]]) -> bool:
    """True if no member is only there as another member's CNAME target."""
    targets = {step["value"] for name in members if name in by_name
               for step in by_name[name]["chain"] if step["rtype"] == "CNAME"}
    return len(set(members) - targets) >= 2
