"""The HackerTarget reader (host search, API messages) and how reverse_ip reads its reverse IP."""

from __future__ import annotations

from pathlib import Path

import pytest

from hostmap.ingest import READERS, detect_format, reverse_ip
from hostmap.ingest.hackertarget import api_message, reader
from hostmap.model import ReadIssue, RecordType, Resolution, ResolutionSource, Severity
from tests.conftest import CORPUS, HENAN

DATA = Path(__file__).resolve().parents[1] / "data" / "hackertarget"
SNIFF_BYTES = 64 * 1024


def split(items: list[object]) -> tuple[list[Resolution], list[ReadIssue]]:
    return (
        [item for item in items if isinstance(item, Resolution)],
        [item for item in items if isinstance(item, ReadIssue)],
    )


def head(path: Path) -> bytes:
    return path.read_bytes()[:SNIFF_BYTES]


def test_hostsearch_lines_give_host_to_address_without_times() -> None:
    resolutions, issues = split(list(reader.read(DATA / "good" / "hostsearch-example.com.txt")))
    assert issues == []
    assert [(r.name, r.rtype, r.value, r.provenance.locator) for r in resolutions] == [
        ("www.example.com", RecordType.A, "192.0.2.1", "line 1"),
        ("mail.example.com", RecordType.A, "192.0.2.25", "line 2"),
        ("v6.example.com", RecordType.AAAA, "2001:db8::25", "line 3"),
    ]
    assert {r.source for r in resolutions} == {ResolutionSource.PASSIVE_DNS}
    assert all(r.first_seen is None and r.last_seen is None for r in resolutions)


def test_api_count_exceeded_is_an_error_issue_not_a_host() -> None:
    path = DATA / "good" / "reverse-ip-192.0.2.10.txt"  # saved without a final newline
    [issue] = list(reader.read(path))
    assert isinstance(issue, ReadIssue)
    assert issue.severity is Severity.ERROR and "API count exceeded" in issue.message
    assert issue.provenance.locator == "line 1"


def test_no_records_found_is_a_warning() -> None:
    [issue] = list(reader.read(DATA / "good" / "reverse-ip-192.0.2.11.txt"))
    assert isinstance(issue, ReadIssue) and issue.severity is Severity.WARNING


def test_bad_lines_are_issues_and_the_good_lines_around_them_are_read() -> None:
    resolutions, issues = split(list(reader.read(DATA / "bad" / "hostsearch-bad.txt")))
    assert [(r.name, r.provenance.locator) for r in resolutions] == [
        ("www.example.com", "line 1"),
        ("last.example.com", "line 6"),
    ]
    assert [i.provenance.locator for i in issues] == [f"line {n}" for n in range(2, 6)]
    messages = [i.message for i in issues]
    assert "192.0.2.999" in messages[0] and "bad host.example.com" in messages[1]
    assert "reverse-ip-<address>.txt" in messages[2] and "error invalid host" in messages[3]


def test_host_lines_beside_an_api_message_take_the_file_name_address(tmp_path: Path) -> None:
    path = tmp_path / "reverse-ip-192.0.2.13.txt"
    path.write_text("www.example.com\nAPI count exceeded - Increase Quota with Membership\n")
    assert reader.sniff(head(path), path) > 0.5
    assert reverse_ip.reader.sniff(head(path), path) < reader.sniff(head(path), path)
    assert detect_format(path) is reader
    [resolution], [issue] = split(list(reader.read(path)))
    assert (resolution.name, resolution.value) == ("www.example.com", "192.0.2.13")
    assert resolution.source is ResolutionSource.REVERSE_IP
    assert issue.provenance.locator == "line 2"


def test_api_message_recognises_hackertarget_answers_only() -> None:
    assert api_message("API count exceeded - Increase Quota with Membership") is Severity.ERROR
    assert api_message("error check your search parameter") is Severity.ERROR
    assert api_message("error invalid key") is Severity.ERROR
    assert api_message("No DNS A records found") is Severity.WARNING
    assert api_message("www.example.com") is None
    assert api_message("error: something else entirely") is None


# HackerTarget's reverse IP lookup is the reverse-ip format: reverse_ip reads it.


def test_reverse_ip_reads_hackertarget_reverse_ip_output() -> None:
    path = DATA / "reverse-ip-format" / "reverse-ip-192.0.2.12.txt"
    assert reverse_ip.reader.sniff(head(path), path) == 1.0
    assert reader.sniff(head(path), path) <= 0
    resolutions, issues = split(list(reverse_ip.reader.read(path)))
    assert issues == []
    assert [(r.name, r.value) for r in resolutions] == [
        ("www.example.com", "192.0.2.12"),
        ("shop.example.net", "192.0.2.12"),
        ("api.example.org", "192.0.2.12"),
    ]
    assert {r.source for r in resolutions} == {ResolutionSource.REVERSE_IP}


@pytest.mark.parametrize("name", ["reverse-ip-192.0.2.10.txt", "reverse-ip-192.0.2.11.txt"])
def test_reverse_ip_turns_an_api_message_into_an_issue_not_a_host(name: str) -> None:
    path = DATA / "good" / name
    assert reverse_ip.reader.sniff(head(path), path) <= 0  # so detection picks hackertarget
    resolutions, issues = split(list(reverse_ip.reader.read(path)))
    assert resolutions == [] and len(issues) == 1


@pytest.mark.parametrize("path", sorted(DATA.glob("good/*")), ids=lambda p: p.name)
def test_sniff_claims_hackertarget_answers_and_no_other_reader_does(path: Path) -> None:
    assert reader.sniff(head(path), path) > 0.5
    for other in READERS:
        if other is not reader:
            assert other.sniff(head(path), path) <= 0, other.format


@pytest.mark.parametrize(
    "path",
    sorted(p for root in (CORPUS, HENAN) for p in root.rglob("*") if p.is_file()),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_sniff_leaves_the_corpus_and_the_henan_captures_to_their_readers(path: Path) -> None:
    assert reader.sniff(head(path), path) <= 0
