"""Valid observations with documented defaults; override any field by keyword."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hostmap.model import (
    AddressInfo,
    HttpExchange,
    Provenance,
    RecordType,
    Resolution,
    ResolutionSource,
)
from hostmap.store import Store

T0 = datetime(2022, 6, 14, 2, 0, tzinfo=UTC)


def prov(locator: str = "entry 0", file: str = "test.har", format: str = "har") -> Provenance:
    return Provenance(file=file, format=format, locator=locator)


def make_http_exchange(**overrides: Any) -> HttpExchange:
    """An HTTPS GET of https://a.example/ at T0 answered 200 by 192.0.2.1."""
    fields: dict[str, Any] = {
        "provenance": prov(), "host": "a.example", "port": 443, "scheme": "https",
        "method": "GET", "path": "/", "status": 200, "time": T0, "server_address": "192.0.2.1",
    }
    fields.update(overrides)
    return HttpExchange(**fields)


def make_resolution(**overrides: Any) -> Resolution:
    """a.example A 192.0.2.1 from a dig snapshot at T0."""
    fields: dict[str, Any] = {
        "provenance": prov("line 1", "dig.txt", "dig"), "name": "a.example",
        "rtype": RecordType.A, "value": "192.0.2.1", "source": ResolutionSource.DIG,
        "first_seen": T0, "last_seen": T0,
    }
    fields.update(overrides)
    return Resolution(**fields)


def make_address_info(**overrides: Any) -> AddressInfo:
    """192.0.2.0/24 announced by AS64500 Example Net, CN."""
    fields: dict[str, Any] = {
        "provenance": prov("line 1", "asn.tsv", "iptoasn"), "range_start": "192.0.2.0",
        "range_end": "192.0.2.255", "asn": 64500, "operator": "Example Net", "country": "CN",
    }
    fields.update(overrides)
    return AddressInfo(**fields)


def store_of(*items: Any) -> Store:
    """An in-memory store holding `items` (all under input 1)."""
    store = Store()
    for item in items:
        store.add(1, item)
    store.flush()
    return store
