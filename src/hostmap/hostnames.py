"""Host-name helpers: normalisation, registrable domain, label tokens.  Pure functions."""

from __future__ import annotations

import functools
import ipaddress
import re

import idna
from publicsuffixlist import PublicSuffixList

__all__ = ["is_address", "normalize_hostname", "registrable_domain", "split_tokens"]

_TOKEN_SEPARATORS = re.compile(r"([.-])")


def normalize_hostname(name: str) -> str:
    """Lower case, no trailing dot, IDNA A-labels decoded to Unicode where valid.

    Address literals come back in canonical form ('[::1]' -> '::1').  Names
    that are not valid IDNA (underscores, odd bytes) are kept as given, lower
    cased: nothing is lost.
    """
    name = name.strip()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name == ".":
        return "."  # the DNS root (root hints, `cname03 CNAME .`), not an empty name
    name = name.rstrip(".").lower()
    if not name:
        return name
    if is_address(name):
        return str(ipaddress.ip_address(name))
    if "xn--" in name:
        try:
            return idna.decode(name)
        except idna.IDNAError:
            return name
    return name


def is_address(text: str) -> bool:
    """True if `text` is an IPv4 or IPv6 address literal."""
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
