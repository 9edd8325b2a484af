"""What response headers betray about the fronts between a client and an origin.

CDNs, load balancers, reverse proxies, caches and cloud WAFs leave marks in the
responses they pass on: a ``Server`` token of their own, a ``Via`` entry (RFC
9110 §7.6.3), cache status headers, request ids.  :data:`RULES` is the one list
of those marks; :func:`classify_headers` applies it.

Where a vendor documents its headers, the rows follow that documentation:
Cloudflare "Cloudflare HTTP headers" (CF-RAY, CF-Cache-Status); the Amazon
CloudFront developer guide (Via, X-Cache, X-Amz-Cf-Id, X-Amz-Cf-Pop); Fastly
"Understanding cache HIT and MISS headers" (X-Served-By, X-Cache, X-Cache-Hits);
Azure Front Door "Protocol support for HTTP headers" (X-Azure-Ref); the Elastic
Load Balancing guide (``Server: awselb/2.0`` on responses the load balancer
writes itself); Alibaba Cloud CDN documentation (EagleId, X-Swift-*); RFC 9110
§7.6.3 (Via) and RFC 9111 §5.1 (Age).  The other rows (Tencent NWS, ChinaCache/
Wangsu X-Via, cdnsip/cdnsrc, X-Cdn-Src-Port, the ``Server`` tokens of Chinese
fronts) record what those fronts are commonly seen to send; their vendors
document them little or not at all, so their notes say what is known.

:func:`header_digest` fingerprints the software stack behind a response by the
order of its header names; :func:`date_skew` measures the answering clock
against the capture's.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum

from hostmap.model import to_utc

__all__ = [
    "RULES",
    "VOLATILE_HEADERS",
    "FrontKind",
    "HeaderRule",
    "HeaderSignal",
    "classify_headers",
    "date_skew",
    "header_digest",
]


class FrontKind(StrEnum):
    """What sort of machine a header points at."""

    CDN = "cdn"
    LOAD_BALANCER = "load-balancer"
    REVERSE_PROXY = "reverse-proxy"
    CACHE = "cache"
    CLOUD_WAF = "cloud-waf"
    ORIGIN_SERVER = "origin-server"
    """The answering server names itself as an origin: evidence of no front there."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HeaderSignal:
    """One header, and what it says about a front."""

    header: str
    """The header name, lower case."""
    value: str
    """The header value (one element of a list header such as Via).  X-Forwarded-For,
    X-Real-IP and Forwarded may carry the client's address: personal data."""
    vendor: str | None
    kind: FrontKind
    note: str
    backend: str | None = None
    """A backend the front revealed (X-Backend-Server and the like)."""
    node: str | None = None
    """The front's own node or point of presence (cache host, POP code), where named."""
    is_weak: bool = False
    """True when origins without any front send the same thing (``Server: nginx``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HeaderRule:
    """One row of :data:`RULES`: a header whose value matches `pattern` means a front."""

    header: str
    """Lower-case header name."""
    pattern: re.Pattern[str] | None
    """Searched in the value, case-insensitively; groups ``node``/``backend`` are kept."""
    vendor: str | None
    kind: FrontKind
    note: str
    example: str
    """A value this rule (and no earlier rule for the header) matches; the tests use it."""
    is_weak: bool = False


_K = FrontKind


def _rule(
    header: str,
    pattern: str | None,
    vendor: str | None,
    kind: FrontKind,
    note: str,
    example: str,
    *,
    weak: bool = False,
) -> HeaderRule:
    compiled = re.compile(pattern, re.IGNORECASE) if pattern is not None else None
    return HeaderRule(
        header=header,
        pattern=compiled,
        vendor=vendor,
        kind=kind,
        note=note,
        example=example,
        is_weak=weak,
    )


_BACKEND = r"(?P<backend>\S.*)"
_ECHO = "echoed in a response: a proxy added it to the request and the backend reflected it"

# For each header the first matching rule wins, so specific rows come before generic ones.
# fmt: off
RULES: tuple[HeaderRule, ...] = (
    _rule("server", r"^tengine", "Tengine (Alibaba)", _K.REVERSE_PROXY,
          "Alibaba's nginx fork: Alibaba Cloud SLB/ALB, CDN and Taobao-family fronts", "Tengine"),
    _rule("server", r"big-?ip", "F5 BIG-IP", _K.LOAD_BALANCER,
          "the BIG-IP answered itself (redirect, error or rewritten Server)", "BigIP"),
    _rule("server", r"^awselb/", "AWS ELB", _K.LOAD_BALANCER,
          "an AWS load balancer answered itself (error, redirect, fixed response)", "awselb/2.0"),
    _rule("server", r"^microsoft-azure-application-gateway", "Azure Application Gateway",
          _K.LOAD_BALANCER, "Azure's layer-7 load balancer answered itself",
          "Microsoft-Azure-Application-Gateway/v2"),
    _rule("server", r"^stgw\b", "Tencent Cloud STGW", _K.LOAD_BALANCER,
          "Tencent's layer-7 gateway in front of CLB and Tencent services", "stgw/1.3.12.4_1.13.5"),
    _rule("server", r"^bfe\b", "Baidu BFE", _K.LOAD_BALANCER, "Baidu Front End load balancer",
          "bfe/1.0.8.18"),
    _rule("server", r"^(slb|alb)\b", None, _K.LOAD_BALANCER,
          "a cloud load balancer naming itself by its product kind", "SLB"),
    _rule("server", r"^aliyunoss", "Alibaba Cloud OSS", _K.REVERSE_PROXY,
          "Alibaba Cloud object storage front, shared by many buckets", "AliyunOSS"),
    _rule("server", r"^(istio-)?envoy", "Envoy", _K.REVERSE_PROXY,
          "Envoy proxy; istio-envoy is an Istio mesh gateway or sidecar", "istio-envoy"),
    _rule("server", r"^cloudflare", "Cloudflare", _K.CDN, "a Cloudflare edge answered",
          "cloudflare"),
    _rule("server", r"^akamaighost", "Akamai", _K.CDN, "an Akamai edge answered", "AkamaiGHost"),
    _rule("server", r"^(ecs|ecacc)\b(?: \((?P<node>[^)]+)\))?", "Edgecast", _K.CDN,
          "Edgecast (Verizon, Edgio) edge; the parentheses name POP/node", "ECS (lhr/6B2A)"),
    _rule("server", r"^nws_", "Tencent Cloud CDN", _K.CDN, "Tencent's CDN edge (NWS)",
          "NWS_TCloud_S11"),
    _rule("server", r"^yunjiasu", "Baidu Yunjiasu", _K.CDN, "Baidu's CDN and security service",
          "yunjiasu-nginx"),
    _rule("server", r"^sucuri/cloudproxy", "Sucuri", _K.CLOUD_WAF, "Sucuri website firewall",
          "Sucuri/Cloudproxy"),
    _rule("server", r"^varnish", "Varnish", _K.CACHE, "Varnish cache answered", "Varnish"),
    _rule("server", r"^squid", "Squid", _K.CACHE, "Squid cache answered", "squid/5.7"),
    _rule("server", r"^(ats|apachetrafficserver)\b", "Apache Traffic Server", _K.CACHE,
          "Apache Traffic Server cache answered", "ATS/9.2.3"),
    _rule("server", r"^openresty", "OpenResty", _K.REVERSE_PROXY,
          "nginx with Lua: gateways (Kong, APISIX) run it, so do plain origins: weak alone",
          "openresty/1.21.4.1", weak=True),
    _rule("server", r"^nginx", "nginx", _K.REVERSE_PROXY,
          "nginx is the usual reverse proxy but as often the origin itself: weak alone",
          "nginx/1.24.0", weak=True),
    _rule("server", r"^gws$", "Google", _K.ORIGIN_SERVER, "Google Web Server", "gws"),
    _rule("server", r"^apache(?!-coyote)\b", "Apache httpd", _K.ORIGIN_SERVER,
          "Apache httpd (mod_proxy can make it a front as well)", "Apache/2.4.57 (Unix)"),
    _rule("server", r"^microsoft-iis", "Microsoft IIS", _K.ORIGIN_SERVER,
          "IIS (with ARR it can be a front as well)", "Microsoft-IIS/10.0"),
    _rule("server", r"^(apache-coyote|jetty|kestrel|gunicorn|uvicorn|werkzeug)", None,
          _K.ORIGIN_SERVER, "an application server answered with its own name", "Kestrel"),
    _rule("via", r"(?P<node>\S+) \(cloudfront\)", "Amazon CloudFront", _K.CDN,
          "CloudFront edge; the host names the distribution's edge",
          "1.1 7f3e0b2c9c1d4a5e.cloudfront.net (CloudFront)"),
    _rule("via", r"^\S+ google$", "Google Cloud Load Balancing", _K.LOAD_BALANCER,
          "Google's external HTTP(S) load balancer", "1.1 google"),
    _rule("via", r"varnish", "Varnish", _K.CACHE, "Varnish cache (Fastly edges say so too)",
          "1.1 varnish"),
    _rule("via", r"^\S+ (?P<node>\S+) \(squid", "Squid", _K.CACHE, "Squid cache on the path",
          "1.1 proxy1.example (squid/5.7)"),
    _rule("via", r"vegur", "Heroku", _K.REVERSE_PROXY, "Heroku's router", "1.1 vegur"),
    _rule("via", r"akamai", "Akamai", _K.CDN, "Akamai edge on the path",
          "1.1 akamai.net(ghost) (AkamaiGHost)"),
    _rule("via", r"^\S+ (?P<node>[^\s,]+)", None, _K.REVERSE_PROXY,
          "an intermediary named itself (RFC 9110 §7.6.3)", "1.1 edge-proxy.example"),
    _rule("x-via", r"^\S+ (?P<node>[^\s(]+) \(cdn cache server", "ChinaCache/Wangsu", _K.CDN,
          "ChinaCache/Wangsu cache node", "1.1 PSzjhzdx4hw34:4 (Cdn Cache Server V2.0)"),
    _rule("x-via", None, None, _K.CDN, "X-Via is a Chinese CDN convention", "1.1 node-a"),
    _rule("x-cache", r"from cloudfront", "Amazon CloudFront", _K.CDN, "CloudFront cache status",
          "Hit from cloudfront"),
    _rule("x-cache", r"dirn:", "Alibaba Cloud CDN", _K.CDN, "Alibaba CDN (Swift) cache status",
          "HIT TCP_MEM_HIT dirn:-2:-2"),
    _rule("x-cache", r"\bfrom (?P<node>[^\s,]+)", None, _K.CACHE,
          "a cache named its node (Squid style)", "HIT from cache1.example.net"),
    _rule("x-cache", None, None, _K.CACHE, "cache status", "HIT, MISS"),
    _rule("x-cache-lookup", r"^(hit|miss) from (disktank|upstream|memcache)",
          "Tencent Cloud CDN", _K.CDN, "Tencent CDN/COS cache tiers", "Hit From Disktank3"),
    _rule("x-cache-lookup", r"\bfrom (?P<node>[^\s,]+)", None, _K.CACHE,
          "a cache named its node (Squid style)", "HIT from cache1.example.net:3128"),
    _rule("x-cache-lookup", None, None, _K.CACHE, "cache lookup status", "Cache Miss"),
    _rule("x-cache-hits", None, None, _K.CACHE, "hit counts per cache layer", "0, 2"),
    _rule("x-served-by", r"(?P<node>cache-[\w-]+)", "Fastly", _K.CDN, "Fastly cache node(s)",
          "cache-lhr7343-LHR"),
    _rule("x-served-by", _BACKEND, None, _K.REVERSE_PROXY,
          "the front (or app) names the server that answered", "app-03.internal"),
    *(_rule(name, _BACKEND, None, _K.REVERSE_PROXY,
            "a reverse proxy revealed the backend it used", "10.0.3.17:8080")
      for name in ("x-backend-server", "x-upstream", "x-real-server", "x-server-name")),
    *(_rule(name, None, None, _K.REVERSE_PROXY, _ECHO, example)
      for name, example in (("x-forwarded-for", "198.51.100.7, 10.0.0.2"),
                            ("x-forwarded-host", "app.example"), ("x-forwarded-proto", "https"),
                            ("x-real-ip", "198.51.100.7"),
                            ("forwarded", "for=198.51.100.7;proto=https"))),
    _rule("age", None, None, _K.CACHE, "a cache served a stored response (RFC 9111 §5.1)", "42"),
    _rule("x-varnish", None, "Varnish", _K.CACHE, "Varnish transaction ids", "32770 3"),
    _rule("cf-ray", r"-(?P<node>[a-z]{3})$", "Cloudflare", _K.CDN,
          "Cloudflare ray id; the suffix is the POP", "8a1b2c3d4e5f6789-LHR"),
    _rule("cf-cache-status", None, "Cloudflare", _K.CDN, "Cloudflare cache status", "DYNAMIC"),
    _rule("x-amz-cf-id", None, "Amazon CloudFront", _K.CDN, "CloudFront request id",
          "kW6tQk9j3aGvBKd0wN3yoLQ9Xh1xUQ2hS0iPq3mWZ1xj0mYkL1P1Zw=="),
    _rule("x-amz-cf-pop", r"(?P<node>\S+)", "Amazon CloudFront", _K.CDN, "CloudFront edge POP",
          "LHR62-C2"),
    _rule("x-azure-ref", None, "Azure Front Door", _K.CDN, "Azure Front Door request reference",
          "0dVpGZQAAAABjkzUw+9dQSYJ1oBKmWoT7TE9OMjFFREdFMDcxNQA5ZmM3YjUxOS1"),
    _rule("x-msedge-ref", r"ref b: (?P<node>\S+)", "Azure Front Door", _K.CDN,
          "Azure edge reference; Ref B names the edge node",
          "Ref A: 5A3C Ref B: LON21EDGE0715 Ref C: 2024-01-01T00:00:00Z"),
    _rule("akamai-grn", None, "Akamai", _K.CDN, "Akamai global reference number",
          "0.6b2e1602.1700000000.1a2b3c4d"),
    _rule("x-akamai-transformed", None, "Akamai", _K.CDN, "Akamai transformed the response",
          "9 - 0 pmb=mRUM,2"),
    _rule("x-fastly-request-id", None, "Fastly", _K.CDN, "Fastly request id", "a1b2c3d4e5f6"),
    _rule("eagleid", None, "Alibaba Cloud", _K.REVERSE_PROXY,
          "Alibaba EagleEye trace id, added by Alibaba's Tengine fronts (CDN, SLB/ALB, OSS)",
          "7ceb2a9617000000000000001e"),
    _rule("eagleeye-traceid", None, "Alibaba Cloud", _K.REVERSE_PROXY,
          "Alibaba EagleEye trace id, added by Alibaba's Tengine fronts",
          "0bb4b2d117000000000000001e"),
    _rule("x-swift-savetime", None, "Alibaba Cloud CDN", _K.CDN,
          "Alibaba CDN (Swift) stored the object then", "Mon, 01 Jan 2024 00:00:00 GMT"),
    _rule("x-swift-cachetime", None, "Alibaba Cloud CDN", _K.CDN,
          "Alibaba CDN (Swift) cache lifetime", "3600"),
    _rule("x-nws-log-uuid", None, "Tencent Cloud CDN", _K.CDN, "Tencent CDN (NWS) log id",
          "1234567890123456789"),
    _rule("cdnsip", r"^(?P<node>[0-9a-f:.]+)$", None, _K.CDN,
          "Chinese CDN header naming the serving node's address", "203.0.113.9"),
    _rule("cdnsip", None, None, _K.CDN, "Chinese CDN header naming the serving node",
          "edge-node-1"),
    _rule("cdnsrc", None, None, _K.CDN, "Chinese CDN header naming the fetch source", "origin"),
    _rule("x-cdn-src-port", None, None, _K.CDN,
          "Chinese CDN header: the client port the edge saw", "52113"),
    _rule("x-sucuri-id", None, "Sucuri", _K.CLOUD_WAF, "Sucuri firewall node id", "11005"),
    _rule("x-iinfo", None, "Imperva", _K.CLOUD_WAF, "Imperva (Incapsula) request info",
          "10-1234567-1234567 NNNN CT(0 0 0) RT(1 2) q(0 0 0 -1) r(1 1) U6"),
    _rule("x-cdn", r"incapsula|imperva", "Imperva", _K.CLOUD_WAF, "Imperva (Incapsula)",
          "Imperva"),
)
# fmt: on


def _by_header(rules: Sequence[HeaderRule]) -> dict[str, tuple[HeaderRule, ...]]:
    table: dict[str, tuple[HeaderRule, ...]] = {}
    for rule in rules:
        table[rule.header] = (*table.get(rule.header, ()), rule)
    return table


_RULES_BY_HEADER = _by_header(RULES)

# Via and X-Via are comma-separated lists, one element per intermediary (RFC 9110 §7.6.3);
# a comma inside a parenthesised comment does not split.
_LIST_HEADERS = frozenset({"via", "x-via"})
_LIST_SEPARATOR = re.compile(r",\s*(?![^()]*\))")


def classify_headers(headers: Sequence[tuple[str, str]]) -> list[HeaderSignal]:
    """The front signals in a response's headers, in header order, each once.

    >>> [s.vendor for s in classify_headers([("Server", "cloudflare"), ("Age", "3")])]
    ['Cloudflare', None]
    """
    found: dict[HeaderSignal, None] = {}
    for name, raw in headers:
        header = name.strip().lower()
        rules = _RULES_BY_HEADER.get(header, ())
        if not rules:
            continue  # most headers of a response: nothing to match
        parts = _LIST_SEPARATOR.split(raw) if header in _LIST_HEADERS else [raw]
        for value in (part.strip() for part in parts):
            signal = _signal_of(header, value) if value else None
            if signal is not None:
                found[signal] = None
    return list(found)


@functools.lru_cache(maxsize=1 << 16)
def _signal_of(header: str, value: str) -> HeaderSignal | None:
    """The signal of the header's first rule that matches the value; memoised: a capture's
    responses repeat their Server, Via and cache headers thousands of times (signals are
    immutable)."""
    for rule in _RULES_BY_HEADER[header]:
        if rule.pattern is None:
            groups: dict[str, str | None] = {}
        elif match := rule.pattern.search(value):
            groups = match.groupdict()
        else:
            continue
        return HeaderSignal(
            header=header,
            value=value,
            vendor=rule.vendor,
            kind=rule.kind,
            note=rule.note,
            backend=_stripped(groups.get("backend")),
            node=_stripped(groups.get("node")),
            is_weak=rule.is_weak,
        )
    return None


def _stripped(text: str | None) -> str | None:
    return (text or "").strip() or None


VOLATILE_HEADERS: frozenset[str] = frozenset({
    # Per response, not per stack: dates, sizes, validators, cookies, framing.
    "date", "expires", "last-modified", "etag", "age", "set-cookie", "content-length",
    "transfer-encoding", "connection", "keep-alive", "proxy-connection", "content-range",
    # Present only for some bodies or statuses.  Content-Type is here because a
    # redirect or 204/304 from the same stack has none; Vary and Content-Encoding
    # come and go with compression, Accept-Ranges with static files.
    "content-type", "content-encoding", "content-disposition", "content-language", "vary",
    "accept-ranges", "location", "www-authenticate", "retry-after", "refresh", "link",
    "cache-control", "pragma",
    # Only when the request carried an Origin (CORS).
    "access-control-allow-origin", "access-control-allow-credentials",
    "access-control-expose-headers", "access-control-allow-methods",
    "access-control-allow-headers", "access-control-max-age",
    # Request and trace ids, timings.
    "x-request-id", "x-correlation-id", "x-trace-id", "traceparent", "tracestate",
    "request-id", "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled",
    "x-amzn-requestid", "x-amzn-trace-id", "x-amz-request-id", "x-amz-id-2", "x-runtime",
    "x-response-time", "server-timing", "eagleid", "eagleeye-traceid",
    # Front and cache state, which changes between hits and misses.
    "x-cache", "x-cache-hits", "x-cache-lookup", "x-served-by", "x-timer", "x-varnish",
    "cf-ray", "cf-cache-status", "x-amz-cf-id", "x-amz-cf-pop", "x-azure-ref",
    "x-msedge-ref", "x-nws-log-uuid", "x-swift-savetime", "x-swift-cachetime",
})  # fmt: skip


_VOLATILE_LOWER = frozenset(name.lower() for name in VOLATILE_HEADERS)


def header_digest(
    headers: Sequence[tuple[str, str]], volatile: Collection[str] = VOLATILE_HEADERS
) -> str:
    """A short fingerprint of the software stack: the order of its header names.

    Names are lower-cased and `volatile` ones (and HTTP/2 pseudo-headers) left out;
    the rest, repeats included, are hashed in order: sha256, first 16 hex digits.
    Two responses from the same stack give the same digest; reordered headers do not.
    """
    skip = _VOLATILE_LOWER if volatile is VOLATILE_HEADERS else {n.lower() for n in volatile}
    names = [
        key for key in (name.strip().lower() for name, _ in headers)
        if key not in skip and not key.startswith(":")
    ]  # fmt: skip
    text = "\n".join(names).encode("utf-8", "backslashreplace")
    return hashlib.sha256(text).hexdigest()[:16]


def date_skew(headers: Sequence[tuple[str, str]], observed_at: datetime) -> float | None:
    """Seconds the response's Date header is ahead of `observed_at` (negative: behind).

    The first Date header is read as an RFC 9110 HTTP-date (a zone-less one as UTC);
    None when there is no Date or it cannot be read.  `observed_at` must be aware.
    """
    observed = to_utc(observed_at)
    value = next((value for name, value in headers if name.strip().lower() == "date"), None)
    if value is None:
        return None
    try:
        sent = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if sent.tzinfo is None:
        sent = sent.replace(tzinfo=UTC)
    return (sent - observed).total_seconds()
