"""The sentences of the report (`analyze.findings`), as a reader takes them in."""

from __future__ import annotations

import json
from pathlib import Path

from hostmap.analyze import run_analyses
from hostmap.pipeline import load_paths
from hostmap.store import Store


def test_a_shared_address_names_each_host_once(tmp_path: Path) -> None:
    # with seven of nine hosts contacted, the sentence listed six of them twice
    hosts = [f"h{i}.share.example" for i in range(9)]
    entries = [{"startedDateTime": "2022-06-14T01:00:00Z",
                "request": {"method": "GET", "url": f"https://{host}/", "headers": []},
                "response": {"status": 200, "headers": [], "content": {}},
                "serverIPAddress": "198.51.100.7"} for host in hosts[:7]]
    (tmp_path / "s.har").write_text(json.dumps({"log": {"entries": entries}}))
    (tmp_path / "p.jsonl").write_text("".join(
        json.dumps({"rrname": host, "rrtype": "A", "rdata": ["198.51.100.7"],
                    "time_first": 1640000000, "time_last": 1660000000}) + "\n"
        for host in hosts))
    store = Store()
    try:
        load_paths(store, [tmp_path])
        report = run_analyses(store)
    finally:
        store.close()
    [text] = [f["text"] for f in report["findings"] if f["kind"] == "shared"]
    assert text.startswith("9 hosts share the address 198.51.100.7 at ")
    assert ", including the contacted h0.share.example, " in text
    assert text.endswith("and 1 more; the others: h7.share.example, h8.share.example.")
    assert all(text.count(host) <= 1 for host in hosts)
