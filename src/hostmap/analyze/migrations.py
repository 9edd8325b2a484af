"""Migrations: a host name that moved from one address to another, dated from its history."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hostmap.analyze._evidence import evidence_sql
from hostmap.store import Store

__all__ = ["HANDOVER", "address_periods", "find_migrations"]

HANDOVER = timedelta(days=7)
"""How far the old address may outlive the new one's first sighting and still count as a move
(passive-DNS sensors see the old answer from caches for a while)."""


def address_periods(store: Store, names: list[str] | None = None) -> list[dict[str, Any]]:
    """Each (name, address) pair with the span it was seen over, across all dated sources.

    Rows: name, rtype, value, first_seen, last_seen, sources, evidence,
    evidence_total; ordered by name, rtype, first_seen.  `names` limits the
    rows to those names.
    """
    where = "" if names is None else "AND name IN (SELECT unnest($names))"
    return store.query(f"""
        SELECT name, rtype, value,
               min(coalesce(first_seen, last_seen)) AS first_seen,
               max(coalesce(last_seen, first_seen)) AS last_seen,
               list(DISTINCT source ORDER BY source) AS sources,
               count(*) AS evidence_total,
               {evidence_sql()} AS evidence
        FROM resolution
        WHERE rtype IN ('A', 'AAAA') AND (first_seen IS NOT NULL OR last_seen IS NOT NULL)
              {where}
        GROUP BY name, rtype, value
        ORDER BY name, rtype, first_seen, value
    """, {} if names is None else {"names": names})


def find_migrations(store: Store, names: list[str] | None = None) -> list[dict[str, Any]]:
    """Consecutive address periods of one name where the old one ends as the new one starts.

    Each address's period is the span over all dated A/AAAA records of the
    name (passive DNS, dated reverse-IP listings, dig snapshots, captures).
    Periods that overlap for longer than `HANDOVER` are round robin or
    several fronts at once, not a move.  The move is dated by the new
    address's first sighting.  `names` limits the answer to those names.
    """
    periods = address_periods(store, names)
    by_name: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for p in periods:
        by_name.setdefault((p["name"], p["rtype"]), []).append(p)
    moves = []
    for (name, _rtype), spans in sorted(by_name.items()):
        for old, new in zip(spans, spans[1:], strict=False):
            if new["first_seen"] <= old["first_seen"] or new["last_seen"] <= old["last_seen"]:
                continue
            if old["last_seen"] > new["first_seen"] + HANDOVER:
                continue
            moves.append({
                "name": name,
                "from_address": old["value"],
                "to_address": new["value"],
                "date": new["first_seen"].date().isoformat(),
                "from_seen": [old["first_seen"], old["last_seen"]],
                "to_seen": [new["first_seen"], new["last_seen"]],
                "evidence": old["evidence"] + new["evidence"],
                "evidence_total": old["evidence_total"] + new["evidence_total"],
            })
    return moves
