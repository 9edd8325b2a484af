"""The ip138 page reader: saved IP and domain pages, layout tolerance, bad records, sniffing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from hostmap.errors import MalformedInput
from hostmap.ingest import READERS
from hostmap.ingest.ip138_page import reader
from hostmap.model import ReadIssue, RecordType, Resolution, ResolutionSource, Severity
from tests.conftest import CORPUS, HENAN

DATA = Path(__file__).resolve().parents[1] / "data" / "ip138"
SNIFF_BYTES = 64 * 1024


def read(path: Path) -> tuple[list[Resolution], list[ReadIssue]]:
    items = list(reader.read(path))
    return (
        [item for item in items if isinstance(item, Resolution)],
        [item for item in items if isinstance(item, ReadIssue)],
    )


def head(path: Path) -> bytes:
    return path.read_bytes()[:SNIFF_BYTES]


def day(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_ip_page_binds_each_listed_domain_to_the_saved_from_address() -> None:
    resolutions, issues = read(DATA / "good" / "192.0.2.1.html")
    assert issues == []  # the date span inside the page's script is no record
    assert [(r.name, r.value, r.provenance.locator) for r in resolutions] == [
        ("zz-jkm.example.cn", "192.0.2.1", "record 1"),
        ("hsjc.example.cn", "192.0.2.1", "record 2"),
        ("lh-jkm.example.cn", "192.0.2.1", "record 3"),
    ]
    assert {(r.rtype, r.source) for r in resolutions} == {
        (RecordType.A, ResolutionSource.REVERSE_IP)
    }
    assert (resolutions[2].first_seen, resolutions[2].last_seen) == (
        day(2020, 4, 3),
        day(2021, 3, 31, 23, 59, 59),
    )


def test_domain_page_gives_its_resolution_history_from_the_canonical_link() -> None:
    resolutions, issues = read(DATA / "good" / "zz-jkm.example.cn.html")
    assert issues == []  # the current address (no date span) is not a history record
    assert [(r.name, r.rtype, r.value) for r in resolutions] == [
        ("zz-jkm.example.cn", RecordType.A, "192.0.2.1"),
        ("zz-jkm.example.cn", RecordType.A, "198.51.100.20"),
        ("zz-jkm.example.cn", RecordType.AAAA, "2001:db8:0:20::"),  # ends with a colon
    ]
    assert {r.source for r in resolutions} == {ResolutionSource.PASSIVE_DNS}
    assert (resolutions[2].first_seen, resolutions[2].last_seen) == (day(2021, 12, 1), None)


def test_the_title_names_the_page_when_there_is_no_url(tmp_path: Path) -> None:
    path = tmp_path / "saved.html"
    path.write_text(
        "<html><head><title>192.0.2.5的IP反查结果 - ip138查询网</title></head><body>"
        "<div><em>2022-01-01 ----- 2022-02-01</em> 域名： <b>a.example.cn</b></div></body></html>",
        encoding="utf-8",
    )
    [resolution], issues = read(path)
    assert issues == []
    assert (resolution.name, resolution.value) == ("a.example.cn", "192.0.2.5")


def test_gb2312_pages_are_decoded_by_their_declared_charset(tmp_path: Path) -> None:
    page = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
        "<title>192.0.2.6 - ip138查询网</title></head><body><ul id='list'><li>"
        "<span class='date'>2022-01-01-----2022-02-01</span><a>绑定.example.cn</a></li></ul>"
        "</body></html>"
    )
    path = tmp_path / "page.html"
    path.write_bytes(page.encode("gb2312"))
    [resolution], issues = read(path)
    assert issues == [] and resolution.name == "绑定.example.cn"


def test_bad_records_are_issues_and_the_records_around_them_are_kept() -> None:
    resolutions, issues = read(DATA / "bad" / "192.0.2.9.html")
    assert [(r.name, r.provenance.locator) for r in resolutions] == [
        ("first.example.cn", "record 1"),
        ("last.example.cn", "record 4"),
    ]
    assert [(i.provenance.locator, i.severity) for i in issues] == [
        ("record 2", Severity.WARNING),  # a span followed by '暂无数据' only
        ("record 3", Severity.ERROR),  # end before start
    ]
    assert "暂无数据" in issues[0].message


def test_a_page_with_no_address_or_domain_of_its_own_is_malformed() -> None:
    with pytest.raises(MalformedInput, match="saved from url"):
        list(reader.read(DATA / "bad" / "no-subject.html"))


def test_a_page_without_date_spans_gives_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "192.0.2.8.html"
    path.write_text("<html><title>192.0.2.8 - ip138</title><body>没有记录</body></html>")
    resolutions, [issue] = read(path)
    assert resolutions == [] and issue.severity is Severity.WARNING


@pytest.mark.parametrize("path", sorted(DATA.glob("good/*")), ids=lambda p: p.name)
def test_sniff_claims_saved_pages_and_no_other_reader_does(path: Path) -> None:
    assert reader.sniff(head(path), path) > 0.5
    for other in READERS:
        if other is not reader:
            assert other.sniff(head(path), path) <= 0, other.format


def test_sniff_rejects_html_from_elsewhere(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text("<!DOCTYPE html><html><body>2022-01-01-----2022-02-01 a.example</body></html>")
    assert reader.sniff(head(path), path) <= 0


@pytest.mark.parametrize(
    "path",
    sorted(p for root in (CORPUS, HENAN) for p in root.rglob("*") if p.is_file()),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_sniff_leaves_the_corpus_and_the_henan_captures_to_their_readers(path: Path) -> None:
    assert reader.sniff(head(path), path) <= 0


@pytest.mark.parametrize("section", ["<![hostile[ x ]]>", '<!["x">', "<![x[ ]]>"])
def test_a_marked_section_html_parser_rejects_is_skipped_with_a_warning(
        tmp_path: Path, section: str) -> None:
    path = tmp_path / "192.0.2.6.html"
    path.write_text(
        f"<html><head><title>192.0.2.6的IP反查结果</title></head><body>{section}"
        "<div><em>2022-01-01 ----- 2022-02-01</em> 域名： <b>a.example.cn</b></div></body></html>",
        encoding="utf-8",
    )
    [resolution], [issue] = read(path)
    assert (resolution.name, resolution.value) == ("a.example.cn", "192.0.2.6")
    assert issue.severity is Severity.WARNING and "marked section" in issue.message
