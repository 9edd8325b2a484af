"""Hostile input through the real command line: no traceback, exit codes, bounded memory, escaping.

The corpus is built by tests/hostile/build_corpus.py into a temporary folder;
every check runs `python -m hostmap` in a subprocess with the network guard
and an address-space cap (see tests/hostile/harness.py), so what is checked is
what a user would see.

The memory bound for every input in the corpus (bombs included) is
MEMORY_BOUND_MIB of peak RSS per run; hostmap itself needs about 200 MiB to
start (mitmproxy, DuckDB, pyarrow).  Larger inputs have their own bounds in
test_memory.py.

Open bugs in src/ are marked xfail(strict=True) with the reason: when a fix
lands the test passes, pytest reports XPASS as a failure, and the mark goes.
"""

from __future__ import annotations

import hashlib
import json
import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from tests.hostile import build_corpus, harness
from tests.hostile.build_corpus import HOSTILE_HOSTS, Hostile
from tests.hostile.conftest import Runs, map_formats, per_file_inputs, sanitized_inputs

MEMORY_BOUND_MIB = 512
TERMINAL_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""What must never reach a terminal raw: C0/C1 controls (ESC, BEL, CR, CSI) and bidi overrides."""
C1_AND_BIDI = re.compile("[\x80-\x9f\u202a-\u202e\u2066-\u2069]")
ISSUE_LINE = re.compile(r"hostmap: (error|warning): (?P<rest>.*)")

KEEPS = {
    "truncated/har-cut.har": 3,
    "nesting/har-deep-body.har": 2,
    "nesting/har-deep-value.har": 2,
    "numbers/har-18-digit.har": 5,
    "bombs/saz-member-bomb.saz": 2,
    "bombs/saz-member-bomb-lying.saz": 2,
    "bombs/saz-body-bombs.saz": 4,
    "bombs/pcap-gzip-body.pcap": 1,
    "traversal/saz-traversal.saz": 1,
    "truncated/mitm-cut.mitm": 2,
    "truncated/mitm-cut-in-prefix.mitm": 2,
    "bombs/mitm-gzip-bomb.mitm": 2,
    "numbers/mitm-18-digit.mitm": 1,
    "truncated/pcap-cut.pcap": 2,
    "lying/pcap-4gb-record.pcap": 1,
    "truncated/pcapng-cut.pcapng": 2,
    "lying/pcapng-4gb-block.pcapng": 1,
    "names/reverse-ip-192.0.2.73.txt": 2,
    "numbers/zeek-18-digit-http.log": 1,
    "numbers/pdns-18-digit.jsonl": 1,
    "truncated/pdns-cut.jsonl.gz": 100,
    "nesting/pdns-deep-line.jsonl": 2,
    "nesting/zeek-deep-line.log": 2,
    "nesting/rapid7-deep-line.json": 2,
    "nesting/securitytrails-deep.jsonl": 2,
    "bombs/pdns-gzip-bomb.jsonl.gz": 1,
    "bombs/rapid7-gzip-bomb.json.gz": 1,
    "bombs/iptoasn-gzip-bomb.tsv.gz": 3,
}
"""Records the good parts around the bad one give, at least (the report's Inputs table)."""


BUGS: dict[str, dict[str, str]] = {
    "clean": {
    },
    "memory": {
    },
    "keeps": {
    },
    "sanitize-clean": {
    },
    "sanitize-memory": {
    },
}


def _params(files: tuple[Hostile, ...], aspect: str) -> list[object]:
    known = BUGS.get(aspect, {})
    return [pytest.param(f, id=f.name, marks=[pytest.mark.xfail(strict=True, reason=known[f.name])]
                         if f.name in known else []) for f in files]


def _assert_clean(run: harness.Run, paths: tuple[str, ...]) -> None:
    """No traceback, no timeout, no network; every stderr line one issue naming its file."""
    assert not run.timed_out, run.describe()
    assert "Traceback" not in run.out + run.err, run.describe()
    assert run.returncode != harness.GUARD_EXIT and harness.GUARD_MARK not in run.err, \
        run.describe()
    for line in run.err.splitlines():
        if not line.strip():
            continue
        match = ISSUE_LINE.fullmatch(line)
        assert match, f"stderr line is not one 'hostmap: error|warning: ...' line: {line!r}"
        rest = match["rest"]
        assert rest == "nothing readable in the inputs" or rest.startswith(paths), \
            f"stderr line does not start with the file it is about: {line!r}"


def _assert_no_terminal_controls(text: str, what: str) -> None:
    found = sorted({f"U+{ord(c):04X}" for c in TERMINAL_CONTROLS.findall(text)})
    assert not found, f"{what} holds raw control characters {found}"


# --- one file at a time -------------------------------------------------------------------


@pytest.mark.parametrize("hostile", _params(per_file_inputs(), "clean"))
def test_analyze_ends_cleanly_with_the_stated_exit_code(runs: Runs, hostile: Hostile) -> None:
    run = runs.analyzed[hostile.name]
    _assert_clean(run, (str(runs.root / hostile.name),))
    assert run.returncode in hostile.exit_codes, f"{hostile.why}\n{run.describe()}"


@pytest.mark.parametrize("hostile", _params(per_file_inputs(), "memory"))
def test_analyze_stays_within_the_memory_bound(runs: Runs, hostile: Hostile) -> None:
    run = runs.analyzed[hostile.name]
    assert run.max_rss_kib <= MEMORY_BOUND_MIB * 1024, run.describe()


def _records_read(run: harness.Run, path: str) -> int | None:
    """The 'records' cell of the file's row in the report's Inputs table."""
    for line in run.out.splitlines():
        if path in line:
            match = re.search(r"│\s*(\d+)\s*│\s*\d+\s*│\s*$", line)
            if match:
                return int(match.group(1))
    return None


@pytest.mark.parametrize(
    "hostile", _params(tuple(f for f in per_file_inputs() if f.name in KEEPS), "keeps"))
def test_good_records_around_the_bad_one_are_kept(runs: Runs, hostile: Hostile) -> None:
    run = runs.analyzed[hostile.name]
    records = _records_read(run, str(runs.root / hostile.name))
    assert records is not None and records >= KEEPS[hostile.name], \
        f"{records} records read, expected at least {KEEPS[hostile.name]}\n{run.describe()}"


@pytest.mark.parametrize("hostile", _params(per_file_inputs(), "terminal"))
def test_terminal_output_holds_no_raw_control_characters(runs: Runs, hostile: Hostile) -> None:
    run = runs.analyzed[hostile.name]
    _assert_no_terminal_controls(run.out, "stdout")
    _assert_no_terminal_controls(run.err, "stderr")


@pytest.mark.parametrize("hostile", _params(sanitized_inputs(), "sanitize-clean"))
def test_sanitize_ends_cleanly(runs: Runs, hostile: Hostile) -> None:
    run = runs.sanitized[hostile.name]
    assert not run.timed_out and "Traceback" not in run.out + run.err, run.describe()
    assert run.returncode in (0, 1, 2), run.describe()
    assert run.returncode != harness.GUARD_EXIT and harness.GUARD_MARK not in run.err
    _assert_no_terminal_controls(run.out + run.err, "sanitize output")


@pytest.mark.parametrize("hostile", _params(sanitized_inputs(), "sanitize-memory"))
def test_sanitize_stays_within_the_memory_bound(runs: Runs, hostile: Hostile) -> None:
    run = runs.sanitized[hostile.name]
    assert run.max_rss_kib <= MEMORY_BOUND_MIB * 1024, run.describe()


def test_traversal_members_are_refused_by_name_and_never_read(runs: Runs) -> None:
    run = runs.analyzed["traversal/saz-traversal.saz"]
    for member in ("../../etc/passwd", "/abs/path", "raw/../../../tmp/99_c.txt",
                   "..\\..\\windows\\win.ini", "/raw/03_c.txt"):
        assert f"member {member}" in run.err, f"{member} not named\n{run.describe()}"
    assert "CANARY" not in run.out + run.err
    assert "escape.hostile.example" not in run.out and "abs.hostile.example" not in run.out


def test_body_bombs_are_cut_at_the_decoding_limit(runs: Runs) -> None:
    run = runs.analyzed["bombs/saz-body-bombs.saz"]
    assert run.returncode == 0, run.describe()
    assert run.err.count("decodes to over 8 MiB") == 4, run.describe()


# --- a file from which nothing can be read ------------------------------------------------


def test_a_recognised_file_with_nothing_readable_exits_2(runs: Runs) -> None:
    # The rule: 0 all read; 1 some input skipped or partly read; 2 nothing readable.  A SAZ
    # cut before its zip directory is recognised but gives nothing: 2, as in sanitize.
    run = runs.analyzed["truncated/saz-cut.saz"]
    assert run.returncode == 2, run.describe()
    assert runs.sanitized["truncated/saz-cut.saz"].returncode == 2


# --- names/ and secrets/ read as folders: escaping in every output -----------------------


_FOLDER_PATHS = ("names/", "secrets/")


def _folder_prefixes(runs: Runs) -> tuple[str, ...]:
    return tuple(str(runs.root / folder) for folder in _FOLDER_PATHS)


@pytest.mark.parametrize("key", ["analyze", "analyze --json", *(f"map {f}" for f in map_formats())])
def test_folder_runs_end_cleanly(runs: Runs, key: str) -> None:
    run = runs.folders[key]
    _assert_clean(run, _folder_prefixes(runs))
    assert run.returncode == 1, run.describe()  # some names files hold bad records
    assert run.max_rss_kib <= MEMORY_BOUND_MIB * 1024, run.describe()
    _assert_no_terminal_controls(run.err, "stderr")


def test_text_report_shows_hostile_names_as_inert_text(runs: Runs) -> None:
    run = runs.folders["analyze"]
    _assert_no_terminal_controls(run.out, "the text report")
    assert "title\\x1b]0;pwned\\x07.hostile.example" in run.out, "escapes should show as \\xNN"
    assert "rtl\\u202egnp.hostile.example" in run.out


def test_text_report_shows_a_newline_inside_a_value_escaped(runs: Runs) -> None:
    run = runs.folders["analyze"]
    assert "FORGED-CR" in run.out
    assert not re.search(r"FORGED-CR[ │┃]*\n", run.out), "a value's newline reached the report"


def test_json_report_is_valid_and_keeps_hostile_names_as_data(runs: Runs) -> None:
    report = json.loads(runs.folders["analyze --json"].stdout)
    text = json.dumps(report, ensure_ascii=False)
    assert "<img src=x onerror=alert(1)>.hostile.example" in text


def _map(runs: Runs, name: str) -> str:
    run = runs.folders[f"map {name}"]
    [data] = run.outputs.values()
    return data.decode("utf-8")


MARKUP_NEVER_RAW = ("<img src=x onerror", "<script>alert(1)", "<svg/onload", "<b>bold</b>")


@pytest.mark.parametrize("name", ["html", "svg", "gexf", "graphml", "md", "dot", "mermaid"])
def test_markup_formats_never_hold_hostile_markup_raw(runs: Runs, name: str) -> None:
    if name not in map_formats():
        pytest.skip("Graphviz (dot) is not installed")
    data = _map(runs, name)
    assert "hostile.example" in data, "the hostile names should be on the map"
    for markup in MARKUP_NEVER_RAW:
        assert markup not in data, f"raw {markup!r} in the {name} map"
    text = data.replace("\n", "").replace("\t", "").replace("\r", "")
    if name in ("gexf", "graphml"):
        # Data for Gephi and graph tools: C1 controls and bidi marks stay in ids and values
        # (what a label shows is checked below); escapes and other C0 controls never belong.
        text = C1_AND_BIDI.sub("", text)
    _assert_no_terminal_controls(text, f"the {name} map")


def test_gexf_labels_show_controls_and_bidi_overrides_escaped(runs: Runs) -> None:
    root = ElementTree.fromstring(_map(runs, "gexf").encode("utf-8"))
    labels = [node.get("label") or "" for node in root.iter() if node.tag.endswith("}node")]
    assert any("rtl\\u202egnp.hostile.example" in label for label in labels), labels
    for label in labels:
        _assert_no_terminal_controls(label, f"the GEXF label {label!r}")


@pytest.mark.parametrize("name", ["gexf", "graphml", "svg"])
def test_xml_maps_are_well_formed(runs: Runs, name: str) -> None:
    if name not in map_formats():
        pytest.skip("Graphviz (dot) is not installed")
    ElementTree.fromstring(_map(runs, name).encode("utf-8"))


def test_html_map_embeds_data_without_closing_its_script(runs: Runs) -> None:
    data = _map(runs, "html")
    assert data.lower().count("</script") == data.lower().count("<script"), \
        "a value closed a <script> element"


@pytest.mark.parametrize("name", ["dot", "mermaid"])
def test_graph_syntax_in_names_does_not_become_graph_syntax(runs: Runs, name: str) -> None:
    data = _map(runs, name)
    for syntax in ("{}|-->", '"]]>'):
        assert syntax not in data, f"raw {syntax!r} in the {name} map"


@pytest.mark.parametrize("name", ["json", "cytoscape", "stix"])
def test_json_maps_are_valid_json(runs: Runs, name: str) -> None:
    json.loads(_map(runs, name))


def test_text_map_holds_no_raw_control_characters(runs: Runs) -> None:
    _assert_no_terminal_controls(_map(runs, "text").replace("\n", ""), "the text map")


def test_every_hostile_host_that_a_reader_accepts_reaches_the_json_map(runs: Runs) -> None:
    data = _map(runs, "json")
    shown = [host for host in HOSTILE_HOSTS if json.dumps(host)[1:-1] in data]
    assert len(shown) >= 4, f"only {shown} reached the map: the escaping tests test little"


def test_the_corpus_build_is_deterministic(tmp_path: Path) -> None:
    root, files = harness.corpus()
    again = build_corpus.build(tmp_path)
    assert [f.name for f in again] == [f.name for f in files]
    changed = [f.name for f in files
               if hashlib.sha256((root / f.name).read_bytes()).digest()
               != hashlib.sha256((tmp_path / f.name).read_bytes()).digest()]
    assert not changed, f"built differently the second time: {changed}"


def test_bomb_check_values_match_zlib() -> None:
    """The corpus computes a bomb's CRC-32 and Adler-32 by combining, not by reading it."""
    import zlib

    for chunk in (b"A" * 4096, bytes(range(256)) * 3, b"x"):
        for count in (0, 1, 2, 3, 7, 64, 1000):
            data = chunk * count
            assert build_corpus._repeated(zlib.crc32(chunk), len(chunk), count,
                                          build_corpus._crc32_combine) == zlib.crc32(data)
            assert build_corpus._repeated(zlib.adler32(chunk), len(chunk), count,
                                          build_corpus._adler32_combine,
                                          empty=1) == zlib.adler32(data)
    raw, crc = build_corpus._deflate_bomb(64 * 2**20)
    assert zlib.crc32(zlib.decompress(raw, -15)) == crc


# --- command-line contract -----------------------------------------------------------------


def test_network_guard_is_active() -> None:
    run = harness.run_python("-c", "import socket; socket.getaddrinfo('example.com', 80)",
                             timeout=120)
    assert run.returncode == harness.GUARD_EXIT and harness.GUARD_MARK in run.err, run.describe()


def test_a_run_forked_from_the_zygote_is_the_run_of_a_fresh_interpreter() -> None:
    """The shared runs are forked from one start-up (harness._Zygote); same result as
    `python -m hostmap` started anew: exit code, stdout, stderr, and no lower peak RSS."""
    root, _ = harness.corpus()
    args = ("analyze", root / "names" / "reverse-ip-192.0.2.73.txt", root / "junk" / "noise.bin")
    forked = harness.run_hostmap(*args, fresh=False)
    fresh = harness.run_hostmap(*args, fresh=True)
    assert (forked.returncode, forked.out, forked.err) == (fresh.returncode, fresh.out,
                                                           fresh.err), forked.describe()
    assert forked.returncode == 1 and "hostmap: error:" in forked.err
    assert forked.max_rss_kib >= fresh.max_rss_kib * 0.9, (forked.describe(), fresh.describe())


def test_usage_errors_exit_2_on_one_line() -> None:
    root, _ = harness.corpus()
    jobs = [(["analyze", root / "no-such-file.har"], [], 180.0),
            (["analyze", "--format", "no-such-format", root / "truncated" / "har-cut.har"], [],
             180.0),
            (["map", "-o", root / "map.weird", root / "truncated" / "har-cut.har"], [], 180.0)]
    for run in harness.run_many(jobs):
        assert run.returncode == 2, run.describe()
        assert "Traceback" not in run.out + run.err
        assert len(run.err.strip().splitlines()) == 1, run.describe()


def test_strict_turns_a_skipped_record_into_a_failure_and_map_exits_like_analyze() -> None:
    root, _ = harness.corpus()
    partial = root / "truncated" / "har-cut.har"
    strict, mapped, nothing = harness.run_many([
        (["analyze", "--strict", partial], [], 180.0),
        (["map", "-f", "text", partial], [], 180.0),
        (["map", "-f", "text", root / "junk" / "noise.bin"], [], 180.0),
    ])
    assert strict.returncode == 2 and "Traceback" not in strict.err, strict.describe()
    assert mapped.returncode == 1 and "Traceback" not in mapped.err, mapped.describe()
    assert nothing.returncode == 2 and "Traceback" not in nothing.err, nothing.describe()


def test_every_hostile_file_at_once_gives_one_report_and_exit_1() -> None:
    root, files = harness.corpus()
    paths = [root / f.name for f in files if not f.name.startswith("bombs/")]
    run = harness.run_hostmap("analyze", "--json", "-q", *paths, timeout=300)
    assert run.returncode == 1 and "Traceback" not in run.err, run.describe()
    report = json.loads(run.stdout)
    assert len(report["inputs"]) == len(paths)
