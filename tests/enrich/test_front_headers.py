"""Front signals in response headers, the header-order digest and the Date skew."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from hostmap.enrich.front_headers import (
    RULES,
    VOLATILE_HEADERS,
    FrontKind,
    HeaderRule,
    classify_headers,
    date_skew,
    header_digest,
)


@pytest.mark.parametrize("rule", RULES, ids=[f"{r.header}:{r.example}" for r in RULES])
def test_every_rule_fires_on_its_example(rule: HeaderRule) -> None:
    # Title-cased names: matching must not depend on how the capture spelled the header.
    [signal] = classify_headers([(rule.header.title(), rule.example)])
    assert signal.header == rule.header
    assert (signal.vendor, signal.kind, signal.note) == (rule.vendor, rule.kind, rule.note)
    assert signal.is_weak == rule.is_weak


def test_every_kind_is_covered_by_some_rule() -> None:
    assert {rule.kind for rule in RULES} == set(FrontKind)


def test_nginx_alone_is_only_weak_evidence() -> None:
    [nginx] = classify_headers([("Server", "nginx")])
    assert nginx.kind == "reverse-proxy" and nginx.is_weak
    assert "weak" in nginx.note
    [tengine] = classify_headers([("Server", "Tengine/2.3.3")])
    assert not tengine.is_weak


@pytest.mark.parametrize(
    ("server", "vendor", "kind"),
    [
        ("BIG-IP", "F5 BIG-IP", "load-balancer"),
        ("awselb/2.0", "AWS ELB", "load-balancer"),
        ("ECAcc (lha/8D2B)", "Edgecast", "cdn"),
        ("nws_tcloud_s11", "Tencent Cloud CDN", "cdn"),
        ("envoy", "Envoy", "reverse-proxy"),
        ("ALB", None, "load-balancer"),
        ("Apache-Coyote/1.1", None, "origin-server"),
        ("Apache", "Apache httpd", "origin-server"),
    ],
)
def test_server_tokens(server: str, vendor: str | None, kind: str) -> None:
    [signal] = classify_headers([("Server", server)])
    assert (signal.vendor, signal.kind) == (vendor, kind)


def test_unknown_headers_and_servers_give_nothing() -> None:
    headers = [("Server", "MyCustomServer"), ("Content-Type", "text/html"), ("X-Cache", "")]
    assert classify_headers(headers) == []


def test_via_lists_give_one_signal_per_intermediary() -> None:
    signals = classify_headers(
        [("Via", "1.1 varnish (Varnish/6.0, cached), 1.1 d1234.cloudfront.net (CloudFront)")]
    )
    assert [(s.vendor, s.kind, s.node) for s in signals] == [
        ("Varnish", "cache", None),
        ("Amazon CloudFront", "cdn", "d1234.cloudfront.net"),
    ]


def test_reverse_proxy_headers_expose_the_backend() -> None:
    signals = classify_headers(
        [("X-Backend-Server", " app-7.internal:8080 "), ("X-Upstream", "10.0.3.17:8080")]
    )
    assert [(s.kind, s.backend) for s in signals] == [
        ("reverse-proxy", "app-7.internal:8080"),
        ("reverse-proxy", "10.0.3.17:8080"),
    ]


def test_cache_and_cdn_nodes_are_named() -> None:
    signals = classify_headers(
        [
            ("X-Cache", "HIT from squid-2.example.net"),
            ("CF-RAY", "8a1b2c3d4e5f6789-SIN"),
            ("X-Served-By", "cache-iad-kiad7000045-IAD, cache-lhr7343-LHR"),
            ("X-Amz-Cf-Pop", "HKG62-C1"),
        ]
    )
    assert [(s.vendor, s.node) for s in signals] == [
        (None, "squid-2.example.net"),
        ("Cloudflare", "SIN"),
        ("Fastly", "cache-iad-kiad7000045-IAD"),
        ("Amazon CloudFront", "HKG62-C1"),
    ]


def test_forwarding_headers_echoed_in_a_response_mean_a_reverse_proxy() -> None:
    signals = classify_headers([("X-Forwarded-For", "198.51.100.7"), ("X-Real-IP", "198.51.100.7")])
    assert {s.kind for s in signals} == {"reverse-proxy"}
    assert all("echoed" in s.note for s in signals)


def test_identical_headers_give_one_signal() -> None:
    assert len(classify_headers([("Age", "1"), ("Age", "1")])) == 1


SAME_STACK_A = [
    ("Server", "nginx"),
    ("Date", "Mon, 01 Jan 2024 00:00:00 GMT"),
    ("Content-Type", "application/json"),
    ("Content-Length", "120"),
    ("X-Powered-By", "Express"),
    ("Set-Cookie", "sid=1"),
    ("Strict-Transport-Security", "max-age=31536000"),
]
SAME_STACK_B = [
    ("server", "nginx"),
    ("date", "Tue, 02 Jan 2024 08:00:00 GMT"),
    ("transfer-encoding", "chunked"),
    ("x-powered-by", "Express"),
    ("etag", 'W/"abc"'),
    ("x-request-id", "f00"),
    ("strict-transport-security", "max-age=31536000"),
]


def test_header_digest_ignores_volatile_headers() -> None:
    digest = header_digest(SAME_STACK_A)
    assert re.fullmatch(r"[0-9a-f]{16}", digest)
    assert header_digest(SAME_STACK_B) == digest


def test_header_digest_sees_order_and_stack_changes() -> None:
    swapped = [SAME_STACK_A[4], *SAME_STACK_A[:4], *SAME_STACK_A[5:]]
    assert header_digest(swapped) != header_digest(SAME_STACK_A)
    assert header_digest([*SAME_STACK_A, ("X-AspNet-Version", "4.0")]) != header_digest(
        SAME_STACK_A
    )


def test_header_digest_takes_a_custom_volatile_set() -> None:
    with_server = header_digest(SAME_STACK_A, volatile=VOLATILE_HEADERS)
    without_server = header_digest(SAME_STACK_A, volatile={*VOLATILE_HEADERS, "Server"})
    assert with_server != without_server
    assert without_server == header_digest([h for h in SAME_STACK_A if h[0] != "Server"])


CAPTURED = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)


def test_date_skew_is_positive_when_the_server_clock_is_ahead() -> None:
    headers = [("Date", "Mon, 01 Jan 2024 12:00:30 GMT")]
    assert date_skew(headers, CAPTURED) == 30.0
    behind = [("date", "Mon, 01 Jan 2024 11:59:00 GMT")]
    assert date_skew(behind, CAPTURED) == -60.0


def test_date_skew_compares_in_utc() -> None:
    local = CAPTURED.astimezone(timezone(timedelta(hours=8)))
    assert date_skew([("Date", "Mon, 01 Jan 2024 12:00:00 -0000")], local) == 0.0


@pytest.mark.parametrize("headers", [[], [("Date", "yesterday")], [("Date", "")]])
def test_date_skew_without_a_readable_date_is_none(headers: list[tuple[str, str]]) -> None:
    assert date_skew(headers, CAPTURED) is None


def test_date_skew_refuses_a_naive_capture_time() -> None:
    with pytest.raises(ValueError, match="naive"):
        date_skew([("Date", "Mon, 01 Jan 2024 12:00:00 GMT")], datetime(2024, 1, 1))
