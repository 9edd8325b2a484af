"""Every third-party corpus file is read without a traceback, by the right reader."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from hostmap.cli import main
from hostmap.ingest import detect_format
from hostmap.pipeline import load_paths
from hostmap.store import Store
from tests.conftest import CORPUS

READER_OF_FOLDER = {"har": "har", "mitmproxy": "mitmproxy", "dig": "dig", "zone": "zone",
                    "pdns": "passive-dns", "zeek": "zeek", "saz": "saz", "pcap": "pcap"}
# EXPECTED.md: a 0.10 dump mitmproxy cannot read; a dig run with no ANSWER section.
NOTHING_TO_READ = {"mitmproxy-dumpfile-010.mitm", "jc-generic-dig-additional.txt",
                   "zeek-trunc-hdr.pcap"}
CORPUS_FILES = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix != ".md")


def test_the_corpus_is_there():
    assert len(CORPUS_FILES) > 50


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_file_reads_without_a_traceback(path: Path):
    folder = path.parent.name
    if folder in READER_OF_FOLDER:
        assert detect_format(path).format == READER_OF_FOLDER[folder]
    store = Store()
    [summary] = load_paths(store, [path])
    for issue in summary.issues:
        text = str(issue)
        assert str(path) in text and "Traceback" not in text
        assert "\n" not in text, "issues are one line"
    if folder in READER_OF_FOLDER and path.name not in NOTHING_TO_READ:
        assert summary.records > 0, [str(i) for i in summary.issues]


def test_analyze_the_whole_corpus_reports_and_names_what_it_skipped():
    result = CliRunner().invoke(main, ["analyze", "--json", str(CORPUS)])
    assert result.exit_code in (0, 1), result.stderr
    assert "Traceback" not in result.stderr
    assert '"schema": "hostmap/report/1"' in result.stdout
