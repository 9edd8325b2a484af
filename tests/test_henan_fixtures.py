"""The Henan 2022 fixture captures: reproducible, readable by the tools that define the formats.

The files under captures/henan-2022/ are written by captures/make_henan_2022.py.  These
tests check that the script reproduces them byte for byte, that mitmproxy, dnspython,
zipfile and dpkt read them, and that the files (HAR, flows, SAZ, pcap, dig) agree with
each other.  The SAZ and pcap checks parse with code written here, not the generator's.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import importlib.util
import ipaddress
import json
import re
import struct
import sys
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit
from xml.etree import ElementTree

import dns.flags
import dns.message
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dpkt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
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
    assert {"app-session.har", "app-session.mitm", "app-session.saz", "app-session.pcap"} <= (
        committed.keys()
    )
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
        assert flow.response.content == body  # decoded, as the HAR holds it
        if flow.response.headers.get("content-encoding") == "gzip":
            assert flow.response.raw_content[:2] == b"\x1f\x8b" != body[:2]
            assert entry["response"]["bodySize"] > len(flow.response.raw_content)  # chunked
        else:
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


# --- the Fiddler session archive ------------------------------------------------------------

SAZ_MEMBER = re.compile(r"raw/(\d+)_([csm])\.(txt|xml)")


def _saz() -> zipfile.ZipFile:
    return zipfile.ZipFile(HENAN / "app-session.saz")


def _saz_sessions() -> list[tuple[bytes, bytes, ElementTree.Element]]:
    """(request, response, metadata root) of every session, in SID order."""
    with _saz() as zf:
        sids = sorted({int(m.group(1)) for n in zf.namelist() if (m := SAZ_MEMBER.fullmatch(n))})
        width = len(str(len(sids)))
        out = []
        for sid in sids:
            nn = f"{sid:0{width}d}"
            meta = zf.read(f"raw/{nn}_m.xml")
            assert meta.startswith(b"\xef\xbb\xbf"), "Fiddler writes _m.xml with a BOM"
            root = ElementTree.fromstring(meta[3:])
            assert root.get("SID") == str(sid)
            out.append((zf.read(f"raw/{nn}_c.txt"), zf.read(f"raw/{nn}_s.txt"), root))
    return out


def _flags(root: ElementTree.Element) -> dict[str, str]:
    return {f.get("N", ""): f.get("V", "") for f in root.iter("SessionFlag")}


def _split_http(message: bytes) -> tuple[str, dict[str, str], bytes]:
    head, _, body = message.partition(b"\r\n\r\n")
    first, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return first, headers, body


def _dechunk(body: bytes) -> bytes:
    """RFC 9112 chunked transfer coding, written here independently of the generator."""
    out = b""
    while True:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            assert body == b"\r\n", "no trailers, then the final CRLF"
            return out
        out, body = out + body[:size], body[size:]
        assert body[:2] == b"\r\n"
        body = body[2:]


def _decoded_body(headers: dict[str, str], body: bytes) -> bytes:
    if headers.get("transfer-encoding") == "chunked":
        body = _dechunk(body)
    if headers.get("content-encoding") == "gzip":
        body = gzip.decompress(body)
    return body


def _har_body(entry: dict) -> bytes:
    content = entry["response"]["content"]
    if content.get("encoding") == "base64":
        return base64.b64decode(content["text"])
    return content["text"].encode()


def _is_connect(request: bytes) -> bool:
    return request.startswith(b"CONNECT ")


def test_saz_is_laid_out_as_fiddler_writes_it() -> None:
    sessions = _saz_sessions()
    with _saz() as zf:
        names = zf.namelist()
        assert zf.comment.startswith(b"Fiddler (v5.") and b"Session Archive" in zf.comment
        assert len({i.date_time for i in zf.infolist()}) == 1
    width = len(str(len(sessions)))
    expected = ["raw/"]
    for sid in range(1, len(sessions) + 1):
        expected += [f"raw/{sid:0{width}d}_{k}" for k in ("c.txt", "m.xml", "s.txt")]
    assert names == [*expected, "[Content_Types].xml", "_index.htm"]
    entries = _har_entries()
    https_conns = {e["connection"] for e in entries if e["request"]["url"].startswith("https:")}
    assert len(sessions) == len(entries) + len(https_conns)  # one CONNECT per tunnel
    for _, _, root in sessions:
        timers = root.find("SessionTimers")
        assert timers is not None and timers.get("ClientBeginRequest", "").endswith("+08:00")
        assert _flags(root)["x-hostip"] == FRONT_IP


def test_saz_requests_match_the_har_entry_by_entry() -> None:
    exchanges = [s for s in _saz_sessions() if not _is_connect(s[0])]
    entries = _har_entries()
    assert len(exchanges) == len(entries)
    for (request, response, root), entry in zip(exchanges, entries, strict=True):
        line, headers, body = _split_http(request)
        method, target, version = line.split(" ")
        url = urlsplit(target)  # Fiddler writes absolute URLs, https ones too once decrypted
        har_url = urlsplit(entry["request"]["url"])
        assert (method, url.scheme, url.hostname, url.port, url.path, url.query) == (
            entry["request"]["method"], har_url.scheme, har_url.hostname, har_url.port,
            har_url.path, har_url.query,
        )  # fmt: skip
        assert version == "HTTP/1.1" and headers["host"] == url.netloc
        assert body == entry["request"]["postData"]["text"].encode()
        status = _split_http(response)[0].split(" ", 2)
        assert int(status[1]) == entry["response"]["status"]
        timers = root.find("SessionTimers")
        assert timers is not None
        begin = datetime.fromisoformat(timers.get("ClientBeginRequest", ""))
        done = datetime.fromisoformat(timers.get("ClientDoneResponse", ""))
        started = datetime.fromisoformat(entry["startedDateTime"])
        assert begin == started
        assert done - begin == timedelta(milliseconds=entry["time"])
        flags = _flags(root)
        assert flags["x-clientip"].removeprefix("::ffff:") == "192.168.1.23"
        assert f"ClientPort:{flags['x-clientport']};" in entry["connection"]


def test_saz_response_bodies_decode_to_the_har_bodies() -> None:
    exchanges = [s for s in _saz_sessions() if not _is_connect(s[0])]
    encoded = 0
    for (_, response, root), entry in zip(exchanges, _har_entries(), strict=True):
        _, headers, body = _split_http(response)
        transfer = _flags(root)["x-responsebodytransferlength"]
        assert int(transfer.replace(",", "")) == len(body) == entry["response"]["bodySize"]
        assert _decoded_body(headers, body) == _har_body(entry)
        if "transfer-encoding" in headers or "content-encoding" in headers:
            encoded += 1
            assert body != _har_body(entry), "stored as transferred, not decoded"
    assert encoded >= 1, "at least one response must need decoding"


def test_saz_connect_tunnel_precedes_the_decrypted_sessions() -> None:
    sessions = _saz_sessions()
    first_https = next(
        i for i, (req, _, _) in enumerate(sessions) if req.startswith(b"GET https://")
    )
    request, response, root = sessions[first_https - 1]
    assert request.startswith(b"CONNECT login.hnzwfw.gov.cn:443 HTTP/1.1\r\n")
    assert b"server_name\tlogin.hnzwfw.gov.cn" in request  # Fiddler's ClientHello reading
    assert response.startswith(b"HTTP/1.1 200 Connection Established\r\n")
    assert int(root.get("BitFlags", "0"), 16) & 0x2000, "a decrypting tunnel"
    assert root.find("TunnelInfo") is not None
    assert _flags(root)["https-client-snihostname"] == "login.hnzwfw.gov.cn"
    for req, _, meta in sessions[first_https:]:
        if req.startswith(b"GET https://") or req.startswith(b"POST https://"):
            assert int(meta.get("BitFlags", "0"), 16) & 0x1, "IsHTTPS"
            assert _flags(meta)["x-serversocket"] == f"REUSE ServerPipe#{first_https}"


# --- the packet capture ---------------------------------------------------------------------

PHONE = "192.168.1.23"


def _ip(packed: bytes) -> str:
    return str(ipaddress.IPv4Address(packed))


@dataclass
class _Stream:
    """One TCP connection as the phone saw it."""

    segments: list[tuple[float, bool, dpkt.tcp.TCP]] = field(default_factory=list)
    """(time, sent by the phone, segment) in capture order."""

    def payloads(self, from_phone: bool) -> list[tuple[float, int, bytes]]:
        mine = [(t, s) for t, c, s in self.segments if c == from_phone and s.data]
        return [(t, s.seq, bytes(s.data)) for t, s in mine]

    def data(self, from_phone: bool) -> bytes:
        """The byte stream in one direction, checked contiguous from the ISN."""
        syn = next(s for _, c, s in self.segments if c == from_phone and s.flags & dpkt.tcp.TH_SYN)
        expected = (syn.seq + 1) & 0xFFFFFFFF
        out = b""
        for _, seq, payload in self.payloads(from_phone):
            assert seq == expected, "a gap or an overlap"
            out += payload
            expected = (expected + len(payload)) & 0xFFFFFFFF
        return out


def _pcap() -> list[tuple[float, dpkt.ethernet.Ethernet]]:
    with (HENAN / "app-session.pcap").open("rb") as fo:
        reader = dpkt.pcap.Reader(fo)
        assert reader.datalink() == dpkt.pcap.DLT_EN10MB
        return [(ts, dpkt.ethernet.Ethernet(buf)) for ts, buf in reader]


def _tcp_streams() -> dict[tuple[int, int], _Stream]:
    """(phone port, server port) -> its stream."""
    streams: dict[tuple[int, int], _Stream] = {}
    for ts, eth in _pcap():
        ip = eth.data
        if isinstance(ip.data, dpkt.tcp.TCP):
            seg = ip.data
            outgoing = _ip(ip.src) == PHONE
            key = (seg.sport, seg.dport) if outgoing else (seg.dport, seg.sport)
            streams.setdefault(key, _Stream()).segments.append((ts, outgoing, seg))
    return streams


def _dns_messages() -> list[tuple[float, dns.message.Message]]:
    out = []
    for ts, eth in _pcap():
        if isinstance(eth.data.data, dpkt.udp.UDP):
            udp = eth.data.data
            assert 53 in (udp.sport, udp.dport)
            out.append((ts, dns.message.from_wire(bytes(udp.data))))
    return out


def _http_requests(stream: bytes) -> list[tuple[str, dict[str, str], bytes]]:
    out = []
    while stream:
        line, headers, rest = _split_http(stream)
        size = int(headers.get("content-length", "0"))
        out.append((line, headers, rest[:size]))
        stream = rest[size:]
    return out


def test_dpkt_reads_every_frame_of_the_pcap() -> None:
    with (HENAN / "app-session.pcap").open("rb") as fo:
        magic = fo.read(4)
    assert magic == b"\xd4\xc3\xb2\xa1", "classic pcap, little-endian, microseconds"
    frames = _pcap()
    assert len(frames) > 50
    times = [ts for ts, _ in frames]
    assert times == sorted(times)
    seen = set()
    for _, eth in frames:
        ip = eth.data
        assert isinstance(ip, dpkt.ip.IP) and isinstance(ip.data, dpkt.tcp.TCP | dpkt.udp.UDP)
        seen |= {_ip(ip.src), _ip(ip.dst)}
        # The checksums dpkt computes when it packs again equal the stored ones.
        stored = (ip.sum, ip.data.sum)
        ip.sum = ip.data.sum = 0
        again = dpkt.ip.IP(bytes(ip))
        assert (again.sum, again.data.sum) == stored
    assert seen == {PHONE, "192.168.1.1", FRONT_IP}


def test_pcap_dns_answers_give_the_same_chains_as_the_dig_file() -> None:
    dig = {
        question: {tuple(line.split(None, 4)) for line in lines}
        for question, lines, _ in _dig_answers()
    }
    answers = [m for _, m in _dns_messages() if m.flags & dns.flags.QR]
    assert {m.question[0].name.to_text() for m in answers} == {
        "yshb.hnzwfw.gov.cn.",
        "login.hnzwfw.gov.cn.",
    }
    for message in answers:
        assert not message.authority and not message.additional
        records = {
            (rrset.name.to_text(), str(rrset.ttl), "IN", dns.rdatatype.to_text(rrset.rdtype),
             rdata.to_text())
            for rrset in message.answer for rdata in rrset
        }  # fmt: skip
        assert records == dig[message.question[0].name.to_text()]
    chain = next(m for m in answers if m.question[0].name.to_text().startswith("yshb"))
    assert [dns.rdatatype.to_text(r.rdtype) for r in chain.answer] == ["CNAME", "A"]


def test_pcap_tcp_connections_open_and_close_with_consistent_numbers() -> None:
    streams = _tcp_streams()
    assert {port for _, port in streams} == {7777, 443}
    for key, stream in streams.items():
        (_, c0, syn), (_, c1, syn_ack), (_, c2, ack) = stream.segments[:3]
        assert (c0, c1, c2) == (True, False, True), key
        assert syn.flags == dpkt.tcp.TH_SYN
        assert syn_ack.flags == dpkt.tcp.TH_SYN | dpkt.tcp.TH_ACK
        assert syn_ack.ack == syn.seq + 1 and ack.ack == syn_ack.seq + 1
        stream.data(True), stream.data(False)  # contiguous both ways
        fins = [c for _, c, s in stream.segments if s.flags & dpkt.tcp.TH_FIN]
        assert fins == [False, True], "the front closes, then the phone"
        last_ack = stream.segments[-1][2]
        assert last_ack.flags == dpkt.tcp.TH_ACK


def test_pcap_http_on_7777_reassembles_to_the_har_requests() -> None:
    entries = [e for e in _har_entries() if urlsplit(e["request"]["url"]).port == 7777]
    found = []
    for (_, port), stream in _tcp_streams().items():
        if port != 7777:
            continue
        times = [t for t, _, _ in stream.payloads(True)]
        for when, (line, headers, body) in zip(times, _http_requests(stream.data(True)),
                                               strict=True):  # fmt: skip
            method, target, version = line.split(" ")
            assert target.startswith("/"), "origin-form: no proxy in this capture"
            found.append((when, f"{method} http://{headers['host']}{target} {version}", body))
    found.sort()
    assert [f[1] for f in found] == [
        f"{e['request']['method']} {e['request']['url']} HTTP/1.1" for e in entries
    ]
    for (when, _, body), entry in zip(found, entries, strict=True):
        started = datetime.fromisoformat(entry["startedDateTime"]).timestamp()
        assert when == pytest.approx(started + entry["timings"]["connect"] / 1000, abs=1e-6)
        assert body == entry["request"]["postData"]["text"].encode()


def test_pcap_responses_on_7777_are_the_saz_responses_and_one_is_split() -> None:
    saz_by_port: dict[str, list[bytes]] = {}
    for request, response, root in _saz_sessions():
        if request.startswith((b"GET http://", b"POST http://")):
            saz_by_port.setdefault(_flags(root)["x-clientport"], []).append(response)
    split = 0
    for (phone_port, port), stream in _tcp_streams().items():
        if port == 7777:
            assert stream.data(False) == b"".join(saz_by_port[str(phone_port)])
            for _, _, payload in stream.payloads(False):
                if payload.startswith(b"HTTP/1.1 ") and b"Transfer-Encoding: chunked" in payload:
                    split += not payload.endswith(b"0\r\n\r\n")
    assert split >= 1, "a response must span two segments"


def _tls_records(stream: bytes) -> list[tuple[int, int, bytes]]:
    out = []
    while stream:
        kind, version, size = struct.unpack(">BHH", stream[:5])
        out.append((kind, version, stream[5 : 5 + size]))
        stream = stream[5 + size :]
    return out


def _client_hello_sni(handshake: bytes) -> str:
    """Walk a ClientHello (RFC 5246 7.4.1.2) to its server_name extension (RFC 6066 3)."""
    assert handshake[0] == 1
    body = handshake[4 : 4 + int.from_bytes(handshake[1:4], "big")]
    at = 2 + 32
    at += 1 + body[at]  # session id
    at += 2 + int.from_bytes(body[at : at + 2], "big")  # cipher suites
    at += 1 + body[at]  # compression methods
    end = at + 2 + int.from_bytes(body[at : at + 2], "big")
    at += 2
    while at < end:
        ext, size = struct.unpack(">HH", body[at : at + 4])
        data = body[at + 4 : at + 4 + size]
        if ext == 0:
            assert data[2] == 0  # host_name
            return data[5 : 5 + int.from_bytes(data[3:5], "big")].decode("ascii")
        at += 4 + size
    raise AssertionError("no server_name extension")


def test_pcap_client_hello_is_split_over_two_segments_and_carries_the_sni() -> None:
    [stream] = [s for (_, port), s in _tcp_streams().items() if port == 443]
    first, second = [payload for _, _, payload in stream.payloads(True)][:2]
    sni = b"login.hnzwfw.gov.cn"
    assert sni not in first and sni not in second
    hello = first + second
    assert sni in hello
    [(kind, version, handshake)] = _tls_records(hello)
    assert (kind, version) == (22, 0x0301)
    assert handshake[4:6] == b"\x03\x03", "client_version TLS 1.2"
    assert _client_hello_sni(handshake) == "login.hnzwfw.gov.cn"


def test_pcap_certificate_is_self_signed_and_the_one_fiddler_reports() -> None:
    [stream] = [s for (_, port), s in _tcp_streams().items() if port == 443]
    messages = [body for kind, _, body in _tls_records(stream.data(False)) if kind == 22]
    certificate = next(m for m in messages if m[0] == 11)
    first_len = int.from_bytes(certificate[7:10], "big")
    cert = x509.load_der_x509_certificate(certificate[10 : 10 + first_len])
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert cn == "login.hnzwfw.gov.cn" and cert.issuer == cert.subject
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["login.hnzwfw.gov.cn"]
    public = cert.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(),
                  cert.signature_hash_algorithm)  # fmt: skip
    thumbprint = hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    connect = next(resp for req, resp, _ in _saz_sessions() if _is_connect(req))
    assert f"[Thumbprint]\r\n  {thumbprint.upper()}\r\n".encode() in connect
    # The https exchanges are opaque: application data only, no path in clear.
    client_stream = stream.data(True)
    assert b"/login/" not in client_stream and b"/login/" not in stream.data(False)
    kinds = [kind for kind, _, _ in _tls_records(client_stream)]
    https = [e for e in _har_entries() if e["request"]["url"].startswith("https:")]
    assert kinds.count(23) == len(https)
