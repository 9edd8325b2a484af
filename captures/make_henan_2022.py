"""Generate the Henan 2022 fixture captures (see ../shared/SCENARIO-henan-2022.md).

Usage:  python captures/make_henan_2022.py [--output DIR]     (default: captures/henan-2022)

Everything is derived from the constants and the one session description in this
file, so the HAR, the mitmproxy flow file, the Fiddler SAZ archive and the pcap cannot
diverge, and every run writes the same bytes: no random ids (uuid5 from fixed names),
no clock reads (fixed timestamps), "random" bytes and keys from SHA-256 over fixed
labels, fixed key, row and zip member order.  Values the published case does not give
are invented here and listed as invented in the generated README.md.

The format mechanics live next to this script: _saz_writer.py (Fiddler's archive
layout) and _pcap_writer.py (frames, TCP, TLS messages, the pcap file); this file
decides what goes into them.
"""

from __future__ import annotations

import argparse
import base64
import functools
import hashlib
import importlib.util
import io
import json
import struct
import sys
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import dns.flags
import dns.message
import dns.rrset
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from mitmproxy import connection, http
from mitmproxy.io import FlowWriter

HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = HERE / "henan-2022"


def _sibling(name: str) -> ModuleType:
    """Load a helper module that sits next to this script (captures/ is not a package)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while decorating
        spec.loader.exec_module(module)
    return sys.modules[name]


saz = _sibling("_saz_writer")
pcapw = _sibling("_pcap_writer")

CST = timezone(timedelta(hours=8), "CST")
"""China Standard Time.  Fiddler writes local time with this offset, dig prints it as "CST"."""

# --- published in the case (SCENARIO-henan-2022.md): use exactly -------------------------

APP_HOST = "yshb.hnzwfw.gov.cn"
APP_PORT = 7777
LOGIN_HOST = "login.hnzwfw.gov.cn"
LOGIN_PORT = 443
ZZ_HOST = "zz-jkm.hnzwfw.gov.cn"
FRONT_IP = "117.160.221.251"
MIGRATION_DAY = date(2021, 12, 29)
ICP_LICENCE = "豫ICP备10005452号-9"
ICP_HOLDER = "河南省发展和改革委员会"
ZONE = "hnzwfw.gov.cn"

# The 17 prefecture-level cities plus Jiyuan, with the abbreviations the scenario
# prescribes.  Only zz-jkm is published; the other 17 host names follow its pattern.
CITIES: tuple[tuple[str, str, str], ...] = (
    ("zz", "郑州", "Zhengzhou"),
    ("kf", "开封", "Kaifeng"),
    ("ly", "洛阳", "Luoyang"),
    ("pds", "平顶山", "Pingdingshan"),
    ("ay", "安阳", "Anyang"),
    ("hb", "鹤壁", "Hebi"),
    ("xx", "新乡", "Xinxiang"),
    ("jz", "焦作", "Jiaozuo"),
    ("py", "濮阳", "Puyang"),
    ("xc", "许昌", "Xuchang"),
    ("lh", "漯河", "Luohe"),
    ("smx", "三门峡", "Sanmenxia"),
    ("ny", "南阳", "Nanyang"),
    ("sq", "商丘", "Shangqiu"),
    ("xy", "信阳", "Xinyang"),
    ("zk", "周口", "Zhoukou"),
    ("zmd", "驻马店", "Zhumadian"),
    ("jy", "济源", "Jiyuan"),
)

# --- invented for this fixture (every one is listed in the README) -----------------------

OLD_ZZ_IP = "42.236.74.19"
"""zz-jkm's address before 2021-12-29.  Only the first octet (42) is published."""

SLB_HOST = "slb.hnzwfw.gov.cn"
"""CNAME target of yshb and pds-jkm, so CNAME chains are exercised.  Invented."""

EXTRA_HOST = "hsjc.hnzwfw.gov.cn"
"""An unrelated service name on the front (not a <city>-jkm name).  Invented."""

CNAME_HOSTS = (APP_HOST, "pds-jkm.hnzwfw.gov.cn")
"""Names that reach FRONT_IP through CNAME SLB_HOST (in dig and passive DNS)."""

SESSION_START = datetime(2022, 6, 14, 9, 41, 7, tzinfo=CST)
"""First request of the app session (local time of the analyst's PC)."""

FIDDLER_VERSION = "5.0.20211.51073"
FRONT_SERVER = "nginx"
APP_VERSION = "2.3.1"
USER_AGENT = (
    "Mozilla/5.0 (Linux; Android 11; M2012K11AC Build/RKQ1.200826.002; wv) "
    "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/89.0.4389.72 "
    f"Mobile Safari/537.36 yushiban/{APP_VERSION}"
)
PHONE_IP = "192.168.1.23"
KEEPALIVE_MS = 15000
"""The front closes a connection idle this long (flow file ends, pcap FINs)."""
PROXY_IP = "192.168.1.10"
PROXY_PORT = 8888
EXPORTED = SESSION_START + timedelta(minutes=4, seconds=5)
"""When the analyst saved the HAR and the SAZ."""
FIDDLER_CLIENT_IP = "::ffff:" + PHONE_IP
"""How Fiddler (listening on IPv6 and IPv4) records a remote IPv4 client in x-clientip."""

# The pcap: the phone on its Wi-Fi, no proxy.
RESOLVER_IP = "192.168.1.1"
"""The Wi-Fi router, the phone's DNS resolver and default gateway."""
PHONE_MAC = "d2:5e:8a:41:7c:23"
GATEWAY_MAC = "0a:1b:2c:3d:4e:01"
"""Locally administered MACs (Android randomises its Wi-Fi MAC that way)."""
FRONT_TTL = 52
"""IP TTL of the front's packets when they reach the phone (64 less 12 hops)."""
DNS_LEAD_MS = 18
"""The phone asks for a host's address this long before its first request there."""
DNS_RTT_US = 13_600
CLIENT_HELLO_CUT = 6
"""The ClientHello's first segment ends this many bytes into the SNI host name."""

# TLS on login:443 (the same handshake in the SAZ's CONNECT notes and in the pcap)
TLS_LABEL = "hostmap:henan-2022/tls"
"""Seed of every TLS random, key and stand-in ciphertext (SHA-256 in counter mode)."""
TLS_CIPHER = 0xC02F
"""TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 (mitmproxy's ECDHE-RSA-AES128-GCM-SHA256)."""
CERT_ORG = "hostmap fixture (invented, self-signed)"
CERT_SERIAL = int.from_bytes(hashlib.sha256(b"hostmap:henan-2022/tls/serial").digest()[:16]) >> 1
CERT_NOT_BEFORE = datetime(2022, 3, 1, tzinfo=UTC)
CERT_NOT_AFTER = datetime(2023, 3, 31, 23, 59, 59, tzinfo=UTC)
REFERENCED_CITIES = ("zz", "kf", "ly", "pds", "ay", "xx")
"""Cities whose health-code URL the app's city list (entry 5) names."""

DIG_VERSION = "9.16.1-Ubuntu"
DIG_SERVER = "114.114.114.114"
DIG_START = datetime(2022, 6, 14, 10, 20, 31, tzinfo=CST)
TTL_A = 600
TTL_CNAME = 3600

ZZ_OLD_FIRST = datetime(2020, 2, 7, 10, 12, 55, tzinfo=CST)
ZZ_OLD_LAST = datetime(2021, 12, 28, 21, 47, 9, tzinfo=CST)
ZZ_NEW_FIRST = datetime(2021, 12, 29, 9, 3, 41, tzinfo=CST)
PDNS_LAST = datetime(2022, 6, 14, 8, 52, 16, tzinfo=CST)
FRONT_FIRST = datetime(2020, 2, 20, 15, 30, 2, tzinfo=CST)
EXTRA_FIRST = datetime(2021, 4, 2, 11, 8, 40, tzinfo=CST)
CITY_FIRST_DAYS = {
    "kf": date(2020, 3, 2), "ly": date(2020, 3, 5), "pds": date(2020, 3, 9),
    "ay": date(2020, 3, 11), "hb": date(2020, 3, 16), "xx": date(2020, 3, 18),
    "jz": date(2020, 3, 23), "py": date(2020, 3, 26), "xc": date(2020, 4, 1),
    "lh": date(2020, 4, 3), "smx": date(2020, 4, 8), "ny": date(2020, 4, 10),
    "sq": date(2020, 4, 15), "xy": date(2020, 4, 17), "zk": date(2020, 4, 22),
    "zmd": date(2020, 4, 24), "jy": date(2020, 5, 6),
}  # fmt: skip
"""First-seen day on FRONT_IP of every city except zz (no migration for them)."""

# iptoasn rows: start, end, ASN, country, description, region, city ("" = column left out)
OPERATOR_ROWS: tuple[tuple[str, str, int, str, str, str, str], ...] = (
    ("8.8.8.0", "8.8.8.255", 15169, "US", "GOOGLE", "", ""),
    ("42.224.0.0", "42.239.255.255", 4837, "CN",
     "CHINA169-BACKBONE CHINA UNICOM China169 Backbone", "Henan 河南", "Zhengzhou 郑州"),
    ("117.160.192.0", "117.160.223.255", 24445, "CN",
     "CMNET-HENAN-AP China Mobile Communications Corporation", "Henan 河南",
     "Pingdingshan 平顶山"),
    ("117.160.224.0", "117.160.255.255", 0, "None", "Not routed", "", ""),
    ("120.232.0.0", "120.232.255.255", 56040, "CN",
     "CMNET-GUANGDONG-AP China Mobile communications corporation", "Guangdong 广东",
     "Guangzhou 广州"),
)  # fmt: skip

_UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "hostmap:captures/henan-2022")


def city_host(abbr: str) -> str:
    return f"{abbr}-jkm.{ZONE}"


def _fixed_id(kind: str, name: str) -> str:
    """A UUID that depends only on its name, so flow files are byte-stable."""
    return str(uuid.uuid5(_UUID_NAMESPACE, f"{kind}/{name}"))


def _small_int(label: str, low: int, high: int) -> int:
    """A stable pseudo-random integer in [low, high] derived from `label`."""
    digest = hashlib.sha256(label.encode()).digest()
    return low + int.from_bytes(digest[:4], "big") % (high - low + 1)


# --- the one description of the app session -----------------------------------------------


@dataclass(frozen=True)
class Conn:
    """One client->proxy connection and its proxy->server connection."""

    key: str
    host: str
    port: int
    client_port: int
    egress_port: int
    tls: bool
    opened_ms: int
    """When the phone opened the connection, in ms after SESSION_START."""
    connect_ms: int
    ssl_ms: int


@dataclass(frozen=True)
class Exchange:
    conn: str
    start_ms: int
    method: str
    path: str
    status: int
    reason: str
    resp_body: bytes
    resp_type: str
    req_headers: tuple[tuple[str, str], ...] = ()
    req_body: bytes = b""
    req_type: str = ""
    resp_headers: tuple[tuple[str, str], ...] = ()
    send_ms: int = 1
    wait_ms: int = 40
    receive_ms: int = 2
    gzip_chunked: bool = False
    """The front gzips this response on the fly and sends it chunked (nginx `gzip on`)."""


@dataclass
class Session:
    conns: dict[str, Conn]
    exchanges: list[Exchange] = field(default_factory=list)


def _serverid(pool: str) -> str:
    """An Alibaba-SLB-style persistence cookie value: md5 of the backend, then two epochs."""
    backend = hashlib.md5(pool.encode()).hexdigest()
    epoch = int(SESSION_START.timestamp())
    return f"{backend}|{epoch}|{epoch}"


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A tiny solid-colour PNG (stand-in for the QR image; no real code in it)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw = zlib.compress(row * height, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def _json(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def build_session() -> Session:
    """The Yushiban app session of 2022-06-14: the app pages on :7777, the health-code login."""
    conns = {
        c.key: c
        for c in (
            Conn("y1", APP_HOST, APP_PORT, 40112, 51734, False, 170, 31, 0),
            Conn("y2", APP_HOST, APP_PORT, 40114, 51736, False, 392, 28, 0),
            Conn("l1", LOGIN_HOST, LOGIN_PORT, 40120, 51742, True, 3070, 27, 46),
            Conn("y3", APP_HOST, APP_PORT, 40126, 51748, False, 6262, 30, 0),
        )
    }
    session = Session(conns)
    app_base = f"http://{APP_HOST}:{APP_PORT}"
    login_base = f"https://{LOGIN_HOST}"
    app_cookie = ("Cookie", f"SERVERID={_serverid('yshb-app-03')}")
    login_serverid = _serverid("login-sso-01")
    jsessionid = "0F1A2B3C4D5E6F708192A3B4C5D6E7F8"
    login_cookie = ("Cookie", f"SERVERID={login_serverid}; JSESSIONID={jsessionid}")
    state = "zz-7f3a"
    callback = f"{app_base}/yshb/app/jkm/callback"
    authorize = (
        f"/login/oauth/authorize?client_id=yshb-jkm&response_type=code"
        f"&redirect_uri={quote(callback, safe='')}&state={state}"
    )
    page = (("X-Requested-With", "cn.gov.hnzwfw.yshb"),)
    xhr = (("X-Requested-With", "XMLHttpRequest"),)
    index = f"{app_base}/yshb/app/index.html"
    add = session.exchanges.append

    add(Exchange(
        "y1", 215, "GET", f"/yshb/app/index.html?channel=android&v={APP_VERSION}", 200, "OK",
        (
            "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            "<title>豫事办</title>"
            "<link rel=\"stylesheet\" href=\"/yshb/app/static/css/app.8d1e0b45.css\">"
            "</head><body><div id=\"app\"></div>"
            "<script src=\"/yshb/app/static/js/app.3f2a91c7.js\"></script></body></html>\n"
        ).encode(),
        "text/html;charset=UTF-8",
        req_headers=page,
        resp_headers=(("Set-Cookie", f"SERVERID={_serverid('yshb-app-03')};Path=/"),),
        wait_ms=63, receive_ms=3,
    ))  # fmt: skip
    add(Exchange(
        "y1", 402, "GET", "/yshb/app/static/js/app.3f2a91c7.js", 200, "OK",
        (
            "/* fixture: stands in for the app bundle */\n"
            f"window.YSHB_CONFIG={{apiBase:\"{app_base}/yshb/api/v1\","
            f"loginBase:\"{login_base}/login\"}};\n"
        ).encode(),
        "application/javascript",
        req_headers=(app_cookie, ("Referer", index)),
        resp_headers=(("Last-Modified", "Thu, 09 Jun 2022 07:12:40 GMT"),
                      ("ETag", "\"62a19d58-9c\""), ("Cache-Control", "max-age=86400")),
        wait_ms=35, receive_ms=4,
    ))  # fmt: skip
    add(Exchange(
        "y2", 405, "GET", "/yshb/app/static/css/app.8d1e0b45.css", 200, "OK",
        b"/* fixture */\n#app{min-height:100vh;background:#f5f6f8}\n",
        "text/css",
        req_headers=(app_cookie, ("Referer", index)),
        resp_headers=(("Last-Modified", "Thu, 09 Jun 2022 07:12:40 GMT"),
                      ("ETag", "\"62a19d58-37\""), ("Cache-Control", "max-age=86400")),
        wait_ms=33,
    ))  # fmt: skip
    add(Exchange(
        "y1", 688, "POST", "/yshb/api/v1/app/config", 200, "OK",
        _json({"code": 0, "msg": "success", "data": {
            "appVersion": APP_VERSION,
            "apiBase": f"{app_base}/yshb/api/v1",
            "loginUrl": f"{login_base}/login/oauth/authorize",
        }}),
        "application/json;charset=UTF-8",
        req_headers=(app_cookie, ("Referer", index), *xhr),
        req_body=_json({"appVersion": APP_VERSION, "platform": "android",
                        "deviceId": "FIXTURE-DEVICE-0001"}),
        req_type="application/json;charset=UTF-8",
        wait_ms=48,
    ))  # fmt: skip
    add(Exchange(
        "y2", 702, "GET", "/yshb/api/v1/home/banners?position=top", 200, "OK",
        _json({"code": 0, "msg": "success", "data": [
            {"id": 1, "title": "豫康码", "image": "/yshb/app/static/img/banner-jkm.png",
             "link": "/yshb/app/jkm/entry?city=zz"},
        ]}),
        "application/json;charset=UTF-8",
        req_headers=(app_cookie, ("Referer", index), *xhr),
        wait_ms=41,
    ))  # fmt: skip
    add(Exchange(
        "y1", 1310, "GET", "/yshb/api/v1/jkm/cities", 200, "OK",
        _json({"code": 0, "msg": "success", "cities": [
            {"code": abbr, "name": f"{cn}市",
             "url": f"https://{city_host(abbr)}/jkm/h5/index.html"}
            for abbr, cn, _ in CITIES if abbr in REFERENCED_CITIES
        ]}),
        "application/json;charset=UTF-8",
        req_headers=(app_cookie, ("Referer", index), *xhr),
        wait_ms=52, receive_ms=3, gzip_chunked=True,
    ))  # fmt: skip
    add(Exchange(
        "y1", 2945, "GET", "/yshb/app/jkm/entry?city=zz", 302, "Moved Temporarily",
        b"", "",
        req_headers=(app_cookie, ("Referer", index), *page),
        resp_headers=(("Location", f"{login_base}{authorize}"),),
        wait_ms=29, receive_ms=0,
    ))  # fmt: skip
    add(Exchange(
        "l1", 3120, "GET", authorize, 200, "OK",
        (
            "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            "<title>河南政务服务网 统一身份认证</title></head><body><div id=\"login\"></div>"
            "<script src=\"/login/static/js/login.5c0e7a12.js\"></script></body></html>\n"
        ).encode(),
        "text/html;charset=UTF-8",
        req_headers=(("Referer", f"{app_base}/yshb/app/jkm/entry?city=zz"), *page),
        resp_headers=(("Set-Cookie", f"SERVERID={login_serverid};Path=/"),
                      ("Set-Cookie", f"JSESSIONID={jsessionid}; Path=/login; HttpOnly")),
        wait_ms=71, receive_ms=2,
    ))  # fmt: skip
    add(Exchange(
        "l1", 3460, "GET", "/login/static/js/login.5c0e7a12.js", 200, "OK",
        b"/* fixture: stands in for the login bundle */\nwindow.SSO={clientId:\"yshb-jkm\"};\n",
        "application/javascript",
        req_headers=(login_cookie, ("Referer", f"{login_base}{authorize}")),
        resp_headers=(("Last-Modified", "Mon, 30 May 2022 02:03:11 GMT"),
                      ("ETag", "\"62942a9f-4f\""), ("Cache-Control", "max-age=86400")),
        wait_ms=30,
    ))  # fmt: skip
    add(Exchange(
        "l1", 5872, "POST", "/login/api/auth/app-token", 200, "OK",
        _json({"code": 0, "msg": "success", "data": {
            "redirect": f"/login/oauth/confirm?client_id=yshb-jkm&state={state}"}}),
        "application/json;charset=UTF-8",
        req_headers=(login_cookie, ("Referer", f"{login_base}{authorize}"), *xhr),
        req_body=_json({"appToken": "FAKE-APP-TOKEN-0001", "clientId": "yshb-jkm"}),
        req_type="application/json;charset=UTF-8",
        wait_ms=118,
    ))  # fmt: skip
    add(Exchange(
        "l1", 6120, "GET", f"/login/oauth/confirm?client_id=yshb-jkm&state={state}",
        302, "Moved Temporarily", b"", "",
        req_headers=(login_cookie, ("Referer", f"{login_base}{authorize}"), *page),
        resp_headers=(("Location", f"{callback}?code=FAKECODE0001&state={state}"),),
        wait_ms=56, receive_ms=0,
    ))  # fmt: skip
    add(Exchange(
        "y3", 6310, "GET", f"/yshb/app/jkm/callback?code=FAKECODE0001&state={state}",
        200, "OK",
        (
            "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            "<title>健康码</title></head><body><div id=\"jkm\"></div>"
            "<script src=\"/yshb/app/static/js/app.3f2a91c7.js\"></script></body></html>\n"
        ).encode(),
        "text/html;charset=UTF-8",
        req_headers=(app_cookie, ("Referer", f"{login_base}/login/oauth/confirm"), *page),
        wait_ms=44,
    ))  # fmt: skip
    add(Exchange(
        "y3", 6655, "POST", "/yshb/api/v1/jkm/code", 200, "OK",
        _json({"code": 0, "msg": "success", "data": {
            "color": "green", "colorName": "绿码", "name": "测**",
            "idCard": "FAKE-ID-410***-0000", "cityCode": "zz",
            "updateTime": "2022-06-14 09:41:13",
            "qrcodeUrl": "/yshb/api/v1/jkm/qrcode?ticket=FAKE-QR-0001",
        }}),
        "application/json;charset=UTF-8",
        req_headers=(app_cookie, ("Referer", f"{callback}?code=FAKECODE0001&state={state}"),
                     *xhr),
        req_body=_json({"cityCode": "zz", "code": "FAKECODE0001"}),
        req_type="application/json;charset=UTF-8",
        wait_ms=96,
    ))  # fmt: skip
    add(Exchange(
        "y3", 6890, "GET", "/yshb/api/v1/jkm/qrcode?ticket=FAKE-QR-0001", 200, "OK",
        _png(8, 8, (0, 170, 80)), "image/png",
        req_headers=(app_cookie, ("Referer", f"{callback}?code=FAKECODE0001&state={state}")),
        resp_headers=(("Cache-Control", "no-store"),),
        wait_ms=38,
    ))  # fmt: skip
    add(Exchange(
        "y3", 7102, "GET", "/yshb/api/v1/hsjc/latest?cityCode=zz", 200, "OK",
        _json({"code": 0, "msg": "success", "data": {
            "result": "阴性", "sampleTime": "2022-06-13 16:20:00",
            "institution": "（示例）检测机构"}}),
        "application/json;charset=UTF-8",
        req_headers=(app_cookie, ("Referer", f"{callback}?code=FAKECODE0001&state={state}"),
                     *xhr),
        wait_ms=61,
    ))  # fmt: skip
    return session


# --- derived wire form, shared by the HAR and the flow file --------------------------------


@dataclass(frozen=True)
class Wire:
    """One exchange with every header and time spelled out."""

    index: int
    ex: Exchange
    conn: Conn
    first_on_conn: bool
    scheme: str
    url: str
    req_headers: tuple[tuple[str, str], ...]
    resp_headers: tuple[tuple[str, str], ...]
    started: datetime
    connect_ms: int
    ssl_ms: int
    resp_encoded: bytes
    """The response body with its Content-Encoding applied (what mitmproxy calls raw_content)."""
    resp_chunks: tuple[bytes, ...]
    """The pieces of resp_encoded the front sends as chunks; () if not chunked."""

    @property
    def resp_transfer(self) -> bytes:
        """The response body as it crosses the wire (chunked framing included)."""
        if not self.resp_chunks:
            return self.resp_encoded
        framed = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in self.resp_chunks)
        return framed + b"0\r\n\r\n"

    def request_bytes(self, absolute: bool) -> bytes:
        """The request as sent: absolute-form target (to a proxy) or origin-form (direct)."""
        target = self.url if absolute else self.ex.path
        head = f"{self.ex.method} {target} HTTP/1.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in self.req_headers
        )
        return head.encode() + b"\r\n" + self.ex.req_body

    def response_head(self) -> bytes:
        head = f"HTTP/1.1 {self.ex.status} {self.ex.reason}\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in self.resp_headers
        )
        return head.encode() + b"\r\n"

    def response_bytes(self) -> bytes:
        return self.response_head() + self.resp_transfer

    @property
    def total_ms(self) -> int:
        return self.connect_ms + self.ex.send_ms + self.ex.wait_ms + self.ex.receive_ms

    def at(self, ms: int) -> float:
        """Epoch seconds `ms` after this exchange started (rounded to the millisecond)."""
        return round(self.started.timestamp() + ms / 1000, 3)


def _http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


def _accept(ex: Exchange) -> str:
    """The Accept header an Android WebView (Chrome 89) sends for this kind of resource."""
    if ex.resp_type.startswith("image/"):
        return "image/webp,image/apng,image/*,*/*;q=0.8"
    if ex.resp_type == "text/css":
        return "text/css,*/*;q=0.1"
    if "javascript" in ex.resp_type:
        return "*/*"
    if "/api/" in ex.path:
        return "application/json, text/plain, */*"
    return "text/html,application/xhtml+xml,application/xml;q=0.9,image/webp,*/*;q=0.8"


def _nginx_gzip(data: bytes) -> bytes:
    """gzip as nginx's gzip filter writes it: its own 10-byte header (mtime 0, no flags,
    OS 3 = Unix), raw deflate at gzip_comp_level 1, then CRC-32 and length."""
    compressor = zlib.compressobj(1, zlib.DEFLATED, -zlib.MAX_WBITS)
    deflated = compressor.compress(data) + compressor.flush()
    header = bytes((0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3))
    return header + deflated + struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)


def wire_exchanges(session: Session) -> list[Wire]:
    seen: set[str] = set()
    out = []
    for index, ex in enumerate(session.exchanges):
        conn = session.conns[ex.conn]
        first = conn.key not in seen
        seen.add(conn.key)
        scheme = "https" if conn.tls else "http"
        default = 443 if conn.tls else 80
        authority = conn.host if conn.port == default else f"{conn.host}:{conn.port}"
        url = f"{scheme}://{authority}{ex.path}"
        req = [
            ("Host", authority),
            ("Connection", "keep-alive"),
            ("Accept", _accept(ex)),
            ("User-Agent", USER_AGENT),
        ]  # fmt: skip
        if ex.req_body:
            req.append(("Content-Type", ex.req_type))
            req.append(("Content-Length", str(len(ex.req_body))))
        req.extend(ex.req_headers)
        req.append(("Accept-Encoding", "gzip, deflate"))
        req.append(("Accept-Language", "zh-CN,zh;q=0.9,en-US;q=0.8,en;q=0.7"))
        started = SESSION_START + timedelta(milliseconds=ex.start_ms)
        connect_ms = conn.connect_ms + conn.ssl_ms if first else 0
        answered = started + timedelta(milliseconds=connect_ms + ex.send_ms + ex.wait_ms)
        resp = [("Server", FRONT_SERVER), ("Date", _http_date(answered))]
        if ex.resp_type:
            resp.append(("Content-Type", ex.resp_type))
        if ex.gzip_chunked:
            # nginx's gzip filter: no length known up front, so chunked; its gzip header
            # goes out as a chunk of its own.
            encoded = _nginx_gzip(ex.resp_body)
            chunks: tuple[bytes, ...] = (encoded[:10], encoded[10:])
            resp.append(("Transfer-Encoding", "chunked"))
            resp.append(("Connection", "keep-alive"))
            resp.append(("Vary", "Accept-Encoding"))
            resp.extend(ex.resp_headers)
            resp.append(("Content-Encoding", "gzip"))
        else:
            encoded, chunks = ex.resp_body, ()
            resp.append(("Content-Length", str(len(ex.resp_body))))
            resp.append(("Connection", "keep-alive"))
            resp.extend(ex.resp_headers)
        out.append(Wire(
            index, ex, conn, first, scheme, url, tuple(req), tuple(resp), started,
            connect_ms, conn.ssl_ms if first else 0, encoded, chunks,
        ))  # fmt: skip
    return out


# --- HAR 1.2 as Fiddler exports it ----------------------------------------------------------


def _fiddler_time(moment: datetime) -> str:
    # Fiddler writes local time with 7 fractional digits (.NET ticks) and the UTC offset.
    local = moment.astimezone(CST)
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond:06d}0+08:00"


def _cookies_from_request(headers: tuple[tuple[str, str], ...]) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for name, value in headers:
        if name.lower() == "cookie":
            for part in value.split(";"):
                key, _, val = part.strip().partition("=")
                out.append({"name": key, "value": val})
    return out


def _cookies_from_response(headers: tuple[tuple[str, str], ...]) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for name, value in headers:
        if name.lower() != "set-cookie":
            continue
        first, *attrs = [p.strip() for p in value.split(";")]
        key, _, val = first.partition("=")
        cookie: dict[str, object] = {"name": key, "value": val}
        for attr in attrs:
            akey, _, aval = attr.partition("=")
            if akey.lower() == "path":
                cookie["path"] = aval
            elif akey.lower() == "httponly":
                cookie["httpOnly"] = True
        out.append(cookie)
    return out


def _headers_size(first_line: str, headers: tuple[tuple[str, str], ...]) -> int:
    block = first_line + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return len(block.encode())


def _is_text(mime: str) -> bool:
    return mime.startswith("text/") or "json" in mime or "javascript" in mime


def build_har(wires: list[Wire]) -> bytes:
    entries = []
    for w in wires:
        ex = w.ex
        split = urlsplit(w.url)
        # Fiddler's HAR export decodes the body (content) but counts it as transferred
        # (bodySize); "compression" is the difference.
        content: dict[str, object] = {
            "size": len(ex.resp_body),
            "compression": len(ex.resp_body) - len(w.resp_transfer) if ex.gzip_chunked else 0,
            "mimeType": ex.resp_type,
        }
        if _is_text(ex.resp_type) or not ex.resp_body:
            content["text"] = ex.resp_body.decode()
        else:
            content["encoding"] = "base64"
            content["text"] = base64.b64encode(ex.resp_body).decode()
        location = dict((k.lower(), v) for k, v in w.resp_headers).get("location", "")
        entries.append({
            "pageref": "0",
            "startedDateTime": _fiddler_time(w.started),
            "time": w.total_ms,
            "serverIPAddress": FRONT_IP,
            "connection": f"ClientPort:{w.conn.client_port};EgressPort:{w.conn.egress_port}",
            "request": {
                "method": ex.method,
                "url": w.url,
                "httpVersion": "HTTP/1.1",
                "headersSize": _headers_size(f"{ex.method} {w.url} HTTP/1.1", w.req_headers),
                "bodySize": len(ex.req_body),
                "cookies": _cookies_from_request(w.req_headers),
                "headers": [{"name": k, "value": v} for k, v in w.req_headers],
                "queryString": [{"name": k, "value": v}
                                for k, v in parse_qsl(split.query, keep_blank_values=True)],
                "postData": {"mimeType": ex.req_type, "text": ex.req_body.decode()},
            },
            "response": {
                "status": ex.status,
                "statusText": ex.reason,
                "httpVersion": "HTTP/1.1",
                "headersSize": _headers_size(f"HTTP/1.1 {ex.status} {ex.reason}",
                                             w.resp_headers),
                "bodySize": len(w.resp_transfer),
                "redirectURL": location,
                "cookies": _cookies_from_response(w.resp_headers),
                "headers": [{"name": k, "value": v} for k, v in w.resp_headers],
                "content": content,
            },
            "cache": {},
            "timings": {
                "blocked": -1, "dns": -1, "connect": w.connect_ms, "ssl": w.ssl_ms if w.ssl_ms
                else -1, "send": ex.send_ms, "wait": ex.wait_ms, "receive": ex.receive_ms,
            },
        })  # fmt: skip
    export = EXPORTED
    har = {
        "log": {
            "version": "1.2",
            "creator": {"name": "Fiddler", "version": FIDDLER_VERSION},
            "comment": f"exported @ {export.year}/{export.month}/{export.day} "
            f"{export.hour}:{export.minute:02d}:{export.second:02d}",
            "pages": [{
                "startedDateTime": _fiddler_time(wires[0].started),
                "id": "0",
                "title": "Page 0",
                "pageTimings": {"onContentLoad": -1, "onLoad": -1},
            }],
            "entries": entries,
        }
    }  # fmt: skip
    text = json.dumps(har, ensure_ascii=False, indent=2, separators=(",", " : "))
    # Fiddler writes a UTF-8 BOM before the JSON.
    return b"\xef\xbb\xbf" + (text + "\n").encode()


# --- the same session as a mitmproxy flow file ----------------------------------------------


def _client(w: Wire, end: float) -> connection.Client:
    c = w.conn
    return connection.Client(
        id=_fixed_id("client", c.key),
        peername=(PHONE_IP, c.client_port),
        sockname=(PROXY_IP, PROXY_PORT),
        timestamp_start=round(SESSION_START.timestamp() + c.opened_ms / 1000, 3),
        timestamp_tls_setup=(round(SESSION_START.timestamp() + (c.opened_ms + 20) / 1000, 3)
                             if c.tls else None),
        timestamp_end=end,
        sni=c.host if c.tls else None,
        tls=c.tls,
        tls_version="TLSv1.2" if c.tls else None,
        cipher="ECDHE-RSA-AES128-GCM-SHA256" if c.tls else None,
        alpn=b"http/1.1" if c.tls else None,
    )  # fmt: skip


def _server(w: Wire, first: Wire, end: float) -> connection.Server:
    # The proxy opens the server connection once the first request has arrived.
    c = w.conn
    opened = first.ex.send_ms
    return connection.Server(
        id=_fixed_id("server", c.key),
        address=(c.host, c.port),
        peername=(FRONT_IP, c.port),
        sockname=(PROXY_IP, c.egress_port),
        timestamp_start=first.at(opened),
        timestamp_tcp_setup=first.at(opened + c.connect_ms),
        timestamp_tls_setup=first.at(opened + c.connect_ms + c.ssl_ms) if c.tls else None,
        timestamp_end=end,
        sni=c.host if c.tls else None,
        tls=c.tls,
        tls_version="TLSv1.2" if c.tls else None,
        cipher="ECDHE-RSA-AES128-GCM-SHA256" if c.tls else None,
        alpn=b"http/1.1" if c.tls else None,
    )  # fmt: skip


def _headers(pairs: tuple[tuple[str, str], ...]) -> http.Headers:
    return http.Headers([(k.encode(), v.encode()) for k, v in pairs])


def build_flows(wires: list[Wire]) -> list[http.HTTPFlow]:
    firsts = {w.conn.key: w for w in wires if w.first_on_conn}
    lasts = {w.conn.key: w for w in wires}
    flows = []
    for w in wires:
        ex = w.ex
        last = lasts[w.conn.key]
        end = last.at(last.total_ms + KEEPALIVE_MS)
        flow = http.HTTPFlow(_client(w, end), _server(w, firsts[w.conn.key], end))
        flow.id = _fixed_id("flow", str(w.index))
        # HAR timings run connect, send, wait, receive; a proxy reads the request first,
        # then connects.  Both add up to the same total, and both start at startedDateTime.
        sent = ex.send_ms
        answered = sent + w.connect_ms + ex.wait_ms
        # An explicit proxy sees absolute-form requests for http; https arrives inside
        # the CONNECT tunnel in origin-form, so its authority is empty (mitmproxy keeps that).
        authority = b"" if w.conn.tls else w.req_headers[0][1].encode()
        flow.request = http.Request(
            w.conn.host, w.conn.port, ex.method.encode(), w.scheme.encode(), authority,
            ex.path.encode(), b"HTTP/1.1", _headers(w.req_headers), ex.req_body, None,
            w.at(0), w.at(sent),
        )  # fmt: skip
        flow.response = http.Response(
            b"HTTP/1.1", ex.status, ex.reason.encode(), _headers(w.resp_headers), w.resp_encoded,
            None, w.at(answered), w.at(w.total_ms),
        )  # fmt: skip
        flow.timestamp_created = w.at(0)
        flows.append(flow)
    return flows


def build_mitm(wires: list[Wire]) -> bytes:
    buf = io.BytesIO()
    writer = FlowWriter(buf)
    for flow in build_flows(wires):
        writer.add(flow)
    return buf.getvalue()


# --- DNS: the one table of records, then dig output, passive DNS, reverse IP -----------------


@dataclass(frozen=True)
class Record:
    rrname: str
    rrtype: str
    rdata: str
    first: datetime
    last: datetime


def dns_records() -> list[Record]:
    recs = [
        Record(SLB_HOST, "A", FRONT_IP, FRONT_FIRST, PDNS_LAST),
        Record(LOGIN_HOST, "A", FRONT_IP, FRONT_FIRST, PDNS_LAST),
        Record(APP_HOST, "CNAME", SLB_HOST, FRONT_FIRST, PDNS_LAST),
        Record(EXTRA_HOST, "A", FRONT_IP, EXTRA_FIRST, PDNS_LAST),
        Record(ZZ_HOST, "A", OLD_ZZ_IP, ZZ_OLD_FIRST, ZZ_OLD_LAST),
        Record(ZZ_HOST, "A", FRONT_IP, ZZ_NEW_FIRST, PDNS_LAST),
    ]
    for i, (abbr, _, _) in enumerate(CITIES):
        if abbr == "zz":
            continue
        host = city_host(abbr)
        day = CITY_FIRST_DAYS[abbr]
        first = datetime(day.year, day.month, day.day, 10, 0, 0, tzinfo=CST) + timedelta(
            minutes=7 * i, seconds=_small_int(host, 0, 59)
        )
        last = PDNS_LAST - timedelta(minutes=3 * i, seconds=_small_int(host + "/last", 0, 59))
        if host in CNAME_HOSTS:
            recs.append(Record(host, "CNAME", SLB_HOST, first, last))
        else:
            recs.append(Record(host, "A", FRONT_IP, first, last))
    for r in recs:
        # Dates in ip138's listing are local; keep them equal to the UTC dates.
        for moment in (r.first, r.last):
            assert moment.date() == moment.astimezone(UTC).date(), r
    return sorted(recs, key=lambda r: (r.rrname, r.first))


def _current(records: list[Record], name: str) -> Record:
    return max((r for r in records if r.rrname == name), key=lambda r: r.last)


def resolve_chain(records: list[Record], name: str) -> list[Record]:
    chain = [_current(records, name)]
    while chain[-1].rrtype == "CNAME":
        chain.append(_current(records, chain[-1].rdata))
    return chain


def _indent(column: int, to: int) -> tuple[str, int]:
    # BIND's masterdump indent(): tabs of width 8 up to the column, one space if past it.
    if column >= to:
        return " ", column + 1
    return "\t" * (to // 8 - column // 8), to


def _dig_line(name: str, ttl: int | None, rtype: str, rdata: str | None) -> str:
    # dig's default style: TTL at column 24, class 32, type 40, rdata 48.  In the
    # question section the leading ";" is not counted and there is no TTL.
    text, col = name, len(name)
    if ttl is not None:
        pad, col = _indent(col, 24)
        text += pad + str(ttl)
        col += len(str(ttl))
    pad, col = _indent(col, 32)
    text += pad + "IN"
    col += 2
    pad, col = _indent(col, 40)
    text += pad + rtype
    col += len(rtype)
    if rdata is not None:
        pad, col = _indent(col, 48)
        text += pad + rdata
    return text


def answer_rrsets(records: list[Record], name: str) -> list[tuple[str, int, str, str]]:
    """(owner, TTL, type, rdata) of the answer to an A query: the CNAME chain, then the A."""
    out = []
    for rec in resolve_chain(records, name):
        ttl = TTL_CNAME if rec.rrtype == "CNAME" else TTL_A
        rdata = rec.rdata + "." if rec.rrtype == "CNAME" else rec.rdata
        out.append((rec.rrname + ".", ttl, rec.rrtype, rdata))
    return out


def dns_response(records: list[Record], query: dns.message.Message) -> dns.message.Message:
    """A recursive resolver's NOERROR answer (ANSWER section only) to an A query."""
    response = dns.message.make_response(query)
    response.flags |= dns.flags.RA
    name = query.question[0].name.to_text(omit_final_dot=True)
    for owner, ttl, rtype, rdata in answer_rrsets(records, name):
        response.answer.append(dns.rrset.from_text(owner, ttl, "IN", rtype, rdata))
    return response


def _answer(records: list[Record], name: str, qid: int) -> tuple[list[str], int]:
    query = dns.message.make_query(name, "A", use_edns=0, payload=4096)
    query.id = qid
    response = dns_response(records, query)
    lines = [_dig_line(*rrset) for rrset in answer_rrsets(records, name)]
    return lines, len(response.to_wire())


def _dig_when(moment: datetime) -> str:
    # English names whatever the locale, as dig prints them in the C locale.
    day = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[moment.weekday()]
    month = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()[moment.month - 1]
    return f"{day} {month} {moment.day:02d} {moment:%H:%M:%S} CST {moment.year}"


def build_dig(records: list[Record]) -> bytes:
    runs = [
        [APP_HOST],
        [LOGIN_HOST],
        [ZZ_HOST],
        [city_host(abbr) for abbr, _, _ in CITIES if abbr != "zz"],
    ]
    out: list[str] = []
    moment = DIG_START
    for run in runs:
        out.append("")
        out.append(f"; <<>> DiG {DIG_VERSION} <<>> " + " ".join(run))
        out.append(";; global options: +cmd")
        for name in run:
            qid = _small_int("dig-id/" + name, 1, 65535)
            answers, size = _answer(records, name, qid)
            out += [
                ";; Got answer:",
                f";; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: {qid}",
                f";; flags: qr rd ra; QUERY: 1, ANSWER: {len(answers)}, AUTHORITY: 0, "
                "ADDITIONAL: 1",
                "",
                ";; OPT PSEUDOSECTION:",
                "; EDNS: version: 0, flags:; udp: 4096",
                ";; QUESTION SECTION:",
                ";" + _dig_line(name + ".", None, "A", None),
                "",
                ";; ANSWER SECTION:",
                *answers,
                "",
                f";; Query time: {_small_int('dig-ms/' + name, 18, 64)} msec",
                f";; SERVER: {DIG_SERVER}#53({DIG_SERVER})",
                f";; WHEN: {_dig_when(moment)}",
                f";; MSG SIZE  rcvd: {size}",
                "",
            ]  # fmt: skip
        moment += timedelta(seconds=3)
    return ("\n".join(out) + "\n").encode()


def build_passive_dns(records: list[Record]) -> bytes:
    lines = []
    for r in records:
        rdata = r.rdata + "." if r.rrtype == "CNAME" else r.rdata
        span_days = max(1, (r.last - r.first).days)
        row = {
            "rrname": r.rrname + ".",
            "rrtype": r.rrtype,
            "rdata": [rdata],
            "time_first": int(r.first.timestamp()),
            "time_last": int(r.last.timestamp()),
            "count": span_days * _small_int(f"count/{r.rrname}/{r.rdata}", 3, 40),
            "bailiwick": ZONE + ".",
        }
        lines.append(json.dumps(row, sort_keys=True, separators=(",", ":")))
    return ("\n".join(lines) + "\n").encode()


def reverse_ip_rows(records: list[Record], address: str) -> list[tuple[date, date, str]]:
    """(first day, last day, host) for every name whose resolution reached `address`."""
    rows = []
    for rec in records:
        first, last = rec.first, rec.last
        target = rec
        while target.rrtype == "CNAME":
            target = _current(records, target.rdata)
            first, last = max(first, target.first), min(last, target.last)
        if target.rdata == address and first <= last:
            rows.append((first.date(), last.date(), rec.rrname))
    return sorted(rows, key=lambda r: (-r[1].toordinal(), -r[0].toordinal(), r[2]))


def build_reverse_ip(records: list[Record]) -> bytes:
    rows = reverse_ip_rows(records, FRONT_IP)
    text = "".join(f"{first}-----{last}    {host}\n" for first, last, host in rows)
    return text.encode()


def build_operators() -> bytes:
    lines = []
    for start, end, asn, country, desc, region, city in OPERATOR_ROWS:
        cols = [start, end, str(asn), country, desc]
        if region or city:
            cols += [region, city]
        lines.append("\t".join(cols))
    return ("\n".join(lines) + "\n").encode()


# --- TLS on the login connection: one handshake, shown by the SAZ and by the pcap ----------


def client_hello() -> Any:
    """The phone's ClientHello to login:443: Chrome's TLS 1.2 offer (no TLS 1.3 parts)."""
    return pcapw.ClientHello(
        random=pcapw.pseudo_random(TLS_LABEL + "/client-random", 32),
        session_id=b"",  # a fresh connection, nothing to resume
        ciphers=(0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0xC013, 0xC014,
                 0x009C, 0x009D, 0x002F, 0x0035),
        extensions=(pcapw.EXT_SERVER_NAME, pcapw.EXT_EXTENDED_MASTER_SECRET,
                    pcapw.EXT_RENEGOTIATION_INFO, pcapw.EXT_SUPPORTED_GROUPS,
                    pcapw.EXT_EC_POINT_FORMATS, pcapw.EXT_SESSION_TICKET, pcapw.EXT_ALPN,
                    pcapw.EXT_STATUS_REQUEST, pcapw.EXT_SIGNATURE_ALGORITHMS, pcapw.EXT_SCT),
        server_name=LOGIN_HOST,
        groups=(0x1D, 0x17, 0x18),
        signature_algorithms=(0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601),
        alpn=("h2", "http/1.1"),
    )  # fmt: skip


@functools.cache
def login_certificate() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """The front's self-signed certificate for login (invented), and its key."""
    key = pcapw.rsa_key_from_label(TLS_LABEL + "/certificate-key")
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, CERT_ORG),
        x509.NameAttribute(NameOID.COMMON_NAME, LOGIN_HOST),
    ])  # fmt: skip
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(CERT_SERIAL)
        .not_valid_before(CERT_NOT_BEFORE)
        .not_valid_after(CERT_NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(LOGIN_HOST)]), critical=False)
        .sign(key, hashes.SHA256())  # RSA PKCS#1 v1.5: the same bytes every time
    )
    return key, cert


@dataclass(frozen=True)
class TlsHandshake:
    client_hello: bytes
    server_flight: bytes
    client_finish: bytes
    server_finish: bytes


def tls_handshake() -> TlsHandshake:
    """ECDHE-RSA-AES128-GCM-SHA256 with x25519, as the mitmproxy flow file records it."""
    hello = client_hello()
    key, cert = login_certificate()
    server_random = pcapw.pseudo_random(TLS_LABEL + "/server-random", 32)
    session_id = pcapw.pseudo_random(TLS_LABEL + "/server-session-id", 32)
    server_share = (
        X25519PrivateKey.from_private_bytes(pcapw.pseudo_random(TLS_LABEL + "/server-x25519", 32))
        .public_key()
        .public_bytes_raw()
    )
    client_share = (
        X25519PrivateKey.from_private_bytes(pcapw.pseudo_random(TLS_LABEL + "/client-x25519", 32))
        .public_key()
        .public_bytes_raw()
    )
    params = pcapw.ecdhe_params(0x1D, server_share)
    signature = key.sign(hello.random + server_random + params, padding.PKCS1v15(),
                         hashes.SHA256())  # fmt: skip
    handshake = pcapw.CONTENT_HANDSHAKE
    server_flight = b"".join(pcapw.record(handshake, message) for message in (
        pcapw.server_hello(server_random, session_id, TLS_CIPHER, "http/1.1"),
        pcapw.certificate([cert.public_bytes(serialization.Encoding.DER)]),
        pcapw.server_key_exchange(params, 0x0401, signature),  # rsa_pkcs1_sha256
        pcapw.server_hello_done(),
    ))  # fmt: skip
    ccs = pcapw.record(pcapw.CONTENT_CHANGE_CIPHER_SPEC, b"\x01")
    return TlsHandshake(
        client_hello=hello.record(),
        server_flight=server_flight,
        client_finish=pcapw.record(handshake, pcapw.client_key_exchange(client_share)) + ccs
        + pcapw.encrypted_record(handshake, 0, 16, TLS_LABEL + "/client-finished"),
        server_finish=ccs + pcapw.encrypted_record(handshake, 0, 16,
                                                   TLS_LABEL + "/server-finished"),
    )  # fmt: skip


# --- the same session as a Fiddler SAZ archive -----------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = 10_000
"""Ticks (100 ns) per millisecond."""


def _ticks(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1) * 10


def _from_ticks(ticks: int) -> datetime:
    return (_EPOCH + timedelta(microseconds=ticks // 10)).astimezone(CST)


def _jitter(label: str, high: int = 9_999) -> int:
    """Sub-millisecond ticks, so most timers carry seven digits as Fiddler's do."""
    return _small_int("saz-ticks/" + label, 1, high)


def _monotonic(values: list[int], end: int) -> list[int]:
    out: list[int] = []
    for v in values:
        out.append(min(end, max(v, out[-1] if out else v)))
    return out


def _exchange_timers(
    w: Wire, client_connected: int, server_connected: int | None, tcp_ms: int
) -> dict[str, int | None]:
    """The HAR's phases in Fiddler's timers: read the request, connect, wait, receive."""
    ex, label = w.ex, f"{w.index}/"
    begin = _ticks(w.started)
    end = begin + w.total_ms * _MS
    request_read = begin + ex.send_ms * _MS - _jitter(label + "cdr", 999)
    sent = begin + (ex.send_ms + w.connect_ms) * _MS + _jitter(label + "sent", 2_000)
    first_byte = sent + ex.wait_ms * _MS + _jitter(label + "ttfb")
    done = end - _jitter(label + "done", 999)
    grh, cdr, sent, first_byte, done = _monotonic(
        [begin + _jitter(label + "grh", 999), request_read, sent, first_byte, done], end
    )
    return {
        "ClientConnected": client_connected, "ClientBeginRequest": begin,
        "GotRequestHeaders": grh, "ClientDoneRequest": cdr,
        "GatewayTime": 0, "DNSTime": 0, "TCPConnectTime": tcp_ms, "HTTPSHandshakeTime": 0,
        "ServerConnected": sent - 1_000 if server_connected is None else server_connected,
        "FiddlerBeginRequest": sent, "ServerGotRequest": sent,
        "ServerBeginResponse": first_byte, "GotResponseHeaders": first_byte,
        "ServerDoneResponse": done, "ClientBeginResponse": done, "ClientDoneResponse": end,
    }  # fmt: skip


def _client_flags(c: Conn, transfer: int) -> list[tuple[str, str]]:
    return [("x-egressport", str(c.egress_port)),
            ("x-responsebodytransferlength", saz.number(transfer)),
            ("x-clientport", str(c.client_port)),
            ("x-clientip", FIDDLER_CLIENT_IP)]  # fmt: skip


def _connect_session(c: Conn, client_connected: int) -> tuple[Any, int]:
    """Fiddler's CONNECT session for a decrypted tunnel, and its ServerConnected."""
    begin = client_connected + _MS + _jitter(c.key + "/connect")
    connected = begin + c.connect_ms * _MS + _jitter(c.key + "/server-connected")
    timers: dict[str, int | None] = {
        "ClientConnected": client_connected, "ClientBeginRequest": begin,
        "GotRequestHeaders": begin, "ClientDoneRequest": begin,
        "GatewayTime": 0, "DNSTime": 0, "TCPConnectTime": c.connect_ms,
        "HTTPSHandshakeTime": c.ssl_ms, "ServerConnected": connected,
        "FiddlerBeginRequest": connected, "ServerGotRequest": connected,
        "ServerBeginResponse": None, "GotResponseHeaders": None, "ServerDoneResponse": None,
        "ClientBeginResponse": connected, "ClientDoneResponse": connected,
    }  # fmt: skip
    authority = f"{c.host}:{c.port}"
    request = (
        f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\nConnection: keep-alive\r\n"
        f"User-Agent: {USER_AGENT}\r\n\r\n"
    ).encode() + saz.client_hello_text(client_hello(), CST)
    response = saz.connect_response(
        _from_ticks(connected), login_certificate()[1], [c.host],
        "Tls12", "Aes128 128bits", "Sha256 ?bits", "ECDHE_RSA (0xae06) 255bits",
    )  # fmt: skip
    egress, transfer, client_port, client_ip = _client_flags(c, 0)
    flags = (  # in the order the corpus's CONNECT sessions list them
        ("https-client-snihostname", c.host), egress, transfer, client_port,
        ("https-server-version", "Tls12"), client_ip, ("https-client-sessionid", "empty"),
        ("x-hostip", FRONT_IP), ("https-client-version", "Tls12"),
        ("https-server-cipher", "Aes128 128bits"),
    )  # fmt: skip
    session = saz.Session(
        request, response, timers, saz.IS_DECRYPTING_TUNNEL | saz.RESPONSE_GENERATED_BY_FIDDLER,
        flags, tunnel=True, result=200, protocol="HTTP", host="Tunnel to", url=authority, body=0,
    )  # fmt: skip
    return session, connected


def saz_sessions(wires: list[Wire]) -> list[Any]:
    """Fiddler's sessions in order: each https connection's CONNECT before its requests."""
    sessions: list[Any] = []
    pipes: dict[str, tuple[int, int]] = {}  # conn -> (SID that opened the server pipe, when)
    for w in wires:
        c = w.conn
        client_connected = _ticks(SESSION_START + timedelta(milliseconds=c.opened_ms))
        client_connected += _jitter(c.key + "/client-connected")
        if c.tls and c.key not in pipes:
            connect, connected = _connect_session(c, client_connected)
            sessions.append(connect)
            pipes[c.key] = (len(sessions), connected)
        reused = c.key in pipes
        timers = _exchange_timers(w, client_connected, pipes[c.key][1] if reused else None,
                                  0 if reused else c.connect_ms)  # fmt: skip
        transfer = len(w.resp_transfer)
        flags = _client_flags(c, transfer)
        if reused:
            flags.append(("x-serversocket", f"REUSE ServerPipe#{pipes[c.key][0]}"))
        flags.append(("x-hostip", FRONT_IP))
        bits = saz.CLIENT_PIPE_REUSED | saz.SERVER_PIPE_REUSED if reused else 0
        headers = {k.lower(): v for k, v in w.resp_headers}
        sessions.append(saz.Session(
            w.request_bytes(absolute=True), w.response_bytes(), timers,
            bits | (saz.IS_HTTPS if c.tls else 0), tuple(flags),
            pipe_info=(("CltReuse", "true"), ("Reused", "true")) if reused else (),
            result=w.ex.status, protocol=w.scheme.upper(), host=w.req_headers[0][1],
            url=w.ex.path, body=transfer, caching=headers.get("cache-control", ""),
            content_type=headers.get("content-type", ""),
        ))  # fmt: skip
        if not reused:
            pipes[c.key] = (len(sessions), timers["ServerConnected"] or 0)
    return sessions


def build_saz(wires: list[Wire]) -> bytes:
    return saz.write_saz(saz_sessions(wires), FIDDLER_VERSION, EXPORTED, CST)


# --- the same session as a packet capture on the phone's Wi-Fi, without the proxy -----------


def _us(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _dns_lookups(cap: Any, wires: list[Wire], records: list[Record]) -> None:
    """One A lookup per contacted host, answered just before its first request."""
    firsts: dict[str, Wire] = {}
    for w in wires:
        firsts.setdefault(w.conn.host, w)
    for host, w in firsts.items():
        query = dns.message.make_query(host, "A")
        query.id = _small_int("pcap-dns-id/" + host, 1, 65535)
        response = dns_response(records, query)
        port = _small_int("pcap-dns-port/" + host, 32768, 60999)
        asked = _us(w.started) - DNS_LEAD_MS * 1000
        ip_id = _small_int("pcap-dns-ipid/" + host, 0, 65535)
        cap.udp(asked, (PHONE_IP, port), (RESOLVER_IP, 53), query.to_wire(), 64, ip_id)
        cap.udp(asked + DNS_RTT_US, (RESOLVER_IP, 53), (PHONE_IP, port), response.to_wire(),
                64, ip_id ^ 0x5A5A)  # fmt: skip


def isn(side: str, conn: Conn) -> int:
    """The initial sequence number of `side` ("phone" or "front") on `conn`."""
    return _small_int(f"pcap-isn/{side}/{conn.key}", 0, 2**32 - 1)


def _tls_setup(tcp: Any, up: int, conn: Conn) -> int:
    """The TLS 1.2 handshake after the TCP one; the ClientHello goes out in two segments."""
    hs = tls_handshake()
    cut = hs.client_hello.index(conn.host.encode()) + CLIENT_HELLO_CUT
    tcp.send(up, True, hs.client_hello[:cut])
    tcp.send(up + 80, True, hs.client_hello[cut:])
    half = conn.ssl_ms * 500
    tcp.send(up + half, False, hs.server_flight, gap_us=40)
    tcp.send(up + half + 450, True, hs.client_finish)
    tcp.send(up + conn.ssl_ms * 1000 - 150, False, hs.server_finish)
    return up + conn.ssl_ms * 1000


def _tcp_conversation(cap: Any, wires: list[Wire]) -> None:
    conn = wires[0].conn
    rtt = conn.connect_ms * 1000
    tcp = pcapw.TcpConnection(
        cap, (PHONE_IP, conn.client_port), (FRONT_IP, conn.port),
        (isn("phone", conn), isn("front", conn)),
        (_small_int(f"pcap-ipid/phone/{conn.key}", 0, 65535),
         _small_int(f"pcap-ipid/front/{conn.key}", 0, 65535)), FRONT_TTL,
    )  # fmt: skip
    up = tcp.open(_us(wires[0].started), rtt)
    if conn.tls:
        up = _tls_setup(tcp, up, conn)
    for seq, w in enumerate(wires, 1):
        ex = w.ex
        asked = _us(w.started) + w.connect_ms * 1000
        answered = asked + (ex.send_ms + ex.wait_ms) * 1000
        request, response = w.request_bytes(absolute=False), w.response_bytes()
        if conn.tls:  # only the record sizes give the exchange away
            data = pcapw.CONTENT_APPLICATION_DATA
            label = f"{TLS_LABEL}/{w.index}"
            request = pcapw.encrypted_record(data, seq, len(request), label + "/request")
            response = pcapw.encrypted_record(data, seq, len(response), label + "/response")
        tcp.send(asked, True, request)
        if ex.wait_ms * 1000 > rtt + 1000:
            tcp.ack(asked + rtt, False)  # the front's delayed ACK, before its answer
        if w.resp_chunks and not conn.tls:
            # The front flushes the gzip header chunk first: two segments to reassemble.
            cut = len(w.response_head()) + len(b"%x\r\n\r\n" % len(w.resp_chunks[0]))
            cut += len(w.resp_chunks[0])
            tcp.send(answered, False, response[:cut])
            last = tcp.send(answered + ex.receive_ms * 1000, False, response[cut:])
        else:
            last = tcp.send(answered, False, response, gap_us=60)
        tcp.ack(last + 300, True)
    end = wires[-1]
    tcp.close_by_server(_us(end.started) + (end.total_ms + KEEPALIVE_MS) * 1000, rtt)


def build_pcap(wires: list[Wire], records: list[Record]) -> bytes:
    cap = pcapw.Capture(PHONE_MAC, GATEWAY_MAC, PHONE_IP)
    _dns_lookups(cap, wires, records)
    for key in dict.fromkeys(w.conn.key for w in wires):
        _tcp_conversation(cap, [w for w in wires if w.conn.key == key])
    return cap.pcap()


# --- README ---------------------------------------------------------------------------------


def _readme_capture_files(wires: list[Wire]) -> str:
    """The README's paragraphs on the SAZ and the pcap."""
    sessions = saz_sessions(wires)
    connects = [n for n, sess in enumerate(sessions, 1) if sess.host == "Tunnel to"]
    tls = [w for w in wires if w.conn.tls]
    gz = next(w for w in wires if w.ex.gzip_chunked)
    conns = list(dict.fromkeys(w.conn for w in wires))
    return f"""- `app-session.saz`: the same session as a Fiddler {FIDDLER_VERSION} Session Archive:
  {len(sessions)} sessions, the {len(wires)} exchanges plus, as session {connects[0]}, the
  `CONNECT {LOGIN_HOST}:{LOGIN_PORT}` tunnel that precedes the decrypted https sessions
  ({", ".join(str(connects[0] + 1 + i) for i in range(len(tls)))}).  Layout as Fiddler
  writes it (see `captures/_saz_writer.py` and the SAZ files in the shared corpus):
  `raw/NN_c.txt`, `raw/NN_m.xml`, `raw/NN_s.txt` per session, `[Content_Types].xml`,
  `_index.htm`, the zip comment naming Fiddler.  Requests are as the phone sent them to
  the proxy: absolute-form `GET http://{APP_HOST}:{APP_PORT}/... HTTP/1.1` for http; the
  decrypted https sessions are written `GET https://{LOGIN_HOST}/... HTTP/1.1`, as Fiddler
  records decrypted requests (the corpus's `CONNECT host:443` sessions are followed by
  `GET https://host/...` ones), with `Host: {LOGIN_HOST}`.  Responses are stored as
  transferred: entry {gz.index}'s is `Transfer-Encoding: chunked` and
  `Content-Encoding: gzip`, so a reader must de-chunk and gunzip it to get the HAR's text.
  `_m.xml` timers are local time `+08:00` with up to seven fractional digits, trailing
  zeros dropped (.NET `FFFFFFF`): `ClientBeginRequest` is the HAR's `startedDateTime`,
  `ClientDoneResponse` is `startedDateTime` plus the HAR's `time`; the timers in between
  carry invented sub-millisecond digits.  Flags: `x-hostip` `{FRONT_IP}`, `x-clientip`
  `{FIDDLER_CLIENT_IP}` (Fiddler, listening on IPv6 too, writes a remote IPv4 client that
  way), `x-clientport`, `x-egressport`, `x-responsebodytransferlength` (the stored body's
  length, .NET `N0` format), `x-serversocket` `REUSE ServerPipe#N` on reused connections.
  There is no `x-processinfo`: Fiddler names the process only for clients on its own
  machine, and the phone is remote.  The CONNECT session has Fiddler's reading of the
  ClientHello after the request headers, Fiddler's own `200 Connection Established` with
  its notes and the server certificate, `BitFlags="2100"` (decrypting tunnel, response by
  Fiddler), `https-client-snihostname` `{LOGIN_HOST}`.
- `app-session.pcap`: the same session as the phone's Wi-Fi would show it without the
  proxy: a classic pcap (Ethernet link type, microsecond timestamps, snaplen 262144,
  written with `dpkt.pcap.Writer`), {len(conns)} TCP connections and 2 DNS lookups.  First
  the phone asks the router `{RESOLVER_IP}` for the A record of a host {DNS_LEAD_MS} ms
  before its first request there (UDP 53; the answer, built with dnspython, has the ANSWER
  section only: the same records and TTLs as dig-city-hosts.txt, `{APP_HOST}` through CNAME
  `{SLB_HOST}`).  Each connection starts at its first exchange's `startedDateTime` with
  SYN, SYN-ACK, ACK, and ends {KEEPALIVE_MS // 1000} s after its last exchange with the
  front's FIN.  Port {APP_PORT} is plain HTTP: the requests are in origin-form
  (`GET /path HTTP/1.1` and `Host: {APP_HOST}:{APP_PORT}`, as a client writes them without
  a proxy) with the HAR's headers and bodies; each request's first segment is at
  `startedDateTime` plus the HAR's connect time; the responses are byte for byte the SAZ's
  `_s.txt`, entry {gz.index}'s split into two segments after its first chunk.  Port
  {LOGIN_PORT} carries TLS 1.2: the ClientHello (record version 0x0301, SNI `{LOGIN_HOST}`,
  ALPN h2 and http/1.1) is split into two segments {CLIENT_HELLO_CUT} bytes into the SNI
  name, so a reader must reassemble it; the front answers ServerHello
  (ECDHE-RSA-AES128-GCM-SHA256, ALPN http/1.1), Certificate, ServerKeyExchange (x25519,
  signed rsa_pkcs1_sha256) and ServerHelloDone; then ClientKeyExchange, ChangeCipherSpec
  and Finished both ways.  The https exchanges follow as application-data records of the
  right sizes whose contents are pseudo-random stand-ins: their paths, headers and bodies
  are not visible in the pcap, as in any capture without the keys.
"""


def _readme_capture_rows(wires: list[Wire]) -> list[tuple[str, str, str]]:
    """The README's "invented" rows for the SAZ and the pcap."""
    inv, gen = "invented", "this fixture (`make_henan_2022.py`)"
    conns = list(dict.fromkeys(w.conn for w in wires))
    hosts = list(dict.fromkeys(w.conn.host for w in wires))
    isns = "; ".join(f"{c.client_port}->{c.port}: phone {isn('phone', c)}, "
                     f"front {isn('front', c)}" for c in conns)  # fmt: skip
    lookups = "; ".join(
        f"{h}: port {_small_int('pcap-dns-port/' + h, 32768, 60999)}, "
        f"id {_small_int('pcap-dns-id/' + h, 1, 65535)}" for h in hosts)  # fmt: skip
    hello = client_hello()
    hs = tls_handshake()
    server_random = hs.server_flight[11:43]
    _, cert = login_certificate()
    thumb = hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    gz = next(w for w in wires if w.ex.gzip_chunked)
    return [
        (f"entry {gz.index}'s response gzipped (nginx-style header, mtime 0, level 1) and "
         "chunked (gzip header chunk, then the rest)", inv, gen),
        (f"SAZ: {FIDDLER_CLIENT_IP} as x-clientip, the sub-millisecond timer digits, "
         "the CONNECT request headers and Fiddler's notes on the tunnel", inv, gen),
        (f"pcap: resolver and gateway {RESOLVER_IP}, phone MAC {PHONE_MAC}, gateway MAC "
         f"{GATEWAY_MAC}, the front's TTL {FRONT_TTL}, TCP options (MSS 1460, SACK, window "
         "scale 7) and windows, IP ids", inv, gen),
        (f"pcap: DNS lookup source ports and ids ({lookups}); {DNS_LEAD_MS} ms lead, "
         f"{DNS_RTT_US / 1000} ms answer time", inv, gen),
        (f"pcap: TCP client ports = the proxied session's; initial sequence numbers "
         f"({isns})", inv, gen),
        ("pcap: the ClientHello's cipher suites, extensions and their order (Chrome's, "
         "without TLS 1.3; the real WebView would offer TLS 1.3 too)", inv, gen),
        (f"TLS client random `{hello.random.hex()}`, server random `{server_random.hex()}`, "
         f"server session id, x25519 shares, the Finished and application-data bytes: all "
         f"SHA-256 in counter mode over labels `{TLS_LABEL}/...`", inv, gen),
        (f"the front's certificate: self-signed, subject and issuer `O={CERT_ORG}, "
         f"CN={LOGIN_HOST}`, SAN `{LOGIN_HOST}`, serial `{CERT_SERIAL:X}`, valid "
         f"{CERT_NOT_BEFORE:%Y-%m-%d %H:%M:%S} to {CERT_NOT_AFTER:%Y-%m-%d %H:%M:%S} UTC, "
         f"SHA-1 thumbprint `{thumb}`", inv,
         gen + "; the article shows no certificate"),
        (f"its RSA-2048 key: primes p and q are the first probable primes (Miller-Rabin, "
         f"fixed bases) after 1024-bit numbers drawn from labels `{TLS_LABEL}/certificate-key"
         "/p` and `/q`; e = 65537; PKCS#1 v1.5 signatures, so the same bytes every run",
         inv, gen),
    ]  # fmt: skip


def build_readme(wires: list[Wire], records: list[Record]) -> bytes:
    cname_names = ", ".join(f"`{h}`" for h in CNAME_HOSTS)
    referenced = ", ".join(f"`{city_host(a)}`" for a in REFERENCED_CITIES)
    old_row = next(r for r in OPERATOR_ROWS if r[0].startswith("42."))
    front_row = next(r for r in OPERATOR_ROWS if r[2] == 24445)
    zz_old = next(r for r in records if r.rdata == OLD_ZZ_IP)
    zz_new = next(r for r in records if r.rrname == ZZ_HOST and r.rdata == FRONT_IP)
    rev = reverse_ip_rows(records, FRONT_IP)
    entry_lines = "\n".join(
        f"| {w.index} | {w.ex.method} | `{w.url}` | {w.ex.status} |" for w in wires
    )
    city_days = ", ".join(f"{a} {d.isoformat()}" for a, d in CITY_FIRST_DAYS.items())

    def ts(moment: datetime) -> str:
        return moment.strftime("%Y-%m-%d %H:%M:%S") + " +08:00"

    inv = "invented"
    pub = "published"
    scen = "SCENARIO-henan-2022.md (the article of 2022-06-16)"
    gen = "this fixture (`make_henan_2022.py`)"
    table = [
        (f"host `{APP_HOST}`", pub, scen),
        (f"host `{LOGIN_HOST}`", pub, scen),
        (f"host `{ZZ_HOST}`", pub, scen),
        (f"port {APP_PORT} (app pages), port {LOGIN_PORT} (login)", pub, scen),
        (f"address `{FRONT_IP}`", pub, scen),
        ("operator China Mobile, Pingdingshan, Henan (平顶山移动)", pub, scen),
        (f"ICP licence {ICP_LICENCE}, holder {ICP_HOLDER}", pub,
         scen + "; not in any file here (no WHOIS/ICP input format)"),
        (f"migration day {MIGRATION_DAY.isoformat()} (zz-jkm onto {FRONT_IP})", pub, scen),
        ("first octet `42` of zz-jkm's old address", pub, scen),
        ("city abbreviations (zz, kf, ly, ... jy)", "prescribed", "SCENARIO table (usual pinyin"
         " abbreviations); only zz-jkm is published as a host"),
        ("the other 17 `<abbr>-jkm.hnzwfw.gov.cn` host names", inv,
         gen + ", following the zz-jkm pattern"),
        (f"port {APP_PORT} is plain (cleartext) HTTP, scheme `http`, in every file here",
         inv, gen + f"; the article publishes the port {APP_PORT}, not its protocol"),
        (f"old address `{OLD_ZZ_IP}` (rest after `42.`)", inv, gen),
        (f"old address operator: AS{old_row[2]}, {old_row[4]}, {old_row[5]}, {old_row[6]}",
         inv, gen),
        (f"range `{old_row[0]}-{old_row[1]}`", inv, gen),
        (f"ASN {front_row[2]} and description \"{front_row[4]}\" for {FRONT_IP}", inv,
         gen + "; the article names the operator, not the ASN"),
        (f"range `{front_row[0]}-{front_row[1]}` and the other rows of ip-operators.tsv", inv,
         gen),
        (f"CNAME target `{SLB_HOST}` for {cname_names}", inv, gen),
        (f"extra name `{EXTRA_HOST}` on the front", inv, gen),
        (f"capture time {ts(wires[0].started)} to {ts(wires[-1].started)}", inv,
         gen + "; the article says June 2022"),
        ("every URL path, query, header, cookie (SERVERID, JSESSIONID), body and timing", inv,
         gen),
        (f"`Server: {FRONT_SERVER}` and the SERVERID persistence cookie", inv, gen),
        (f"Fiddler {FIDDLER_VERSION}, User-Agent, app version {APP_VERSION}", inv, gen),
        (f"phone {PHONE_IP}, proxy {PROXY_IP}:{PROXY_PORT}, client/egress ports", inv, gen),
        (f"the city list in entry 5 ({len(REFERENCED_CITIES)} cities)", inv, gen),
        (f"dig runs at {ts(DIG_START)}, DiG {DIG_VERSION}, server {DIG_SERVER}, "
         f"TTLs {TTL_A} (A) / {TTL_CNAME} (CNAME), ids, query times", inv, gen),
        (f"zz-jkm on {OLD_ZZ_IP} from {ts(zz_old.first)} to {ts(zz_old.last)}", inv,
         gen + f"; only the day {MIGRATION_DAY} is published"),
        (f"zz-jkm on {FRONT_IP} from {ts(zz_new.first)}", inv,
         gen + f"; the day {MIGRATION_DAY} is published, the time is not"),
        (f"first-seen days of the other cities on {FRONT_IP}: {city_days}", inv, gen),
        (f"first-seen {ts(FRONT_FIRST)} for slb/yshb/login, {ts(EXTRA_FIRST)} for hsjc; "
         f"last-seen around {ts(PDNS_LAST)}; all counts", inv, gen),
        ("personal data: name `测**`, `FAKE-ID-410***-0000`, tokens `FAKE-...`", inv,
         gen + "; obviously fake, no real or checksum-valid ID number"),
        *_readme_capture_rows(wires),
    ]  # fmt: skip
    table_md = "\n".join(f"| {v} | {k} | {s} |" for v, k, s in table)
    capture_files = _readme_capture_files(wires)
    text = f"""# Henan 2022 fixture captures

Generated by `captures/make_henan_2022.py`; do not edit by hand.  They reconstruct
the reference case in `../shared/SCENARIO-henan-2022.md` (the Yushiban app, June
2022) from the published facts plus invented values, every invented value listed
below.  Regenerate (same bytes every time) with:

```
python captures/make_henan_2022.py [--output DIR]     # default captures/henan-2022
```

`tests/test_henan_fixtures.py` checks that a fresh run reproduces these files byte
for byte, that mitmproxy, dnspython, zipfile and dpkt read them, and that every file
tells the same session.

## Files

- `app-session.har`: the app session as Fiddler {FIDDLER_VERSION} exports HAR 1.2: a
  UTF-8 BOM, then JSON; `startedDateTime` is local time with `+08:00`; {len(wires)}
  entries, `serverIPAddress` `{FRONT_IP}` on every one.  CONNECT tunnel sessions are not
  in the export (as with Fiddler's "Hide CONNECTs").
- `app-session.mitm`: the same {len(wires)} exchanges, in the same order with the same
  times, headers and bodies, as a mitmproxy 11 flow file (`mitmproxy.io.FlowWriter`).
  Regular (explicit) proxy mode: `server_conn.address` is the host name and port,
  `server_conn.peername` is `{FRONT_IP}`, the https flows carry SNI `{LOGIN_HOST}`.
  Flows on one kept-alive connection share its client/server connection ids.
{capture_files}- `dig-city-hosts.txt`: four `dig` runs (default output) concatenated: `{APP_HOST}`,
  `{LOGIN_HOST}`, `{ZZ_HOST}`, then one run with the other 17 city hosts.  `WHEN` says
  `CST`: here China Standard Time, UTC+08:00 (not US Central).  {cname_names} answer
  through a CNAME to `{SLB_HOST}`; every chain ends in `A {FRONT_IP}`.  `MSG SIZE` is
  the wire size of each answer (computed with dnspython).
- `passive-dns.jsonl`: Passive DNS Common Output Format, one JSON object per line as
  DNSDB writes it (`rrname` with trailing dot, `rdata` a list, `time_first`/`time_last`
  epoch seconds, `count`, `bailiwick`).
- `reverse-ip-{FRONT_IP}.txt`: the reverse-IP listing for `{FRONT_IP}` as ip138 shows
  it: `first-----last` (local dates), spaces, the host name; newest first; {len(rev)}
  names.  The ranges come from the passive-DNS records (a CNAME's range is cut to its
  target's).
- `ip-operators.tsv`: iptoasn layout `range_start, range_end, AS_number, country_code,
  AS_description` (tab-separated), plus two optional columns of ours: 6 = province or
  region, 7 = city.  Rows without a location have 5 columns; one "Not routed" row
  (AS 0, country `None`) as iptoasn writes them.
- `README.md`: this file (also generated).

### The app session

| entry | method | URL | status |
|---|---|---|---|
{entry_lines}

Entry 6 answers `302` with `Location: https://{LOGIN_HOST}/login/oauth/authorize?...`;
entry 10 sends the phone back to `http://{APP_HOST}:{APP_PORT}/yshb/app/jkm/callback?...`.
Entry 5's JSON body lists health-code URLs of {len(REFERENCED_CITIES)} cities
({referenced}): hosts the session references but never contacts.

## Published or invented

| value | published or invented | source |
|---|---|---|
{table_md}

## Findings a tool should reach from these files alone

- **F1** The app talks to `{APP_HOST}:{APP_PORT}` (http) and, for the health code,
  `{LOGIN_HOST}:{LOGIN_PORT}` (https, SNI `{LOGIN_HOST}`): HAR entries and flows
  0-{len(wires) - 1}.  It also references {len(REFERENCED_CITIES)} city health-code hosts
  it never contacts (entry 5's body).
- **F2** `{APP_HOST}`, `{LOGIN_HOST}` and all 18 city hosts resolve to `{FRONT_IP}`
  (dig-city-hosts.txt, {ts(DIG_START)}; {cname_names} through CNAME `{SLB_HOST}`), and
  passive DNS agrees.  The capture's server address for both app hosts is the same
  `{FRONT_IP}` (HAR `serverIPAddress`, flow `server_conn.peername`).
- **F3** `{FRONT_IP}` is in `{front_row[0]}-{front_row[1]}`, AS{front_row[2]}, China Mobile,
  Henan, Pingdingshan (ip-operators.tsv).  The ASN and range are invented; the operator
  and place are the published ones.
- **F4** The 18 `<abbr>-jkm.{ZONE}` names (one per prefecture-level city plus Jiyuan) share
  `{FRONT_IP}` (reverse-ip listing, passive DNS, dig): a family whose varying token is a
  Henan city.  `{EXTRA_HOST}`, `{SLB_HOST}`, `{APP_HOST}` and `{LOGIN_HOST}` are on the same
  address but are not family members.
- **F5** One address serves two app host names on two ports ({APP_PORT} and {LOGIN_PORT}),
  every city's service and more: a shared front / load balancer, not a per-city server.
  Supporting HTTP signals: the same `Server: {FRONT_SERVER}` on both host names, and a
  load-balancer persistence cookie (`SERVERID=<backend hash>|<epoch>|<epoch>`, a different
  backend hash per host name) set on both.
- **F6** `{ZZ_HOST}` moved from `{OLD_ZZ_IP}` (last seen {zz_old.last.date()}) to `{FRONT_IP}`
  (first seen {zz_new.first.date()}): the published migration of {MIGRATION_DAY}.  No other
  name in these files moved; a tool must not report a migration for them.
- F7 (Guangdong's 粤省事 uses the same pattern) is outside the Henan data; nothing here
  supports or refutes it.
"""
    return text.encode()


# --- main -----------------------------------------------------------------------------------


def generate() -> dict[str, bytes]:
    """Every output file name and its bytes."""
    wires = wire_exchanges(build_session())
    records = dns_records()
    return {
        "app-session.har": build_har(wires),
        "app-session.mitm": build_mitm(wires),
        "app-session.saz": build_saz(wires),
        "app-session.pcap": build_pcap(wires, records),
        "dig-city-hosts.txt": build_dig(records),
        "passive-dns.jsonl": build_passive_dns(records),
        f"reverse-ip-{FRONT_IP}.txt": build_reverse_ip(records),
        "ip-operators.tsv": build_operators(),
        "README.md": build_readme(wires, records),
    }


def _iter_written(output: Path, files: dict[str, bytes]) -> Iterator[tuple[Path, int]]:
    output.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        path = output / name
        path.write_bytes(data)
        yield path, len(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help=f"directory to write into (default: {DEFAULT_OUTPUT})",
    )
    args = parser.parse_args(argv)
    for path, size in _iter_written(args.output, generate()):
        print(f"{size:8d}  {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
