"""The reverse-IP reader: hand-made listings under tests/data/reverse-ip, bad input, sniffing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from hostmap.errors import MalformedInput
from hostmap.ingest import address_table, detect_format, dig_output, passive_dns, zone_file
from hostmap.ingest.reverse_ip import address_from_file_name, is_plausible_host, reader
from hostmap.model import ReadIssue, RecordType, Resolution, ResolutionSource, Severity
from tests.conftest import CORPUS

DATA = Path(__file__).resolve().parents[1] / "data" / "reverse-ip"
SNIFF_BYTES = 64 * 1024
OTHER_READERS = (address_table.reader, dig_output.reader, passive_dns.reader, zone_file.reader)


def read(path: Path) -> tuple[list[Resolution], list[ReadIssue]]:
    items = list(reader.read(path))
    return (
        [item for item in items if isinstance(item, Resolution)],
        [item for item in items if isinstance(item, ReadIssue)],
    )


def head(path: Path) -> bytes:
    return path.read_bytes()[:SNIFF_BYTES]


def test_ip138_listing_binds_each_host_to_the_file_name_address_with_day_spans() -> None:
    resolutions, issues = read(DATA / "good" / "reverse-ip-192.0.2.7.txt")
    assert issues == []
    assert {r.value for r in resolutions} == {"192.0.2.7"}
    assert {r.rtype for r in resolutions} == {RecordType.A}
    assert {r.source for r in resolutions} == {ResolutionSource.REVERSE_IP}
    spans = {r.name: (r.first_seen, r.last_seen, r.provenance.locator) for r in resolutions}
    assert spans == {
        "www.example.com": (
            datetime(2021, 1, 5, tzinfo=UTC),
            datetime(2021, 6, 30, 23, 59, 59, tzinfo=UTC),
            "line 2",
        ),
        # the range on its own line applies to the host on the next line
        "mail.example.com": (
            datetime(2021, 7, 1, tzinfo=UTC),
            datetime(2022, 2, 28, 23, 59, 59, tzinfo=UTC),
            "line 4",
        ),
        "old.example.net": (None, None, "line 6"),
        "new.example.org": (datetime(2022, 3, 1, tzinfo=UTC), None, "line 7"),
    }


def test_first_line_address_gives_aaaa_records() -> None:
    resolutions, issues = read(DATA / "good" / "listing-v6.txt")
    assert issues == []
    assert {(r.name, r.rtype, r.value) for r in resolutions} == {
        ("a.example.com", RecordType.AAAA, "2001:db8::7"),
        ("b.example.com", RecordType.AAAA, "2001:db8::7"),
    }


def test_ipv6_address_in_file_name_may_use_underscores() -> None:
    [resolution], _ = read(DATA / "good" / "reverse-ip-2001_db8__8.txt")
    assert (resolution.rtype, resolution.value) == (RecordType.AAAA, "2001:db8::8")


def test_address_from_file_name_forms() -> None:
    assert address_from_file_name(Path("reverse-ip-192.0.2.1.txt")) == "192.0.2.1"
    assert address_from_file_name(Path("reverse-ip-2001:db8::1.txt")) == "2001:db8::1"
    assert address_from_file_name(Path("reverse-ip-2001_DB8__1.txt")) == "2001:db8::1"
    assert address_from_file_name(Path("reverse-ip-nonsense.txt")) is None
    assert address_from_file_name(Path("hosts.txt")) is None


def test_first_line_address_wins_over_the_file_name_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "reverse-ip-192.0.2.1.txt"
    path.write_text("192.0.2.2\nwww.example.com\n")
    [resolution], [warning] = read(path)
    assert resolution.value == "192.0.2.2"
    assert warning.severity is Severity.WARNING and "192.0.2.1" in warning.message


def test_bad_lines_are_issues_and_the_hosts_around_them_are_kept() -> None:
    resolutions, issues = read(DATA / "bad" / "reverse-ip-192.0.2.9.txt")
    assert [(r.name, r.provenance.locator) for r in resolutions] == [
        ("first.example.com", "line 1"),
        ("last.example.com", "line 4"),
    ]
    assert [(i.provenance.locator, i.severity) for i in issues] == [
        ("line 2", Severity.ERROR),  # not a host name
        ("line 3", Severity.ERROR),  # end date before start date
        ("line 5", Severity.WARNING),  # a range with no host after it
    ]


def test_listing_without_any_address_is_malformed_and_says_how_to_fix_it() -> None:
    with pytest.raises(MalformedInput, match=r"reverse-ip-<address>\.txt"):
        list(reader.read(DATA / "bad" / "no-address.txt"))


def test_is_plausible_host() -> None:
    assert is_plausible_host("zz-jkm.example.com")
    assert is_plausible_host("*.example.com")
    assert is_plausible_host("_sip.example.com.")
    assert not is_plausible_host("localhost")
    assert not is_plausible_host("192.0.2.1")
    assert not is_plausible_host("bad host.example.com")
    assert not is_plausible_host("-bad.example.com")


@pytest.mark.parametrize("path", sorted(DATA.glob("good/*")), ids=lambda p: p.name)
def test_sniff_claims_good_listings_and_the_other_readers_do_not(path: Path) -> None:
    assert reader.sniff(head(path), path) > 0.5
    for other in OTHER_READERS:
        assert other.sniff(head(path), path) <= 0, other.format


def test_sniff_rejects_host_lists_without_an_address() -> None:
    path = DATA / "bad" / "no-address.txt"
    assert reader.sniff(head(path), path) <= 0


@pytest.mark.parametrize(
    "path",
    sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix != ".md"),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_sniff_rejects_files_of_other_formats(path: Path) -> None:
    assert reader.sniff(head(path), path) <= 0


def test_a_listing_with_hostile_lines_is_still_recognised_and_they_become_issues(
        tmp_path: Path) -> None:
    path = tmp_path / "reverse-ip-192.0.2.10.txt"
    path.write_text("2023-01-01-----2023-06-30\tok.example.com\n"
                    "\x1b]0;pwned\x07<img src=x onerror=alert(1)>\n"
                    "second.example.com\n", encoding="utf-8")
    assert detect_format(path) is reader
    resolutions, [issue] = read(path)
    assert [r.name for r in resolutions] == ["ok.example.com", "second.example.com"]
    assert issue.provenance.locator == "line 2" and "not a host name" in issue.message


def test_sniff_wants_the_first_host_line_good_and_most_lines_without_a_file_name(
        tmp_path: Path) -> None:
    mostly_good = tmp_path / "list.txt"
    mostly_good.write_text("192.0.2.11\na.example.com\nnot a host\nb.example.com\n")
    first_bad = tmp_path / "reverse-ip-192.0.2.11.txt"
    first_bad.write_text("not a host\na.example.com\nb.example.com\n")
    mostly_bad = tmp_path / "other.txt"
    mostly_bad.write_text("192.0.2.11\na.example.com\nnot a host\nnor this\n")
    assert reader.sniff(head(mostly_good), mostly_good) > 0
    assert reader.sniff(head(first_bad), first_bad) <= 0
    assert reader.sniff(head(mostly_bad), mostly_bad) <= 0
