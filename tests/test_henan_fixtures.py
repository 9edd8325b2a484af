"""The Henan 2022 fixture captures: reproducible, readable by the tools that define the formats.

The files under captures/henan-2022/ are written by captures/make_henan_2022.py.  These
tests check that the script reproduces them byte for byte, that mitmproxy and dnspython
(the formats' own implementations) read them, and that the files agree with each other.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import ipaddress
import json
import re
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest
from mitmproxy import http
from mitmproxy.io import FlowReader

CAPTURES = Path(__file__).resolve().parents[1] / "captures"
HENAN = CAPTURES / "henan-2022"
SCRIPT = CAPTURES / "make_henan_2022.py"
FRONT_IP = "117.160.221.251"
CITY_ABBRS = (
    "zz kf ly pds ay hb xx jz py xc lh smx ny sq xy zk zmd jy".split()
)  # the scenario's table
DIG_NAMES = {"yshb.hnzwfw.gov.cn", "login.hnzwfw.gov.cn"} | {
    f"{abbr}-jkm.hnzwfw.gov.cn" for abbr in CITY_ABBRS
}
COF_KEYS = {"rrname", "rrtype", "rdata", "time_first", "time_last", "count", "bailiwick"}
CST = timezone(timedelta(hours=8))


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_henan_2022", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while decorating
    spec.loader.exec_module(module)
    return module


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _har_entries() -> list[dict]:
    raw = (HENAN / "app-session.har").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "Fiddler writes a UTF-8 BOM before the JSON"
    return json.loads(raw[3:].decode("utf-8"))["log"]["entries"]


def _mitm_flows() -> list[http.HTTPFlow]:
    with (HENAN / "app-session.mitm").open("rb") as fo:
        flows = list(FlowReader(fo).stream())
    assert all(isinstance(f, http.HTTPFlow) for f in flows)
    return flows  # type: ignore[return-value]


def _har_key(entry: dict) -> tuple[str, int, str, int]:
    url = urlsplit(entry["request"]["url"])
    port = url.port or {"http": 80, "https": 443}[url.scheme]
    path = url.path + (f"?{url.query}" if url.query else "")
    return (url.hostname or "", port, path, entry["response"]["status"])


def _dig_answers() -> list[tuple[str, list[str], int]]:
    """(question name, answer lines, ANSWER count from the header) for every dig answer."""
    out = []
    blocks = (HENAN / "dig-city-hosts.txt").read_text().split(";; Got answer:\n")[1:]
    for block in blocks:
        count = int(re.search(r"ANSWER: (\d+),", block).group(1))  # type: ignore[union-attr]
        question = block.split(";; QUESTION SECTION:\n;", 1)[1].split()[0]
        section = block.split(";; ANSWER SECTION:\n", 1)[1].split("\n\n", 1)[0]
        out.append((question, section.splitlines(), count))
    return out


def _passive_dns() -> list[dict]:
    lines = (HENAN / "passive-dns.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_script_reproduces_the_committed_files_byte_for_byte(
    generator: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert generator.main(["--output", str(tmp_path)]) == 0
    capsys.readouterr()
    committed = {p.name: _sha256(p) for p in HENAN.iterdir() if p.is_file()}
    fresh = {p.name: _sha256(p) for p in tmp_path.iterdir() if p.is_file()}
    assert fresh.keys() == committed.keys()
    for name in sorted(committed):
        assert fresh[name] == committed[name], f"{name} differs: rerun {SCRIPT.name}"


def test_two_runs_in_one_process_write_the_same_bytes(generator: ModuleType) -> None:
    assert generator.generate() == generator.generate()


def test_mitmproxy_reads_the_flow_file_and_it_matches_the_har_entry_by_entry() -> None:
    entries = _har_entries()
    flows = _mitm_flows()
    assert 10 <= len(entries) <= 20
    flow_keys = [
        (f.request.host, f.request.port, f.request.path, f.response.status_code)
        for f in flows
        if f.response is not None
    ]
    assert flow_keys == [_har_key(e) for e in entries]


def test_flow_file_and_har_agree_on_times_addresses_headers_and_bodies() -> None:
    for entry, flow in zip(_har_entries(), _mitm_flows(), strict=True):
        assert flow.response is not None
        started = datetime.fromisoformat(entry["startedDateTime"])
        assert started.utcoffset() == timedelta(hours=8)
        assert flow.request.timestamp_start == pytest.approx(started.timestamp(), abs=1e-3)
        assert entry["serverIPAddress"] == FRONT_IP
        assert flow.server_conn.peername == (FRONT_IP, flow.request.port)
        assert flow.request.method == entry["request"]["method"]
        assert [[k, v] for k, v in flow.request.headers.items(multi=True)] == [
            [h["name"], h["value"]] for h in entry["request"]["headers"]
        ]
        assert [[k, v] for k, v in flow.response.headers.items(multi=True)] == [
            [h["name"], h["value"]] for h in entry["response"]["headers"]
        ]
        content = entry["response"]["content"]
        body = (
            base64.b64decode(content["text"])
            if content.get("encoding") == "base64"
            else content["text"].encode()
        )
        assert flow.response.raw_content == body
        if flow.request.scheme == "https":
            assert flow.server_conn.sni == flow.request.host
        else:
            assert flow.server_conn.sni is None


def test_session_reaches_both_published_endpoints_and_redirects_between_them() -> None:
    keys = {(host, port) for host, port, _, _ in map(_har_key, _har_entries())}
    assert keys == {("yshb.hnzwfw.gov.cn", 7777), ("login.hnzwfw.gov.cn", 443)}
    redirects = [
        e["response"]["redirectURL"] for e in _har_entries() if e["response"]["status"] == 302
    ]
    assert any(url.startswith("https://login.hnzwfw.gov.cn/") for url in redirects)
    assert any(url.startswith("http://yshb.hnzwfw.gov.cn:7777/") for url in redirects)


def test_mitmproxy_also_imports_the_har() -> None:
    with (HENAN / "app-session.har").open("rb") as fo:
        imported = list(FlowReader(fo).stream())
    assert [f.request.url for f in imported] == [e["request"]["url"] for e in _har_entries()]


def test_dnspython_parses_every_dig_answer_record() -> None:
    answers = _dig_answers()
    assert {question.rstrip(".") for question, _, _ in answers} == DIG_NAMES
    for question, lines, count in answers:
        assert len(lines) == count, question
        records = {}
        for line in lines:
            name, ttl, rdclass, rdtype, text = line.split(None, 4)
            rrset = dns.rrset.from_text(name, int(ttl), rdclass, rdtype, text)
            rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(rdtype), text)
            assert rrset[0] == rdata
            records[rrset.name] = rrset
        # Follow the chain from the question to its address (RFC 1034 §3.6.2 CNAMEs).
        current = dns.name.from_text(question)
        while records[current].rdtype == dns.rdatatype.CNAME:
            current = records[current][0].target
        assert records[current].rdtype == dns.rdatatype.A
        assert records[current][0].address == FRONT_IP


def test_dig_output_has_the_full_default_layout() -> None:
    text = (HENAN / "dig-city-hosts.txt").read_text()
    blocks = text.count(";; Got answer:")
    for marker in (";; QUESTION SECTION:", ";; ANSWER SECTION:", ";; Query time: ",
                   ";; SERVER: ", ";; MSG SIZE  rcvd: "):  # fmt: skip
        assert text.count(marker) == blocks, marker
    assert re.findall(r";; WHEN: (\w{3} \w{3} \d\d [\d:]{8} CST 2022)", text)
    assert text.count("; <<>> DiG ") > 1, "several runs concatenated"


def test_every_passive_dns_line_has_the_common_output_format_keys() -> None:
    rows = _passive_dns()
    assert rows
    for row in rows:
        assert COF_KEYS <= row.keys(), row
        assert row["rrname"].endswith(".")
        assert isinstance(row["rdata"], list) and row["rdata"]
        assert isinstance(row["time_first"], int) and isinstance(row["time_last"], int)
        assert row["time_first"] <= row["time_last"]
        assert row["bailiwick"] == "hnzwfw.gov.cn."


def test_passive_dns_holds_the_published_migration_and_no_other() -> None:
    addresses: dict[str, list[dict]] = {}
    for row in _passive_dns():
        if row["rrtype"] == "A":
            addresses.setdefault(row["rrname"], []).append(row)
    moved = {name: rows for name, rows in addresses.items() if len(rows) > 1}
    assert set(moved) == {"zz-jkm.hnzwfw.gov.cn."}
    old, new = sorted(moved["zz-jkm.hnzwfw.gov.cn."], key=lambda r: r["time_first"])
    assert old["rdata"][0].startswith("42.") and new["rdata"] == [FRONT_IP]
    assert datetime.fromtimestamp(new["time_first"], CST).date().isoformat() == "2021-12-29"
    assert old["time_last"] < new["time_first"]


def test_reverse_ip_listing_matches_passive_dns() -> None:
    text = (HENAN / f"reverse-ip-{FRONT_IP}.txt").read_text()
    known = {row["rrname"].rstrip(".") for row in _passive_dns()}
    listed = set()
    for line in text.splitlines():
        match = re.fullmatch(r"(\d{4}-\d\d-\d\d)-----(\d{4}-\d\d-\d\d)\s+(\S+)", line)
        assert match, line
        assert match.group(1) <= match.group(2)
        listed.add(match.group(3))
    assert {f"{abbr}-jkm.hnzwfw.gov.cn" for abbr in CITY_ABBRS} <= listed
    assert listed <= known


def test_ip_operator_rows_cover_the_front_and_the_old_address() -> None:
    rows = [line.split("\t") for line in (HENAN / "ip-operators.tsv").read_text().splitlines()]
    assert all(len(row) in (5, 7) for row in rows)

    def covering(address: str) -> list[str]:
        ip = ipaddress.ip_address(address)
        found = [r for r in rows if ipaddress.ip_address(r[0]) <= ip <= ipaddress.ip_address(r[1])]
        assert len(found) == 1, address
        return found[0]

    front = covering(FRONT_IP)
    assert front[3] == "CN" and "China Mobile" in front[4]
    assert "Henan" in front[5] and "Pingdingshan" in front[6]
    old = next(r for r in _passive_dns() if r["rdata"][0].startswith("42."))
    assert covering(old["rdata"][0])[3] == "CN"


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _is_valid_id_number(text: str) -> bool:
    """GB 11643-1999 check digit of an 18-character resident ID number."""
    total = sum(int(d) * w for d, w in zip(text[:17], _ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == text[17].upper()


def test_no_file_holds_a_checksum_valid_id_number_or_a_mobile_number() -> None:
    for path in sorted(HENAN.iterdir()):
        text = path.read_bytes().decode("utf-8", errors="replace")
        ids = re.findall(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])", text)
        assert not [i for i in ids if _is_valid_id_number(i)], path.name
        assert not re.findall(r"(?<!\d)1[3-9]\d{9}(?!\d)", text), path.name
