"""The infrastructure map: one graph that every map format is drawn from.

`build_graph(store, report)` turns the report (and the few store rows the
report does not carry per edge) into a `networkx.MultiDiGraph`.  Node ids are
"<kind>:<key>" and readable; nodes and edges are inserted in sorted order so
every renderer's output is reproducible.

Nodes (attribute `kind`; `label` is what a drawing shows):

    endpoint     endpoint:https://login.example.cn:443   a contacted scheme://host:port
    host         host:zz-jkm.example.cn                  a host name
    address      address:192.0.2.1                       an IPv4 or IPv6 address
    front        front:192.0.2.1                         the front on an address (a `fronts`
                                                         entry judged load-balancer,
                                                         reverse-proxy, cdn-edge or
                                                         shared-hosting), label "load-balancer 0.91"
    backend      backend:<vendor>:<address:port | id>    a pool member a front gave away
    operator     operator:AS64500                        who announces an address ("AS64500 <name>")
    certificate  certificate:<sha256 fingerprint>        a certificate a host presented
    family       family:{}-jkm.example.cn                host names differing in one token
    place        place:<adcode | label>                  a place a family token names

Edges (attribute `kind`; each edge's MultiDiGraph key is its `id` attribute):

    contacted             endpoint -> host, endpoint -> address (each server address)
    resolves-to           host -> address: one edge per dated period (address_periods), plus
                          one undated edge for a pair only the report's chains show;
                          `sources`, `rtype`, `current` (holds at the report's moment)
    cname                 host -> target host (`sources`, `current`)
    fronted-by            address -> front (`verdict`, `confidence`)
    backend-of            backend -> front
    announced-by          address -> operator (`range_start`, `range_end`)
    presents-certificate  host -> certificate (`ports`, `addresses`)
    member-of-family      host -> family (`token`, `place_status`)
    names-place           host -> place (`token`, `place_status`, `reason`)

Every node and edge has `evidence` (at most EVIDENCE_LIMIT {file, format,
locator} dicts) and `evidence_total` (how many distinct records are known to
support it).  A node's evidence is its own records followed by those of its
edges.  `first_seen` / `last_seen` are set where known, always as ISO 8601
strings in UTC ending in "Z" (as in the JSON report), so renderers never see
datetimes; a node's span covers its edges' spans.  Attributes whose value is
unknown are left out rather than set to None.  Node attributes analysts
colour by: host `family`, `province`, `place`; address and front `verdict`,
`operator`, `asn`; place `province`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Any

import networkx as nx

from hostmap.analyze._evidence import EVIDENCE_LIMIT, evidence_sql
from hostmap.analyze.migrations import address_periods
from hostmap.hostnames import is_address
from hostmap.store import Store

__all__ = ["EDGE_KINDS", "FRONT_VERDICTS", "NODE_KINDS", "build_graph", "clusters", "iso"]

NODE_KINDS = ("endpoint", "host", "address", "front", "backend", "operator", "certificate",
              "family", "place")
EDGE_KINDS = ("contacted", "resolves-to", "cname", "fronted-by", "backend-of", "announced-by",
              "presents-certificate", "member-of-family", "names-place")
FRONT_VERDICTS = ("load-balancer", "reverse-proxy", "cdn-edge", "shared-hosting")
"""Verdicts that make a front node; `dedicated` and `unknown` stay attributes of the address."""

Moment = datetime | str | None
"""A time as the report holds it: a datetime, or ISO text when the report was read from JSON."""
Evidence = list[dict[str, str]]


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a 'Z', the report's time format."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _moment(value: Moment) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


class _Item:
    """A node or edge being collected: attributes (first value wins), evidence, span."""

    def __init__(self, kind: str) -> None:
        self.attrs: dict[str, Any] = {"kind": kind}
        self.evidence: dict[tuple[str, str, str], dict[str, str]] = {}
        self.declared = 0
        self.span: list[datetime] = []

    def merge(self, attrs: dict[str, Any] | None = None, evidence: Evidence | None = None,
              total: int | None = None, first: Moment = None, last: Moment = None) -> None:
        for key, value in (attrs or {}).items():
            value = value.value if isinstance(value, Enum) else value
            if value is not None and value != [] and key not in self.attrs:
                self.attrs[key] = value
        for e in evidence or []:
            self.evidence.setdefault((e["file"], e["format"] or "", e["locator"] or ""), e)
        self.declared = max(self.declared, total or 0)
        self.span += [m for m in (_moment(first), _moment(last)) if m is not None]

    def finish(self) -> dict[str, Any]:
        attrs = dict(self.attrs)
        attrs["evidence"] = [dict(e) for e in list(self.evidence.values())[:EVIDENCE_LIMIT]]
        attrs["evidence_total"] = max(len(self.evidence), self.declared)
        if self.span:
            attrs["first_seen"], attrs["last_seen"] = iso(min(self.span)), iso(max(self.span))
        return attrs


class _Collector:
    """Nodes and edges merged by id while the report is walked, inserted sorted at the end."""

    def __init__(self) -> None:
        self.nodes: dict[str, _Item] = {}
        self.edges: dict[tuple[str, str, str], _Item] = {}

    def node(self, node_id: str, kind: str, label: str, *, evidence: Evidence | None = None,
             total: int | None = None, first: Moment = None, last: Moment = None,
             **attrs: Any) -> str:
        self.nodes.setdefault(node_id, _Item(kind)).merge(
            {"label": label, **attrs}, evidence, total, first, last)
        return node_id

    def edge(self, source: str, target: str, kind: str, *, key: str | None = None,
             evidence: Evidence | None = None, total: int | None = None,
             first: Moment = None, last: Moment = None, **attrs: Any) -> None:
        edge_id = f"{kind}:{source}->{target}" + (f"@{key}" if key else "")
        self.edges.setdefault((source, target, edge_id), _Item(kind)).merge(
            {"id": edge_id, **attrs}, evidence, total, first, last)

    def address(self, address: str, **attrs: Any) -> str:
        return self.node(f"address:{address}", "address", address, address=address, **attrs)

    def name(self, name: str) -> str:
        """A host node, or an address node when the 'name' is an address literal."""
        if is_address(name):
            return self.address(name)
        return self.node(f"host:{name}", "host", name, name=name)

    def graph(self, **graph_attrs: Any) -> nx.MultiDiGraph:
        for (source, target, _), item in sorted(self.edges.items()):
            for end in (source, target):  # a node rests on its edges' records too
                self.nodes[end].merge(None, list(item.evidence.values()))
                self.nodes[end].span += item.span
        graph = nx.MultiDiGraph(**graph_attrs)
        for node_id in sorted(self.nodes):
            graph.add_node(node_id, **self.nodes[node_id].finish())
        for (source, target, edge_id), item in sorted(self.edges.items()):
            graph.add_edge(source, target, key=edge_id, **item.finish())
        return graph


def build_graph(store: Store, report: dict[str, Any]) -> nx.MultiDiGraph:
    """The infrastructure map of `report` (see the module docstring for its nodes and edges)."""
    c = _Collector()
    _add_endpoints(c, store, report.get("endpoints", []))
    _add_resolutions(c, store, report)
    _add_fronts(c, report.get("fronts", []))
    _add_operators(c, report.get("operators", []))
    _add_certificates(c, store)
    _add_families(c, report.get("families", []))
    at = report.get("at")
    return c.graph(name="hostmap", schema="hostmap/graph/1",
                   at=iso(at) if isinstance(at, datetime) else str(at or ""))


def _url(scheme: str, host: str, port: int) -> str:
    return f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}"


def _add_endpoints(c: _Collector, store: Store, endpoints: list[dict[str, Any]]) -> None:
    for ep in endpoints:
        url = _url(ep["scheme"], ep["host"], ep["port"])
        node = c.node(f"endpoint:{url}", "endpoint", url, evidence=ep["evidence"],
                      total=ep.get("evidence_total"), first=ep["first_seen"],
                      last=ep["last_seen"], scheme=ep["scheme"], host=ep["host"],
                      port=ep["port"], requests=ep["requests"],
                      non_standard_port=ep.get("non_standard_port"))
        target = c.name(ep["host"])
        c.nodes[target].merge({"contacted": True}, ep["evidence"])
        c.edge(node, target, "contacted", evidence=ep["evidence"], total=ep.get("evidence_total"),
               first=ep["first_seen"], last=ep["last_seen"])
    # The report lists an endpoint's server addresses without saying which records
    # saw which one; the store does.
    for row in store.query(f"""
        SELECT scheme, host, port, server_address, min(time) AS first_seen,
               max(time) AS last_seen, count(*) AS evidence_total,
               {evidence_sql("time NULLS LAST, file, locator")} AS evidence
        FROM http WHERE server_address IS NOT NULL
        GROUP BY scheme, host, port, server_address
        ORDER BY host, port, scheme, server_address
    """):
        url = _url(row["scheme"], row["host"], row["port"])
        node = c.node(f"endpoint:{url}", "endpoint", url, scheme=row["scheme"], host=row["host"],
                      port=row["port"])
        c.edge(node, c.address(row["server_address"]), "contacted", evidence=row["evidence"],
               total=row["evidence_total"], first=row["first_seen"], last=row["last_seen"])


def _add_resolutions(c: _Collector, store: Store, report: dict[str, Any]) -> None:
    current: set[tuple[str, str]] = set()
    steps: dict[tuple[str, str, str], dict[str, Any]] = {}
    for host in report.get("hosts", []):
        # A host's own records: those that name it in DNS, and the connections to it.
        own = [e for s in host["chain"] if s["name"] == host["name"] for e in s["evidence"]]
        own += [e for conn in host["connected"] for e in conn["evidence"]]
        c.nodes[c.name(host["name"])].merge(None, own)
        for step in host["chain"]:
            if step.get("holds_at_moment"):
                current.add((step["name"], step["value"]))
            steps.setdefault((step["rtype"], step["name"], step["value"]), step)
    for ref in report.get("referenced", []):
        c.nodes[c.name(ref["host"])].merge({"referenced_by": ref["referenced_by"]},
                                           ref["evidence"], ref.get("evidence_total"))
    dated: set[tuple[str, str]] = set()
    # The report's hosts only: a passive-DNS export's other names are not on the map.
    for p in address_periods(store, [h["name"] for h in report.get("hosts", [])]):
        if is_address(p["name"]) or p["name"].endswith(".arpa"):
            continue
        dated.add((p["name"], p["value"]))
        c.edge(c.name(p["name"]), c.address(p["value"]), "resolves-to", key=iso(p["first_seen"]),
               evidence=p["evidence"], total=p["evidence_total"], first=p["first_seen"],
               last=p["last_seen"], rtype=p["rtype"], sources=p["sources"],
               current=(p["name"], p["value"]) in current)
    # Steps no dated record shows (zone files, undated listings) get one undated edge.
    for (rtype, name, value), step in sorted(steps.items()):
        if (name, value) in dated or rtype not in ("A", "AAAA", "CNAME"):
            continue
        target = c.name(value) if rtype == "CNAME" else c.address(value)
        c.edge(c.name(name), target, "cname" if rtype == "CNAME" else "resolves-to",
               evidence=step["evidence"], sources=step["sources"],
               rtype=None if rtype == "CNAME" else rtype, current=(name, value) in current)


def _add_fronts(c: _Collector, fronts: list[dict[str, Any]]) -> None:
    for front in fronts:
        address, verdict, confidence = front["address"], front["verdict"], front["confidence"]
        a = c.address(address, verdict=verdict, confidence=confidence)
        if verdict not in FRONT_VERDICTS:
            continue
        op = front.get("operator") or {}
        evidence = [e for s in front["signals"] for e in s["evidence"]]
        node = c.node(f"front:{address}", "front", f"{verdict} {confidence:.2f}",
                      evidence=evidence, verdict=verdict, confidence=confidence, address=address,
                      also=front["also"], hosts=front["hosts"], operator=op.get("operator"),
                      asn=op.get("asn"), signals=front["signals"])
        c.edge(a, node, "fronted-by", evidence=evidence, verdict=verdict, confidence=confidence)
        for b in front.get("backends", []):
            if b.get("address"):
                where = f"{b['address']}:{b['port']}" if b.get("port") else b["address"]
            else:
                where = b.get("id") or b.get("pool") or "?"
            backend = c.node(f"backend:{b['vendor']}:{where}", "backend",
                             f"{b['vendor']} {where}", evidence=b["evidence"],
                             vendor=b["vendor"], address=b.get("address"), port=b.get("port"),
                             backend_id=b.get("id"), pool=b.get("pool"), note=b.get("note"))
            c.edge(backend, node, "backend-of", evidence=b["evidence"], vendor=b["vendor"])


def _add_operators(c: _Collector, operators: list[dict[str, Any]]) -> None:
    for op in operators:
        asn, name = op.get("asn"), op.get("operator")
        if asn is None and not name:
            continue
        key = f"AS{asn}" if asn is not None else name
        label = " ".join(p for p in (f"AS{asn}" if asn is not None else "", name or "") if p)
        node = c.node(f"operator:{key}", "operator", label, evidence=op["evidence"], asn=asn,
                      operator=name, country=op.get("country"))
        a = c.address(op["address"], operator=name, asn=asn, country=op.get("country"),
                      region=op.get("region"), city=op.get("city"))
        c.edge(a, node, "announced-by", evidence=op["evidence"], range_start=op.get("range_start"),
               range_end=op.get("range_end"))


def _add_certificates(c: _Collector, store: Store) -> None:
    for row in store.query(f"""
        SELECT host, fingerprint_sha256 AS fp, any_value(subject) AS subject,
               any_value(issuer) AS issuer, any_value(sans) AS sans,
               min(not_before) AS not_before, max(not_after) AS not_after,
               min(time) AS first_seen, max(time) AS last_seen,
               list(DISTINCT port ORDER BY port) FILTER (WHERE port IS NOT NULL) AS ports,
               list(DISTINCT address ORDER BY address) FILTER (WHERE address IS NOT NULL)
                   AS addresses,
               count(*) AS evidence_total, {evidence_sql()} AS evidence
        FROM certificate GROUP BY host, fingerprint_sha256 ORDER BY host, fingerprint_sha256
    """):
        fp = row["fp"]
        node = c.node(f"certificate:{fp}", "certificate", row["subject"] or f"sha256 {fp[:16]}",
                      fingerprint_sha256=fp, subject=row["subject"], issuer=row["issuer"],
                      sans=list(row["sans"] or []),
                      not_before=iso(row["not_before"]) if row["not_before"] else None,
                      not_after=iso(row["not_after"]) if row["not_after"] else None)
        c.edge(c.name(row["host"]), node, "presents-certificate", evidence=row["evidence"],
               total=row["evidence_total"], first=row["first_seen"], last=row["last_seen"],
               ports=row["ports"], addresses=row["addresses"])


def _add_families(c: _Collector, families: list[dict[str, Any]]) -> None:
    for family in families:
        node = c.node(f"family:{family['pattern']}", "family", family["pattern"],
                      pattern=family["pattern"], size=family["size"],
                      places_matched=family.get("places_matched"),
                      provinces=family.get("provinces"))
        for m in family["members"]:
            host, place = c.name(m["host"]), m.get("place")
            c.nodes[host].merge({"family": family["pattern"], "token": m["token"],
                                 "province": place and place.get("province"),
                                 "place": place and place.get("label")})
            # Membership rests on the records that name the host.
            own = list(c.nodes[host].evidence.values())
            c.edge(host, node, "member-of-family", evidence=own, token=m["token"],
                   place_status=m["place_status"])
            if place:
                p = c.node(f"place:{place.get('adcode') or place['label']}", "place",
                           place["label"], evidence=own, province=place.get("province"),
                           adcode=place.get("adcode"), name=place.get("name"),
                           pinyin=place.get("pinyin"), division=place.get("kind"))
                c.edge(host, p, "names-place", evidence=own, token=m["token"],
                       place_status=m["place_status"], reason=m.get("reason"))


def clusters(graph: nx.MultiDiGraph) -> list[tuple[str, list[str]]]:
    """Nodes drawn together, as (title node, members): one group per front, then per family.

    A front's group holds the front, its address and its backends; a family's
    holds the family and its member hosts.  A node is in at most one group
    (the first that claims it), since DOT and Mermaid nest each node once.
    """
    groups: list[tuple[str, list[str]]] = []
    claimed: set[str] = set()
    for kind, edge_kinds in (("front", ("fronted-by", "backend-of")),
                             ("family", ("member-of-family",))):
        for node, data in graph.nodes(data=True):
            if data["kind"] != kind:
                continue
            members = [node] + sorted({u for u, _, k in graph.in_edges(node, data="kind")
                                       if k in edge_kinds})
            members = [m for m in members if m not in claimed]
            claimed.update(members)
            groups.append((node, members))
    return groups
