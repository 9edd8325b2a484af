"""Fuzzing every reader: mutated fixture and corpus files give observations and issues, never an
exception.

For each reader in `hostmap.ingest.READERS`, the seeds are the small files
(at most 256 KiB) under tests/data/, captures/ and ../shared/corpus/ that
`detect_format` assigns to it.  Hypothesis picks a seed and applies one to
six mutations: flip bits of a byte; insert random bytes or tokens that break
parsers (quotes, brackets, a 5,000-deep '[' run, 18-digit numbers, terminal
escapes, CRLF pairs, NUL and 0xFF runs), also right after a delimiter where a
value starts; replace a run of digits with an extreme number; overwrite four
bytes with an extreme 32-bit value (binary lengths); delete a slice;
truncate; duplicate a slice elsewhere.  The mutated bytes are read with that reader
through `read_file`, the boundary the command line uses, and every item must
be an observation or a `ReadIssue`; any exception that escapes is a failure.
A reader that also offers `load_into` (a bulk load the pipeline calls
instead of `read`, outside read_file) gets the same input that way too.
A second test sniffs mutated seeds of every format with `detect_format`,
which must answer a reader or raise `UnknownFormat`.

    HOSTMAP_FUZZ_EXAMPLES=40 (default, for CI) .venv/bin/python -m pytest tests/fuzz
    HOSTMAP_FUZZ_EXAMPLES=5000 .venv/bin/python -m pytest tests/fuzz -p no:randomly  # longer run

Runs are derandomized (the same examples every time), so a failure seen in
CI reproduces locally; docs/fuzzing.md records what the longer runs found.
"""

from __future__ import annotations

import atexit
import functools
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hostmap.errors import UnknownFormat
from hostmap.ingest import READERS, Reader, detect_format, read_file
from hostmap.model import AddressInfo, Certificate, HttpExchange, ReadIssue, Resolution
from hostmap.store import Store
from tests.conftest import CAPTURES, CORPUS, REPO

hypothesis = pytest.importorskip(
    "hypothesis", reason="the fuzz tests need hypothesis (pip install hypothesis)")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

EXAMPLES = int(os.environ.get("HOSTMAP_FUZZ_EXAMPLES", "40"))
MAX_SEED_BYTES = 256 * 1024
SEED_FOLDERS = (REPO / "tests" / "data", CAPTURES, CORPUS)
OBSERVATIONS = (HttpExchange, Resolution, AddressInfo, Certificate)

TOKENS = (
    b'"', b"'", b"\\", b"{", b"}", b"[", b"]", b":", b",", b"\n", b"\r\n", b"\r\n\r\n", b"\t",
    b"\x00", b"\x00" * 8, b"\xff" * 8, b"\xef\xbb\xbf", b"\x1f\x8b", b"PK\x03\x04",
    b"[" * 5000, b"{\"a\":" * 64, b"999999999999999999", b"-1", b"0", b"1e400", b"NaN",
    b"\\ud800", b"\x1b]0;pwned\x07", b"\x1b[2J", b"<img src=x onerror=alert(1)>", b"..",
    b"CONNECT ", b"Content-Length: 999999999999\r\n", b"Transfer-Encoding: chunked\r\n",
    b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff", b"#fields\t", b"; <<>> DiG", b"$ORIGIN ",
)
"""Byte strings that often break parsers; `insert` draws from these half of the time."""

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much],
)

KNOWN_BUGS: dict[str, tuple[type[BaseException], str]] = {}
"""Reader format -> (exception, open bug) that the fuzz test tolerates for that reader.

An open bug has a deterministic, strict xfail test (tests/fuzz/test_fuzz_regressions.py); the fuzz
test lets that one exception type pass so it keeps looking for other bugs.
Remove an entry when its bug is fixed (the strict xfail turns XPASS then).
"""
MULTI_LINE_BUGS: dict[str, tuple[str, str]] = {}
"""Reader format -> (start of an issue message, open bug): a newline tolerated in that issue.

Like KNOWN_BUGS, for a bug with its own strict xfail test (tests/fuzz/test_fuzz_regressions.py).
"""
SNIFF_BUGS: tuple[type[BaseException], ...] = ()
"""Exceptions tolerated in detect_format (none open)."""


@functools.cache
def seeds_by_format() -> dict[str, tuple[Path, ...]]:
    """Small fixture and corpus files, grouped by the reader detect_format picks."""
    found: dict[str, list[Path]] = {}
    for folder in SEED_FOLDERS:
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if (not path.is_file() or path.suffix in (".md", ".py")
                    or path.stat().st_size > MAX_SEED_BYTES):
                continue
            try:
                reader = detect_format(path)
            except UnknownFormat:
                continue
            found.setdefault(reader.format, []).append(path)
    return {name: tuple(paths) for name, paths in found.items()}


@functools.cache
def _bytes(path: Path) -> bytes:
    return path.read_bytes()


@functools.cache
def _scratch() -> Path:
    path = Path(tempfile.mkdtemp(prefix="hostmap-fuzz-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


_BOUNDARY = re.compile(rb"[:,\[{\n= \t;<>]")
_NUMBER = re.compile(rb"\d+")
NUMBERS = (b"0", b"-1", b"65536", b"4294967296", b"999999999999999999", b"1e400", b"NaN",
           b"0x7fffffff", b"00000000000000000000001")
WORDS = (b"\xff\xff\xff\xff", b"\xf0\xff\xff\xff", b"\x7f\xff\xff\xff", b"\x00\x00\x00\x00",
         b"\x00\x00\x01\x00", b"\x00\x01\x00\x00")
"""Four bytes to write over a length, count or offset field in a binary format."""
ACTIONS = ("flip", "insert", "token", "token", "number", "word", "delete", "truncate",
           "duplicate")
"""Mutations, drawn uniformly (tokens at a boundary twice as often as the others)."""


class Mutant:
    """A mutated seed; its repr names the seed and the steps, not the (large) bytes."""

    __slots__ = ("seed", "data", "steps")

    def __init__(self, seed: str, data: bytes, steps: tuple[str, ...]) -> None:
        self.seed, self.data, self.steps = seed, data, steps

    def __repr__(self) -> str:
        return f"Mutant({self.seed!r}, {len(self.data)} bytes, steps={list(self.steps)})"


def _short(piece: bytes) -> str:
    return repr(piece) if len(piece) <= 24 else f"{piece[:12]!r}...({len(piece)} bytes)"


@st.composite
def mutated(draw: Callable[..., Any], seeds: tuple[Path, ...]) -> Mutant:
    """A seed file after one to six mutations.

    `token` inserts a parser-breaking token right after a delimiter (':', ',',
    '[', newline, space, ...), where a value starts; `number` replaces a run of
    digits (a length, a port, a time) with an extreme one; `word` overwrites
    four bytes with an extreme 32-bit value (binary lengths and counts).
    """
    seed = draw(st.sampled_from(seeds))
    data = bytearray(_bytes(seed))
    steps = []
    for _ in range(draw(st.integers(1, 6))):
        size = len(data)
        where = draw(st.integers(0, size))
        action = draw(st.sampled_from(ACTIONS))
        if action == "flip" and size:
            at, mask = min(where, size - 1), draw(st.integers(1, 255))
            data[at] ^= mask
            steps.append(f"flip {at} ^{mask:#x}")
        elif action == "insert":
            piece = draw(st.one_of(st.sampled_from(TOKENS), st.binary(min_size=1, max_size=16)))
            data[where:where] = piece
            steps.append(f"insert {where} {_short(piece)}")
        elif action == "token":
            starts = [m.end() for m in _BOUNDARY.finditer(data)] or [where]
            at = starts[draw(st.integers(0, len(starts) - 1))]
            piece = draw(st.sampled_from(TOKENS))
            data[at:at] = piece
            steps.append(f"insert {at} {_short(piece)}")
        elif action == "number":
            runs = list(_NUMBER.finditer(data))
            if runs:
                run = runs[draw(st.integers(0, len(runs) - 1))]
                piece = draw(st.sampled_from(NUMBERS))
                data[run.start():run.end()] = piece
                steps.append(f"number {run.start()}:{run.end()} {piece!r}")
        elif action == "word" and size >= 4:
            at = min(where, size - 4)
            piece = draw(st.one_of(st.sampled_from(WORDS), st.binary(min_size=4, max_size=4)))
            data[at:at + 4] = piece
            steps.append(f"word {at} {piece!r}")
        elif action == "delete":
            length = draw(st.integers(1, 64))
            del data[where:where + length]
            steps.append(f"delete {where}:{where + length}")
        elif action == "truncate":
            del data[where:]
            steps.append(f"truncate {where}")
        elif action == "duplicate" and size:
            start, length = draw(st.integers(0, size - 1)), draw(st.integers(1, 256))
            times = draw(st.integers(1, 8))
            data[where:where] = bytes(data[start:start + length]) * times
            steps.append(f"duplicate {start}:{start + length} x{times} at {where}")
    return Mutant(seed.name, bytes(data), tuple(steps))


def _write(name: str, data: bytes) -> Path:
    # Keep the seed's name: some readers take a hint (an address, a host) from it.
    folder = Path(tempfile.mkdtemp(dir=_scratch()))
    path = folder / name
    path.write_bytes(data)
    return path


def _check_reader(reader: Reader, name: str, data: bytes) -> None:
    path = _write(name, data)
    known = KNOWN_BUGS.get(reader.format)
    try:
        items = list(read_file(path, reader))
    except BaseException as exc:
        if known and isinstance(exc, known[0]):
            return  # an open bug with its own xfail test; keep looking for others
        raise
    finally:
        path.unlink()
        path.parent.rmdir()
    for item in items:
        assert isinstance(item, (*OBSERVATIONS, ReadIssue)), f"{reader.format} yielded {item!r}"
        if isinstance(item, ReadIssue):
            assert item.provenance.file == str(path)
            multi_line = MULTI_LINE_BUGS.get(reader.format)
            if multi_line and item.message.startswith(multi_line[0]):
                continue  # an open bug with its own xfail test
            assert "\n" not in item.message, f"a multi-line issue: {item.message!r}"


def _check_bulk_loader(reader: Reader, name: str, data: bytes) -> None:
    """A reader's `load_into` (the pipeline calls it instead of `read`) must not raise either."""
    load_into = getattr(reader, "load_into", None)
    if load_into is None:
        return
    path = _write(name, data)
    store = Store(None)
    known = KNOWN_BUGS.get(reader.format)
    try:
        _, issues = load_into(path, store, store.begin_input())
    except BaseException as exc:
        if known and (isinstance(exc, known[0]) or known[0].__name__ in str(exc)):
            return  # the same open bug, seen through DuckDB's UDF error
        raise
    finally:
        store.close()
        path.unlink()
        path.parent.rmdir()
    for issue in issues:
        assert isinstance(issue, ReadIssue), f"{reader.format}.load_into gave {issue!r}"


def test_every_reader_has_fuzz_seeds() -> None:
    missing = [r.format for r in READERS if not seeds_by_format().get(r.format)]
    assert not missing, f"no fixture or corpus file is detected as {missing}: add one to tests/data"


@pytest.mark.parametrize("reader", READERS, ids=lambda reader: reader.format)
def test_mutated_input_gives_only_observations_and_issues(reader: Reader) -> None:
    seeds = seeds_by_format().get(reader.format)
    if not seeds:
        pytest.fail(f"no seed files for {reader.format}")

    @FUZZ_SETTINGS
    @given(mutated(seeds))
    def fuzz(case: Mutant) -> None:
        _check_reader(reader, case.seed, case.data)
        _check_bulk_loader(reader, case.seed, case.data)

    fuzz()


def test_sniffing_mutated_files_answers_a_reader_or_unknown_format() -> None:
    every_seed = tuple(p for paths in seeds_by_format().values() for p in paths)

    @FUZZ_SETTINGS
    @given(mutated(every_seed))
    def fuzz(case: Mutant) -> None:
        path = _write(case.seed, case.data)
        try:
            detect_format(path)
        except (UnknownFormat, *SNIFF_BUGS):
            pass
        finally:
            path.unlink()
            path.parent.rmdir()

    fuzz()
