"""Evidence: the (file, format, locator) triples a finding rests on, as SQL and as dicts."""

from __future__ import annotations

from typing import Any

__all__ = ["EVIDENCE_LIMIT", "evidence_sql", "evidence_of"]

EVIDENCE_LIMIT = 20
"""At most this many records are cited per item; `evidence_total` gives the full count."""


def evidence_sql(order: str = "file, locator") -> str:
    """An aggregate that lists the group's records as {file, format, locator} structs."""
    return (f"list({{'file': file, 'format': format, 'locator': locator}} ORDER BY {order})"
            f"[1:{EVIDENCE_LIMIT}]")


def evidence_of(row: dict[str, Any]) -> dict[str, str]:
    """One row's provenance as an evidence dict."""
    return {"file": row["file"], "format": row["format"], "locator": row["locator"]}
