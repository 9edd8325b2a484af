"""Decode load-balancer persistence cookies into the pool members they reveal.

A load balancer that keeps a client on one backend ("sticky sessions") often
writes the backend into a cookie.  Some vendors encode the member's address
and port; others write an opaque server id that still tells members apart.
Every decoder here is a pure function of the cookie's name and value, and
every one follows a published description:

- F5 BIG-IP ``BIGipServer<pool>``: F5 article K6917, "Overview of BIG-IP
  persistence cookie encoding" (formerly sol6917): IPv4, IPv4 in a route
  domain, IPv6, IPv6 in a route domain, and encrypted cookies.
- Citrix NetScaler ``NSC_<vserver>``: Citrix documents only that the name is
  "derived from the virtual server name" and the value is an "encrypted
  representation" of the service address and port; the scheme used here was
  published by Adam Maxwell, "Netscalers: Making sense of the cookie", parts
  1, 2 and the finale (itgeekchronicles.co.uk, January 2012).
- HAProxy ``SERVERID``: the HAProxy configuration manual, ``cookie`` keyword
  (``~`` separates the server id in prefix mode, ``|`` adds the
  maxidle/maxlife dates).
- Alibaba Cloud SLB/ALB ``SERVERID``/``SERVERCORSID``: Alibaba Cloud help,
  "Configure session persistence" (ALB) and the CLB session-persistence FAQ.
- Tengine ``route``: Tengine's ngx_http_upstream_session_sticky_module.
- AWS ``AWSALB``/``AWSALBCORS``/``AWSALBTG*``/``AWSALBAPP-*``/``AWSELB``: AWS
  Elastic Load Balancing guide, "Sticky sessions" (the value is encrypted).
- Azure ``ARRAffinity``/``ARRAffinitySameSite``: Azure App Service
  documentation, ARR affinity (the value is a hash naming the instance).

Only infrastructure is kept: an opaque value that is per client (AWS) is not
copied into the result, so no session token reaches a report.

>>> decode_cookie("BIGipServerweb_pool", "1677787402.36895.0000").backend_address
'10.1.1.100'
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

__all__ = ["PersistenceCookie", "cookies_in", "decode_cookie", "decode_set_cookie"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PersistenceCookie:
    """A persistence cookie and the backend pool member it names."""

    cookie: str
    """The cookie's name as sent, e.g. ``BIGipServerweb_pool``."""
    vendor: str
    """Who sets cookies of this form, e.g. "F5 BIG-IP", "Citrix NetScaler"."""
    pool: str | None = None
    """The pool or virtual server named by the cookie (BIG-IP pool, NetScaler vserver)."""
    backend_address: str | None = None
    """The pool member's address in canonical text, where the cookie encodes it."""
    backend_port: int | None = None
    route_domain: int | None = None
    """The BIG-IP route domain of the member, for the ``rd<N>o…`` forms."""
    backend_id: str | None = None
    """An opaque server id where no address is encoded (HAProxy server, hash)."""
    note: str = ""
    """How the value was read, in a few words."""


_F5 = "F5 BIG-IP"
_NETSCALER = "Citrix NetScaler"
_HAPROXY = "HAProxy"
_ALIBABA = "Alibaba Cloud SLB/ALB"
_TENGINE = "Tengine"
_AWS_ALB = "AWS ALB"
_AWS_ELB = "AWS ELB"
_AZURE = "Azure App Service ARR"

# K6917: "<address>.<port>.0000", both little-endian decimal integers.
_F5_IPV4 = re.compile(r"(\d{1,10})\.(\d{1,5})\.\d{4}", re.ASCII)
# K6917: "vi<32 hex digits>.<port>", the port little-endian as above.
_F5_IPV6 = re.compile(r"vi([0-9a-f]{32})\.(\d{1,5})", re.IGNORECASE | re.ASCII)
# K6917: "rd<domain>o<32 hex digits>o<port>"; an IPv4 member is IPv4-mapped
# (::ffff:a.b.c.d) and the port is plain decimal.
_F5_ROUTE_DOMAIN = re.compile(r"rd(\d{1,5})o([0-9a-f]{32})o(\d{1,5})", re.IGNORECASE | re.ASCII)
# K6917, "Encrypting cookies": an encrypted value is "!" and base64 text.
_F5_ENCRYPTED = re.compile(r"![A-Za-z0-9+/]+={0,2}")
# Maxwell, part 2: "ffffffff", 8 hex digits of address, padding, 4 of port.
_NETSCALER_VALUE = re.compile(r"f{8}([0-9a-f]{8})[0-9a-f]*([0-9a-f]{4})", re.IGNORECASE)
_NETSCALER_ADDRESS_KEY = 0x03081E11
_NETSCALER_PORT_KEY = 0x3630
# Maxwell, part 1 and the finale: each letter of the vserver name is moved one place on
# ("qerd" is written "rfse"); digits and punctuation stay.
_NETSCALER_NAME = str.maketrans(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "zabcdefghijklmnopqrstuvwxyZABCDEFGHIJKLMNOPQRSTUVWXY",
)
_ALIBABA_VALUE = re.compile(r"([0-9a-f]{32})\|(\d+)\|(\d+)", re.IGNORECASE | re.ASCII)
_HAPROXY_SERVER = re.compile(r"[A-Za-z0-9._:@-]+")
_HEX_HASH = re.compile(r"[0-9a-f]{32}|[0-9a-f]{40}", re.IGNORECASE)
_ARR_HASH = re.compile(r"[0-9a-f]{32,128}", re.IGNORECASE)
# A cookie-name token (RFC 6265 §4.1.1) followed by "=": where a joined
# Set-Cookie list can be split on a comma (never inside "Expires=Wed, 21 Oct").
_NEXT_SET_COOKIE = re.compile(r",\s*(?=[!#$%&'*+\-.^_`|~0-9A-Za-z]+=)")


def _bigip(name: str, value: str) -> PersistenceCookie | None:
    base = PersistenceCookie(cookie=name, vendor=_F5, pool=name[len("BIGipServer") :] or None)
    if _F5_ENCRYPTED.fullmatch(value):
        return replace(base, note="encrypted cookie: the member is not readable")
    if match := _F5_IPV4.fullmatch(value):
        address, port = int(match[1]), int(match[2])
        if address >= 2**32 or port >= 2**16:
            return None
        return replace(
            base,
            backend_address=str(ipaddress.IPv4Address(address.to_bytes(4, "little"))),
            backend_port=_swap16(port),
            note="IPv4 member: little-endian address, byte-swapped port (F5 K6917)",
        )
    if match := _F5_IPV6.fullmatch(value):
        port = int(match[2])
        if port >= 2**16:
            return None
        return replace(
            base,
            backend_address=_from_hex(match[1]),
            backend_port=_swap16(port),
            note="IPv6 member: hex address, byte-swapped port (F5 K6917)",
        )
    if match := _F5_ROUTE_DOMAIN.fullmatch(value):
        port = int(match[3])
        if port >= 2**16:
            return None
        return replace(
            base,
            backend_address=_from_hex(match[2]),
            backend_port=port,
            route_domain=int(match[1]),
            note="member in a route domain: hex address, decimal port (F5 K6917)",
        )
    return None


def _netscaler(name: str, value: str) -> PersistenceCookie | None:
    match = _NETSCALER_VALUE.fullmatch(value)
    vserver = name[len("NSC_") :]
    if match is None or not vserver:
        return None
    address = int(match[1], 16) ^ _NETSCALER_ADDRESS_KEY
    return PersistenceCookie(
        cookie=name,
        vendor=_NETSCALER,
        pool=vserver.translate(_NETSCALER_NAME),
        backend_address=str(ipaddress.IPv4Address(address)),
        backend_port=int(match[2], 16) ^ _NETSCALER_PORT_KEY,
        note="address XOR 0x03081e11, port XOR 0x3630, vserver name shifted back one letter",
    )


def _serverid(name: str, value: str) -> PersistenceCookie | None:
    if (alibaba := _alibaba(name, value)) is not None:
        return alibaba
    # HAProxy: "<server>", "<server>~<application cookie>" (prefix mode) or
    # "<server>|<last seen>|<first seen>" (maxidle/maxlife).
    server = re.split(r"[~|]", value, maxsplit=1)[0]
    if not _HAPROXY_SERVER.fullmatch(server):
        return None
    return PersistenceCookie(
        cookie=name, vendor=_HAPROXY, backend_id=server, note="HAProxy server cookie value"
    )


def _alibaba(name: str, value: str) -> PersistenceCookie | None:
    match = _ALIBABA_VALUE.fullmatch(value)
    if match is None:
        return None
    return PersistenceCookie(
        cookie=name,
        vendor=_ALIBABA,
        backend_id=match[1].lower(),
        note="inserted cookie: server hash|last seen|first seen",
    )


def _tengine(name: str, value: str) -> PersistenceCookie | None:
    server = value.split("|", 1)[0]  # maxidle/maxlife append "|<times>"
    if _HEX_HASH.fullmatch(server):
        return PersistenceCookie(
            cookie=name,
            vendor=_TENGINE,
            backend_id=server.lower(),
            note="session_sticky hash of the upstream server",
        )
    host, _, port = server.rpartition(":")
    address = _address(host.strip("[]")) if port.isascii() and port.isdigit() else None
    if address is None or int(port) >= 2**16:
        return None
    return PersistenceCookie(
        cookie=name,
        vendor=_TENGINE,
        backend_address=address,
        backend_port=int(port),
        note="session_sticky with hash=plain: the upstream address in clear",
    )


def _aws(name: str, value: str) -> PersistenceCookie | None:
    if not value:
        return None
    vendor = _AWS_ELB if name.upper() == "AWSELB" else _AWS_ALB
    return PersistenceCookie(
        cookie=name, vendor=vendor, note="opaque: the load balancer encrypts the target"
    )


def _arr(name: str, value: str) -> PersistenceCookie | None:
    if not _ARR_HASH.fullmatch(value):
        return None
    return PersistenceCookie(
        cookie=name, vendor=_AZURE, backend_id=value.lower(), note="hash naming the instance"
    )


# AWS "Sticky sessions": duration-based (AWSALB, AWSALBCORS), target-group
# (AWSALBTG*), application-based (AWSALBAPP-0 … 3) and Classic ELB (AWSELB).
_AWS_NAMES = frozenset({"AWSALB", "AWSALBCORS", "AWSALBTG", "AWSALBTGCORS", "AWSELB"})

_Decoder = Callable[[str, str], PersistenceCookie | None]

# (is this cookie name the vendor's?, decoder), first match wins.
_DECODERS: tuple[tuple[Callable[[str], bool], _Decoder], ...] = (
    (lambda name: name.lower().startswith("bigipserver"), _bigip),
    (lambda name: name.startswith("NSC_"), _netscaler),
    (lambda name: name.upper() == "SERVERID", _serverid),
    (lambda name: name.upper() == "SERVERCORSID", _alibaba),
    (lambda name: name == "route", _tengine),
    (lambda name: name.upper() in _AWS_NAMES or name.upper().startswith("AWSALBAPP-"), _aws),
    (lambda name: name.lower() in {"arraffinity", "arraffinitysamesite"}, _arr),
)


def decode_cookie(name: str, value: str) -> PersistenceCookie | None:
    """The pool member a persistence cookie names, or None for any other cookie.

    Never raises: a value that does not fit its vendor's encoding gives None.

    >>> decode_cookie("NSC_mc_uftu", "ffffffff3c19594d45525d5f4f58455e445a4a423660").pool
    'lb_test'
    """
    name, value = name.strip(), _unquote(value.strip())
    for is_vendor_name, decoder in _DECODERS:
        if is_vendor_name(name):
            return decoder(name, value)
    return None


def decode_set_cookie(header_value: str) -> PersistenceCookie | None:
    """Decode one Set-Cookie header value; its attributes (Path, Expires, …) are ignored."""
    name, equals, value = header_value.split(";", 1)[0].partition("=")
    if not equals:
        return None
    return decode_cookie(name, value)


def cookies_in(headers: Sequence[tuple[str, str]]) -> list[PersistenceCookie]:
    """Every persistence cookie in Set-Cookie (response) and Cookie (request) headers.

    The result keeps header order and lists each distinct cookie once.
    """
    found: dict[PersistenceCookie, None] = {}
    for header, value in headers:
        kind = header.strip().lower()
        if kind == "set-cookie":
            decoded = (decode_set_cookie(part) for part in _set_cookie_parts(value))
        elif kind == "cookie":
            decoded = (decode_cookie(*_pair(part)) for part in value.split(";") if "=" in part)
        else:
            continue
        found.update((cookie, None) for cookie in decoded if cookie is not None)
    return list(found)


def _set_cookie_parts(value: str) -> Iterator[str]:
    """One header value that may hold several Set-Cookie lines (some tools join them)."""
    for line in value.splitlines():
        yield from _NEXT_SET_COOKIE.split(line)


def _pair(part: str) -> tuple[str, str]:
    name, _, value = part.partition("=")
    return name, value


def _unquote(value: str) -> str:
    # RFC 6265 §4.1.1 allows a value in double quotes; the quotes are not part of it.
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _swap16(port: int) -> int:
    return int.from_bytes(port.to_bytes(2, "little"), "big")


def _from_hex(digits: str) -> str:
    """A 32-hex-digit address; an IPv4-mapped one comes back as plain IPv4."""
    address = ipaddress.IPv6Address(bytes.fromhex(digits))
    return str(address.ipv4_mapped or address)


def _address(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None
