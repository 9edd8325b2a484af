"""Host-name helpers: normalisation, registrable domain, label tokens.  Pure functions."""

from __future__ import annotations

import functools
import ipaddress
import re

import idna
from publicsuffixlist import PublicSuffixList

__all__ = ["is_address", "normalize_hostname", "registrable_domain", "split_tokens"]

_TOKEN_SEPARATORS = re.compile(r"([.-])")

_MEMO_SIZE = 16_384
"""Entries in each memo below: captures and zones repeat their names."""
_MEMO_LONGEST = 256
"""Longer texts are not memoized (a hostile 100 MB "name" must not be kept alive)."""
_IPV4_CHARS = re.compile(r"[0-9.]{7,15}")
"""What an IPv4 literal is made of: four dotted octets of one to three ASCII digits."""


def normalize_hostname(name: str) -> str:
    """Lower case, no trailing dot, IDNA A-labels decoded to Unicode where valid.

    Address literals come back in canonical form ('[::1]' -> '::1').  Names
    that are not valid IDNA (underscores, odd bytes) are kept as given, lower
    cased: nothing is lost.
    """
    if type(name) is str and len(name) <= _MEMO_LONGEST:
        return _memo_normalize_hostname(name)
    return _normalize_hostname(name)


def _normalize_hostname(name: str) -> str:
    name = name.strip()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name == ".":
        return "."  # the DNS root (root hints, `cname03 CNAME .`), not an empty name
    name = name.rstrip(".").lower()
    if not name:
        return name
    if _may_be_address(name):
        try:
            return str(ipaddress.ip_address(name))
        except ValueError:
            pass
    if "xn--" in name:
        try:
            return idna.decode(name)
        except idna.IDNAError:
            return name
    return name


_memo_normalize_hostname = functools.lru_cache(maxsize=_MEMO_SIZE)(_normalize_hostname)


def _may_be_address(text: str) -> bool:
    """False when `text` cannot be an address literal, so ipaddress need not try it.

    Without a ':' only IPv4 is possible (IPv6 needs at least two colons; a
    scope id comes after '%' and only on IPv6), and IPv4 is only ASCII digits
    and dots.  Host names nearly always have some other character.
    """
    return ":" in text or _IPV4_CHARS.fullmatch(text) is not None


def is_address(text: str) -> bool:
    """True if `text` is an IPv4 or IPv6 address literal."""
    if not _may_be_address(text):
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@functools.cache
def _psl() -> PublicSuffixList:
    # publicsuffixlist ships a copy of the Public Suffix List: no download.
    return PublicSuffixList()


def registrable_domain(name: str) -> str | None:
    """The registrable domain (public suffix + one label): 'a.b.gov.cn' -> 'b.gov.cn'.

    None for address literals, bare suffixes and single-label names.
    """
    if not name or is_address(name):
        return None
    return _psl().privatesuffix(name)


def split_tokens(name: str) -> list[str]:
    """Split a host name into tokens and separators.

    'zz-jkm.a.cn' -> ['zz', '-', 'jkm', '.', 'a', '.', 'cn']
    """
    return _TOKEN_SEPARATORS.split(name)
