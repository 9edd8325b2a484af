"""Operators: who announces each address (ASN, organisation) and where it is."""

from __future__ import annotations

import ipaddress
from typing import Any

from hostmap.analyze._evidence import evidence_of
from hostmap.store import Store

__all__ = ["find_operators"]


def find_operators(store: Store, addresses: list[str]) -> list[dict[str, Any]]:
    """For each address, the most specific address-table range that holds it."""
    numbers = []
    for text in sorted(set(addresses)):
        ip = ipaddress.ip_address(text)
        numbers.append((text, str(int(ip)), ip.version))
    if not numbers:
        return []
    store.con.execute("CREATE OR REPLACE TEMP TABLE wanted (address VARCHAR, num UHUGEINT, "
                      "family INTEGER)")
    store.con.executemany("INSERT INTO wanted VALUES (?, ?::UHUGEINT, ?)", numbers)
    rows = store.query("""
        SELECT w.address, a.range_start, a.range_end, a.asn, a.operator, a.country, a.region,
               a.city, a.file, a.format, a.locator
        FROM wanted w JOIN address_info a
          ON a.family = w.family AND w.num BETWEEN a.start_num AND a.end_num
        QUALIFY row_number() OVER (PARTITION BY w.address
                                   ORDER BY a.end_num - a.start_num, a.file, a.locator) = 1
        ORDER BY w.address
    """)
    return [{**{k: r[k] for k in ("address", "range_start", "range_end", "asn", "operator",
                                   "country", "region", "city")},
             "evidence": [evidence_of(r)]} for r in rows]
