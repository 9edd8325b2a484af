"""`analyze --top N`: a big case's text report keeps N of each list and counts the rest."""

from __future__ import annotations

import copy
import re
from collections import Counter
from typing import Any

from click.testing import CliRunner

from hostmap.cli import main
from hostmap.render import text
from tests.conftest import HENAN
from tests.test_graph import henan_case


def _big_case() -> dict[str, Any]:
    """The Henan report with every list made long: each finding, endpoint, shared
    group, family (and its members), front, operator and issue five times over."""
    report = copy.deepcopy(henan_case()[0])
    for family in report["families"]:
        family["members"] = family["members"] * 5
    for key in ("findings", "endpoints", "shared", "families", "fronts", "operators",
                "migrations", "issues"):
        report[key] = report[key] * 5
    return report


def _numbered(out: str) -> list[int]:
    return [int(n) for n in re.findall(r"^ *(\d+)\. ", out, re.M)]


def test_top_keeps_that_many_findings_of_each_kind_numbered_as_in_the_whole_report():
    report = _big_case()
    out = text.render(report, top=2)
    kinds = [f["kind"] for f in report["findings"]]
    shown = _numbered(out)
    assert Counter(kinds[n - 1] for n in shown) == {kind: 2 for kind in set(kinds)}
    # the first two of each kind, under their numbers in the whole report
    expected = [i for i, kind in enumerate(kinds, 1) if kinds[:i].count(kind) <= 2]
    assert shown == expected
    for kind, total in Counter(kinds).items():
        assert f"... and {total - 2} more {kind} findings" in out


def test_top_counts_what_each_table_leaves_out():
    report = _big_case()
    out = text.render(report, top=3)
    fronts = [f for f in report["fronts"] if f["verdict"] != "dedicated"]
    for count, what in ((len(report["endpoints"]) - 3, "endpoints"),
                        (len(report["shared"]) - 3, "shared addresses and names"),
                        (len(report["families"]) - 3, "families"),
                        (len(report["families"][0]["members"]) - 3, "members"),
                        (len(fronts) - 3, "fronts"),
                        (len(report["operators"]) - 3, "operators"),
                        (len(report["migrations"]) - 3, "migrations"),
                        (len(report["issues"]) - 3, "issues")):
        assert f"... and {count} more {what} (the JSON report holds them all)" in out, what
    assert len(re.findall(r"^Family ", out, re.M)) == 3
    # every input is still listed: the report rests on them
    assert all(row["path"] in out for row in report["inputs"])
    assert len(out.splitlines()) < len(text.render(report).splitlines()) / 3


def test_without_top_nothing_is_left_out():
    report = _big_case()
    assert "the JSON report holds them all" not in text.render(report)
    assert text.render(report, top=len(report["findings"]) * 25) == text.render(report)


def test_analyze_top_on_the_command_line():
    full = CliRunner().invoke(main, ["analyze", str(HENAN), "-q"])
    short = CliRunner().invoke(main, ["analyze", str(HENAN), "-q", "--top", "1"])
    assert full.exit_code == short.exit_code == 0
    assert "zz-jkm.hnzwfw.gov.cn moved from 42.236.74.19" in short.output  # one per kind
    assert "... and 17 more members" in short.output
    assert len(short.output) < len(full.output)


def test_top_with_json_is_a_usage_error_on_one_line():
    result = CliRunner().invoke(main, ["analyze", str(HENAN), "-q", "--top", "5", "--json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "--top" in result.stderr
