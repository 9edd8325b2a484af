"""benchmarks/generate.py writes inputs hostmap reads, and the same bytes every time.

No timing here: the benchmarks themselves run outside the tests (benchmarks/run.py).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from hostmap.pipeline import load_paths
from hostmap.store import Store
from tests.conftest import REPO

GENERATE = REPO / "benchmarks" / "generate.py"
EXPECTED_FORMATS = {"pcap": "pcap", "har": "har", "mitm": "mitmproxy", "zone": "zone",
                    "pdns": "passive-dns"}


def _generate_twice(first: Path, second: Path) -> None:
    command = [sys.executable, str(GENERATE), "--size", "tiny", "--kind", "all", "--out"]
    runs = [subprocess.Popen([*command, str(out)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE) for out in (first, second)]
    for run in runs:
        _, err = run.communicate(timeout=300)
        assert run.returncode == 0, err.decode(errors="replace")


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_tiny_inputs_are_readable_and_deterministic(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    _generate_twice(first, second)

    assert _digests(first) == _digests(second)
    manifest = json.loads((first / "manifest.json").read_text())
    assert manifest["size"] == "tiny"
    assert set(manifest["inputs"]) == set(EXPECTED_FORMATS)

    for kind, entry in manifest["inputs"].items():
        assert entry["count"] == 1000, kind
        store = Store()
        try:
            [summary] = load_paths(store, [first / entry["file"]])
        finally:
            store.close()
        assert summary.format == EXPECTED_FORMATS[kind]
        assert summary.records > 0, kind
        assert summary.errors == 0, [str(i) for i in summary.issues]
