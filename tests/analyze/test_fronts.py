"""Front verdicts: each signal on its own, and the cases where the inference must not be made."""

from __future__ import annotations

from datetime import timedelta

from hostmap.analyze import run_analyses
from hostmap.model import Certificate, RecordType
from tests.factories import (
    T0,
    make_address_info,
    make_http_exchange,
    make_resolution,
    prov,
    store_of,
)


def _front(report, address):
    [front] = [f for f in report["fronts"] if f["address"] == address]
    return front


def _signals(front, name):
    return [s for s in front["signals"] if s["signal"] == name]


def test_city_hosts_of_one_domain_on_one_address_make_a_load_balancer():
    cities = ["zz", "kf", "ly", "pds", "ay"]
    store = store_of(*[make_resolution(name=f"{c}-jkm.example.cn", value="192.0.2.10",
                                       provenance=prov(f"line {i}", "dig.txt", "dig"))
                       for i, c in enumerate(cities)],
                     make_address_info(operator="Example Mobile", city="Pingdingshan"))
    front = _front(run_analyses(store), "192.0.2.10")
    assert front["verdict"] == "load-balancer" and front["confidence"] >= 0.5
    assert front["operator"]["operator"] == "Example Mobile"
    assert _signals(front, "family") and _signals(front, "names")
    assert all(s["evidence"] for s in front["signals"])


def test_forty_unrelated_sites_on_one_address_are_not_an_organisations_load_balancer():
    store = store_of(*[make_resolution(name=f"www.site{i}-shop.com", value="203.0.113.80")
                       for i in range(40)])
    front = _front(run_analyses(store), "203.0.113.80")
    assert front["verdict"] in ("cdn-edge", "shared-hosting")
    assert "load-balancer" not in [a["verdict"] for a in front["also"]]


def test_cdn_headers_make_a_cdn_edge():
    store = store_of(*[make_http_exchange(
        host=f"static{i}.example", server_address="198.51.100.20", provenance=prov(f"entry {i}"),
        response_headers=(("Server", "cloudflare"), ("CF-RAY", f"7d{i}a-HKG"),
                          ("CF-Cache-Status", "HIT"))) for i in range(2)])
    front = _front(run_analyses(store), "198.51.100.20")
    assert front["verdict"] == "cdn-edge"
    assert any("cloudflare" in s["detail"].lower() for s in _signals(front, "headers"))


def test_a_city_host_on_its_own_address_is_dedicated_and_named_as_not_sharing():
    store = store_of(*[make_resolution(name=f"{c}-jkm.example.cn", value="192.0.2.10")
                       for c in ["zz", "kf", "ly", "ay"]],
                     make_resolution(name="pds-jkm.example.cn", value="198.51.100.7"))
    report = run_analyses(store)
    assert _front(report, "198.51.100.7")["verdict"] == "dedicated"
    [finding] = [f for f in report["findings"] if f["kind"] == "family"]
    assert "not sharing it: pds-jkm.example.cn (198.51.100.7)" in finding["text"]


BIGIP = "BIGipServerweb_pool="


def test_big_ip_cookies_reveal_the_pool_members_behind_the_front():
    store = store_of(
        make_http_exchange(host="a.example", server_address="192.0.2.30",
                           provenance=prov("entry 0"),
                           response_headers=(("Set-Cookie", BIGIP + "1677787402.36895.0000"),)),
        make_http_exchange(host="a.example", server_address="192.0.2.30",
                           provenance=prov("entry 1"),
                           response_headers=(("Set-Cookie", BIGIP + "1694564618.36895.0000"),)),
    )
    front = _front(run_analyses(store), "192.0.2.30")
    members = sorted((b["address"], b["port"]) for b in front["backends"])
    assert members == [("10.1.1.100", 8080), ("10.1.1.101", 8080)]
    assert front["backends"][0]["pool"] == "web_pool"
    assert _signals(front, "cookies")[0]["supports"] == "load-balancer"


def test_date_skew_between_responses_betrays_several_backends():
    store = store_of(*[make_http_exchange(
        host="a.example", server_address="192.0.2.40", time=T0 + timedelta(seconds=i),
        provenance=prov(f"entry {i}"),
        response_headers=(("Date", (T0 + timedelta(seconds=i + skew)).strftime(
            "%a, %d %b %Y %H:%M:%S GMT")),)) for i, skew in enumerate([0, 90, 0])])
    front = _front(run_analyses(store), "192.0.2.40")
    assert any("Date headers disagree by 90 s" in s["detail"] for s in _signals(front, "backends"))


def test_a_connection_to_an_address_dns_did_not_give_is_flagged_with_both_sources():
    store = store_of(make_resolution(name="api.example", value="192.0.2.1"),
                     make_http_exchange(host="api.example", server_address="192.0.2.99"))
    front = _front(run_analyses(store), "192.0.2.99")
    [pinned] = _signals(front, "pinned")
    assert "DNS said 192.0.2.1" in pinned["detail"]
    assert {e["format"] for e in pinned["evidence"]} == {"har", "dig"}


def test_one_certificate_for_many_hosts_and_odd_ports_are_signals():
    cert = dict(fingerprint_sha256="ab" * 32, address="192.0.2.50", port=443,
                sans=("*.example.cn",), subject="CN=*.example.cn")
    store = store_of(
        Certificate(provenance=prov("flow 0", "s.mitm", "mitmproxy"), host="a.example.cn", **cert),
        Certificate(provenance=prov("flow 1", "s.mitm", "mitmproxy"), host="b.example.cn", **cert),
        make_http_exchange(host="a.example.cn", server_address="192.0.2.50"),
        make_http_exchange(host="b.example.cn", server_address="192.0.2.50", port=7777,
                           scheme="http"),
    )
    front = _front(run_analyses(store), "192.0.2.50")
    assert _signals(front, "certificate")
    assert "non-standard: 7777" in _signals(front, "ports")[0]["detail"]


def test_cnames_converging_on_a_front_name_are_a_signal():
    store = store_of(
        *[make_resolution(name=f"svc{i}.example.org", rtype=RecordType.CNAME,
                          value="slb.example.org") for i in range(3)],
        make_resolution(name="slb.example.org", value="192.0.2.60"))
    front = _front(run_analyses(store), "192.0.2.60")
    [cname] = _signals(front, "cname")
    assert "a front's name: slb" in cname["detail"]
    assert front["verdict"] == "load-balancer"
