"""`PassiveDnsReader.load_into` (DuckDB reads the file) stores what `read` + `Store.add` store.

Every passive-DNS file the tests know, plus hand-made lines aimed at each rule
of the bulk path (names, addresses, times, counts, rdata shapes, bad lines,
JSON DuckDB reads more leniently than Python), is loaded both ways; the
`resolution` tables (all columns but input_id) and the issues must be equal.
"""

from __future__ import annotations

import gzip
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import hostmap.ingest._pdns_bulk as bulk
from hostmap.ingest import read_file
from hostmap.ingest.passive_dns import reader
from hostmap.model import ReadIssue
from hostmap.pipeline import load_paths
from hostmap.store import Store
from tests.conftest import CORPUS, HENAN, REPO

DATA = Path(__file__).resolve().parents[1] / "data" / "passive-dns"
ORDERED = "SELECT * EXCLUDE (input_id) FROM resolution ORDER BY ALL"


def python_path(path: Path) -> tuple[int, list[Any], list[ReadIssue]]:
    """What the pipeline stored before load_into existed: read_file items into Store.add."""
    store = Store()
    records, issues = 0, []
    for item in read_file(path, reader):
        if isinstance(item, ReadIssue):
            issues.append(item)
        else:
            store.add(1, item)
            records += 1
    store.flush()
    rows = store.con.execute(ORDERED).fetchall()
    store.close()
    return records, rows, issues


def bulk_path(path: Path) -> tuple[int, list[Any], list[ReadIssue]]:
    store = Store()
    records, issues = reader.load_into(path, store, 1)
    rows = store.con.execute(ORDERED).fetchall()
    count = store.con.execute("SELECT count(*) FROM resolution").fetchall()[0][0]
    assert count == records
    store.close()
    return records, rows, issues


@pytest.fixture
def fallbacks(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Files load_into handed to the Python reader."""
    handed: list[Path] = []
    python = bulk._load_with_python

    def spy(reader_: Any, path: Path, store: Any, input_id: int) -> Any:
        handed.append(path)
        return python(reader_, path, store, input_id)

    monkeypatch.setattr(bulk, "_load_with_python", spy)
    return handed


def assert_same(path: Path) -> tuple[int, list[ReadIssue]]:
    expected = python_path(path)
    got = bulk_path(path)
    assert got[0] == expected[0], "record counts differ"
    for want, have in zip(expected[1], got[1], strict=False):
        assert have == want
    assert len(got[1]) == len(expected[1])
    assert got[2] == expected[2]
    return got[0], got[2]


def gzipped(path: Path, tmp_path: Path) -> Path:
    packed = tmp_path / (path.name + ".gz")
    packed.write_bytes(gzip.compress(path.read_bytes()))
    return packed


def write(tmp_path: Path, name: str, lines: list[str], end: str = "\n") -> Path:
    path = tmp_path / name
    path.write_bytes((("\n".join(lines)) + end).encode("utf-8"))
    return path


def rec(**fields: Any) -> str:
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


T1, T2 = 1600000000, 1600000100

# One line per rule of the bulk path; the comment names what it exercises.
EDGE_LINES = [
    rec(rrname="www.Example.COM.", rrtype="A", rdata=["192.0.2.1", "192.0.2.2"],
        time_first=T1, time_last=T2, count=3),  # lower-case, trailing dot, list rdata
    rec(rrname="plain.example.com", rrtype="a", rdata="198.51.100.7", time_first=T1),  # str rdata
    rec(rrname="v6.example.com", rrtype="AAAA",
        rdata=["2001:DB8:0:0:0:0:0:1", "2001:0db8::0001", "::", "::1", "1::", "fe80::",
               "2001:db8:0:0:1:0:0:1", "0:0:1:0:0:0:1:0", "1:0:1:0:1:0:1:0",
               "2001:db8:85a3:0:0:8a2e:370:7334", "1:2:3:4:5:6:7:8"],
        time_first=T1, time_last=T2),  # IPv6 canonical forms, longest zero run first
    rec(rrname="mapped.example.com", rrtype="AAAA",
        rdata=["::ffff:192.0.2.1", "::ffff:c000:201", "fe80::1%eth0", "[2001:db8::9]"]),
    rec(rrname="v6-in-a.example.com", rrtype="A", rdata=["2001:db8::a"]),  # A holding IPv6
    rec(rrname="v4-in-aaaa.example.com", rrtype="AAAA", rdata=["192.0.2.44"]),
    rec(rrname="zeros.example.com", rrtype="A", rdata=["010.0.0.1"]),  # bad address: issue
    rec(rrname="space.example.com", rrtype="A", rdata=[" 192.0.2.5"]),  # Python strips it
    rec(rrname="xn--fiqs8s.example.cn.", rrtype="CNAME", rdata=["xn--55qx5d.Example.CN."]),
    rec(rrname="中国.example.cn", rrtype="NS", rdata=["NS1.例子.cn."]),  # Unicode names
    rec(rrname="xn--bad--.example", rrtype="A", rdata=["192.0.2.8"]),  # invalid A-label kept
    rec(rrname="192.0.2.200", rrtype="PTR", rdata="host.example."),  # name that is an address
    rec(rrname="01.2.3.4", rrtype="A", rdata="192.0.2.9"),  # digits and dots, not an address
    rec(rrname="[2001:db8::1]", rrtype="A", rdata="192.0.2.10"),  # bracketed literal
    rec(rrname="a..", rrtype="A", rdata="192.0.2.11"),  # several trailing dots
    rec(rrname=".", rrtype="NS", rdata=["a.root-servers.net."]),  # the root
    rec(rrname="cname.example.com", rrtype="CNAME", rdata="."),
    rec(rrname="under_score.Example.com", rrtype="CNAME", rdata=["_dmarc.example.com"]),
    rec(rrname="7.2.0.192.in-addr.arpa.", rrtype="PTR", rdata=["Host7.example.com."]),
    rec(rrname="1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
        rrtype="PTR", rdata="v6host.example.com"),  # PTR from a full ip6.arpa name
    rec(rrname="2.0.192.in-addr.arpa", rrtype="PTR", rdata="partial.example.com"),
    rec(rrname="ptr.example.com", rrtype="ptr", rdata="target.example.com"),
    rec(rrname="example.com", rrtype="MX", rdata=["10 mail.example.com."], count=5),  # OTHER
    rec(rrname="example.com", rrtype="txt", rdata=['"v=spf1 -all"'], count=0),  # escapes
    rec(rrname="example.com", rrtype="SOA", rdata="ns.example.com. h.example.com. 1 2 3 4 5"),
    rec(rrname="iso.example.com", rrtype="A", rdata="192.0.2.20",
        time_first="2013-01-14T19:23:53Z", time_last="2013-01-15 12:00:00+08:00"),
    rec(rrname="iso1.example.com", rrtype="A", rdata="192.0.2.19",
        time_first="2013-01-14 09:23:53Z", time_last="2013-01-15T02:00:00+08:00"),
    rec(rrname="txt.example.com", rrtype="TXT", rdata=['"a \\"quoted\\" b"', "plain", "tab\t"]),
    rec(rrname="txt1.example.com", rrtype="TXT", rdata='"v=DMARC1; p=none"'),
    rec(rrname="iso2.example.com", rrtype="A", rdata="192.0.2.21",
        time_first="2013-01-14T19:23:53", time_last="2013-01-14T19:23:53-05:30"),
    rec(rrname="iso3.example.com", rrtype="A", rdata="192.0.2.22",
        time_first="2013-01-14", time_last="2013-01-14T19:23:53.250Z"),  # Python-only forms
    rec(rrname="iso4.example.com", rrtype="A", rdata="192.0.2.23",
        time_first="2013-02-30T00:00:00Z"),  # not a date: issue
    rec(rrname="epoch-str.example.com", rrtype="A", rdata="192.0.2.24",
        time_first="1315586409", time_last=" 1315586410 "),
    rec(rrname="epoch-frac.example.com", rrtype="A", rdata="192.0.2.25",
        time_first=1315586409.25, time_last="1315586409.75"),
    rec(rrname="epoch-neg.example.com", rrtype="A", rdata="192.0.2.26", time_first=-86400),
    rec(rrname="zone.example.com", rrtype="A", rdata="192.0.2.27",
        zone_time_first=T1, zone_time_last="2022-02-01T00:00:00Z"),  # zone_time fallback
    rec(rrname="zone2.example.com", rrtype="A", rdata="192.0.2.28", time_first=None,
        time_last="", zone_time_first=T1, zone_time_last=T2),
    rec(rrname="zone3.example.com", rrtype="A", rdata="192.0.2.29", time_first=T1,
        zone_time_first="garbage"),  # zone times unread when sensor times exist
    rec(rrname="bool-time.example.com", rrtype="A", rdata="192.0.2.30", time_first=True),
    rec(rrname="backwards.example.com", rrtype="A", rdata="192.0.2.31", time_first=T2,
        time_last=T1),
    rec(rrname="counts.example.com", rrtype="A", rdata="192.0.2.32", count="12"),
    rec(rrname="counts2.example.com", rrtype="A", rdata="192.0.2.33", count=True),
    rec(rrname="counts3.example.com", rrtype="A", rdata="192.0.2.34", count=1.5),
    rec(rrname="counts4.example.com", rrtype="A", rdata="192.0.2.35", count=-7),
    rec(rrname="counts5.example.com", rrtype="A", rdata="192.0.2.36", count=[1]),
    rec(rrname="counts6.example.com", rrtype="A", rdata="192.0.2.37", count=None),
    rec(rrname=5, rrtype="A", rdata="192.0.2.38"),  # rrname not a string: issue
    rec(rrname="n.example.com", rrtype="A", rdata=[]),  # empty rdata: issue
    rec(rrname="n.example.com", rrtype="A", rdata=["192.0.2.39", 7]),
    rec(rrname="n.example.com", rrtype="A", rdata=None),
    rec(rrname="n.example.com", rdata="192.0.2.40"),  # no rrtype
    rec(obj={"rrname": "wrapped.example.com", "rrtype": "A", "rdata": ["192.0.2.41"]}),
    '{"rrname":"dup.example.com","rrtype":"A","rdata":"192.0.2.42","rrname":"dup2.example.com"}',
    '{"rrname":"dup.example.com","rrtype":"A","rdata":"192.0.2.43","count":1,"count":2}',
    '{"rrname":"trail.example.com","rrtype":"A","rdata":["192.0.2.45",]}',  # trailing comma
    '{"rrname":"trail2.example.com","rrtype":"A","rdata":"192.0.2.46",}',
    '{"rrname":"nan.example.com","rrtype":"A","rdata":"192.0.2.47","x":nan}',
    '{"rrname":"nan2.example.com","rrtype":"A","rdata":"192.0.2.48","x":NaN,"y":-Infinity}',
    '{"rr\\u006eame":"escaped-key.example.com","rrtype":"A","rdata":"192.0.2.49"}',
    '{"rrname":"esc\\u0061ped.example.com","rrtype":"CNAME","rdata":"a\\/b.example.com"}',
    '{"rrname" : "spaced.example.com" , "rrtype" : "A" , "rdata" : [ "192.0.2.50" ] }',
    '{"rrname": "pyjson.example.com", "rrtype": "A", "rdata": ["192.0.2.51"], "count": 4}',
    '{"rrname":"info.example.com","rrtype":"A","rdata":"192.0.2.52","note":"inf:nan"}',
    "",  # blank line: numbered, skipped
    "   \t",  # whitespace only
    "{bad",
    "[1, 2]",
    '"just a string"',
    "null",
    '{"rrname":"a.example.com","rrtype":"A","rdata":"192.0.2.53"} {"x":1}',
    rec(rrname="last.example.com", rrtype="CNAME", rdata=["Z.example.com."], time_first=T1,
        time_last=T1, count=9),
]


def test_edge_lines_load_the_same_way(tmp_path: Path, fallbacks: list[Path]) -> None:
    path = write(tmp_path, "edge.jsonl", EDGE_LINES)
    records, issues = assert_same(path)
    assert fallbacks == [], "the bulk path gave up on the edge file"
    assert records > 40 and len(issues) > 15


def test_edge_lines_gzip_and_no_final_newline(tmp_path: Path, fallbacks: list[Path]) -> None:
    path = write(tmp_path, "edge.jsonl", [*EDGE_LINES, '{"rrname":"cut.example.com",'], end="")
    _, issues = assert_same(path)
    assert issues[-1].message.endswith("line 1 column 29 (char 28)")
    assert_same(gzipped(path, tmp_path))
    assert fallbacks == []


def test_each_edge_line_alone(tmp_path: Path, fallbacks: list[Path]) -> None:
    for index, line in enumerate(EDGE_LINES):
        if not line.strip() or not line.startswith("{"):
            continue  # a first line that is not an object makes the file a JSON document
        path = write(tmp_path, f"one-{index}.jsonl", [EDGE_LINES[0], line])
        assert_same(path)
    assert fallbacks == []


def test_hand_made_exports_load_the_same_way(tmp_path: Path) -> None:
    for path in sorted(p for p in DATA.rglob("*") if p.is_file()):
        assert_same(path)
        assert_same(gzipped(path, tmp_path))


@pytest.mark.parametrize("name", sorted(p.name for p in (CORPUS / "pdns").glob("*")))
def test_corpus_files_load_the_same_way(corpus_dir: Path, name: str, tmp_path: Path) -> None:
    path = corpus_dir / "pdns" / name
    assert_same(path)
    assert_same(gzipped(path, tmp_path))


def test_henan_export_uses_duckdb_and_matches(tmp_path: Path, fallbacks: list[Path]) -> None:
    path = HENAN / "passive-dns.jsonl"
    records, issues = assert_same(path)
    assert (records, issues) == (23, [])
    assert_same(gzipped(path, tmp_path))
    assert fallbacks == []


def test_files_the_bulk_path_leaves_to_python(tmp_path: Path, fallbacks: list[Path]) -> None:
    saf_mid = write(tmp_path, "saf-mid.jsonl", [EDGE_LINES[0], '{"cond":"limited","msg":"x"}',
                                                EDGE_LINES[1]])
    crlf = tmp_path / "crlf.jsonl"
    crlf.write_bytes(("\r\n".join(EDGE_LINES[:5]) + "\r\n").encode())
    latin = tmp_path / "latin1.jsonl"
    latin.write_bytes(EDGE_LINES[0].encode() + b'\n{"rrname":"caf\xe9.example","rrtype":"A"}\n')
    long_line = write(tmp_path, "long.jsonl", [
        EDGE_LINES[0], rec(rrname="big.example.com", rrtype="TXT", rdata=["x" * 3_000_000])])
    control = write(tmp_path, "control.jsonl", [  # \x01 is the CSV delimiter used
        EDGE_LINES[0], '{"rrname":"ctl.example.com","rrtype":"A","rdata":"192.0.2.54\x01"}'])
    document = DATA / "good" / "pretty-list.json"
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(gzip.compress("\n".join(EDGE_LINES * 50).encode())[:-300])
    for path in (saf_mid, crlf, latin, long_line, control, document, cut):
        assert_same(path)
    assert fallbacks == [saf_mid, crlf, latin, long_line, control, document, cut]


def test_generated_mixture_loads_the_same_way(tmp_path: Path, fallbacks: list[Path]) -> None:
    """Random recombinations of the edge values, a few thousand lines, with blank lines."""
    rng = random.Random(20220614)
    decoded = []
    for line in EDGE_LINES:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "dup" not in line and "nan" not in line.lower():
            decoded.append(record)
    pools: dict[str, list[Any]] = {}
    for record in decoded:
        for key, value in record.items():
            pools.setdefault(key, []).append(value)
    lines = []
    for _ in range(3000):
        record = {key: rng.choice(values) for key, values in pools.items()
                  if rng.random() < (0.97 if key in ("rrname", "rrtype", "rdata") else 0.4)}
        lines.append(rec(**record) if rng.random() > 0.01 else "")
    lines[0] = EDGE_LINES[0]
    path = write(tmp_path, "mixture.jsonl", lines)
    assert_same(path)
    assert fallbacks == []


@pytest.fixture
def python_lines(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Line numbers the bulk path handed to its per-line Python function."""
    numbers: list[int] = []
    line = bulk._BulkLoad._line

    def spy(self: Any, text: str, number: int) -> Any:
        numbers.append(number)
        return line(self, text, number)

    monkeypatch.setattr(bulk._BulkLoad, "_line", spy)
    return numbers


def random_ipv6(rng: random.Random) -> str:
    groups = [rng.choice([0, 0, 0, 1, 0xDB8, 0xFFFF, rng.randrange(1 << 16)]) for _ in range(8)]
    address = ":".join(rng.choice(["{:x}", "{:04x}", "{:X}"]).format(g) for g in groups)
    runs = [i for i in range(8) if groups[i] == 0]
    if runs and rng.random() < 0.7:  # write one run of zeros as '::', not always the longest
        start = rng.choice(runs)
        end = start
        while end + 1 < 8 and groups[end + 1] == 0 and rng.random() < 0.8:
            end += 1
        parts = address.split(":")
        address = ":".join(parts[:start]) + "::" + ":".join(parts[end + 1:])
    return address


def test_addresses_are_made_canonical_in_sql(tmp_path: Path, python_lines: list[int]) -> None:
    rng = random.Random(7)
    lines = []
    for index in range(1500):
        v6 = [random_ipv6(rng) for _ in range(rng.randrange(1, 4))]
        v4 = ".".join(str(rng.choice([0, 1, 9, 10, 99, 100, 199, 200, 249, 250, 255,
                                      rng.randrange(256)])) for _ in range(4))
        lines.append(rec(rrname=f"h{index}.example.com", rrtype="AAAA", rdata=v6, time_first=T1))
        lines.append(rec(rrname=f"h{index}.example.com", rrtype="A", rdata=v4, time_first=T1))
    path = write(tmp_path, "addresses.jsonl", lines)
    python_lines.clear()
    assert_same(path)
    slow = [lines[n - 1] for n in python_lines]
    assert all("ffff" in line.lower() for line in slow), slow[:3]


def test_common_exports_never_need_the_python_function(tmp_path: Path,
                                                       python_lines: list[int]) -> None:
    lines = [rec(rrname=f"www{i}.Example.org.", rrtype=t, rdata=r, time_first=T1 + i,
                 time_last=T2 + i, count=i, bailiwick="example.org.")
             for i, (t, r) in enumerate([("A", ["192.0.2.1", "198.51.100.2"]),
                                         ("AAAA", "2001:db8::1"), ("CNAME", ["cdn.example.net."]),
                                         ("NS", ["ns1.example.org."]), ("MX", ["10 mx.example."]),
                                         ("TXT", ['"v=spf1 include:_spf.example -all"'])] * 50)]
    lines += [rec(rrname="iso.example.org", rrtype="A", rdata="192.0.2.9",
                  time_first="2013-01-14T19:23:53Z", time_last="2013-01-15 12:00:00+08:00"),
              rec(rrname="zone.example.org", rrtype="NS", rdata="ns.example.org",
                  zone_time_first="2010-04-24T16:12:21Z", zone_time_last=1293815356)]
    path = write(tmp_path, "common.jsonl", lines)
    for source in (path, gzipped(path, tmp_path), HENAN / "passive-dns.jsonl"):
        python_lines.clear()
        assert_same(source)
        assert python_lines == [], source


def test_benchmark_generator_lines_take_the_fast_path(tmp_path: Path,
                                                      python_lines: list[int]) -> None:
    """The shape `benchmarks/generate.py --kind pdns` writes (the scale benchmark's input)."""
    generate = REPO / "benchmarks" / "generate.py"
    if not generate.exists():
        pytest.skip("benchmarks/generate.py not present")
    subprocess.run([sys.executable, str(generate), "--size", "tiny", "--kind", "pdns", "--out",
                    str(tmp_path)], check=True, capture_output=True, timeout=300)
    path = tmp_path / "pdns.jsonl"
    python_lines.clear()
    records, issues = assert_same(path)
    assert records >= 1000 and issues == [] and python_lines == []


def test_byte_order_marks_and_nul(tmp_path: Path, fallbacks: list[Path]) -> None:
    bom = "\ufeff"
    cases = {
        "bom-first.jsonl": bom + EDGE_LINES[0] + "\n" + EDGE_LINES[1] + "\n",
        "blank-then-bom.jsonl": "\n \n" + bom + EDGE_LINES[0] + "\n" + EDGE_LINES[1] + "\n",
        "bom-inside.jsonl": EDGE_LINES[0] + "\n" + bom + EDGE_LINES[1] + "\n",
        "nul.jsonl": EDGE_LINES[0] + '\n{"rrname":"a\x00b.example","rrtype":"A","rdata":"1"}\n',
    }
    for name, text in cases.items():
        path = tmp_path / name
        path.write_bytes(text.encode())
        assert_same(path)
        assert_same(gzipped(path, tmp_path))
    assert fallbacks == []


def test_pipeline_uses_load_into_and_records_the_same_summary(tmp_path: Path) -> None:
    path = write(tmp_path, "edge.jsonl", EDGE_LINES)
    store = Store()
    [summary] = load_paths(store, [path])
    expected = python_path(path)
    assert summary.records == expected[0] and list(summary.issues) == expected[2]
    assert store.con.execute(ORDERED).fetchall() == expected[1]
    stored = store.con.execute("SELECT count(*) FROM issue").fetchall()[0][0]
    assert stored == len(expected[2])
    store.close()


def test_a_second_export_in_one_store_also_loads_through_duckdb(tmp_path: Path,
                                                                 fallbacks: list[Path]) -> None:
    path = HENAN / "passive-dns.jsonl"
    store = Store()
    first = reader.load_into(path, store, 1)
    second = reader.load_into(gzipped(path, tmp_path), store, 2)
    counts = store.con.execute(
        "SELECT input_id, count(*) FROM resolution GROUP BY ALL ORDER BY ALL").fetchall()
    store.close()
    assert first == second == (23, [])
    assert counts == [(1, 23), (2, 23)]
    assert fallbacks == []


def test_a_file_whose_lines_duckdb_did_not_all_read_goes_to_python(
        tmp_path: Path, fallbacks: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """DuckDB's CSV reader leaves out a gzip line inflating past a gigabyte without an
    error (tests/hostile: pdns-gzip-bomb); the bulk path counts the lines itself and
    hands a file whose count DuckDB does not reach to the Python reader, which reports
    the line.  Here the count is made one too many to show the hand-over cheaply."""
    path = write(tmp_path, "two.jsonl", [EDGE_LINES[0], EDGE_LINES[1]])
    real = bulk._scan
    monkeypatch.setattr(bulk, "_scan", lambda p, c: (real(p, c)[0], real(p, c)[1] + 1))
    store = Store()
    records, issues = reader.load_into(path, store, 1)
    store.close()
    assert fallbacks == [path]
    expected_records, _, expected_issues = python_path(path)
    assert (records, issues) == (expected_records, expected_issues)
