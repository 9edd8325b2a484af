"""Resolution at a moment: what each host name pointed to at time T, CNAME chains followed.

A record "holds at T" when its seen-interval contains T.  Sources without an
interval that contains T still answer, ranked by how far their interval (or
snapshot time, for a dig run) lies from T; undated records (zone files,
undated reverse-IP listings) answer only when nothing dated does.  For each
name the values of the nearest records win, and every record of the same
value within `CORROBORATION` of that distance is cited as further evidence.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hostmap.analyze._evidence import evidence_of
from hostmap.store import Store

__all__ = ["CORROBORATION", "MAX_CHAIN", "SAME_MOMENT", "cname_closure", "default_moment",
           "resolve_hosts"]

SAME_MOMENT = timedelta(days=1)
CORROBORATION = timedelta(days=2)
MAX_CHAIN = 10
"""CNAME chains longer than this are cut (and loops stop at once)."""

_UNDATED = 10.0**12  # seconds: farther than any dated record


def default_moment(store: Store) -> datetime | None:
    """The capture time (last HTTP exchange), else the latest time any DNS record was seen."""
    row = store.query("SELECT max(time) AS t FROM http")[0]
    if row["t"] is not None:
        return row["t"]  # type: ignore[no-any-return]
    row = store.query(
        "SELECT max(greatest(coalesce(last_seen, first_seen), first_seen)) AS t FROM resolution")[0]
    return row["t"]  # type: ignore[no-any-return]


def cname_closure(cte: str, seeds: str) -> str:
    """SQL for a recursive CTE `cte(name, depth)`: the names `seeds` (a query giving one
    column of names) and every name their CNAME records lead to, over all time, up to
    MAX_CHAIN steps.  Put it after `WITH RECURSIVE`."""
    return f"""{cte}(name, depth) AS (
            SELECT name, 0 FROM ({seeds}) AS seed(name)
            UNION
            SELECT r.value, c.depth + 1 FROM {cte} c
            JOIN resolution r ON r.name = c.name AND r.rtype = 'CNAME'
            WHERE c.depth < {MAX_CHAIN}
        )"""


def _nearest_records(store: Store, at: datetime | None, names: list[str]
                     ) -> dict[str, list[dict[str, Any]]]:
    """For `names` and every name their CNAMEs lead to (over all time), their A/AAAA/CNAME
    records with `distance` from `at` (seconds)."""
    rows = store.query(
        f"""
        WITH RECURSIVE {cname_closure("chain", "SELECT unnest($names::VARCHAR[])")}, r AS (
            SELECT name, rtype, value, source, file, format, locator, first_seen, last_seen,
                   CASE
                     WHEN first_seen IS NULL AND last_seen IS NULL THEN $undated
                     WHEN $at IS NULL THEN 0
                     WHEN coalesce(first_seen <= $at, TRUE) AND coalesce(last_seen >= $at, TRUE)
                       THEN 0
                     WHEN first_seen > $at THEN epoch(first_seen) - epoch($at::TIMESTAMPTZ)
                     ELSE epoch($at::TIMESTAMPTZ) - epoch(coalesce(last_seen, first_seen))
                   END AS exact_distance
            FROM resolution
            WHERE rtype IN ('A', 'AAAA', 'CNAME') AND name IN (SELECT name FROM chain)
        ), ranked AS (
            SELECT *, CASE WHEN exact_distance <= $same THEN 0 ELSE exact_distance END
                      AS distance
            FROM r
        )
        SELECT *, min(distance) OVER (PARTITION BY name) AS best FROM ranked
        QUALIFY distance <= best + $window
        ORDER BY name, rtype, value, file, locator
        """,
        {"names": names, "at": at, "undated": _UNDATED, "window": CORROBORATION.total_seconds(),
         "same": SAME_MOMENT.total_seconds()},
    )
    by_name: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_name.setdefault(row["name"], []).append(row)
    return by_name


def _step(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The values a name had at the moment, each with all records that support it."""
    best = min(r["distance"] for r in records)
    values: dict[tuple[str, str], dict[str, Any]] = {}
    for r in records:
        key = (r["rtype"], r["value"])
        if r["distance"] == best and key not in values:
            values[key] = {"rtype": r["rtype"], "value": r["value"], "sources": [],
                           "holds_at_moment": best == 0, "evidence": []}
    for r in records:
        entry = values.get((r["rtype"], r["value"]))
        if entry is not None:
            if r["source"] not in entry["sources"]:
                entry["sources"].append(r["source"])
            entry["evidence"].append(evidence_of(r))
    return list(values.values())


def resolve_hosts(store: Store, names: list[str], at: datetime | None) -> list[dict[str, Any]]:
    """For each name: the chain of steps (CNAME, A, AAAA) at `at` and the final addresses.

    Also lists the addresses the captures show the client connected to for
    that host (`connected`), which may differ from DNS (pinned addresses,
    HTTPDNS in mobile apps).
    """
    records = _nearest_records(store, at, names)
    connected: dict[str, dict[str, list[dict[str, str]]]] = {}
    # A request to a bare address whose TLS SNI names a host connects that name too
    # (mitmproxy in transparent mode, pcap without DNS).
    for row in store.query("""
        SELECT host, server_address, file, format, locator, time FROM http
        WHERE server_address IS NOT NULL
        UNION ALL
        SELECT sni, server_address, file, format, locator, time FROM http
        WHERE server_address IS NOT NULL AND sni IS NOT NULL AND sni <> host
        ORDER BY host, server_address, time, file, locator
    """):
        connected.setdefault(row["host"], {}).setdefault(row["server_address"], []).append(
            evidence_of(row))
    hosts = []
    for name in names:
        chain: list[dict[str, Any]] = []
        addresses: list[str] = []
        seen = {name}
        frontier = [name]
        depth = 0
        while frontier and depth < MAX_CHAIN:
            depth += 1
            next_frontier = []
            for current in frontier:
                for step in _step(records[current]) if current in records else []:
                    chain.append({"name": current, **step})
                    if step["rtype"] == "CNAME":
                        if step["value"] not in seen:
                            seen.add(step["value"])
                            next_frontier.append(step["value"])
                    elif step["value"] not in addresses:
                        addresses.append(step["value"])
            frontier = next_frontier
        conn = connected.get(name, {})
        hosts.append({
            "name": name,
            "at": at,
            "chain": chain,
            "addresses": sorted(addresses),
            "connected": [{"address": a, "evidence": ev[:20], "evidence_total": len(ev)}
                          for a, ev in sorted(conn.items())],
        })
    return hosts
