"""Map host-name tokens (``zz``, ``zhengzhou``) to Chinese administrative divisions.

Host-name families such as ``gz-app.example``, ``sz-app.example``, ``zs-app.example``
differ in one token, and that token is often a place: the pinyin of a city's name or the
first letters of its syllables. The data is ``hostmap/data/gazetteer-cn.tsv``: province-level
units, the four municipalities, every prefecture-level division and the county-level units a
province administers directly, built by ``scripts/build_gazetteer.py`` from cpca's
division list and pypinyin.

Abbreviations collide across the country (``jz`` is 焦作, 锦州, 荆州 and 晋中), so a lone
token is often ambiguous. :meth:`Gazetteer.resolve_tokens` looks at the whole family: when
more than half of its tokens have a candidate in one province, an ambiguous token takes its
single candidate in that province. Nothing is guessed beyond that:

- two candidates left in the agreed province (浙江 ``hz``: 杭州 and 湖州) stay ambiguous;
- a county-level unit ranks the same as a prefecture of the same province. In the
  shipped data no province has a prefecture and a directly administered county-level unit
  with the same abbreviation or pinyin (a test keeps it so); if a rebuild brings one, the
  token is reported as ambiguous rather than silently given to the prefecture.

>>> gazetteer = Gazetteer.load()
>>> [place.label for place in gazetteer.lookup("sjz")]
['Shijiazhuang 石家庄 (Hebei 河北)']
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources

DATA_PACKAGE = "hostmap.data"
DATA_FILE = "gazetteer-cn.tsv"
COLUMNS = (
    "adcode",
    "name_zh",
    "short_zh",
    "pinyin",
    "abbreviation",
    "alt_abbreviations",
    "province_adcode",
    "province_zh",
    "province_pinyin",
    "kind",
)


class PlaceKind(StrEnum):
    """The administrative level of a :class:`Place`."""

    PROVINCE = "province"
    """A province, autonomous region or special administrative region (河南, 广西, 香港)."""
    MUNICIPALITY = "municipality"
    """One of the four province-level cities (北京, 天津, 上海, 重庆)."""
    PREFECTURE = "prefecture"
    """A prefecture-level division: 地级市, 地区, 自治州 or 盟."""
    COUNTY_CITY = "county-city"
    """A county-level unit administered directly by its province (济源, 仙桃, 石河子)."""


class TokenStatus(StrEnum):
    """How a token was resolved by :meth:`Gazetteer.resolve_tokens`."""

    MATCHED = "matched"
    AMBIGUOUS = "ambiguous"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True, kw_only=True)
class Place:
    """One administrative division, as the gazetteer lists it."""

    adcode: str
    """The six-digit GB/T 2260 division code, e.g. ``"420100"``."""
    name_zh: str
    """The full name, e.g. ``"武汉市"``, ``"延边朝鲜族自治州"``."""
    short_zh: str
    """The name without its administrative suffix, e.g. ``"武汉"``, ``"延边"``."""
    pinyin: str
    """The short name in pinyin, lowercase, without tones or spaces: ``"wuhan"``."""
    abbreviation: str
    """The first letter of each syllable of :attr:`pinyin`: ``"wh"``, ``"sjz"``."""
    province_adcode: str
    province_zh: str
    """The province's short name, e.g. ``"湖北"`` (the place itself for province-level units)."""
    province_pinyin: str
    kind: PlaceKind
    alt_abbreviations: tuple[str, ...] = ()
    """Other abbreviations in documented use; they match like :attr:`abbreviation`."""

    @property
    def label(self) -> str:
        """A readable name: ``"Wuhan 武汉 (Hubei 湖北)"``, or ``"Hubei 湖北"`` for a province."""
        own = f"{self.pinyin.capitalize()} {self.short_zh}"
        if self.kind in (PlaceKind.PROVINCE, PlaceKind.MUNICIPALITY):
            return own
        return f"{own} ({self.province_pinyin.capitalize()} {self.province_zh})"


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenMatch:
    """What the gazetteer made of one token of a host-name family."""

    token: str
    """The token as it was given."""
    place: Place | None
    """The place the token stands for; ``None`` unless :attr:`status` is ``matched``."""
    candidates: tuple[Place, ...]
    """Every place the token could name, sorted by adcode (empty when unknown)."""
    status: TokenStatus
    reason: str
    """One short sentence saying why, e.g. "abbreviation shared by 4 divisions; ...". """


class Gazetteer:
    """Places indexed by pinyin and abbreviation.

    >>> Gazetteer.load().lookup("wuhan")[0].name_zh
    '武汉市'
    """

    def __init__(self, places: Iterable[Place]) -> None:
        self._places = tuple(sorted(places, key=lambda place: place.adcode))
        index: dict[str, list[Place]] = {}
        for place in self._places:
            for key in dict.fromkeys((place.pinyin, place.abbreviation, *place.alt_abbreviations)):
                index.setdefault(key, []).append(place)
        self._index = {key: tuple(found) for key, found in index.items()}
        self._province_names = {
            place.province_adcode: place.province_pinyin.capitalize() for place in self._places
        }

    @classmethod
    def load(cls) -> Gazetteer:
        """The gazetteer shipped with hostmap (read once, then cached)."""
        return _load_default()

    @classmethod
    def from_tsv(cls, text: str) -> Gazetteer:
        """Build a gazetteer from the text of a file in the ``gazetteer-cn.tsv`` format."""
        lines = text.splitlines()
        if not lines or tuple(lines[0].split("\t")) != COLUMNS:
            raise ValueError(f"gazetteer header is {lines[:1]!r}, expected {COLUMNS!r}")
        return cls(_place_from_line(number, line) for number, line in enumerate(lines[1:], 2))

    @property
    def places(self) -> tuple[Place, ...]:
        """Every place, sorted by adcode."""
        return self._places

    def lookup(self, token: str) -> tuple[Place, ...]:
        """Places whose pinyin or abbreviation is exactly ``token`` (case-insensitive).

        >>> [place.short_zh for place in Gazetteer.load().lookup("JZ")]
        ['晋中', '锦州', '焦作', '荆州']
        """
        return self._index.get(token.lower(), ())

    def resolve_tokens(self, tokens: Iterable[str]) -> dict[str, TokenMatch]:
        """Resolve the varying tokens of one host-name family, each in the light of the others.

        A token with one candidate is matched. A token with several is matched when one
        province has a candidate for more than half of the family's tokens (and at least
        two of the other tokens), strictly more than any other province, and exactly one of
        the token's candidates lies in that province. Anything else stays ambiguous, with
        every candidate listed. The result keeps the order of ``tokens``, without repeats.
        """
        if isinstance(tokens, str):
            raise TypeError("resolve_tokens() takes an iterable of tokens, not one string")
        given = list(dict.fromkeys(tokens))
        provinces_by_token = {
            token.lower(): frozenset(place.province_adcode for place in self.lookup(token))
            for token in given
        }
        family_size = len(provinces_by_token)
        return {token: self._resolve(token, provinces_by_token, family_size) for token in given}

    def _resolve(
        self, token: str, provinces_by_token: Mapping[str, frozenset[str]], family_size: int
    ) -> TokenMatch:
        candidates = self.lookup(token)
        if not candidates:
            return TokenMatch(
                token=token,
                place=None,
                candidates=(),
                status=TokenStatus.UNKNOWN,
                reason="no division has this pinyin or abbreviation",
            )
        what = _matched_field(token.lower(), candidates)
        if len(candidates) == 1:
            return TokenMatch(
                token=token,
                place=candidates[0],
                candidates=candidates,
                status=TokenStatus.MATCHED,
                reason=f"the only division with this {what}",
            )
        shared = f"{what} shared by {len(candidates)} divisions"
        support = Counter(
            province
            for other, found in provinces_by_token.items()
            if other != token.lower()
            for province in found
        )
        agreed = _agreed_province(support, family_size)
        if agreed is None:
            return TokenMatch(
                token=token,
                place=None,
                candidates=candidates,
                status=TokenStatus.AMBIGUOUS,
                reason=f"{shared}; {self._describe_disagreement(support, family_size)}",
            )
        in_province = tuple(p for p in candidates if p.province_adcode == agreed)
        majority = (
            f"{support[agreed]} of {family_size} tokens of the family are in "
            f"{self._province_names[agreed]}"
        )
        if len(in_province) == 1:
            return TokenMatch(
                token=token,
                place=in_province[0],
                candidates=candidates,
                status=TokenStatus.MATCHED,
                reason=f"{shared}; {majority}",
            )
        where = "none" if not in_province else f"{len(in_province)}"
        return TokenMatch(
            token=token,
            place=None,
            candidates=candidates,
            status=TokenStatus.AMBIGUOUS,
            reason=f"{shared}; {majority}, where {where} of the candidates lie",
        )

    def _describe_disagreement(self, support: Counter[str], family_size: int) -> str:
        if family_size == 1:
            return "no other token in the family to agree on a province"
        ranked = support.most_common()
        if not ranked:
            return "no other token of the family names a known place"
        best = ranked[0][1]
        leaders = ", ".join(sorted(self._province_names[p] for p, n in ranked if n == best))
        if best * 2 > family_size:
            return f"{leaders} tie with {best} of the family's {family_size} tokens"
        return (
            f"no province holds more than half of the family's {family_size} tokens "
            f"(most: {leaders}, {best})"
        )


def _agreed_province(support: Counter[str], family_size: int) -> str | None:
    """The province backed by a strict majority of the family, and more than any other."""
    ranked = support.most_common(2)
    if not ranked:
        return None
    province, count = ranked[0]
    if len(ranked) == 2 and ranked[1][1] == count:
        return None
    if count < 2 or count * 2 <= family_size:
        return None
    return province


def _matched_field(token: str, candidates: tuple[Place, ...]) -> str:
    fields = set()
    for place in candidates:
        if token == place.pinyin:
            fields.add("pinyin")
        if token == place.abbreviation or token in place.alt_abbreviations:
            fields.add("abbreviation")
    return " or ".join(sorted(fields))


def _place_from_line(number: int, line: str) -> Place:
    values = line.split("\t")
    if len(values) != len(COLUMNS):
        raise ValueError(f"{DATA_FILE}:{number}: {len(values)} fields, expected {len(COLUMNS)}")
    row = dict(zip(COLUMNS, values, strict=True))
    return Place(
        adcode=row["adcode"],
        name_zh=row["name_zh"],
        short_zh=row["short_zh"],
        pinyin=row["pinyin"],
        abbreviation=row["abbreviation"],
        province_adcode=row["province_adcode"],
        province_zh=row["province_zh"],
        province_pinyin=row["province_pinyin"],
        kind=PlaceKind(row["kind"]),
        alt_abbreviations=tuple(a for a in row["alt_abbreviations"].split(",") if a),
    )


@functools.cache
def _load_default() -> Gazetteer:
    text = (resources.files(DATA_PACKAGE) / DATA_FILE).read_text(encoding="utf-8")
    return Gazetteer.from_tsv(text)
