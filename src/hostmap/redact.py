"""Secrets and personal data out of text, URLs, headers, bodies, reports and maps.

DESIGN.md: secrets and personal data in captures never reach a report or map
unless the user asks (`--show-secrets`).  Every function here is pure: input
in, redacted copy out; where a `counts` Counter is passed, each replacement
adds one under its kind, so `hostmap sanitize` can say what it removed.

What is replaced by `[redacted]`, and the kind it is counted under:

- ``resident-id``: Chinese resident ID numbers, 17 digits and a check digit
  (0-9 or X) that is right under ISO 7064 MOD 11-2 (GB 11643-1999).  An 18-digit
  number whose check digit is wrong is kept: order numbers, nanosecond-ish
  timestamps and snowflake ids are 18 digits too, and dropping every one of
  them would lose evidence while protecting no one.
- ``phone``: mainland mobile numbers, 1[3-9] and 9 more digits (optionally
  +86/0086, optionally grouped 3-4-4), not part of a longer digit run.
- ``email``: e-mail addresses, also with the @ percent-encoded (%40).
- ``credential``: ``Bearer <token>``, ``Basic <base64>``, NTLM/Negotiate blobs.
- ``jwt``: JSON Web Tokens (three base64url segments, the first ``eyJ``).
- ``secret`` / ``json-secret``: the value of a ``key=value`` pair, or of a
  quoted ``"key": "value"`` / ``key: 'value'`` pair, whose key names a secret
  (`is_secret_name`); the key stays.
- ``cookie``, ``authorization``: header values (`redact_header`).
- ``query``, ``fragment``, ``userinfo``: URL parts (`redact_url`).
- ``form``: every value of an urlencoded form body (`redact_form`).

Host names, addresses, ports, times and evidence locators are never changed:
they are the analysis, and a host name is a property of the service, not of a
person (`redact_report` leaves host-name fields alone for that reason).
"""

from __future__ import annotations

import copy
import functools
import re
from collections import Counter
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from hostmap.enrich.cookies import PersistenceCookie, decode_cookie

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["REDACTED", "SECRET_NAMES", "SECRET_SUFFIXES", "is_secret_name", "is_valid_resident_id",
           "redact_cookie", "redact_form", "redact_graph", "redact_header", "redact_issue_message",
           "redact_report", "redact_text", "redact_url"]

REDACTED = "[redacted]"

Counts = Counter[str] | None

SECRET_NAMES = frozenset({
    "auth", "authorization", "cookie", "credential", "credentials", "otp", "pass",
    "passwd", "password", "pin", "pwd", "secret", "session", "sid", "sig", "sign", "ticket",
    "token", "captcha", "authcode", "smscode", "verifycode", "apikey",
    # personal data the patterns cannot see (old 15-digit IDs, landlines, names)
    "idcard", "idno", "idnumber", "certno", "cardno", "sfz", "sfzh", "sfzhm", "realname",
    "mobile", "phone", "tel", "telephone", "email", "mail",
    # device identifiers that follow a person
    "imei", "imsi", "idfa", "idfv", "oaid", "androidid",
})
"""Key names (lower case, punctuation removed) whose values are secrets or personal data."""

SECRET_SUFFIXES = (
    "token", "secret", "password", "passwd", "sessionid", "sessid", "apikey", "signature",
    "ticket", "authorization", "credential", "credentials", "authcode", "smscode",
    "verifycode", "idcard", "deviceid", "privatekey", "secretkey",
)
"""Key names ending so are secrets too: access_token, JSESSIONID, PHPSESSID, X-Api-Key."""

_CODE_VALUE = re.compile(r"(?=.*[A-Za-z])(?=.*\d)[\w.~+/=-]{6,}", re.ASCII)
"""`code` is an OAuth or SMS code only when its value mixes letters and digits:
Chinese app APIs answer {"code": 0} or "SUCCESS" in every response, which stays."""

_CREDENTIAL_SCHEMES = frozenset({
    "basic", "bearer", "digest", "negotiate", "ntlm", "token", "oauth", "hoba", "mutual",
    "aws4-hmac-sha256", "scram-sha-1", "scram-sha-256", "vapid", "dpop",
})
_URL_HEADERS = frozenset({"referer", "location", "content-location", "origin", ":path",
                          "x-original-url", "x-rewrite-url"})

_NOT_ALNUM_AFTER = r"(?![0-9A-Za-z])"
# A digit first (then the look back at what precedes it) lets the regex engine skip ahead.
_RESIDENT_ID = re.compile(r"\d(?<![0-9A-Za-z]\d)\d{16}[\dXx]" + _NOT_ALNUM_AFTER, re.ASCII)
_PHONE = re.compile(  # "+1 888…" is another country's number: no "+" right before the 1
    r"(?<![0-9A-Za-z+])(?:(?:\+?86|0086)[ -]?)?1[3-9]\d(?:\d{8}|[ -]\d{4}[ -]\d{4})"
    + _NOT_ALNUM_AFTER, re.ASCII)
_EMAIL = re.compile(
    r"(?<![\w.%+-])[\w.%+-]{1,64}(?:@|%40)[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*"
    r"\.(?!(?:png|jpe?g|gif|webp|svg|ico|bmp|avif)\b)[A-Za-z]{2,24}\b", re.ASCII)
_CREDENTIAL = re.compile(
    r"\b(?P<scheme>[Bb]earer|BEARER|Basic|NTLM|Negotiate)[ \t]+(?P<value>[\w.~+/-]{6,}=*)",
    re.ASCII)
_JWT = re.compile(r"(?<![\w-])eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*", re.ASCII)
_KEY_VALUE = re.compile(
    r"(?<![\w$.\[\]-])(?P<key>[A-Za-z_][\w.\[\]-]{0,63})=(?P<value>[^&;,\s\"'<>#]+)", re.ASCII)
_QUOTED_PAIR = re.compile(
    r"(?<![\w$.-])(?P<kq>\\?[\"']|)(?P<key>[A-Za-z_$][\w$.-]{0,63})(?P=kq)[ \t]*(?P<sep>[:=])"
    r"[ \t]*(?:(?P<vq>\\?[\"'])|(?P<number>-?\d[\d.]*\b))", re.ASCII)
_HEADER_LINE = re.compile(  # a header line, or one quoted in a message; not "a cookie: …"
    r"(?:^|(?<=['\"(\[]))(?P<lead>[ \t]*)"
    r"(?P<name>proxy-authorization|authorization|set-cookie|cookie)(?P<sep>[ \t]*:[ \t]*)"
    r"(?P<value>[^\r\n'\"]*)", re.IGNORECASE | re.MULTILINE)
_URL_IN_TEXT = re.compile(r"\b(?:https?|wss?)://[^\s\"'<>`]+", re.IGNORECASE)
_PATTERNS: tuple[tuple[re.Pattern[str], str, tuple[str, ...]], ...] = (
    (_JWT, "jwt", ("eyJ",)), (_EMAIL, "email", ("@", "%40")), (_PHONE, "phone", ()),
    (_RESIDENT_ID, "resident-id", ()))
_SET_COOKIE_SPLIT = re.compile(r"(,\s*)(?=[!#$%&'*+\-.^_`|~0-9A-Za-z]+=)")
_MAX_QUOTED_VALUE = 65536
_NOT_KEY_CHARS = re.compile(r"[^a-z0-9]")


def is_secret_name(name: str) -> bool:
    """Whether a key, parameter or header name names a secret (case and punctuation ignored).

    >>> is_secret_name("access_token"), is_secret_name("X-Api-Key"), is_secret_name("cityCode")
    (True, True, False)
    """
    key = _normal(name)
    return key in SECRET_NAMES or key.endswith(SECRET_SUFFIXES)


@functools.lru_cache(maxsize=4096)
def _normal(name: str) -> str:
    return _NOT_KEY_CHARS.sub("", name.lower())


def _is_secret_pair(name: str, value: str) -> bool:
    if _normal(name) == "code":
        return _CODE_VALUE.fullmatch(value) is not None
    return is_secret_name(name)


def _count(counts: Counts, kind: str) -> None:
    if counts is not None:
        counts[kind] += 1


def is_valid_resident_id(number: str) -> bool:
    """ISO 7064 MOD 11-2 as GB 11643 uses it: weights 2^(17-i) mod 11, 10 written X."""
    total = sum(int(digit) * pow(2, 17 - i, 11) for i, digit in enumerate(number[:17]))
    check = (12 - total % 11) % 11
    return number[17].upper() == ("X" if check == 10 else str(check))


def redact_text(text: str, counts: Counts = None) -> str:
    """`text` with secrets and personal data replaced by [redacted] (kinds: module docstring).

    >>> redact_text('{"password": "hunter2", "mobile": "13800138000"}')
    '{"password": "[redacted]", "mobile": "[redacted]"}'
    """
    if not text:
        return text
    # Each pass runs only when the text holds what it looks for: bodies can be large.
    if _has(text, "ookie", "OOKIE", "uthorization", "UTHORIZATION"):
        text = _HEADER_LINE.sub(
            lambda m: m["lead"] + m["name"] + m["sep"]
            + redact_header(m["name"], m["value"], counts), text)
    if _has(text, ":", "="):
        text = _redact_quoted_pairs(text, counts)
    if "=" in text:
        text = _KEY_VALUE.sub(lambda m: _key_value(m, counts), text)
    if _has(text, "earer", "EARER", "Basic", "NTLM", "Negotiate"):
        text = _CREDENTIAL.sub(lambda m: _credential(m, counts), text)
    for pattern, kind, needles in _PATTERNS:
        if not needles or _has(text, *needles):
            text = pattern.sub(_replacer(kind, counts), text)
    return text


def _has(text: str, *needles: str) -> bool:
    return any(needle in text for needle in needles)


def _replacer(kind: str, counts: Counts) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        if kind == "resident-id" and not is_valid_resident_id(match[0]):
            return match[0]
        _count(counts, kind)
        return REDACTED
    return replace


def _key_value(match: re.Match[str], counts: Counts) -> str:
    if match["value"] == REDACTED or not _is_secret_pair(match["key"], match["value"]):
        return match[0]
    _count(counts, "secret")
    return f"{match['key']}={REDACTED}"


def _credential(match: re.Match[str], counts: Counts) -> str:
    value = match["value"]
    # "Basic information", "Negotiate terms": prose, not a base64 credential.
    if match["scheme"].lower() != "bearer" and value.isalpha() and value.islower():
        return match[0]
    _count(counts, "credential")
    return f"{match['scheme']} {REDACTED}"


def _redact_quoted_pairs(text: str, counts: Counts) -> str:
    """"key": "value", 'key': 'value', key: "value", \\"key\\":\\"value\\" (JSON in JSON).

    Only a secret key's value is skipped over; any other value is searched too,
    so "text": "password='x'" still loses the password.
    """
    out: list[str] = []
    position = 0
    while (match := _QUOTED_PAIR.search(text, position)) is not None:
        number = match["number"]
        if number is not None:
            secret = match["sep"] == ":" and match["kq"] and _is_secret_pair(match["key"], number)
            out.append(text[position : match.start("number")])
            out.append(f'"{REDACTED}"' if secret else number)
            if secret:
                _count(counts, "json-secret")
            position = match.end()
            continue
        out.append(text[position : match.end()])
        position = match.end()
        if not is_secret_name(match["key"]) and _normal(match["key"]) != "code":
            continue
        end = _closing_quote(text, position, match["vq"])
        value = text[position:end]
        if value and value != REDACTED and _is_secret_pair(match["key"], value):
            out.append(REDACTED)
            _count(counts, "json-secret")
            position = end
    out.append(text[position:])
    return "".join(out)


def _closing_quote(text: str, start: int, quote: str) -> int:
    """Where a quoted value that opened with `quote` ends (escapes honoured), or its line's end.

    A plain quote closes after an even run of backslashes; an escaped one (\\" in
    JSON held in a JSON string) after exactly one backslash.
    """
    mark, escapes = quote[-1], len(quote) - 1
    limit = min(len(text), start + _MAX_QUOTED_VALUE)
    index = start
    while (index := text.find(mark, index, limit)) >= 0:
        run = index
        while run > start and text[run - 1] == "\\":
            run -= 1
        if (index - run == escapes) if escapes else ((index - run) % 2 == 0):
            limit = index - escapes
            break
        index += 1
    breaks = [i for i in (text.find("\n", start, limit), text.find("\r", start, limit)) if i >= 0]
    return min(breaks, default=limit)


def redact_url(url: str, counts: Counts = None) -> str:
    """The URL with userinfo dropped and every query and fragment value replaced.

    Scheme, host and port are kept exactly as written; the path goes through
    `redact_text` (a phone number or ;jsessionid= in a path).  Relative URLs
    and request targets ("/a?b=c") work too.

    >>> redact_url("https://u:p@a.example:8443/x?token=1&v=2#k=3")
    'https://a.example:8443/x?token=[redacted]&v=[redacted]#k=[redacted]'
    """
    before, hashmark, fragment = url.partition("#")
    base, question, query = before.partition("?")
    prefix, path = "", base
    if (scheme_end := base.find("://")) >= 0 or base.startswith("//"):
        authority_start = scheme_end + 3 if scheme_end >= 0 else 2
        slash = base.find("/", authority_start)
        authority_end = slash if slash >= 0 else len(base)
        userinfo, at, hostport = base[authority_start:authority_end].rpartition("@")
        if at:
            _count(counts, "userinfo")
        prefix, path = base[:authority_start] + hostport, base[authority_end:]
    result = prefix + redact_text(path, counts)
    if question:
        result += "?" + _redact_params(query, "query", counts)
    if hashmark:
        redacted = (_redact_params(fragment, "fragment", counts) if "=" in fragment
                    else redact_text(fragment, counts))
        result += "#" + redacted
    return result


def redact_form(text: str, counts: Counts = None) -> str:
    """An application/x-www-form-urlencoded body with every value replaced (kind "form")."""
    return _redact_params(text, "form", counts)


def _redact_params(text: str, kind: str, counts: Counts) -> str:
    items = []
    for item in text.split("&"):
        name, equals, value = item.partition("=")
        if equals and value and value != REDACTED:
            _count(counts, kind)
            items.append(f"{name}={REDACTED}")
        elif equals:
            items.append(item)
        else:  # a bare value ("?13800138000", "?eyJ...") is data, not a name
            items.append(redact_text(item, counts))
    return "&".join(items)


def redact_header(name: str, value: str, counts: Counts = None, *,
                  decodable: bool = False) -> str:
    """One header's value with its secrets replaced.

    Cookie and Set-Cookie keep cookie names and attributes; values become
    [redacted], except persistence cookies (`hostmap.enrich.cookies`), which
    show their backend ("[backend 10.1.1.100:8080]") or, with `decodable`,
    keep the shortest value that decodes to the same backend (what sanitize
    writes).  Headers named like secrets (Authorization, X-Api-Key) become
    [redacted], a scheme word kept ("Bearer [redacted]"); URL-valued headers
    go through `redact_url`, the rest through `redact_text`.
    """
    key = name.strip().lower()
    if key == "cookie":
        return ";".join(_cookie_pair(p, counts, decodable) for p in value.split(";"))
    if key == "set-cookie":
        return "\n".join(_set_cookie_line(line, counts, decodable) for line in value.split("\n"))
    if key in _URL_HEADERS:
        return redact_url(value, counts)
    if is_secret_name(key):
        if not value.strip() or value == REDACTED:
            return value
        _count(counts, "authorization")
        scheme, space, rest = value.strip().partition(" ")
        if space and rest.strip() and scheme.lower() in _CREDENTIAL_SCHEMES:
            return f"{scheme} {REDACTED}"
        return REDACTED
    return redact_text(value, counts)


def redact_cookie(name: str, value: str, counts: Counts = None, *,
                  decodable: bool = False) -> str:
    """One cookie's value (as in HAR's cookies lists), redacted as `redact_header` does."""
    return _cookie_pair(f"{name}={value}", counts, decodable)[len(name) + 1 :]


def _set_cookie_line(line: str, counts: Counts, decodable: bool) -> str:
    # Some tools join several Set-Cookie headers with commas; never split inside
    # "Expires=Wed, 21 Oct 2015" (the comma is not followed by "name=").
    parts = _SET_COOKIE_SPLIT.split(line)
    for index in range(0, len(parts), 2):
        pair, semicolon, attributes = parts[index].partition(";")
        parts[index] = _cookie_pair(pair, counts, decodable) + semicolon + attributes
    return "".join(parts)


def _cookie_pair(pair: str, counts: Counts, decodable: bool) -> str:
    name, equals, value = pair.partition("=")
    if not equals:  # a nameless cookie: the text is its value
        if not pair.strip():
            return pair
        _count(counts, "cookie")
        return REDACTED
    bare = value.strip()
    if not bare or bare == REDACTED:
        return pair
    persistence = decode_cookie(name, bare)
    if persistence is None:
        _count(counts, "cookie")
        return f"{name}={REDACTED}"
    shown = _decodable_value(name, bare, persistence) if decodable else _summary(persistence)
    if shown != bare:
        _count(counts, "cookie")
    return f"{name}={shown}"


def _summary(cookie: PersistenceCookie) -> str:
    if (address := cookie.backend_address) is not None:
        if cookie.backend_port:
            address = f"{f'[{address}]' if ':' in address else address}:{cookie.backend_port}"
        return f"[backend {address}]"
    if cookie.backend_id is not None:
        return f"[backend id {cookie.backend_id}]"
    return f"[backend {cookie.vendor}]"


def _decodable_value(name: str, value: str, cookie: PersistenceCookie) -> str:
    """The shortest of a few cut-downs of `value` that decodes to the same pool member.

    [redacted] is enough for AWS (the name tells the vendor); HAProxy keeps the
    server before "~" (the rest is the application's own session cookie);
    Alibaba and Tengine keep the server hash, their "|last|first" times become 0.
    An F5, NetScaler or ARR value *is* the member, so it is kept.
    """
    inner = value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    head, *tail = inner.split("|")
    cuts = [inner.split("~", 1)[0], head, "|".join([head, *("0" for _ in tail)])]
    for candidate in [REDACTED, *sorted(dict.fromkeys(cuts), key=len)]:
        if candidate and decode_cookie(name, candidate) == cookie:
            return candidate
    return value


_KEEP_KEYS = frozenset({
    "host", "hosts", "name", "sni", "address", "addresses", "server_addresses", "from_address",
    "to_address", "range_start", "range_end", "target", "value", "referenced_by", "sans",
    "pattern", "token", "file", "format", "locator", "path", "sha256", "fingerprint_sha256",
    "schema", "at", "first_seen", "last_seen", "from_seen", "to_seen", "date", "not_before",
    "not_after", "id", "backend_id",
})
"""Report and map fields that hold host names, addresses, evidence, hashes and times."""
_URL_KEYS = frozenset({"url", "urls", "redirect_url", "location"})
_NAMED_BY_LABEL = frozenset({"endpoint", "host", "address", "front", "backend", "family"})
"""Map node kinds whose label is a URL, host name, address or verdict (kept as is)."""


def redact_report(report: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of the report with every free-text string redacted.

    Host names, addresses, evidence (file, format, locator), hashes and times
    stay as they are (`_KEEP_KEYS`); URL fields ("url", "urls", "redirect_url",
    "location") go through `redact_url`; issue messages through
    `redact_issue_message`; every other string through `redact_text`, with
    the query values of URLs inside it replaced.
    """
    return dict(_walk(report, None))


def redact_graph(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """A copy of the map with node, edge and graph attributes redacted as in `redact_report`.

    Node ids and edge keys stay as they are (they are built from host names,
    addresses and fingerprints), so a redacted map draws the same shape.
    """
    result = graph.__class__()
    result.graph.update(_walk(dict(graph.graph), None))
    for node, data in graph.nodes(data=True):
        keep_label = data.get("kind") in _NAMED_BY_LABEL
        attrs = {k: (v if k == "label" and keep_label else _walk(v, k)) for k, v in data.items()}
        result.add_node(node, **attrs)
    if graph.is_multigraph():
        for source, target, key, data in graph.edges(keys=True, data=True):
            result.add_edge(source, target, key=key, **_walk(data, None))
    else:
        for source, target, data in graph.edges(data=True):
            result.add_edge(source, target, **_walk(data, None))
    return result


def redact_issue_message(message: str) -> str:
    """An issue message (which may quote a URL, header or body) with its secrets replaced."""
    return redact_text(_URL_IN_TEXT.sub(lambda m: redact_url(m[0]), message))


def _walk(value: Any, key: str | None) -> Any:
    if isinstance(value, Mapping):
        return {k: _walk(v, k if isinstance(k, str) else None) for k, v in value.items()}
    if isinstance(value, list | tuple):
        items = [_walk(item, key) for item in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, str):
        if key in _KEEP_KEYS:
            return value
        if key in _URL_KEYS:
            return redact_url(value)
        return redact_issue_message(value)
    return copy.deepcopy(value)
