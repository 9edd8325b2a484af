from datetime import UTC, datetime, timedelta

from hostmap.analyze.resolve import default_moment, resolve_hosts
from hostmap.model import RecordType, ResolutionSource
from tests.factories import T0, make_http_exchange, make_resolution, prov, store_of

OLD = datetime(2021, 1, 1, tzinfo=UTC)
MOVE = datetime(2021, 12, 29, tzinfo=UTC)


def _history():
    return store_of(
        make_resolution(name="c.example", value="198.51.100.7", source=ResolutionSource.PASSIVE_DNS,
                        first_seen=OLD, last_seen=MOVE - timedelta(days=1),
                        provenance=prov("line 1", "pdns.jsonl", "passive-dns")),
        make_resolution(name="c.example", value="192.0.2.1", source=ResolutionSource.PASSIVE_DNS,
                        first_seen=MOVE, last_seen=T0,
                        provenance=prov("line 2", "pdns.jsonl", "passive-dns")),
    )


def test_the_record_whose_interval_holds_the_moment_wins():
    store = _history()
    [host] = resolve_hosts(store, ["c.example"], T0)
    assert host["addresses"] == ["192.0.2.1"]
    [host] = resolve_hosts(store, ["c.example"], datetime(2021, 6, 1, tzinfo=UTC))
    assert host["addresses"] == ["198.51.100.7"]
    assert host["chain"][0]["evidence"] == [
        {"file": "pdns.jsonl", "format": "passive-dns", "locator": "line 1"}]


def test_cname_chain_is_followed_to_the_address_with_each_step_cited():
    store = store_of(
        make_resolution(name="www.example", rtype=RecordType.CNAME, value="lb.example.net",
                        provenance=prov("line 3", "dig.txt", "dig")),
        make_resolution(name="lb.example.net", value="192.0.2.9",
                        provenance=prov("line 4", "dig.txt", "dig")),
    )
    [host] = resolve_hosts(store, ["www.example"], T0)
    assert [(s["name"], s["rtype"], s["value"]) for s in host["chain"]] == [
        ("www.example", "CNAME", "lb.example.net"), ("lb.example.net", "A", "192.0.2.9")]
    assert host["addresses"] == ["192.0.2.9"]


def test_a_cname_loop_ends_without_hanging():
    store = store_of(
        make_resolution(name="x.example", rtype=RecordType.CNAME, value="y.example"),
        make_resolution(name="y.example", rtype=RecordType.CNAME, value="x.example"),
    )
    [host] = resolve_hosts(store, ["x.example"], T0)
    assert host["addresses"] == []
    assert len(host["chain"]) == 2


def test_undated_zone_records_answer_only_when_nothing_dated_does():
    store = store_of(
        make_resolution(name="z.example", value="203.0.113.5", source=ResolutionSource.ZONE,
                        first_seen=None, last_seen=None),
        make_resolution(name="z.example", value="192.0.2.2"),
        make_resolution(name="only-zone.example", value="203.0.113.6",
                        source=ResolutionSource.ZONE, first_seen=None, last_seen=None),
    )
    hosts = {h["name"]: h for h in resolve_hosts(store, ["z.example", "only-zone.example"], T0)}
    assert hosts["z.example"]["addresses"] == ["192.0.2.2"]
    assert hosts["only-zone.example"]["addresses"] == ["203.0.113.6"]


def test_connected_addresses_are_kept_apart_from_dns():
    store = store_of(make_http_exchange(host="a.example", server_address="192.0.2.50"),
                     make_resolution(name="a.example", value="192.0.2.1"))
    [host] = resolve_hosts(store, ["a.example"], T0)
    assert host["addresses"] == ["192.0.2.1"]
    assert [c["address"] for c in host["connected"]] == ["192.0.2.50"]


def test_default_moment_is_the_last_exchange():
    later = T0 + timedelta(hours=1)
    store = store_of(make_http_exchange(), make_http_exchange(time=later))
    assert default_moment(store) == later


def test_a_request_to_a_bare_address_connects_the_sni_name():
    store = store_of(make_http_exchange(host="3.33.235.18", server_address="3.33.235.18",
                                        sni="stream.example"))
    [host] = resolve_hosts(store, ["stream.example"], T0)
    assert [c["address"] for c in host["connected"]] == ["3.33.235.18"]
