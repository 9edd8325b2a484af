"""The HAR reader streams: what it holds does not grow with the number of entries.

Python's own allocations are traced (tracemalloc) while every item is read and
dropped, for a file of 4,000 entries (~1.6 MB, more than one 1 MiB read) and one
of 16,000 (~6.3 MB): the peak must stay within the read buffer and a few
entries, the same for both.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from hostmap.ingest import har
from hostmap.model import HttpExchange

ENTRY = ('{"startedDateTime": "2024-01-01T00:00:00Z", "serverIPAddress": "192.0.2.%d", '
         '"request": {"method": "GET", "url": "https://h%d.example/p?q=%d", "headers": '
         '[{"name": "User-Agent", "value": "test"}, {"name": "Accept", "value": "*/*"}]}, '
         '"response": {"status": 200, "headers": [{"name": "Server", "value": "x"}], '
         '"content": {"mimeType": "text/html", "text": "<a href=\\"https://b%d.example/\\">"}}}')


def _write(path: Path, count: int) -> Path:
    with path.open("w", encoding="utf-8") as out:
        out.write('{"log": {"version": "1.2", "entries": [\n')
        out.write(",\n".join(ENTRY % (i % 250, i % 500, i, i % 50) for i in range(count)))
        out.write("\n]}}\n")
    return path


def _peak_while_reading(path: Path) -> tuple[int, int]:
    tracemalloc.start()
    try:
        count = sum(isinstance(item, HttpExchange) for item in har.reader.read(path))
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_reading_four_times_the_entries_holds_no_more(tmp_path: Path) -> None:
    small, small_peak = _peak_while_reading(_write(tmp_path / "small.har", 4_000))
    large, large_peak = _peak_while_reading(_write(tmp_path / "large.har", 16_000))
    assert (small, large) == (4_000, 16_000)
    assert large_peak < 8 * 2**20  # a 1 MiB buffer of text (up to 4 bytes a character), caches
    assert large_peak < small_peak * 1.5 + 2**20  # holding every entry: tens of MB
