"""Redaction of secrets and personal data: text, URLs, headers, bodies, reports, maps."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import networkx as nx
import pytest

from hostmap.analyze import run_analyses
from hostmap.enrich.cookies import cookies_in, decode_cookie
from hostmap.graph import build_graph
from hostmap.model import ReadIssue
from hostmap.redact import (
    REDACTED,
    is_secret_name,
    is_valid_resident_id,
    redact_cookie,
    redact_graph,
    redact_header,
    redact_issue_message,
    redact_report,
    redact_text,
    redact_url,
)
from tests.factories import make_http_exchange, prov, store_of

CANARY = "CANARY-COOKIE-7f3a"
RESIDENT_ID = "11010519491231002X"
"""GB 11643's own example number (Beijing Chaoyang, born 1949-12-31): its check digit is X."""
PHONE = "13800138000"
EMAIL = "canary@example.com"
LEAKS = (CANARY, RESIDENT_ID, PHONE, EMAIL)
F5_COOKIE = "BIGipServerweb_pool=1677787402.36895.0000"
"""F5 K6917's example: pool member 10.1.1.100:8080."""


def assert_clean(text: str) -> None:
    for leak in LEAKS:
        assert leak not in text


# --- text -------------------------------------------------------------------------------


@pytest.mark.parametrize("number", [RESIDENT_ID, RESIDENT_ID.lower(), "440524188001010014"])
def test_resident_ids_with_a_valid_check_digit_are_redacted(number: str):
    counts: Counter[str] = Counter()
    assert redact_text(f"sfz {number}.", counts) == f"sfz {REDACTED}."
    assert counts == {"resident-id": 1}


def test_eighteen_digits_with_a_wrong_check_digit_are_kept():
    # Order numbers and ids are 18 digits too; only a valid check digit says "resident ID".
    assert not is_valid_resident_id("110105194912310021")
    assert redact_text("order 110105194912310021") == "order 110105194912310021"
    assert redact_text("ts 1655170867123456789") == "ts 1655170867123456789"


def test_a_resident_id_inside_a_longer_digit_run_or_hex_is_kept():
    assert redact_text(f"9{RESIDENT_ID}") == f"9{RESIDENT_ID}"
    assert redact_text(f"ab{RESIDENT_ID}cd") == f"ab{RESIDENT_ID}cd"


@pytest.mark.parametrize("text", [PHONE, f"+86 {PHONE}", f"+86{PHONE}", f"0086-{PHONE}",
                                  "138-0013-8000", "138 0013 8000", f"tel:{PHONE}"])
def test_mainland_mobile_numbers_are_redacted(text: str):
    counts: Counter[str] = Counter()
    assert PHONE[-4:] not in redact_text(f"call {text} now", counts)
    assert counts == {"phone": 1}


@pytest.mark.parametrize("text", ["913800138000", "1380013800", "+18889935273",
                                  "id=a13800138000b", "12800138000"])
def test_digit_runs_that_are_not_mobile_numbers_are_kept(text: str):
    assert redact_text(text) == text


def test_email_addresses_are_redacted_also_percent_encoded_but_retina_images_stay():
    counts: Counter[str] = Counter()
    text = f"mail {EMAIL} or canary%40example.com; logo@2x.png"
    assert redact_text(text, counts) == f"mail {REDACTED} or {REDACTED}; logo@2x.png"
    assert counts == {"email": 2}


def test_bearer_basic_and_jwt_credentials_are_redacted():
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlX2J5dGVz"
    text = f"Bearer {CANARY} / Basic dXNlcjpwYXNzd29yZA== / token {jwt}"
    assert redact_text(text) == f"Bearer {REDACTED} / Basic {REDACTED} / token {REDACTED}"
    assert redact_text("Basic information, Negotiate terms") == \
        "Basic information, Negotiate terms"


@pytest.mark.parametrize("key", ["token", "access_token", "sessionid", "JSESSIONID", "sid",
                                 "password", "passwd", "secret", "client_secret", "api_key",
                                 "apikey", "auth", "signature", "sign", "ticket", "idCard"])
def test_values_of_secret_named_keys_are_redacted_and_the_key_stays(key: str):
    assert is_secret_name(key)
    assert redact_text(f"a=1&{key}={CANARY}&b=2") == f"a=1&{key}={REDACTED}&b=2"
    assert redact_text(f'{{"{key}": "{CANARY}", "b": 2}}') == f'{{"{key}": "{REDACTED}", "b": 2}}'
    assert redact_text(f"var x = {{{key}: '{CANARY}'}}") == f"var x = {{{key}: '{REDACTED}'}}"


def test_ordinary_keys_and_status_codes_are_kept():
    text = '{"code": 0, "msg": "SUCCESS", "code2": "x", "cityCode": "zz", "token_type": "bearer"}'
    assert redact_text(text) == text
    assert redact_text('{"code": "FAKECODE0001"}') == f'{{"code": "{REDACTED}"}}'


def test_json_secrets_with_escapes_and_numbers_and_json_inside_json():
    assert redact_text('{"password": "a\\"b\\\\", "pin": 123456, "x": 1}') == \
        f'{{"password": "{REDACTED}", "pin": "{REDACTED}", "x": 1}}'
    inner = '{"data": "{\\"token\\":\\"' + CANARY + '\\\\\\"x\\",\\"ok\\":1}"}'
    redacted = redact_text(inner)
    assert CANARY not in redacted and '\\"ok\\":1' in redacted
    # A secret inside an ordinary value is still found.
    assert CANARY not in redact_text(f'{{"text": "password=\'{CANARY}\'"}}')


def test_header_lines_quoted_in_text_are_redacted():
    text = f"Cookie: sid={CANARY}; {F5_COOKIE}\nAuthorization: Bearer {CANARY}\nHost: a.example"
    assert redact_text(text) == (f"Cookie: sid={REDACTED}; BIGipServerweb_pool=[backend "
                                 f"10.1.1.100:8080]\nAuthorization: Bearer {REDACTED}\n"
                                 "Host: a.example")


def test_redaction_is_idempotent_and_counts_only_real_replacements():
    counts: Counter[str] = Counter()
    once = redact_text(f'token={CANARY} {{"password": "{CANARY}"}} {PHONE}', counts)
    again: Counter[str] = Counter()
    assert redact_text(once, again) == once
    assert counts == {"secret": 1, "json-secret": 1, "phone": 1} and not again


# --- URLs -------------------------------------------------------------------------------


def test_urls_keep_scheme_host_port_and_lose_userinfo_query_and_fragment_values():
    counts: Counter[str] = Counter()
    url = f"https://user:{CANARY}@a.example:8443/u/{PHONE}/x;jsessionid=ABC?token={CANARY}&v=2&n#k=1"
    assert redact_url(url, counts) == (f"https://a.example:8443/u/{REDACTED}/x;jsessionid="
                                       f"{REDACTED}?token={REDACTED}&v={REDACTED}&n#k={REDACTED}")
    assert counts == {"userinfo": 1, "phone": 1, "secret": 1, "query": 2, "fragment": 1}


@pytest.mark.parametrize(("url", "expected"), [
    ("/a?b=c", f"/a?b={REDACTED}"),
    ("http://[2001:db8::1]:80/p?x=1#/route", f"http://[2001:db8::1]:80/p?x={REDACTED}#/route"),
    ("http://a.example/p?", "http://a.example/p?"),
    ("//a.example/p?e=", "//a.example/p?e="),
    (f"https://a.example/?{PHONE}", f"https://a.example/?{REDACTED}"),
])
def test_relative_and_odd_urls(url: str, expected: str):
    assert redact_url(url) == expected


# --- headers and cookies ----------------------------------------------------------------


def test_cookie_values_are_redacted_but_persistence_cookies_show_their_backend():
    value = (f"session={CANARY}; {F5_COOKIE}; "
             "SERVERID=59f12eaae59fb2e1dc0dec37c9d30fb1|1655170867|1655170867")
    assert redact_header("Cookie", value) == (
        f"session={REDACTED}; BIGipServerweb_pool=[backend 10.1.1.100:8080]; "
        "SERVERID=[backend id 59f12eaae59fb2e1dc0dec37c9d30fb1]")


def test_decodable_persistence_cookies_still_decode_to_the_same_member():
    for name, value, kept in [
        ("BIGipServerweb_pool", "1677787402.36895.0000", "1677787402.36895.0000"),
        ("SERVERID", "59f12eaae59fb2e1dc0dec37c9d30fb1|1655170867|1655170867",
         "59f12eaae59fb2e1dc0dec37c9d30fb1|0|0"),
        ("SERVERID", f"web2~{CANARY}", "web2"),
        ("AWSALB", CANARY, REDACTED),
    ]:
        assert redact_cookie(name, value, decodable=True) == kept
        assert decode_cookie(name, kept) == decode_cookie(name, value)
    assert redact_cookie("sid", CANARY, decodable=True) == REDACTED


def test_set_cookie_keeps_names_and_attributes_also_when_joined_with_commas():
    value = (f"a={CANARY}; Expires=Wed, 21 Oct 2015 07:28:00 GMT; Path=/, {F5_COOKIE}; "
             f"HttpOnly\nJSESSIONID={CANARY}; Path=/login")
    redacted = redact_header("Set-Cookie", value, decodable=True)
    assert redacted == (f"a={REDACTED}; Expires=Wed, 21 Oct 2015 07:28:00 GMT; Path=/, "
                        f"{F5_COOKIE}; HttpOnly\nJSESSIONID={REDACTED}; Path=/login")
    assert [c.backend_address for c in cookies_in([("Set-Cookie", redacted)])] == ["10.1.1.100"]


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("Authorization", f"Bearer {CANARY}", f"Bearer {REDACTED}"),
    ("Authorization", CANARY, REDACTED),
    ("Proxy-Authorization", f"Basic {CANARY}", f"Basic {REDACTED}"),
    ("X-Api-Key", CANARY, REDACTED),
    ("X-Auth-Token", CANARY, REDACTED),
    ("Referer", f"https://a.example/p?token={CANARY}", f"https://a.example/p?token={REDACTED}"),
    ("Location", f"/cb?code={CANARY}", f"/cb?code={REDACTED}"),
    ("X-User", f"{EMAIL} {PHONE}", f"{REDACTED} {REDACTED}"),
    ("Server", "nginx/1.20.1", "nginx/1.20.1"),
    ("Date", "Tue, 14 Jun 2022 01:41:07 GMT", "Tue, 14 Jun 2022 01:41:07 GMT"),
])
def test_headers(name: str, value: str, expected: str):
    assert redact_header(name, value) == expected


# --- every hiding place of the canary ---------------------------------------------------


def test_the_canary_is_gone_from_every_place_the_issue_names():
    assert CANARY not in redact_header("Cookie", f"sid={CANARY}")
    assert CANARY not in redact_header("Set-Cookie", f"sid={CANARY}; Path=/")
    assert CANARY not in redact_header("Authorization", CANARY)
    assert CANARY not in redact_url(f"https://a.example/?token={CANARY}")
    assert CANARY not in redact_text(json.dumps({"password": CANARY}))
    assert RESIDENT_ID not in redact_text(f"id {RESIDENT_ID}")
    assert PHONE not in redact_text(f"phone {PHONE}")
    assert EMAIL not in redact_text(f"mail {EMAIL}")


# --- reports and maps -------------------------------------------------------------------


def _secret_report() -> tuple[dict[str, Any], Any]:
    headers = (("Set-Cookie", f"{F5_COOKIE}; Path=/"), ("Server", "nginx"))
    store = store_of(
        make_http_exchange(host="app.example", redirect_url=f"https://login.example/cb?code="
                           f"{CANARY}&m={PHONE}", response_headers=headers,
                           body_urls=(f"https://cdn.example/x?token={CANARY}",)),
        make_http_exchange(host="app.example", provenance=prov("entry 1"),
                           response_headers=headers),
        ReadIssue(provenance=prov("entry 2"),
                  message=f"request.url 'https://x.example/?token={CANARY}' mailed to {EMAIL}"),
    )
    report = run_analyses(store)
    return report, build_graph(store, report)


def test_report_redaction_removes_secrets_and_keeps_hosts_addresses_evidence_times():
    report, _ = _secret_report()
    before = json.dumps(report, default=str, sort_keys=True)
    assert CANARY in before
    redacted = redact_report(report)
    text = json.dumps(redacted, default=str)
    assert_clean(text)
    assert json.dumps(report, default=str, sort_keys=True) == before, "the input is not modified"
    assert redacted["endpoints"] == report["endpoints"]
    assert redacted["hosts"] == report["hosts"]
    assert redacted["at"] == report["at"] and isinstance(redacted["at"], datetime)
    assert redacted["fronts"][0]["address"] == "192.0.2.1"
    assert {b["address"] for f in redacted["fronts"] for b in f["backends"]} == {"10.1.1.100"}
    [issue] = redacted["issues"]
    assert issue["file"] == "test.har" and issue["locator"] == "entry 2"
    assert issue["message"] == (f"request.url 'https://x.example/?token={REDACTED}' mailed to "
                                f"{REDACTED}")
    urls = [u for r in redacted["referenced"] for u in r["urls"]]
    assert urls and all(u.split("?")[0] in {"https://login.example/cb", "https://cdn.example/x"}
                        for u in urls)


def test_report_redaction_leaves_host_like_fields_alone():
    report = {"hosts": [{"name": "13800138000.example.cn", "addresses": ["192.0.2.7"]}],
              "findings": [{"text": f"{EMAIL} at 13800138000.example.cn", "evidence": [
                  {"file": f"/cases/{EMAIL}/a.har", "format": "har", "locator": "entry 3"}]}],
              "time": datetime(2022, 6, 14, tzinfo=UTC), "count": 3, "at": None}
    redacted = redact_report(report)
    assert redacted["hosts"] == report["hosts"]
    assert redacted["findings"][0]["evidence"] == report["findings"][0]["evidence"]
    assert EMAIL not in redacted["findings"][0]["text"]
    assert redacted["time"] == report["time"] and redacted["count"] == 3


def test_graph_redaction_keeps_node_ids_edge_keys_and_labels_of_hosts():
    _, graph = _secret_report()
    graph.graph["note"] = f"made for {EMAIL}"
    graph.add_node("certificate:ab", kind="certificate", label=f"CN=x, E={EMAIL}")
    redacted = redact_graph(graph)
    assert isinstance(redacted, nx.MultiDiGraph)
    assert list(redacted.nodes) == list(graph.nodes)
    assert list(redacted.edges(keys=True)) == list(graph.edges(keys=True))
    for node, data in redacted.nodes(data=True):
        if data["kind"] in ("host", "address", "endpoint"):
            assert data["label"] == graph.nodes[node]["label"]
            assert data["evidence"] == graph.nodes[node]["evidence"]
    assert_clean(json.dumps(nx.node_link_data(redacted, edges="edges"), default=str))
    assert EMAIL in graph.graph["note"], "the input graph is not modified"


def test_issue_messages():
    assert redact_issue_message(f"line 3: 'GET /a?sid={CANARY} HTTP/1.1' from {PHONE}") == \
        f"line 3: 'GET /a?sid={REDACTED} HTTP/1.1' from {REDACTED}"
    assert redact_issue_message("frame 7: truncated IPv4 header") == \
        "frame 7: truncated IPv4 header"
