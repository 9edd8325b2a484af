"""The questions hostmap answers, each one module; `run_analyses` asks them all.

The result is the report: a dict whose keys are documented in the README
(schema "hostmap/report/1").  Values are plain data (str, int, lists, dicts,
datetimes) so every renderer can walk it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from hostmap.analyze.endpoints import find_endpoints
from hostmap.analyze.families import find_families
from hostmap.analyze.findings import state_findings
from hostmap.analyze.fronts import find_fronts
from hostmap.analyze.migrations import find_migrations
from hostmap.analyze.operators import find_operators
from hostmap.analyze.referenced import find_referenced
from hostmap.analyze.resolve import cname_closure, default_moment, resolve_hosts
from hostmap.analyze.shared import find_shared
from hostmap.enrich.gazetteer import Gazetteer
from hostmap.hostnames import is_address
from hostmap.store import Store

__all__ = ["SCHEMA", "host_names", "run_analyses"]

SCHEMA = "hostmap/report/1"


def host_names(store: Store) -> list[str]:
    """The host names the report is about.

    Without traffic (DNS sources only): every name the DNS records hold.
    With traffic: the names the captures contacted, sent as SNI or referenced,
    the CNAME chains they lead to, and -- one pivot through the DNS records,
    over all time -- every name that resolved to an address those reach (or
    that the captures connected to), or that is a CNAME of a name on the
    chains, with its own chain.  So a passive-DNS export of millions of
    names adds the names that ever shared the case's infrastructure, not the
    whole export.
    """
    traffic = [r["name"] for r in store.query("""
        SELECT host AS name FROM http
        UNION SELECT sni FROM http WHERE sni IS NOT NULL
        UNION SELECT host FROM reference
    """)]
    if not traffic:
        rows = store.query("""
            SELECT name FROM resolution WHERE rtype IN ('A', 'AAAA', 'CNAME')
            UNION SELECT value FROM resolution WHERE rtype = 'CNAME'
        """)
        return _keep_names(r["name"] for r in rows)
    rows = store.query(f"""
        WITH RECURSIVE {cname_closure("chain", "SELECT unnest($seeds::VARCHAR[])")}, reached AS (
            SELECT value AS address FROM resolution
            WHERE rtype IN ('A', 'AAAA') AND name IN (SELECT name FROM chain)
            UNION SELECT server_address FROM http WHERE server_address IS NOT NULL
        ), pivoted AS (
            SELECT name FROM resolution
            WHERE rtype IN ('A', 'AAAA') AND value IN (SELECT address FROM reached)
            UNION SELECT name FROM resolution
            WHERE rtype = 'CNAME' AND value IN (SELECT name FROM chain)
        ), {cname_closure("closure", "SELECT name FROM chain UNION SELECT name FROM pivoted")}
        SELECT DISTINCT name FROM closure
    """, {"seeds": traffic})
    return _keep_names(r["name"] for r in rows)


def _keep_names(names: Iterable[str | None]) -> list[str]:
    kept = {n for n in names if n}
    return sorted(n for n in kept if not is_address(n) and not n.endswith(".arpa"))


def run_analyses(store: Store, *, at: datetime | None = None,
                 gazetteer: Gazetteer | None = None) -> dict[str, Any]:
    """Every analysis over the store, at moment `at` (default: the capture time)."""
    moment = at if at is not None else default_moment(store)
    endpoints = find_endpoints(store)
    referenced = find_referenced(store)
    names = host_names(store)
    hosts = resolve_hosts(store, names, moment)
    shared = find_shared(hosts)
    addresses_of = {h["name"]: sorted(set(h["addresses"]) | {c["address"] for c in h["connected"]})
                    for h in hosts}
    families = find_families(list(addresses_of), addresses_of, gazetteer)
    migrations = find_migrations(store, names)
    all_addresses = sorted({a for addrs in addresses_of.values() for a in addrs}
                           | {m["from_address"] for m in migrations}
                           | {m["to_address"] for m in migrations})
    operators = find_operators(store, all_addresses)
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "at": moment,
        "inputs": store.query("""
            SELECT path, format, sha256, records, errors, warnings FROM inputs ORDER BY input_id
        """),
        "issues": store.query("""
            SELECT file, format, locator, severity, message FROM issue ORDER BY input_id, file
        """),
        "endpoints": endpoints,
        "referenced": referenced,
        "hosts": hosts,
        "shared": shared,
        "families": families,
        "migrations": migrations,
        "operators": operators,
    }
    report["fronts"] = find_fronts(store, report)
    report["findings"] = state_findings(report)
    return report
