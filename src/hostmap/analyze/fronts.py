"""Fronts: is an address a load balancer, a reverse proxy, a CDN edge, shared hosting, or none?

hostmap reports graded evidence, not a forced label.  Every address that a
host reaches is weighed on the signals below; each signal says which verdict
it supports, how strongly (a weight in [0, 1]) and which records show it.  A
verdict's confidence is 1 - prod(1 - weight) over its signals, so independent
signals add up and no single weak one decides.  The best verdict is reported
with the others that also scored (fronts stack: a CDN in front of an SLB).

Signals:
  names           how many host names sit on the address, and how diverse they
                  are: one registrable domain (one organisation's front) or many
                  unrelated ones (CDN edge, shared hosting)
  family          a family of names differing in one token (one per city) on it
  cname           several names CNAME'd to one target that resolves to it
  round-robin     a name on it that also resolves to other addresses
  headers         response headers fronts leave (Server, Via, X-Cache, ...)
  backends        responses that betray several backends: Date skew, digests of
                  the ordered header names, varying Server values
  cookies         persistence cookies decoded to the pool members they reveal
  pinned          a host whose connected address differs from DNS at that time
  certificate     one certificate presented for many of its names
  ports           several service ports, non-standard ones among them
  operator        who announces it (a CDN operator's network is a hint)
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from itertools import groupby
from operator import itemgetter
from typing import Any

from hostmap.analyze._evidence import evidence_of
from hostmap.analyze.endpoints import WELL_KNOWN_PORTS
from hostmap.enrich.cookies import cookies_in
from hostmap.enrich.front_headers import classify_headers, date_skew, header_digest
from hostmap.hostnames import registrable_domain
from hostmap.store import Store

__all__ = ["VERDICTS", "find_fronts"]

VERDICTS = ("load-balancer", "reverse-proxy", "cdn-edge", "shared-hosting", "dedicated",
            "unknown")

_HEADER_KIND_VERDICT = {
    "cdn": "cdn-edge",
    "cache": "cdn-edge",
    "cloud-waf": "cdn-edge",
    "load-balancer": "load-balancer",
    "reverse-proxy": "reverse-proxy",
}
_CDN_OPERATORS = ("akamai", "cloudflare", "fastly", "cloudfront", "edgecast", "limelight",
                  "chinanetcenter", "wangsu", "chinacache", "incapsula", "stackpath",
                  "cdn77", "bunny", "verizon digital media")
_FRONT_NAME_TOKENS = {"slb", "lb", "elb", "alb", "nlb", "clb", "gslb", "lvs", "haproxy",
                      "ingress", "gateway", "gw", "proxy", "waf", "edge", "cdn"}
_CLIENT_ECHO = {"x-forwarded-for", "x-real-ip", "forwarded"}
MAX_DATE_SKEW = 5.0
"""Seconds: Date headers of one address further apart than this (after taking the capture
time out) come from clocks of different machines."""


def _signal(name: str, supports: str, weight: float, detail: str,
            evidence: list[dict[str, str]]) -> dict[str, Any]:
    unique = list({(e["file"], e["locator"]): e for e in evidence}.values())
    return {"signal": name, "supports": supports, "weight": round(weight, 2),
            "detail": detail, "evidence": unique[:20], "evidence_total": len(unique)}


def find_fronts(store: Store, report: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per address some host reaches: verdict, confidence, signals, backends."""
    hosts = report["hosts"]
    families = report["families"]
    operators = {o["address"]: o for o in report["operators"]}
    on_address: dict[str, dict[str, list[dict[str, str]]]] = defaultdict(dict)
    for host in hosts:
        steps = {s["value"]: s["evidence"] for s in host["chain"] if s["rtype"] != "CNAME"}
        for address in host["addresses"]:
            on_address[address].setdefault(host["name"], []).extend(steps.get(address, []))
        for conn in host["connected"]:
            on_address[conn["address"]].setdefault(host["name"], []).extend(conn["evidence"])
    exchange_signals = _exchange_signals_by_address(store, set(on_address))
    certificates = _certificates_by_address(store)
    # Indexes so each address looks only at its own hosts, families and connections
    # (hosts x addresses loops do not finish on a large passive-DNS input).
    by_name = {host["name"]: host for host in hosts}
    families_of: dict[str, list[int]] = defaultdict(list)
    for index, family in enumerate(families):
        for m in family["members"]:
            families_of[m["host"]].append(index)
    pinned: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = defaultdict(list)
    for host in hosts:
        for conn in host["connected"]:
            if host["addresses"] and conn["address"] not in host["addresses"]:
                pinned[conn["address"]].append((host, conn))
    fronts = []
    for address in sorted(on_address):
        names = on_address[address]
        # on_address keeps the hosts' order, so these are the hosts on it in report order.
        here = [by_name[n] for n in names if n in by_name]
        touched = sorted({i for n in names for i in families_of.get(n, ())})
        signals = []
        signals += _name_signals(address, names, here, [families[i] for i in touched])
        found, backends = exchange_signals.get(address, ([], []))
        signals += found
        signals += _certificate_signals(certificates.get(address, []), names)
        signals += _pinned_signals(address, pinned.get(address, []))
        op = operators.get(address)
        if op and op.get("operator") and any(c in op["operator"].lower() for c in _CDN_OPERATORS):
            signals.append(_signal("operator", "cdn-edge", 0.5,
                                   f"announced by {op['operator']}, a CDN operator",
                                   op["evidence"]))
        fronts.append(_verdict(address, sorted(names), signals, backends, op))
    fronts.sort(key=lambda f: (-len(f["hosts"]), f["address"]))
    return fronts


def _name_signals(address: str, names: dict[str, list[dict[str, str]]],
                  hosts: list[dict[str, Any]], families: list[dict[str, Any]]
                  ) -> list[dict[str, Any]]:
    signals = []
    evidence = [e for ev in names.values() for e in ev[:1]]
    domains = Counter(registrable_domain(n) or n for n in names)
    count = len(names)
    if count == 1:
        signals.append(_signal("names", "dedicated", 0.5,
                               f"only {next(iter(names))} is seen on it", evidence))
    elif len(domains) == 1:
        domain = next(iter(domains))
        signals.append(_signal("names", "load-balancer", min(0.2 + 0.05 * count, 0.6),
                               f"{count} host names of one registrable domain ({domain})",
                               evidence))
    else:
        top, top_count = domains.most_common(1)[0]
        if len(domains) >= 5 and top_count / count < 0.5:
            weight = min(0.3 + 0.02 * len(domains), 0.7)
            detail = f"{count} host names of {len(domains)} unrelated registrable domains"
            signals.append(_signal("names", "shared-hosting", weight, detail, evidence))
            signals.append(_signal("names", "cdn-edge", weight * 0.7, detail, evidence))
        else:
            signals.append(_signal("names", "load-balancer", 0.2,
                                   f"{count} host names, mostly of {top} "
                                   f"({top_count} of {count})", evidence))
    for family in families:
        members = [m for m in family["members"] if m["host"] in names]
        if len(members) >= 3:
            placed = sum(1 for m in members if m["place"] is not None)
            detail = (f"{len(members)} of the {family['size']} hosts of the family "
                      f"{family['pattern']} are on it")
            if placed:
                detail += f" ({placed} of them named after places)"
            # Place-named families (one host per city) are the strongest sign of one
            # organisation's shared front; other families (api1, api2, ...) count less.
            weight = min(0.3 + 0.03 * len(members), 0.7) if placed else 0.2
            signals.append(_signal("family", "load-balancer", weight, detail,
                                   [e for m in members for e in names[m["host"]][:1]]))
    # Several names CNAME'd to one target on this address.
    targets: dict[str, list[str]] = defaultdict(list)
    target_evidence: dict[str, list[dict[str, str]]] = defaultdict(list)
    round_robin = []
    for host in hosts:  # the hosts on the address, in report order
        for step in host["chain"]:
            if step["rtype"] == "CNAME" and step["name"] == host["name"]:
                targets[step["value"]].append(host["name"])
                target_evidence[step["value"]].extend(step["evidence"][:1])
        if len(host["addresses"]) > 1:
            round_robin.append(host)
    for target, sources in sorted(targets.items()):
        if len(sources) >= 2:
            tokens = set(target.replace("-", ".").split("."))
            hint = tokens & _FRONT_NAME_TOKENS
            weight = 0.35 + (0.15 if hint else 0.0)
            detail = f"{', '.join(sorted(sources))} are CNAMEs of {target}"
            if hint:
                detail += f" (a front's name: {', '.join(sorted(hint))})"
            signals.append(_signal("cname", "load-balancer", weight, detail,
                                   target_evidence[target]))
    for host in round_robin:
        others = [a for a in host["addresses"] if a != address]
        signals.append(_signal("round-robin", "load-balancer", 0.15,
                               f"{host['name']} also resolves to {', '.join(others)} "
                               "(DNS round robin: balancing before this address)",
                               [e for s in host["chain"] for e in s["evidence"][:1]]))
    return signals


def _exchange_signals_by_address(store: Store, addresses: set[str]
                                 ) -> dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """(signals, backends) from the exchanges with each of `addresses`.

    The exchanges stream in address order and each address's are read (headers
    parsed) and let go before the next: a capture of 300,000 exchanges is never
    held in Python at once.
    """
    rows = store.stream("""
        SELECT server_address, host, port, scheme, time, request_headers, response_headers,
               file, format, locator
        FROM http WHERE server_address IS NOT NULL
        ORDER BY server_address, time NULLS LAST, file, locator
    """)
    out: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}
    for address, group in groupby(rows, key=itemgetter("server_address")):
        if address not in addresses:
            continue
        exchanges = []
        for row in group:
            row["request_headers"] = json.loads(row["request_headers"] or "[]")
            row["response_headers"] = json.loads(row["response_headers"] or "[]")
            exchanges.append(row)
        backends: list[dict[str, Any]] = []
        out[address] = (_exchange_signals(exchanges, backends), backends)
    return out


def _exchange_signals(rows: list[dict[str, Any]], backends: list[dict[str, Any]]
                      ) -> list[dict[str, Any]]:
    signals: list[dict[str, Any]] = []
    if not rows:
        return signals
    by_header: dict[tuple[str, str, str], list[dict[str, str]]] = defaultdict(list)
    header_kind: dict[tuple[str, str, str], tuple[str, str | None, str]] = {}
    weak: dict[tuple[str, str, str], bool] = {}
    digests: dict[str, list[dict[str, str]]] = defaultdict(list)
    servers: dict[str, list[dict[str, str]]] = defaultdict(list)
    skews: list[tuple[float, dict[str, str]]] = []
    found_backends: dict[tuple[str, str | None, str | None], dict[str, Any]] = {}
    ports: dict[int, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        ev = evidence_of(row)
        ports[row["port"]].append(ev)
        response = [tuple(h) for h in row["response_headers"]]
        for sig in classify_headers(response):
            key = (sig.header.lower(), str(sig.kind), sig.vendor or "")
            by_header[key].append(ev)
            weak[key] = sig.is_weak
            # Forwarding headers can echo the client's own address: name the header only.
            shown = sig.value if sig.header not in _CLIENT_ECHO else "(client address)"
            header_kind[key] = (str(sig.kind), sig.vendor, f"{sig.header}: {shown}")
            if getattr(sig, "backend", None):
                _add_backend(found_backends, "header", sig.backend, None, None, sig.note, ev)
        if response:
            digests[header_digest(response)].append(ev)
            server = next((v for n, v in response if n.lower() == "server"), None)
            if server:
                servers[server].append(ev)
            if row["time"] is not None:
                skew = date_skew(response, row["time"])
                if skew is not None:
                    skews.append((skew, ev))
        for cookie in cookies_in([tuple(h) for h in row["request_headers"]] + response):
            _add_backend(found_backends, cookie.vendor, cookie.backend_address,
                         cookie.backend_port, cookie.backend_id or cookie.pool,
                         f"{cookie.cookie}: {cookie.note}", ev, cookie.pool)
    for (_header, kind, vendor), evidence in sorted(by_header.items()):
        verdict = _HEADER_KIND_VERDICT.get(kind)
        if verdict is None:
            continue
        _kind, vendor_, example = header_kind[(_header, kind, vendor)]
        signals.append(_signal("headers", verdict,
                               0.1 if weak[(_header, kind, vendor)] else 0.35,
                               f"{example}" + (f" ({vendor_})" if vendor_ else ""), evidence))
    if len(servers) > 1:
        signals.append(_signal("backends", "load-balancer", 0.3,
                               f"responses name {len(servers)} different servers: "
                               f"{', '.join(sorted(servers))}",
                               [e for ev in servers.values() for e in ev[:2]]))
    if len(digests) > 1 and len(rows) >= 4:
        signals.append(_signal("backends", "load-balancer", 0.15,
                               f"{len(digests)} different header layouts among {len(rows)} "
                               "responses (volatile headers left out)",
                               [e for ev in digests.values() for e in ev[:1]]))
    if skews:
        values = sorted(s for s, _ in skews)
        if values[-1] - values[0] > MAX_DATE_SKEW:
            signals.append(_signal("backends", "load-balancer", 0.3,
                                   f"Date headers disagree by {values[-1] - values[0]:.0f} s "
                                   "after taking the capture time out: several clocks",
                                   [skews[0][1], skews[-1][1]]))
    if found_backends:
        for b in sorted(found_backends.values(),
                        key=lambda b: (b["vendor"], str(b["address"]), str(b["id"]))):
            backends.append({**b, "evidence": b["evidence"][:20],
                             "evidence_total": len(b["evidence"])})
        distinct = len(found_backends)
        vendors = sorted({b["vendor"] for b in found_backends.values()})
        signals.append(_signal("cookies", "load-balancer", 0.45 if distinct > 1 else 0.35,
                               f"{distinct} backend(s) revealed by {', '.join(vendors)}",
                               [e for b in found_backends.values() for e in b["evidence"][:2]]))
    odd = sorted(p for p in ports if p not in WELL_KNOWN_PORTS.values())
    if len(ports) > 1 and odd:
        signals.append(_signal("ports", "load-balancer", 0.15,
                               f"serves ports {', '.join(map(str, sorted(ports)))}, "
                               f"non-standard: {', '.join(map(str, odd))}",
                               [ports[p][0] for p in sorted(ports)]))
    return signals


def _add_backend(found: dict[tuple[str, str | None, str | None], dict[str, Any]], vendor: str,
                 address: str | None, port: int | None, ident: str | None, note: str,
                 ev: dict[str, str], pool: str | None = None) -> None:
    key = (vendor, f"{address}:{port}" if address else None, ident if not address else None)
    entry = found.setdefault(key, {"vendor": vendor, "address": address, "port": port,
                                   "id": ident if not address else None, "pool": pool,
                                   "note": note, "evidence": []})
    if ev not in entry["evidence"]:
        entry["evidence"].append(ev)


def _certificates_by_address(store: Store) -> dict[str, list[dict[str, Any]]]:
    rows = store.query("""
        SELECT address, host, fingerprint_sha256, subject, sans, file, format, locator
        FROM certificate WHERE address IS NOT NULL ORDER BY address, file, locator
    """)
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        out[row["address"]].append(row)
    return out


def _certificate_signals(rows: list[dict[str, Any]], names: dict[str, Any]
                         ) -> list[dict[str, Any]]:
    signals = []
    by_fp: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_fp[row["fingerprint_sha256"]].append(row)
    for fp, certs in sorted(by_fp.items()):
        sans = set(certs[0]["sans"] or [])
        hosts = {c["host"] for c in certs}
        covered = [n for n in names if any(_san_covers(s, n) for s in sans)]
        if len(hosts) >= 2 or len(covered) >= 3:
            signals.append(_signal("certificate", "load-balancer", 0.25,
                                   f"one certificate ({fp[:16]}…) presented for "
                                   f"{', '.join(sorted(hosts))}; its names cover "
                                   f"{len(covered)} of the {len(names)} hosts here",
                                   [evidence_of(c) for c in certs]))
    return signals


def _san_covers(san: str, name: str) -> bool:
    san = san.lower().rstrip(".")
    if san.startswith("*."):
        return name.endswith(san[1:]) and name.count(".") == san.count(".")
    return san == name


def _pinned_signals(address: str, connections: list[tuple[dict[str, Any], dict[str, Any]]]
                    ) -> list[dict[str, Any]]:
    """`connections`: (host, connection) pairs to `address` that DNS did not give the host."""
    signals = []
    for host, conn in connections:
        dns = [e for s in host["chain"] for e in s["evidence"][:1]]
        signals.append(_signal(
            "pinned", "reverse-proxy", 0.1,
            f"{host['name']} connected to {address} while DNS said "
            f"{', '.join(host['addresses'])} (a pinned address or HTTPDNS)",
            conn["evidence"][:3] + dns))
    return signals


def _verdict(address: str, names: list[str], signals: list[dict[str, Any]],
             backends: list[dict[str, Any]], op: dict[str, Any] | None) -> dict[str, Any]:
    scores: dict[str, float] = {}
    for verdict in VERDICTS:
        remaining = 1.0
        for s in signals:
            if s["supports"] == verdict:
                remaining *= 1.0 - s["weight"]
        if remaining < 1.0:
            scores[verdict] = round(1.0 - remaining, 2)
    # A dedicated address loses its claim as soon as anything else points at a front.
    if "dedicated" in scores and len(scores) > 1:
        scores["dedicated"] = round(scores["dedicated"] * 0.5, 2)
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], VERDICTS.index(kv[0])))
    if not ranked or ranked[0][1] < 0.3:
        verdict, confidence = "unknown", ranked[0][1] if ranked else 0.0
    else:
        verdict, confidence = ranked[0]
    return {
        "address": address,
        "verdict": verdict,
        "confidence": confidence,
        "also": [{"verdict": v, "confidence": c} for v, c in ranked
                 if v != verdict and c >= 0.3],
        "hosts": names,
        "operator": None if op is None else {k: op[k] for k in
                                             ("asn", "operator", "country", "region", "city")},
        "signals": sorted(signals, key=lambda s: (-s["weight"], s["signal"], s["detail"])),
        "backends": backends,
    }
