"""Bugs the long fuzz run of 2026-11-27 found, each on one tiny input (both fixed).

An open bug gets a strict xfail test here and an entry in `KNOWN_BUGS` or
`MULTI_LINE_BUGS` (tests/fuzz/test_fuzz_readers.py), so the fuzz test keeps
looking for others; the fix removes both, as for these two.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from hostmap.ingest import READERS, Reader, read_file
from hostmap.model import ReadIssue
from hostmap.store import Store
from tests.hostile.build_corpus import _pcap, _udp


def _reader(name: str) -> Reader:
    return next(reader for reader in READERS if reader.format == name)


def test_bulk_passive_dns_load_reports_a_deep_first_line(tmp_path: Path) -> None:
    good = json.dumps({"rrname": "www.example.com", "rrtype": "A", "rdata": "192.0.2.1",
                       "time_first": 1_704_067_200, "time_last": 1_704_067_200})
    path = tmp_path / "deep-first.jsonl"
    path.write_text("[" * 100_000 + "\n" + good + "\n")
    reader = _reader("passive-dns")
    store = Store(None)
    try:
        _, issues = reader.load_into(path, store, store.begin_input())  # type: ignore[attr-defined]
    finally:
        store.close()
    # read_file says "neither JSON lines nor one JSON document: nested too deeply to read";
    # the bulk load must say so too instead of raising RecursionError.
    assert any("nested too deeply" in issue.message for issue in issues), issues


def test_pcap_dns_issue_for_an_opt_record_in_the_answers_is_one_line(tmp_path: Path) -> None:
    question = b"\x03opt\x07example\x00" + struct.pack("!HH", 1, 1)
    response = (struct.pack("!HHHHHH", 303, 0x8180, 1, 2, 0, 0) + question
                + b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + bytes([192, 0, 2, 95])
                + b"\xc0\x0c" + struct.pack("!HHIH", 41, 512, 0, 0))  # OPT, in the answers
    path = tmp_path / "opt-in-answer.pcap"
    path.write_bytes(_pcap([_udp("192.0.2.53", 53, "198.51.100.7", 33303, response)]))
    issues = [item for item in read_file(path, _reader("pcap")) if isinstance(item, ReadIssue)]
    assert [issue.message.startswith("DNS response partly unreadable") for issue in issues] == [
        True]
    assert "\n" not in issues[0].message, issues[0].message
