"""Host-name families: names that differ in one token, and what that token means.

`zz-jkm.example.cn`, `kf-jkm.example.cn` and `ly-jkm.example.cn` form the
family `{}-jkm.example.cn` whose varying tokens are zz, kf and ly.  Tokens are
the parts of a name between dots and hyphens.  The token that varies must lie
left of the registrable domain, so unrelated sites under one public suffix are
never a family.  A gazetteer then maps each varying token to a place, deciding
ambiguous abbreviations by the province the rest of the family agrees on.
"""

from __future__ import annotations

from typing import Any

from hostmap.enrich.gazetteer import Gazetteer
from hostmap.hostnames import is_address, registrable_domain, split_tokens

__all__ = ["MIN_MEMBERS", "find_families"]

MIN_MEMBERS = 3
"""Fewer names than this are a coincidence, not a family."""


def _patterns(name: str) -> list[tuple[str, str]]:
    """Every (pattern, token) obtained by replacing one token left of the registrable domain."""
    domain = registrable_domain(name)
    if domain is None or domain == name:
        return []
    prefix = name[: -len(domain) - 1]
    parts = split_tokens(prefix)
    out = []
    for i in range(0, len(parts), 2):  # even indexes are tokens, odd ones separators
        token = parts[i]
        if not token:
            continue
        pattern = "".join(parts[:i] + ["{}"] + parts[i + 1 :]) + "." + domain
        out.append((pattern, token))
    return out


def find_families(names: list[str], addresses: dict[str, list[str]],
                  gazetteer: Gazetteer | None = None) -> list[dict[str, Any]]:
    """Families of at least MIN_MEMBERS names, largest first, with places and shared addresses.

    `addresses` maps a host to the addresses it had at the moment, so each
    family says which addresses all or most of its members share.
    """
    gazetteer = gazetteer or Gazetteer.load()
    groups: dict[str, dict[str, str]] = {}
    for name in sorted(set(names)):
        if is_address(name):
            continue
        for pattern, token in _patterns(name):
            groups.setdefault(pattern, {})[name] = token
    families = []
    claimed: set[frozenset[str]] = set()
    for pattern, members in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        if len(members) < MIN_MEMBERS or frozenset(members) in claimed:
            continue
        claimed.add(frozenset(members))
        matches = gazetteer.resolve_tokens(members.values())
        rows = []
        address_counts: dict[str, int] = {}
        for name, token in sorted(members.items(), key=lambda kv: kv[1]):
            match = matches[token]
            place = match.place
            rows.append({
                "host": name,
                "token": token,
                "place_status": match.status,
                "place": None if place is None else _place(place),
                "candidates": [_place(c) for c in match.candidates] if place is None else [],
                "reason": match.reason,
                "addresses": addresses.get(name, []),
            })
            for address in set(addresses.get(name, [])):
                address_counts[address] = address_counts.get(address, 0) + 1
        matched = [r for r in rows if r["place_status"] == "matched"]
        provinces = sorted({r["place"]["province"] for r in matched})
        families.append({
            "pattern": pattern,
            "size": len(rows),
            "places_matched": len(matched),
            "provinces": provinces,
            "members": rows,
            "shared_addresses": [
                {"address": a, "members": n}
                for a, n in sorted(address_counts.items(), key=lambda kv: (-kv[1], kv[0]))
                if n >= 2
            ],
        })
    return families


def _place(place: Any) -> dict[str, Any]:
    return {
        "adcode": place.adcode,
        "name": place.name_zh,
        "pinyin": place.pinyin,
        "province": place.province_zh,
        "province_pinyin": place.province_pinyin,
        "kind": place.kind,
        "label": place.label,
    }
