"""The embedded store: observations in DuckDB tables, loaded in batches.

Readers stream records; `Store.add` buffers them and writes each table in
batches of columns (NumPy object arrays, which DuckDB scans directly: neither
pandas nor Arrow is loaded), so a ten-million-row input never sits in Python
lists.  The
analyses are SQL queries over these tables (documented in the README):

    inputs        one row per input file: path, format, sha256, records, errors
    http          one row per HttpExchange
    reference     host names an exchange points at (redirect Location, URLs in bodies)
    resolution    one row per Resolution (name, rtype, value, first/last seen, source)
    address_info  one row per AddressInfo (address range -> ASN, operator, place)
    certificate   one row per Certificate
    issue         one row per ReadIssue

Every observation row carries `file`, `format` and `locator`: its provenance.
Addresses are also kept as numbers (`addr_num`, `start_num`/`end_num`,
UHUGEINT) so range look-ups are joins, IPv4 and IPv6 alike.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import json
import os
import shutil
import tempfile
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
import numpy as np

from hostmap.hostnames import normalize_hostname
from hostmap.model import (
    AddressInfo,
    Certificate,
    HttpExchange,
    Observation,
    ReadIssue,
    RecordType,
    Resolution,
)

__all__ = ["BATCH_ROWS", "MEMORY_LIMIT", "STREAM_MEMORY_LIMIT", "Store", "file_sha256"]

BATCH_ROWS = 5_000
"""Rows buffered per table before a batch is written."""

_PROVENANCE = [("input_id", "INTEGER"), ("file", "VARCHAR"), ("format", "VARCHAR"),
               ("locator", "VARCHAR")]

_TABLES: dict[str, list[tuple[str, str]]] = {
    "inputs": [("input_id", "INTEGER"), ("path", "VARCHAR"), ("format", "VARCHAR"),
               ("sha256", "VARCHAR"), ("records", "BIGINT"), ("errors", "BIGINT"),
               ("warnings", "BIGINT")],
    "http": _PROVENANCE + [
        ("time", "TIMESTAMPTZ"), ("scheme", "VARCHAR"), ("host", "VARCHAR"), ("port", "INTEGER"),
        ("method", "VARCHAR"), ("path", "VARCHAR"), ("status", "INTEGER"),
        ("server_address", "VARCHAR"), ("sni", "VARCHAR"), ("redirect_url", "VARCHAR"),
        ("request_headers", "VARCHAR"), ("response_headers", "VARCHAR")],
    "reference": _PROVENANCE + [
        ("from_host", "VARCHAR"), ("kind", "VARCHAR"), ("url", "VARCHAR"), ("scheme", "VARCHAR"),
        ("host", "VARCHAR"), ("port", "INTEGER")],
    "resolution": _PROVENANCE + [
        ("name", "VARCHAR"), ("rtype", "VARCHAR"), ("value", "VARCHAR"),
        ("addr_num", "UHUGEINT"), ("source", "VARCHAR"), ("first_seen", "TIMESTAMPTZ"),
        ("last_seen", "TIMESTAMPTZ"), ("count", "BIGINT"), ("raw_type", "VARCHAR")],
    "address_info": _PROVENANCE + [
        ("range_start", "VARCHAR"), ("range_end", "VARCHAR"), ("start_num", "UHUGEINT"),
        ("end_num", "UHUGEINT"), ("family", "INTEGER"), ("asn", "BIGINT"),
        ("operator", "VARCHAR"), ("country", "VARCHAR"), ("region", "VARCHAR"),
        ("city", "VARCHAR")],
    "certificate": _PROVENANCE + [
        ("host", "VARCHAR"), ("port", "INTEGER"), ("address", "VARCHAR"),
        ("fingerprint_sha256", "VARCHAR"), ("subject", "VARCHAR"), ("issuer", "VARCHAR"),
        ("sans", "VARCHAR[]"), ("not_before", "TIMESTAMPTZ"), ("not_after", "TIMESTAMPTZ"),
        ("time", "TIMESTAMPTZ")],
    "issue": _PROVENANCE + [("severity", "VARCHAR"), ("message", "VARCHAR")],
}

_INT_RANGES = {"INTEGER": (-(2**31), 2**31 - 1), "BIGINT": (-(2**63), 2**63 - 1)}


def _column(values: list[Any], kind: str) -> np.ndarray:
    """One column as a NumPy object array for DuckDB to scan; an integer out of its
    column's range (an 18-digit status from hostile input) is stored as NULL instead
    of failing the whole batch."""
    bounds = _INT_RANGES.get(kind)
    if bounds is not None:
        low, high = bounds
        numbers = [v for v in values if v is not None]
        if numbers and (min(numbers) < low or max(numbers) > high):
            values = [v if v is None or low <= v <= high else None for v in values]
    # fromiter keeps each value one object (a list of names stays one cell).
    return np.fromiter(values, dtype=object, count=len(values))


def _out_of_memory(exc: duckdb.Error) -> bool:
    """DuckDB ran out of its pool: while running the statement, or pinning a block to
    commit it (a TransactionException; the statement is rolled back either way)."""
    return isinstance(exc, duckdb.OutOfMemoryException) or "pin block" in str(exc) \
        or "Out of Memory" in str(exc)


_SPILL_PREFIX = "hostmap-store-"


def _spill_folder() -> str:
    """A new private folder for DuckDB to spill to, named after this process.

    A process killed before it could remove its folder (SIGKILL, the OOM killer)
    leaves it behind, possibly gigabytes: folders of ours whose process no longer
    runs are removed first.
    """
    for old in Path(tempfile.gettempdir()).glob(f"{_SPILL_PREFIX}*-*"):
        pid = old.name.removeprefix(_SPILL_PREFIX).split("-", 1)[0]
        try:
            mine = old.is_dir() and old.stat().st_uid == os.getuid()
        except OSError:
            continue
        if mine and pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    return tempfile.mkdtemp(prefix=f"{_SPILL_PREFIX}{os.getpid()}-")


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's
    return True


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's content, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@functools.lru_cache(maxsize=1 << 16)
def _addr_num(text: str | None) -> str | None:
    """An address as its number in decimal text (None if not an address); memoised:
    a capture or a DNS export names the same addresses again and again."""
    if text is None:
        return None
    try:
        return str(int(ipaddress.ip_address(text)))
    except ValueError:
        return None


_JSON = json.JSONEncoder(ensure_ascii=False)
"""One encoder for every row (json.dumps with options builds a new one per call)."""


_PAIR_JSON: dict[tuple[str, str], str] = {}
"""A header pair -> its JSON text; cleared when it holds `_PAIR_MEMO` pairs."""
_PAIR_MEMO = 1 << 14


def _headers_json(headers: Sequence[tuple[str, str]]) -> str | None:
    """Headers as a JSON list of [name, value] pairs, exactly as `_JSON.encode(headers)`
    writes them; each pair's text is memoised (a capture repeats most of its headers)."""
    if not headers:
        return None
    texts = []
    try:
        for pair in headers:
            text = _PAIR_JSON.get(pair)
            if text is None:
                if len(_PAIR_JSON) >= _PAIR_MEMO:
                    _PAIR_JSON.clear()
                text = _PAIR_JSON[pair] = _JSON.encode(pair)
            texts.append(text)
    except TypeError:  # a pair that is not a tuple (unhashable)
        return _JSON.encode(headers)
    return "[" + ", ".join(texts) + "]"


MEMORY_LIMIT = "512MB"
"""DuckDB's buffer pool for one store: past it, table data and query state spill to a
temporary folder, so a ten-million-row input does not grow the process."""

STREAM_MEMORY_LIMIT = "16MB"
"""DuckDB's buffer pool while a reader's rows stream in from Python (`Store.streaming`):
inserting a batch needs little, so the table data written so far goes to the spill
folder instead of growing the process with the input."""


class Store:
    """A DuckDB database of observations (in memory unless a path is given).

    Either way DuckDB holds at most `memory_limit` (default `MEMORY_LIMIT`), and
    `stream_memory_limit` while a reader's rows come in (`streaming`), and spills
    the rest: an in-memory store to a private temporary folder, removed on `close`;
    a database file to DuckDB's own `<file>.tmp`.
    """

    def __init__(self, path: Path | None = None, *, memory_limit: str = MEMORY_LIMIT,
                 stream_memory_limit: str = STREAM_MEMORY_LIMIT) -> None:
        self.path = path
        self.memory_limit = memory_limit
        self.stream_memory_limit = stream_memory_limit
        self._streaming = False
        self._cleanup: weakref.finalize | None = None
        self.con = duckdb.connect(str(path) if path else ":memory:")
        self.con.execute("SET TimeZone = 'UTC'")
        self._set_memory_limit(memory_limit)
        if path is None:
            spill = _spill_folder()
            # Removed on close, or when the store is collected or the process exits.
            self._cleanup = weakref.finalize(self, shutil.rmtree, spill, ignore_errors=True)
            self.con.execute("SET temp_directory = ?", [spill])
        for table, columns in _TABLES.items():
            cols = ", ".join(f"{name} {kind}" for name, kind in columns)
            self.con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({cols})")
        self._buffers: dict[str, list[tuple[Any, ...]]] = {t: [] for t in _TABLES}
        row = self.con.execute("SELECT coalesce(max(input_id), 0) FROM inputs").fetchone()
        self._next_input = (row[0] if row else 0) + 1
        self.lookups: list[tuple[int, Any]] = []
        """Open address databases (input id, AddressLookup), asked by the operators analysis."""

    def add_lookup(self, input_id: int, lookup: Any) -> None:
        """Keep an open address database for look-ups (closed with the store)."""
        self.lookups.append((input_id, lookup))

    # -- loading -------------------------------------------------------------

    @contextmanager
    def streaming(self) -> Iterator[None]:
        """While rows come in through `add`: DuckDB keeps at most `stream_memory_limit`
        in memory (bulk loads and queries get the whole `memory_limit` back)."""
        self._streaming = True
        self._set_memory_limit(self.stream_memory_limit)
        try:
            yield
        finally:
            self._streaming = False
            self._set_memory_limit(self.memory_limit)

    def _set_memory_limit(self, limit: str) -> None:
        self.con.execute("SET memory_limit = ?", [limit])

    def has_input(self, sha256: str) -> bool:
        """True if a file with this content is already loaded (a persistent --db)."""
        row = self.con.execute("SELECT count(*) FROM inputs WHERE sha256 = ?", [sha256]).fetchone()
        return bool(row and row[0])

    def begin_input(self) -> int:
        """Reserve an input id for the file about to be read."""
        input_id = self._next_input
        self._next_input += 1
        return input_id

    def end_input(self, input_id: int, *, path: str, format: str | None, sha256: str | None,
                  records: int, errors: int, warnings: int) -> None:
        """Record one input file's summary (after its records are added)."""
        self._buffers["inputs"].append(
            (input_id, path, format, sha256, records, errors, warnings))
        self.flush()

    def add(self, input_id: int, item: Observation | ReadIssue) -> None:
        """Buffer one observation or issue; writes a batch when a buffer fills."""
        p = item.provenance
        base = (input_id, p.file, p.format, p.locator)
        match item:
            case HttpExchange():
                self._put("http", base + (
                    item.time, item.scheme, item.host, item.port, item.method, item.path,
                    item.status, item.server_address, item.sni, item.redirect_url,
                    _headers_json(item.request_headers), _headers_json(item.response_headers)))
                if item.redirect_url:
                    self._add_reference(base, item.host, "redirect", item.redirect_url)
                for url in item.body_urls:
                    self._add_reference(base, item.host, "body", url)
            case Resolution():
                num = _addr_num(item.value) if item.rtype in (RecordType.A, RecordType.AAAA) \
                    else None
                self._put("resolution", base + (
                    item.name, str(item.rtype), item.value, num, str(item.source),
                    item.first_seen, item.last_seen, item.count, item.raw_type))
            case AddressInfo():
                self._put("address_info", base + (
                    item.range_start, item.range_end, _addr_num(item.range_start),
                    _addr_num(item.range_end), ipaddress.ip_address(item.range_start).version,
                    item.asn, item.operator, item.country, item.region, item.city))
            case Certificate():
                self._put("certificate", base + (
                    item.host, item.port, item.address, item.fingerprint_sha256, item.subject,
                    item.issuer, list(item.sans), item.not_before, item.not_after, item.time))
            case ReadIssue():
                self._put("issue", base + (str(item.severity), item.message))

    def _add_reference(self, base: tuple[Any, ...], from_host: str, kind: str, url: str) -> None:
        try:
            parts = urlsplit(url)
            host = normalize_hostname(parts.hostname or "")
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return  # not a URL we can place; the exchange itself is kept
        if host:
            self._put("reference", base + (from_host, kind, url, parts.scheme, host, port))

    def _put(self, table: str, row: tuple[Any, ...]) -> None:
        buffer = self._buffers[table]
        buffer.append(row)
        if len(buffer) >= BATCH_ROWS:
            self._flush_table(table)

    def flush(self) -> None:
        """Write every buffered row."""
        for table in _TABLES:
            self._flush_table(table)

    def _flush_table(self, table: str) -> None:
        rows = self._buffers[table]
        if not rows:
            return
        columns = _TABLES[table]
        batch = {name: _column(list(values), kind)  # noqa: F841 (scanned by the SQL below)
                 for (name, kind), values in zip(columns, zip(*rows, strict=True), strict=True)}
        # Addresses travel as decimal text (no NumPy type holds 128 bits) and are cast here.
        select = ", ".join(f"{name}::UHUGEINT" if kind == "UHUGEINT" else name
                           for name, kind in columns)
        insert = f"INSERT INTO {table} SELECT {select} FROM batch"
        try:
            self.con.execute(insert)
        except duckdb.Error as exc:
            if not (self._streaming and _out_of_memory(exc)):
                raise
            # A batch the small pool cannot take (very long values): the failed insert
            # left nothing behind, and this one gets the whole limit.
            self._set_memory_limit(self.memory_limit)
            try:
                self.con.execute(insert)
            finally:
                self._set_memory_limit(self.stream_memory_limit)
        rows.clear()

    def append_database(self, path: Path, input_id: int, *, locator_prefix: str = "",
                        shift: int = 0) -> None:
        """Append every observation and issue of another store's database file (one
        written by a worker process reading part of a file) as `input_id`'s, in its order.

        With `shift`, locators "<locator_prefix>N" become "<locator_prefix>N+shift" (a
        part whose records were numbered from 0).  Its `inputs` table is left out: the
        file's summary is the caller's.
        """
        self.flush()
        alias = f"hostmap_part_{os.getpid()}"
        n = len(locator_prefix)
        locator = ("CASE WHEN starts_with(locator, $prefix) "
                   f"AND regexp_full_match(substr(locator, {n + 1}), '[0-9]+') "
                   f"THEN $prefix || (substr(locator, {n + 1})::HUGEINT + $shift)::VARCHAR "
                   "ELSE locator END") if shift else "locator"
        self.con.execute(f"ATTACH ? AS {alias} (READ_ONLY)", [str(path)])
        try:
            for table in _TABLES:
                if table != "inputs":
                    self.con.execute(
                        f"INSERT INTO {table} SELECT * REPLACE (CAST($input AS INTEGER) AS "
                        f"input_id, {locator} AS locator) FROM {alias}.{table}",
                        {"input": input_id, "prefix": locator_prefix, "shift": shift}
                        if shift else {"input": input_id})
        finally:
            self.con.execute(f"DETACH {alias}")

    # -- exporting -------------------------------------------------------------

    TABLES = tuple(_TABLES)
    """The documented tables, in the order above."""

    def export_parquet(self, folder: Path) -> list[Path]:
        """Write every table as `<folder>/<table>.parquet` (for Spark and other engines)."""
        self.flush()
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for table in _TABLES:
            target = folder / f"{table}.parquet"
            # UHUGEINT has no Parquet type: numbers leave as decimal text, readable anywhere.
            columns = ", ".join(f"{name}::VARCHAR AS {name}" if kind == "UHUGEINT" else name
                                for name, kind in _TABLES[table])
            self.con.execute(f"COPY (SELECT {columns} FROM {table}) TO ? (FORMAT parquet)",
                             [str(target)])
            written.append(target)
        return written

    # -- querying --------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        """Run SQL and return rows as dicts (column name -> value)."""
        self.flush()
        cursor = self.con.execute(sql, params)
        names = [d[0] for d in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def stream(self, sql: str, params: Sequence[Any] | dict[str, Any] = (), *,
               batch: int = 10_000) -> Iterator[dict[str, Any]]:
        """`query`, a batch of rows at a time: for results too large to hold in Python."""
        self.flush()
        cursor = self.con.cursor()  # its own: other queries may run while this one is read
        try:
            cursor.execute(sql, params)
            names = [d[0] for d in cursor.description or ()]
            while rows := cursor.fetchmany(batch):
                for row in rows:
                    yield dict(zip(names, row, strict=True))
        finally:
            cursor.close()

    def close(self) -> None:
        self.flush()
        for _, lookup in self.lookups:
            lookup.close()
        self.lookups.clear()
        self.con.close()
        if self._cleanup is not None:
            self._cleanup()
