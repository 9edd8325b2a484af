from datetime import UTC, datetime, timedelta

from hostmap.analyze.migrations import find_migrations
from hostmap.model import ResolutionSource
from tests.factories import make_resolution, prov, store_of

D = datetime(2021, 12, 29, tzinfo=UTC)


def _pdns(value, first, last, line):
    return make_resolution(name="c.example", value=value, source=ResolutionSource.PASSIVE_DNS,
                           first_seen=first, last_seen=last,
                           provenance=prov(f"line {line}", "pdns.jsonl", "passive-dns"))


def test_a_move_is_dated_by_the_new_address_first_sighting():
    store = store_of(_pdns("198.51.100.7", D - timedelta(days=400), D - timedelta(days=1), 1),
                     _pdns("192.0.2.1", D, D + timedelta(days=160), 2))
    [move] = find_migrations(store)
    assert (move["name"], move["from_address"], move["to_address"], move["date"]) == (
        "c.example", "198.51.100.7", "192.0.2.1", "2021-12-29")
    assert {e["locator"] for e in move["evidence"]} == {"line 1", "line 2"}


def test_overlapping_addresses_are_round_robin_not_a_move():
    store = store_of(_pdns("198.51.100.7", D - timedelta(days=400), D + timedelta(days=100), 1),
                     _pdns("192.0.2.1", D - timedelta(days=300), D + timedelta(days=160), 2))
    assert find_migrations(store) == []


def test_undated_records_never_make_a_migration():
    store = store_of(
        make_resolution(name="c.example", value="198.51.100.7", first_seen=None, last_seen=None),
        make_resolution(name="c.example", value="192.0.2.1", first_seen=None, last_seen=None))
    assert find_migrations(store) == []
