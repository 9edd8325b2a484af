"""The mitmproxy format as hostmap.ingest lists it: the sniffer, and reading on demand."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hostmap.ingest import mitmproxy_flows
from hostmap.ingest.mitmproxy_format import MitmproxyFlowsReader, reader
from tests.ingest.test_mitmproxy_flows import CORPUS_MITM

SNIFF_BYTES = 64 * 1024


@pytest.mark.parametrize("name", sorted(CORPUS_MITM))
def test_sniff_is_sure_of_every_corpus_flow_file(corpus_dir: Path, name: str) -> None:
    path = corpus_dir / "mitmproxy" / name
    data = path.read_bytes()
    assert reader.sniff(data[:SNIFF_BYTES], path) > 0.5
    assert reader.sniff(data[:64], path) > 0.5


def test_sniff_rejects_every_other_corpus_file(corpus_dir: Path) -> None:
    others = [p for p in sorted(corpus_dir.glob("*/*")) if p.parent.name != "mitmproxy"]
    assert any(p.parent.name == "har" for p in others)
    assert any(p.parent.name == "dig" for p in others)
    scores = {p.name: reader.sniff(p.read_bytes()[:SNIFF_BYTES], p) for p in others}
    assert {name: score for name, score in scores.items() if score > 0} == {}


def test_sniff_rejects_a_tnetstring_that_is_not_a_dict() -> None:
    assert reader.sniff(b"10:7:version,]", Path("x")) <= 0
    assert reader.sniff(b"14:7:version;1:7#}", Path("x")) == 1.0


def test_reader_describes_itself() -> None:
    assert isinstance(mitmproxy_flows.reader, MitmproxyFlowsReader)
    assert reader.format == "mitmproxy"
    assert ".mitm" in reader.suffixes
    assert reader.description and "\n" not in reader.description
    assert reader.signature and "\n" not in reader.signature


def test_mitmproxy_is_imported_only_when_a_flow_file_is_read() -> None:
    # Every other format goes without mitmproxy's ~15 MB import; a flow file still reads.
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from hostmap.pipeline import load_paths\n"
        "from hostmap.store import Store\n"
        "store = Store()\n"
        "folder = Path(sys.argv[1])\n"
        "[pcap] = load_paths(store, [folder / 'app-session.pcap'])\n"
        "before = 'mitmproxy' in sys.modules\n"
        "[flows] = load_paths(store, [folder / 'app-session.mitm'])\n"
        "print(pcap.records > 0, before, flows.records > 0, 'mitmproxy' in sys.modules)\n"
    )
    folder = Path(__file__).resolve().parents[2] / "captures" / "henan-2022"
    out = subprocess.run([sys.executable, "-c", script, str(folder)], capture_output=True,
                         text=True, timeout=120, check=True).stdout.split()
    assert out == ["True", "False", "True", "True"]
