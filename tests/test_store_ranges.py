"""Numbers too large for a store column are stored empty instead of failing the run."""

from __future__ import annotations

from hostmap.model import HttpExchange, Provenance, RecordType, Resolution, ResolutionSource
from hostmap.store import Store

AT = Provenance(file="x.log", format="zeek", locator="line 1")


def test_an_18_digit_status_and_a_21_digit_count_are_stored_as_null() -> None:
    store = Store()
    input_id = store.begin_input()
    store.add(input_id, HttpExchange(provenance=AT, host="big.example", port=80,
                                     status=999_999_999_999_999_999))
    store.add(input_id, HttpExchange(provenance=AT, host="ok.example", port=80, status=200))
    store.add(input_id, Resolution(provenance=AT, name="c.example", rtype=RecordType.A,
                                   value="192.0.2.1", source=ResolutionSource.PASSIVE_DNS,
                                   count=999_999_999_999_999_999_999))
    store.flush()
    rows = store.query("SELECT host, status FROM http ORDER BY host")
    assert rows == [{"host": "big.example", "status": None}, {"host": "ok.example", "status": 200}]
    assert store.query("SELECT name, count FROM resolution") == [{"name": "c.example",
                                                                   "count": None}]
