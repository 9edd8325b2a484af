"""Hosts referenced but not contacted: redirect targets and URLs inside response bodies."""

from __future__ import annotations

from typing import Any

from hostmap.analyze._evidence import evidence_sql
from hostmap.store import Store

__all__ = ["find_referenced"]


def find_referenced(store: Store) -> list[dict[str, Any]]:
    """Hosts named by a redirect or a response body that no exchange in the inputs went to."""
    rows = store.query(f"""
        SELECT host,
               list(DISTINCT kind ORDER BY kind) AS kinds,
               list(DISTINCT port ORDER BY port) AS ports,
               list(DISTINCT from_host ORDER BY from_host) AS referenced_by,
               list(DISTINCT url ORDER BY url)[1:10] AS urls,
               count(*) AS evidence_total,
               {evidence_sql()} AS evidence
        FROM reference
        WHERE host NOT IN (SELECT host FROM http)
        GROUP BY host
        ORDER BY host
    """)
    return rows
