"""The Chinese gazetteer: its data, lookups, and family-wide token resolution."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from importlib import resources
from pathlib import Path

import pytest

from hostmap.enrich.gazetteer import Gazetteer, Place, PlaceKind, TokenStatus

REPO = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO / "scripts" / "build_gazetteer.py"

# The scenario table in SCENARIO-henan-2022.md: Henan's 17 prefecture-level cities and 济源.
HENAN_TOKENS = {
    "zz": "郑州", "kf": "开封", "ly": "洛阳", "pds": "平顶山", "ay": "安阳", "hb": "鹤壁",
    "xx": "新乡", "jz": "焦作", "py": "濮阳", "xc": "许昌", "lh": "漯河", "smx": "三门峡",
    "ny": "南阳", "sq": "商丘", "xy": "信阳", "zk": "周口", "zmd": "驻马店", "jy": "济源",
}  # fmt: skip

# Hubei's prefecture-level divisions and directly administered county-level units.
HUBEI_TOKENS = {
    "wh": "武汉", "hs": "黄石", "sy": "十堰", "yc": "宜昌", "xy": "襄阳", "ez": "鄂州",
    "jm": "荆门", "xg": "孝感", "jz": "荆州", "hg": "黄冈", "xn": "咸宁", "sz": "随州",
    "es": "恩施", "xt": "仙桃", "qj": "潜江", "tm": "天门", "snj": "神农架",
}  # fmt: skip

MAINLAND_PROVINCE_LEVEL = {
    "110000", "120000", "130000", "140000", "150000", "210000", "220000", "230000",
    "310000", "320000", "330000", "340000", "350000", "360000", "370000", "410000",
    "420000", "430000", "440000", "450000", "460000", "500000", "510000", "520000",
    "530000", "540000", "610000", "620000", "630000", "640000", "650000",
}  # fmt: skip


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer.load()


def _short_names(places: tuple[Place, ...]) -> set[str]:
    return {place.short_zh for place in places}


def _make_place(adcode: str, pinyin: str, abbreviation: str, province: str) -> Place:
    return Place(
        adcode=adcode,
        name_zh=pinyin,
        short_zh=pinyin,
        pinyin=pinyin,
        abbreviation=abbreviation,
        province_adcode=province,
        province_zh=province,
        province_pinyin=f"p{province}",
        kind=PlaceKind.PREFECTURE,
    )


def test_gazetteer_covers_every_province_level_unit(gazetteer: Gazetteer) -> None:
    province_level = {
        place.adcode
        for place in gazetteer.places
        if place.kind in (PlaceKind.PROVINCE, PlaceKind.MUNICIPALITY)
    }
    # cpca 0.5.5 lists Taiwan, Hong Kong and Macau as well as the 31 mainland units.
    assert province_level == MAINLAND_PROVINCE_LEVEL | {"710000", "810000", "820000"}
    municipalities = [p.short_zh for p in gazetteer.places if p.kind is PlaceKind.MUNICIPALITY]
    assert municipalities == ["北京", "天津", "上海", "重庆"]


def test_gazetteer_lists_the_prefecture_level_divisions(gazetteer: Gazetteer) -> None:
    kinds = Counter(place.kind for place in gazetteer.places)
    assert 330 <= kinds[PlaceKind.PREFECTURE] <= 345
    assert {"延边", "大兴安岭", "锡林郭勒", "恩施"} <= _short_names(gazetteer.places)
    # Every place sits in a listed province-level unit.
    provinces = {
        p.adcode for p in gazetteer.places if p.kind in (PlaceKind.PROVINCE, PlaceKind.MUNICIPALITY)
    }
    assert all(p.province_adcode in provinces for p in gazetteer.places)


def test_directly_administered_county_level_units_are_county_cities(
    gazetteer: Gazetteer,
) -> None:
    (jiyuan,) = gazetteer.lookup("jiyuan")
    assert (jiyuan.adcode, jiyuan.name_zh, jiyuan.kind) == ("419001", "济源市", "county-city")
    assert {"仙桃", "神农架", "石河子", "定州"} <= _short_names(
        tuple(p for p in gazetteer.places if p.kind is PlaceKind.COUNTY_CITY)
    )


@pytest.mark.parametrize(
    ("name_zh", "short_zh"),
    [
        ("延边朝鲜族自治州", "延边"),
        ("博尔塔拉蒙古自治州", "博尔塔拉"),
        ("海西蒙古族藏族自治州", "海西"),
        ("黔西南布依族苗族自治州", "黔西南"),
        ("大兴安岭地区", "大兴安岭"),
        ("锡林郭勒盟", "锡林郭勒"),
        ("广西壮族自治区", "广西"),
        ("神农架林区", "神农架"),
    ],
)
def test_short_names_drop_administrative_and_ethnic_suffixes(
    gazetteer: Gazetteer, name_zh: str, short_zh: str
) -> None:
    (place,) = [p for p in gazetteer.places if p.name_zh == name_zh]
    assert place.short_zh == short_zh


@pytest.mark.parametrize(
    ("short_zh", "pinyin", "abbreviation"),
    [
        ("重庆", "chongqing", "cq"),
        ("长沙", "changsha", "cs"),
        ("厦门", "xiamen", "xm"),
        ("六安", "luan", "la"),
        ("蚌埠", "bengbu", "bb"),
        ("乐山", "leshan", "ls"),
        ("丽水", "lishui", "ls"),
        ("朝阳", "chaoyang", "cy"),
        ("长治", "changzhi", "cz"),
        ("漯河", "luohe", "lh"),
        ("平顶山", "pingdingshan", "pds"),
        ("三门峡", "sanmenxia", "smx"),
        ("陕西", "shaanxi", "sx"),
    ],
)
def test_polyphonic_names_get_the_place_reading(
    gazetteer: Gazetteer, short_zh: str, pinyin: str, abbreviation: str
) -> None:
    (place,) = [p for p in gazetteer.places if p.short_zh == short_zh]
    assert (place.pinyin, place.abbreviation) == (pinyin, abbreviation)


def test_full_pinyin_matches_case_insensitively(gazetteer: Gazetteer) -> None:
    assert [p.name_zh for p in gazetteer.lookup("zhengzhou")] == ["郑州市"]
    assert gazetteer.lookup("ZhengZhou") == gazetteer.lookup("zhengzhou")
    match = gazetteer.resolve_tokens(["zhengzhou"])["zhengzhou"]
    assert match.status == "matched"
    assert match.place is not None and match.place.label == "Zhengzhou 郑州 (Henan 河南)"


def test_lookup_is_exact(gazetteer: Gazetteer) -> None:
    assert gazetteer.lookup("zhengzho") == ()
    assert gazetteer.lookup("zz-jkm") == ()


def test_zz_alone_is_ambiguous_nationwide(gazetteer: Gazetteer) -> None:
    match = gazetteer.resolve_tokens(["zz"])["zz"]
    assert match.status == TokenStatus.AMBIGUOUS
    assert match.place is None
    assert _short_names(match.candidates) == {"郑州", "枣庄", "漳州", "株洲"}


def test_henan_family_resolves_every_token_to_its_henan_city(gazetteer: Gazetteer) -> None:
    matches = gazetteer.resolve_tokens(HENAN_TOKENS)
    assert list(matches) == list(HENAN_TOKENS)
    resolved = {t: m.place.short_zh for t, m in matches.items() if m.place is not None}
    assert resolved == HENAN_TOKENS
    assert {m.status for m in matches.values()} == {TokenStatus.MATCHED}
    assert {m.place.province_zh for m in matches.values() if m.place} == {"河南"}
    assert matches["jz"].reason == (
        "abbreviation shared by 4 divisions; 17 of 18 tokens of the family are in Henan"
    )


def test_hubei_family_resolves_xy_and_jz_to_hubei_cities(gazetteer: Gazetteer) -> None:
    matches = gazetteer.resolve_tokens(HUBEI_TOKENS)
    assert {t: m.place.short_zh for t, m in matches.items() if m.place} == HUBEI_TOKENS
    assert matches["xy"].place is not None and matches["xy"].place.name_zh == "襄阳市"
    assert matches["jz"].place is not None and matches["jz"].place.name_zh == "荆州市"


@pytest.mark.parametrize(
    ("tokens", "token", "expected"),
    [
        (["jz"], "jz", {"焦作", "锦州", "荆州", "晋中"}),
        (["xy"], "xy", {"信阳", "咸阳", "襄阳", "新余"}),
        (["jz", "xy"], "jz", {"焦作", "锦州", "荆州", "晋中"}),
        (["jz", "xy"], "xy", {"信阳", "咸阳", "襄阳", "新余"}),
        # Two Henan tokens out of four is half, not a majority.
        (["jz", "xy", "kf", "www"], "jz", {"焦作", "锦州", "荆州", "晋中"}),
    ],
)
def test_tokens_without_a_province_majority_stay_ambiguous(
    gazetteer: Gazetteer, tokens: list[str], token: str, expected: set[str]
) -> None:
    match = gazetteer.resolve_tokens(tokens)[token]
    assert match.status == TokenStatus.AMBIGUOUS
    assert match.place is None
    assert _short_names(match.candidates) == expected
    assert [p.adcode for p in match.candidates] == sorted(p.adcode for p in match.candidates)


def test_two_candidates_in_the_agreed_province_stay_ambiguous(gazetteer: Gazetteer) -> None:
    zhejiang = ["hz", "nb", "wz", "jx", "sx", "jh", "qz", "zs", "tz", "ls"]
    matches = gazetteer.resolve_tokens(zhejiang)
    assert matches["hz"].status == TokenStatus.AMBIGUOUS
    assert {"杭州", "湖州"} <= _short_names(matches["hz"].candidates)
    assert "9 of 10 tokens of the family are in Zhejiang" in matches["hz"].reason
    assert matches["nb"].place is not None and matches["nb"].place.short_zh == "宁波"


def test_unknown_token_is_reported_as_unknown(gazetteer: Gazetteer) -> None:
    match = gazetteer.resolve_tokens(["www", "zz"])["www"]
    assert (match.status, match.place, match.candidates) == (TokenStatus.UNKNOWN, None, ())
    assert match.reason == "no division has this pinyin or abbreviation"


@pytest.fixture
def small_gazetteer() -> Gazetteer:
    """Provinces 010000 and 020000, and 030000/040000 that only share the token ``ii``."""
    return Gazetteer(
        [
            _make_place("010100", "aaa", "ab", "010000"),
            _make_place("020100", "abb", "ab", "020000"),
            _make_place("010200", "ccc", "cc", "010000"),
            _make_place("010300", "ddd", "dd", "010000"),
            _make_place("020200", "eee", "dd", "020000"),
            _make_place("010400", "ggg", "gg", "010000"),
            _make_place("020400", "hhh", "gg", "020000"),
            _make_place("030100", "iii", "ii", "030000"),
            _make_place("040100", "jjj", "ii", "040000"),
        ]
    )


@pytest.mark.parametrize(
    ("tokens", "adcode", "reason"),
    [
        (["ab"], None, "no other token in the family to agree on a province"),
        (["ab", "cc", "ddd"], "010100", "2 of 3 tokens of the family are in P010000"),
        (
            ["ab", "cc", "ddd", "zz"],
            None,
            "no province holds more than half of the family's 4 tokens (most: P010000, 2)",
        ),
        (["ab", "dd", "gg"], None, "P010000, P020000 tie with 2 of the family's 3 tokens"),
        (["ab", "dd", "gg", "cc"], "010100", "3 of 4 tokens of the family are in P010000"),
        (
            ["ii", "cc", "ddd"],
            None,
            "2 of 3 tokens of the family are in P010000, where none of the candidates lie",
        ),
    ],
)
def test_family_majority_rule(
    small_gazetteer: Gazetteer, tokens: list[str], adcode: str | None, reason: str
) -> None:
    match = small_gazetteer.resolve_tokens(tokens)[tokens[0]]
    assert (match.place.adcode if match.place else None) == adcode
    assert match.status == ("matched" if adcode else "ambiguous")
    assert match.reason.endswith(reason)
    assert len(match.candidates) == 2


def test_resolve_tokens_keeps_order_and_drops_repeats(gazetteer: Gazetteer) -> None:
    assert list(gazetteer.resolve_tokens(["kf", "zz", "kf", "ly"])) == ["kf", "zz", "ly"]


def test_resolve_tokens_refuses_a_bare_string(gazetteer: Gazetteer) -> None:
    with pytest.raises(TypeError):
        gazetteer.resolve_tokens("zz")


def test_no_province_has_a_prefecture_and_a_county_city_with_the_same_key(
    gazetteer: Gazetteer,
) -> None:
    # gazetteer.py ranks county-level units no lower than prefectures (see its docstring);
    # that is safe only while no province has both under one token.  If a rebuild breaks
    # this, decide the rule again.
    for place in gazetteer.places:
        if place.kind is not PlaceKind.COUNTY_CITY:
            continue
        for key in (place.pinyin, place.abbreviation):
            rivals = [
                p
                for p in gazetteer.lookup(key)
                if p.province_adcode == place.province_adcode and p is not place
            ]
            assert rivals == [], (place.name_zh, key, [p.name_zh for p in rivals])


def test_label_names_the_province_except_for_province_level_units(gazetteer: Gazetteer) -> None:
    (wuhan,) = gazetteer.lookup("wuhan")
    assert wuhan.label == "Wuhan 武汉 (Hubei 湖北)"
    assert [p.label for p in gazetteer.lookup("chongqing")] == ["Chongqing 重庆"]
    assert [p.label for p in gazetteer.lookup("henan")] == ["Henan 河南"]


def test_build_script_reproduces_the_committed_tsv(tmp_path: Path) -> None:
    pytest.importorskip("pypinyin")
    pytest.importorskip("cpca")
    output = tmp_path / "gazetteer-cn.tsv"
    subprocess.run(
        [sys.executable, str(BUILD_SCRIPT), "--output", str(output)],
        check=True,
        capture_output=True,
    )
    committed = (resources.files("hostmap.data") / "gazetteer-cn.tsv").read_bytes()
    assert output.read_bytes() == committed
