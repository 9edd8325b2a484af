from hostmap.analyze.resolve import resolve_hosts
from hostmap.analyze.shared import find_shared
from hostmap.model import RecordType
from tests.factories import T0, make_http_exchange, make_resolution, store_of


def test_hosts_on_one_address_form_a_group_with_how_each_got_there():
    store = store_of(
        make_resolution(name="a.example", value="192.0.2.1"),
        make_resolution(name="b.example", rtype=RecordType.CNAME, value="lb.example"),
        make_resolution(name="lb.example", value="192.0.2.1"),
        make_resolution(name="c.example", value="192.0.2.3"),
        make_http_exchange(host="d.example", server_address="192.0.2.1"),
    )
    hosts = resolve_hosts(store, ["a.example", "b.example", "c.example", "d.example",
                                  "lb.example"], T0)
    groups = {(g["kind"], g["target"]): g for g in find_shared(hosts)}
    group = groups[("address", "192.0.2.1")]
    assert [m["host"] for m in group["hosts"]] == ["a.example", "b.example", "d.example",
                                                   "lb.example"]
    via = {m["host"]: m["via"] for m in group["hosts"]}
    assert via["d.example"] == ["connected"] and via["a.example"] == ["dns"]
    assert ("address", "192.0.2.3") not in groups


def test_a_name_and_its_own_cname_target_are_not_two_hosts_sharing():
    store = store_of(
        make_resolution(name="www.example", rtype=RecordType.CNAME, value="edge.cdn.example"),
        make_resolution(name="edge.cdn.example", value="192.0.2.80"),
    )
    hosts = resolve_hosts(store, ["www.example", "edge.cdn.example"], T0)
    assert find_shared(hosts) == []
