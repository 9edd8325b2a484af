"""Build src/hostmap/data/gazetteer-cn.tsv, the Chinese place names hostmap maps tokens to.

Rebuild (from the repository root):

    pip install '.[gazetteer]' && python scripts/build_gazetteer.py

``--output PATH`` writes somewhere else (the tests use it to check that the committed
file is reproduced byte for byte).

Sources: the administrative-division list ``resources/adcodes.csv`` shipped with cpca
0.5.5 (pinned, because another list would give another file) and its
``resources/56_nations.csv`` for the ethnic names in autonomous prefectures; romanisation
by pypinyin, plus the small override table below.

One row per division of these kinds, sorted by adcode:

- ``province``: province-level units (provinces, autonomous regions, Hong Kong, Macau,
  Taiwan), so that a token can name a province;
- ``municipality``: the four 直辖市 (北京 天津 上海 重庆), which are province-level too;
- ``prefecture``: prefecture-level divisions (地级市, 地区, 自治州, 盟);
- ``county-city``: county-level units a province administers directly, listed in cpca
  under 省直辖县级行政区划 / 自治区直辖县级行政区划 (济源 419001, 仙桃 429004, 石河子 659001,
  Hainan's directly administered counties). They stand next to the prefectures in a
  province's lists, so host families use them like cities. Ordinary county-level cities
  under a prefecture (343 in cpca's list) are left out: their abbreviations collide
  with the prefectures of their own province (荥阳 ``xy`` next to 信阳 ``xy``, 项城 ``xc``
  next to 许昌 ``xc``), which would leave city tokens ambiguous even inside one province.

Columns: adcode (6 digits), name_zh (郑州市), short_zh (郑州), pinyin (``zhengzhou``),
abbreviation (first letter of each syllable: ``zz``, 平顶山 ``pds``), alt_abbreviations
(comma-separated; empty unless a documented alternative is known), province_adcode,
province_zh (short, 河南), province_pinyin, kind.
"""

from __future__ import annotations

import argparse
import csv
import importlib.metadata
import io
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pypinyin import Style, lazy_pinyin

CPCA_VERSION = "0.5.5"
DEFAULT_OUTPUT = (
    Path(__file__).resolve().parents[1] / "src" / "hostmap" / "data" / "gazetteer-cn.tsv"
)
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

# Short names pypinyin (checked with 0.55.0, over every row) reads differently from the
# place, as syllables separated by spaces.  Keep the reason next to each entry.
PINYIN_OVERRIDES: dict[str, str] = {
    # 长 is cháng in 长治 (Changzhi, Shanxi); pypinyin takes zhǎng ("to grow").
    "长治": "chang zhi",
    # 朝 is cháo in 朝阳 (Chaoyang, Liaoning); pypinyin takes zhāo ("morning").
    "朝阳": "chao yang",
    # 都 is dū in 昌都 (Chamdo, Tibet); pypinyin takes dōu ("all").
    "昌都": "chang du",
    # 漯 is luò in 漯河 (Luohe, Henan); pypinyin knows only tà.
    "漯河": "luo he",
    # 勒 is lè in transcribed names: 锡林郭勒 Xilingol, 克孜勒苏 Kizilsu, 阿勒泰 Altay;
    # pypinyin takes lēi ("to tighten").
    "锡林郭勒": "xi lin guo le",
    "克孜勒苏": "ke zi le su",
    "阿勒泰": "a le tai",
    # 陕西 is spelled Shaanxi by convention (the province's own domain is shaanxi.gov.cn),
    # so it does not collide with 山西 Shanxi; the abbreviation stays sx.
    "陕西": "shaan xi",
}

# Alternative abbreviations in common use.  Empty on purpose: nothing here may be guessed,
# and no source listing them has been checked yet.
ALT_ABBREVIATIONS: dict[str, tuple[str, ...]] = {}

# cpca's rows that group units instead of naming one.
_MUNICIPAL_PLACEHOLDERS = frozenset({"市辖区", "县"})
_DIRECT_GROUPS = frozenset({"省直辖县级行政区划", "自治区直辖县级行政区划"})
_MUNICIPALITY_PREFIXES = frozenset({"11", "12", "31", "50"})

# Suffixes removed to get the short name (the first that fits is taken).
_PROVINCE_SUFFIXES = ("特别行政区", "自治区", "省", "市")
_AUTONOMY_SUFFIXES = ("自治州", "自治县")
_PLAIN_SUFFIXES = ("地区", "林区", "盟", "市", "县")


@dataclass(frozen=True, slots=True)
class _Division:
    adcode: str
    name_zh: str


def read_divisions() -> list[_Division]:
    """Read cpca's division list: 6-digit adcodes with their names, one per code."""
    text = (resources.files("cpca") / "resources" / "adcodes.csv").read_text(encoding="utf-8")
    by_code: dict[str, str] = {}
    for row in csv.DictReader(io.StringIO(text)):
        # cpca uses 12-digit codes; the first 6 are the GB/T 2260 code down to county level.
        code, tail = row["adcode"][:6], row["adcode"][6:]
        if tail.strip("0"):
            continue
        by_code.setdefault(code, row["name"])
    return [_Division(code, name) for code, name in sorted(by_code.items())]


def read_nations() -> tuple[str, ...]:
    """The 56 ethnic groups' names as cpca lists them (蒙古族, 哈萨克族, ...)."""
    text = (resources.files("cpca") / "resources" / "56_nations.csv").read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def _ethnic_endings(nations: tuple[str, ...]) -> tuple[str, ...]:
    """Name endings to strip after 自治州/自治县, longest first.

    Prefecture names drop 族 for some groups (博尔塔拉蒙古自治州, 伊犁哈萨克自治州), so the
    bare name is stripped too, but only for names of two or more characters: a one-character
    bare name (白, 水, 土) would cut real place names.
    """
    endings = set(nations)
    endings.update(n.removesuffix("族") for n in nations if len(n.removesuffix("族")) >= 2)
    return tuple(sorted(endings, key=lambda e: (-len(e), e)))


def short_name(name_zh: str, *, province_level: bool, ethnic_endings: tuple[str, ...]) -> str:
    """Strip the administrative suffix (and the ethnic names before 自治州) from a name.

    >>> short_name("延边朝鲜族自治州", province_level=False, ethnic_endings=("朝鲜族",))
    '延边'
    """
    if province_level:
        for suffix in _PROVINCE_SUFFIXES:
            if name_zh.endswith(suffix) and len(name_zh) > len(suffix) + 1:
                name = name_zh.removesuffix(suffix)
                break
        else:
            name = name_zh
        # 广西壮族自治区, 宁夏回族自治区, 新疆维吾尔自治区: the ethnic name goes too.
        return _strip_ethnic(name, ethnic_endings) if name_zh.endswith("自治区") else name
    for suffix in _AUTONOMY_SUFFIXES:
        if name_zh.endswith(suffix):
            return _strip_ethnic(name_zh.removesuffix(suffix), ethnic_endings)
    for suffix in _PLAIN_SUFFIXES:
        if name_zh.endswith(suffix) and len(name_zh) > len(suffix) + 1:
            return name_zh.removesuffix(suffix)
    return name_zh


def _strip_ethnic(name: str, ethnic_endings: tuple[str, ...]) -> str:
    stripped = True
    while stripped:
        stripped = False
        for ending in ethnic_endings:
            if name.endswith(ending) and len(name) - len(ending) >= 2:
                name = name.removesuffix(ending)
                stripped = True
                break
    return name


def romanise(short_zh: str) -> tuple[str, str]:
    """Return (pinyin without tones or spaces, first letter of each syllable)."""
    syllables = PINYIN_OVERRIDES.get(short_zh, "").split() or lazy_pinyin(
        short_zh, style=Style.NORMAL
    )
    if len(syllables) != len(short_zh) or not all(s.isascii() and s.isalpha() for s in syllables):
        raise ValueError(f"cannot romanise {short_zh!r}: pypinyin gave {syllables!r}")
    return "".join(syllables), "".join(s[0] for s in syllables)


def build_rows(divisions: list[_Division], nations: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    """Yield the gazetteer's rows, sorted by adcode."""
    endings = _ethnic_endings(nations)
    names = {d.adcode: d.name_zh for d in divisions}
    for division in divisions:
        code, name = division.adcode, division.name_zh
        province_code = code[:2] + "0000"
        if code == province_code:
            kind = "municipality" if code[:2] in _MUNICIPALITY_PREFIXES else "province"
        elif name in _MUNICIPAL_PLACEHOLDERS or name in _DIRECT_GROUPS:
            continue
        elif code[4:] == "00":
            kind = "prefecture"
        elif names.get(code[:4] + "00") in _DIRECT_GROUPS:
            kind = "county-city"
        else:
            continue
        short = short_name(
            name, province_level=kind in {"province", "municipality"}, ethnic_endings=endings
        )
        province_short = short_name(
            names[province_code], province_level=True, ethnic_endings=endings
        )
        pinyin, abbreviation = romanise(short)
        yield (
            code,
            name,
            short,
            pinyin,
            abbreviation,
            ",".join(ALT_ABBREVIATIONS.get(short, ())),
            province_code,
            province_short,
            romanise(province_short)[0],
            kind,
        )


def render_tsv(rows: Iterator[tuple[str, ...]]) -> bytes:
    """Tab-separated, one header line, LF line ends, UTF-8: the same bytes on every run."""
    lines = ["\t".join(COLUMNS)]
    lines.extend("\t".join(row) for row in rows)
    return ("\n".join(lines) + "\n").encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help=f"where to write the TSV (default: {DEFAULT_OUTPUT})",
    )
    args = parser.parse_args(argv)
    installed = importlib.metadata.version("cpca")
    if installed != CPCA_VERSION:
        parser.error(
            f"cpca {installed} is installed; the gazetteer is built from cpca "
            f"{CPCA_VERSION} (pip install '.[gazetteer]')"
        )
    data = render_tsv(build_rows(read_divisions(), read_nations()))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(data)
    places = data.count(b"\n") - 1
    print(f"wrote {places} places to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
