"""Contacted endpoints: what the app talked to, by scheme, host and port."""

from __future__ import annotations

from typing import Any

from hostmap.analyze._evidence import evidence_sql
from hostmap.store import Store

__all__ = ["WELL_KNOWN_PORTS", "find_endpoints"]

WELL_KNOWN_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def find_endpoints(store: Store) -> list[dict[str, Any]]:
    """One row per (scheme, host, port) with counts, first/last seen and server addresses."""
    rows = store.query(f"""
        SELECT scheme, host, port,
               -- one exchange recorded by two tools (a HAR and a flow file of one session)
               -- counts once: same time, method and path
               count(DISTINCT (coalesce(time::VARCHAR, file || locator), method, path))
                   AS requests,
               count(*) AS records,
               min(time) AS first_seen, max(time) AS last_seen,
               list(DISTINCT server_address ORDER BY server_address)
                   FILTER (WHERE server_address IS NOT NULL) AS server_addresses,
               list(DISTINCT sni ORDER BY sni) FILTER (WHERE sni IS NOT NULL) AS sni,
               list(DISTINCT method ORDER BY method) FILTER (WHERE method IS NOT NULL) AS methods,
               {evidence_sql("time NULLS LAST, file, locator")} AS evidence
        FROM http
        GROUP BY scheme, host, port
        ORDER BY host, port, scheme
    """)
    for row in rows:
        row["evidence_total"] = row.pop("records")
        row["non_standard_port"] = WELL_KNOWN_PORTS.get(row["scheme"]) not in (None, row["port"])
        for key in ("server_addresses", "sni", "methods"):
            row[key] = row[key] or []
    return rows
