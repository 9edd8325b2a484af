"""Persistence cookies: published test vectors for each vendor, and garbage that must not raise."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from hostmap.enrich.cookies import (
    PersistenceCookie,
    cookies_in,
    decode_cookie,
    decode_set_cookie,
)

ALIBABA_HASH = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"


# F5 K6917 ("Overview of BIG-IP persistence cookie encoding") gives 1677787402.36895.0000
# for 10.1.1.100:8080 and the route-domain and IPv6 forms below.  The two further IPv4
# vectors are worked examples from greenoperator.tumblr.com ("BIGIP Cookie Decode-Encode
# Steps", 10.10.13.123:443) and F5 DevCentral ("Decoding the IPv4 address from the
# persistence cookie", 172.16.102.101:80).
@pytest.mark.parametrize(
    ("value", "address", "port", "route_domain"),
    [
        ("1677787402.36895.0000", "10.1.1.100", 8080, None),
        ("1677787402.20480.0000", "10.1.1.100", 80, None),
        ("2064452106.47873.0000", "10.10.13.123", 443, None),
        ("1701187756.20480.0000", "172.16.102.101", 80, None),
        ("rd5o00000000000000000000ffffc0000201o80", "192.0.2.1", 80, 5),
        ("vi20010112000000000000000000000030.20480", "2001:112::30", 80, None),
        ("rd3o20010112000000000000000000000030o80", "2001:112::30", 80, 3),
    ],
)
def test_bigip_cookie_decodes_to_the_pool_member(
    value: str, address: str, port: int, route_domain: int | None
) -> None:
    cookie = decode_cookie("BIGipServerweb_pool", value)
    assert cookie is not None
    assert cookie.vendor == "F5 BIG-IP"
    assert cookie.pool == "web_pool"
    assert (cookie.backend_address, cookie.backend_port) == (address, port)
    assert cookie.route_domain == route_domain
    assert cookie.backend_id is None


def test_encrypted_bigip_cookie_names_the_vendor_but_no_member() -> None:
    cookie = decode_cookie("BIGipServer~Common~app", "!Vq3mW0k1cG9vbC1tZW1iZXI+/A==")
    assert cookie is not None
    assert cookie.vendor == "F5 BIG-IP"
    assert cookie.pool == "~Common~app"
    assert cookie.backend_address is None and cookie.backend_port is None
    assert "encrypted" in cookie.note


def test_netscaler_cookie_decodes_the_published_vector() -> None:
    # Adam Maxwell, "Netscalers: Making sense of the cookie – the finale" (itgeekchronicles.co.uk,
    # 2012-01-23): his decoder turns the name NSC_rfse-gesfe-etsgsvs… into "Service
    # Name=qerd-fdred-dsrfrur…" and prints "Server IP=63.17.71.92", the address in the value
    # published in part 1 (2012-01-03), which also says a value ending 3660 is port 80.
    cookie = decode_cookie("NSC_rfse-gesfe-etsgsvs", "ffffffff3c19594d45525d5f4f58455e445a4a423660")
    assert cookie is not None
    assert cookie == PersistenceCookie(
        cookie="NSC_rfse-gesfe-etsgsvs",
        vendor="Citrix NetScaler",
        pool="qerd-fdred-dsrfrur",
        backend_address="63.17.71.92",
        backend_port=80,
        note=cookie.note,
    )


def test_netscaler_second_published_cookie() -> None:
    # Part 2 (2012-01-06) prints NSC_wtsw-bmufsjbo-qvcmjd-iuuq=ffffffffaf18363b…3660, and part 1
    # says its server's address "starts with 172" (0xaf ^ 0x03); the rest of the address and
    # the name follow from the scheme.  (Part 1's other example, "mc_udru" for "lb_test", is
    # not a one-letter shift: "lb_test" shifts to "mc_uftu", which is what we check.)
    cookie = decode_cookie(
        "NSC_wtsw-bmufsjbo-qvcmjd-iuuq", "ffffffffaf18363b45525d5f4f58455e445a4a423660"
    )
    assert cookie is not None
    assert cookie.pool == "vsrv-alterian-public-http"
    assert (cookie.backend_address, cookie.backend_port) == ("172.16.40.42", 80)
    shifted = decode_cookie("NSC_mc_uftu", "ffffffffaf18363b45525d5f4f58455e445a4a423660")
    assert shifted is not None and shifted.pool == "lb_test"
    assert decode_cookie("NSC_Zb_A", "ffffffffaf18363b45525d5f4f58455e445a4a423660") == replace(
        cookie, cookie="NSC_Zb_A", pool="Ya_Z"
    )


@pytest.mark.parametrize("name", ["SERVERID", "SERVERCORSID"])
def test_alibaba_cookie_gives_the_server_hash(name: str) -> None:
    cookie = decode_cookie(name, f"{ALIBABA_HASH.upper()}|1700000123|1700000000")
    assert cookie is not None
    assert cookie.vendor == "Alibaba Cloud SLB/ALB"
    assert cookie.backend_id == ALIBABA_HASH
    assert cookie.backend_address is None


@pytest.mark.parametrize(
    ("value", "server"), [("web1", "web1"), ("s2~a3F9x", "s2"), ("app-3|ZXx1c|ZXx0a", "app-3")]
)
def test_haproxy_serverid_gives_the_server_name(value: str, server: str) -> None:
    cookie = decode_cookie("SERVERID", value)
    assert cookie is not None
    assert (cookie.vendor, cookie.backend_id) == ("HAProxy", server)


def test_servercorsid_must_have_the_alibaba_form() -> None:
    assert decode_cookie("SERVERCORSID", "web1") is None


def test_tengine_route_hash_and_plain_address() -> None:
    hashed = decode_cookie("route", "9F5B3A1C2D4E6F708192A3B4C5D6E7F8")
    assert hashed is not None
    assert (hashed.vendor, hashed.backend_id) == ("Tengine", "9f5b3a1c2d4e6f708192a3b4c5d6e7f8")
    plain = decode_cookie("route", "192.0.2.10:8080")
    assert plain is not None
    assert (plain.backend_address, plain.backend_port) == ("192.0.2.10", 8080)
    assert decode_cookie("route", "checkout") is None


@pytest.mark.parametrize(
    ("name", "vendor"),
    [
        ("AWSALB", "AWS ALB"),
        ("AWSALBCORS", "AWS ALB"),
        ("AWSALBTG", "AWS ALB"),
        ("AWSALBAPP-0", "AWS ALB"),
        ("AWSELB", "AWS ELB"),
    ],
)
def test_aws_cookies_are_recorded_as_opaque(name: str, vendor: str) -> None:
    value = "x7Gd9Qm3c2VjcmV0LXRhcmdldA+/0jTqZbWq1uL0d8yA=="
    cookie = decode_cookie(name, value)
    assert cookie is not None
    assert (cookie.cookie, cookie.vendor) == (name, vendor)
    assert cookie.backend_id is None and cookie.backend_address is None
    assert value not in repr(cookie)  # a per-client value never reaches a report


def test_arr_affinity_hash_is_the_backend_id() -> None:
    value = "a4f1" * 16
    for name in ("ARRAffinity", "ARRAffinitySameSite"):
        cookie = decode_cookie(name, value)
        assert cookie is not None
        assert (cookie.vendor, cookie.backend_id) == ("Azure App Service ARR", value)


@pytest.mark.parametrize(
    ("name", "value"),
    [("JSESSIONID", "A1B2C3D4E5"), ("_ga", "GA1.2.1.2"), ("session", "1677787402.36895.0000")],
)
def test_other_cookies_are_not_persistence_cookies(name: str, value: str) -> None:
    assert decode_cookie(name, value) is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BIGipServerp", ""),
        ("BIGipServerp", "1677787402.36895"),
        ("BIGipServerp", "99999999999.80.0000"),
        ("BIGipServerp", "1677787402.99999.0000"),
        ("BIGipServerp", "rd5o00000000000000000000ffffc0000201o99999"),
        ("BIGipServerp", "vi2001.20480"),
        ("BIGipServerp", "!not base64!"),
        ("NSC_x", "ffffffff3c19"),
        ("NSC_x", "deadbeef3c19594d45525d5f4f58455e445a4a423660"),
        ("NSC_", "ffffffff3c19594d45525d5f4f58455e445a4a423660"),
        ("SERVERID", ""),
        ("SERVERID", "has space"),
        ("route", "192.0.2.10:99999"),
        ("route", "192.0.2.10:٨٠"),
        ("AWSALB", ""),
        ("ARRAffinity", "not-a-hash"),
    ],
)
def test_malformed_values_give_none(name: str, value: str) -> None:
    assert decode_cookie(name, value) is None


def test_garbage_never_raises() -> None:
    names = ["BIGipServerp", "NSC_abc", "SERVERID", "SERVERCORSID", "route", "AWSALB"]
    names.append("ARRAffinity")
    alphabet = '0123456789abcdefABCDEF.|~!=+/-:[]rdoviO "٣²\x00é'
    rng = random.Random(20240601)
    for _ in range(3000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 48)))
        for name in names:
            result = decode_cookie(name, value)
            assert result is None or isinstance(result, PersistenceCookie)
        decode_set_cookie(f"{rng.choice(names)}={value}; {value}")
        cookies_in([("Set-Cookie", value), ("Cookie", value)])


def test_set_cookie_attributes_and_quotes_are_ignored() -> None:
    cookie = decode_set_cookie(
        'BIGipServerweb_pool="1677787402.36895.0000"; path=/; Httponly; Secure; SameSite=None'
    )
    assert cookie is not None
    assert (cookie.backend_address, cookie.backend_port) == ("10.1.1.100", 8080)
    assert decode_set_cookie("BIGipServerweb_pool") is None


def test_cookies_in_reads_set_cookie_and_cookie_headers_once_each() -> None:
    headers = [
        ("Content-Type", "text/html"),
        (
            "Set-Cookie",
            "BIGipServerapp=1677787402.36895.0000; Expires=Wed, 21 Oct 2026 07:28:00 GMT",
        ),
        ("set-cookie", f"SERVERID={ALIBABA_HASH}|1700000123|1700000000; Path=/"),
        ("Cookie", "theme=dark; BIGipServerapp=1677787402.36895.0000; AWSALB=opaque"),
    ]
    found = cookies_in(headers)
    assert [(c.cookie, c.vendor) for c in found] == [
        ("BIGipServerapp", "F5 BIG-IP"),
        ("SERVERID", "Alibaba Cloud SLB/ALB"),
        ("AWSALB", "AWS ALB"),
    ]


def test_cookies_in_splits_set_cookie_lines_joined_by_a_tool() -> None:
    joined = (
        "BIGipServerapp=1677787402.36895.0000; Expires=Wed, 21 Oct 2026 07:28:00 GMT, "
        "ARRAffinity=" + "ab" * 32 + "; Path=/\nSERVERID=web1; Path=/"
    )
    found = cookies_in([("Set-Cookie", joined)])
    assert [c.vendor for c in found] == ["F5 BIG-IP", "Azure App Service ARR", "HAProxy"]
