from datetime import timedelta

from hostmap.analyze.endpoints import find_endpoints
from hostmap.analyze.referenced import find_referenced
from tests.factories import T0, make_http_exchange, prov, store_of


def test_endpoints_group_by_scheme_host_port_and_flag_odd_ports():
    store = store_of(
        make_http_exchange(host="app.example", port=7777, scheme="http", time=T0,
                           provenance=prov("entry 0")),
        make_http_exchange(host="app.example", port=7777, scheme="http",
                           time=T0 + timedelta(minutes=5), provenance=prov("entry 1")),
        make_http_exchange(host="login.example", port=443, provenance=prov("entry 2")),
    )
    eps = {(e["host"], e["port"]): e for e in find_endpoints(store)}
    app = eps[("app.example", 7777)]
    assert app["requests"] == 2 and app["non_standard_port"]
    assert app["last_seen"] - app["first_seen"] == timedelta(minutes=5)
    assert [e["locator"] for e in app["evidence"]] == ["entry 0", "entry 1"]
    assert not eps[("login.example", 443)]["non_standard_port"]


def test_referenced_hosts_exclude_those_contacted():
    store = store_of(
        make_http_exchange(host="app.example", redirect_url="https://login.example/x",
                           body_urls=("https://city1.example/a", "https://app.example/b")),
        make_http_exchange(host="login.example"),
    )
    assert [r["host"] for r in find_referenced(store)] == ["city1.example"]
