"""The map as a STIX 2.1 bundle, for threat-intelligence platforms (OpenCTI, MISP, ...).

Host names become `domain-name`, addresses `ipv4-addr` / `ipv6-addr`, operators
`autonomous-system` objects.  Relationships:

    resolves-to   domain-name -> ipv4-addr / ipv6-addr   (start_time / stop_time: first
                  and last seen), and domain-name -> domain-name for a CNAME
    belongs-to    ipv4-addr / ipv6-addr -> autonomous-system

Output is reproducible: observables have STIX's deterministic ids,
relationships and the bundle get UUIDv5 ids from their content, and
`created` / `modified` are the report's moment.  The `stix2` library builds
and checks every object.
"""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

import networkx as nx
import stix2

__all__ = ["NAMESPACE", "render"]

NAMESPACE = uuid.UUID("5d2a7a4e-4b2f-5c7e-9a51-3f0c6b1d8e21")
"""UUIDv5 namespace of hostmap's relationship and bundle ids (fixed: ids must not change)."""


def _observable(data: dict[str, Any]) -> Any:
    if data["kind"] == "host":
        return stix2.DomainName(value=data["name"])
    if data["kind"] == "address":
        address = ipaddress.ip_address(data["address"])
        kind = stix2.IPv4Address if address.version == 4 else stix2.IPv6Address
        return kind(value=str(address))
    if data["kind"] == "operator" and data.get("asn") is not None:
        return stix2.AutonomousSystem(number=data["asn"], name=data.get("operator"))
    return None


def _description(data: dict[str, Any]) -> str:
    parts = []
    if data.get("sources"):
        parts.append("sources: " + ", ".join(data["sources"]))
    cited = [f"{e['file']}: {e['locator']}" if e["locator"] else e["file"]
             for e in data["evidence"]]
    more = data["evidence_total"] - len(cited)
    parts.append("evidence: " + "; ".join(cited) + (f"; and {more} more" if more > 0 else ""))
    return "; ".join(parts)


def render(report: dict[str, Any], graph: nx.MultiDiGraph) -> str:
    """The map as a STIX 2.1 bundle (JSON text)."""
    moment = graph.graph.get("at") or "1970-01-01T00:00:00Z"
    objects: dict[str, Any] = {}
    for node, data in graph.nodes(data=True):
        observable = _observable(data)
        if observable is not None:
            objects[node] = observable
    relationships = []
    wanted = {"resolves-to": "resolves-to", "cname": "resolves-to", "announced-by": "belongs-to"}
    for source, target, data in graph.edges(data=True):
        kind = wanted.get(data["kind"])
        if kind is None or source not in objects or target not in objects:
            continue
        start, stop = data.get("first_seen"), data.get("last_seen")
        if start is not None and stop is not None and stop <= start:
            stop = None  # STIX: stop_time must be later than start_time; one sighting
        source_ref, target_ref = objects[source].id, objects[target].id
        ident = uuid.uuid5(NAMESPACE, f"{source_ref}|{kind}|{target_ref}|{start}|{stop}")
        fields = {"start_time": start, "stop_time": stop}
        relationships.append(stix2.Relationship(
            id=f"relationship--{ident}", source_ref=source_ref, relationship_type=kind,
            target_ref=target_ref, created=moment, modified=moment,
            description=_description(data), **{k: v for k, v in fields.items() if v}))
    contents = list(objects.values()) + relationships
    bundle_id = uuid.uuid5(NAMESPACE, "|".join(o.id for o in contents))
    bundle = stix2.Bundle(*contents, id=f"bundle--{bundle_id}")
    return str(bundle.serialize(pretty=True)) + "\n"
