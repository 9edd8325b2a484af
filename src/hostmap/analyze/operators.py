"""Operators: who announces each address (ASN, organisation) and where it is."""

from __future__ import annotations

import ipaddress
from typing import Any

from hostmap.analyze._evidence import evidence_of
from hostmap.store import Store

__all__ = ["find_operators"]


_FIELDS = ("asn", "operator", "country", "region", "city")


def find_operators(store: Store, addresses: list[str]) -> list[dict[str, Any]]:
    """For each address, what the address tables and databases say, most specific range first.

    Each field comes from the most specific range that has it, so an ASN
    database and a City database given together complete each other; every
    range that contributed is cited.
    """
    numbers = []
    for text in sorted(set(addresses)):
        ip = ipaddress.ip_address(text)
        numbers.append((text, str(int(ip)), ip.version))
    if not numbers:
        return []
    for input_id, lookup in store.lookups:
        for text, _, _ in numbers:
            info = lookup.lookup(text)
            if info is not None:
                store.add(input_id, info)
    store.con.execute("CREATE OR REPLACE TEMP TABLE wanted (address VARCHAR, num UHUGEINT, "
                      "family INTEGER)")
    store.con.execute("INSERT INTO wanted SELECT unnest($a), unnest($n)::UHUGEINT, unnest($f)",
                      {"a": [t for t, _, _ in numbers], "n": [n for _, n, _ in numbers],
                       "f": [v for _, _, v in numbers]})
    rows = store.query("""
        SELECT w.address, a.range_start, a.range_end, a.asn, a.operator, a.country, a.region,
               a.city, a.file, a.format, a.locator, a.end_num - a.start_num AS size
        FROM wanted w JOIN address_info a
          ON a.family = w.family AND w.num BETWEEN a.start_num AND a.end_num
        ORDER BY w.address, size, a.file, a.locator
    """)
    by_address: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_address.setdefault(row["address"], []).append(row)
    out = []
    for address, ranges in by_address.items():
        entry: dict[str, Any] = {"address": address, "range_start": ranges[0]["range_start"],
                                 "range_end": ranges[0]["range_end"]}
        used = []
        for field in _FIELDS:
            source = next((r for r in ranges if r[field] not in (None, "")), None)
            entry[field] = None if source is None else source[field]
            if source is not None and source not in used:
                used.append(source)
        entry["evidence"] = [evidence_of(r) for r in used or ranges[:1]]
        out.append(entry)
    return out
