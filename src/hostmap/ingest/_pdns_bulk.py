"""Passive-DNS COF JSON lines loaded by DuckDB itself (`PassiveDnsReader.load_into`).

The Python reader costs ~50 µs a row; here DuckDB reads the file (plain or
gzip) and one `INSERT INTO resolution SELECT ...` stores the rows, so a
ten-million-line export is loaded at the engine's speed.  The rows and issues
must be exactly those `PassiveDnsReader.read` gives, so the work is split:

- DuckDB's CSV reader yields each raw line (delimiter \\x01, no quoting, so a
  line is one value; an empty line is NULL) into a temporary table, on all
  threads and in file order; the row id numbers them: "line N" is the
  physical line number, blank lines included, as in the Python reader.  One
  pass over the file beforehand counts its lines and looks for a carriage
  return: DuckDB's reader would split lines there where Python does not, and
  it may leave out a line too long for it without an error (a gzip line
  inflating to a gigabyte), so a file holding a CR, or of which DuckDB read
  fewer lines than there are, is left to Python.
- One `json_transform` per line pulls the COF fields as JSON fragments.  A
  line is on the *fast path* only when SQL can prove it gives what Python
  gives: valid JSON with no duplicate COF key, no trailing comma and no bare
  nan/inf (DuckDB's parser accepts those, Python's does not), no "cond" key,
  string rrname/rrtype, rdata a string or a non-empty list of strings,
  times that are null/"", epoch integers (numbers or digit strings) or plain
  ISO 8601 seconds with Z/offset, last not before first, a count that is an
  integer or no number at all, names that are plain ASCII (lower-cased,
  one trailing dot dropped; others go through `normalize_hostname` in a
  small Python function), A/AAAA values in strict dotted-quad or
  hexadecimal IPv6 form (canonicalised in SQL, `addr_num` computed there),
  and no PTR on a reverse name.
- Every other line goes, inside the same statement, to a Python function
  that runs the reader's own per-line code (`json.loads`,
  `PassiveDnsReader._record`): its rows come back as a list, its issue is
  kept by line number.  So bad lines get the very messages, severities and
  locators of the Python path, in file order.
- Files the fast path does not suit at all -- one JSON document, a DNSDB SAF
  stream ({"cond": ...} lines), carriage returns, bytes that are not UTF-8,
  lines longer than DuckDB's limit, a damaged gzip stream -- are read by
  `PassiveDnsReader.read` whole, as before (rows via `Store.add`).

Rows keep file order (`preserve_insertion_order`).
"""

from __future__ import annotations

import contextlib
import gzip
import ipaddress
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from hostmap.hostnames import normalize_hostname
from hostmap.ingest._lines import GZIP_MAGIC, json_loads
from hostmap.model import Provenance, ReadIssue, RecordType, Resolution

if TYPE_CHECKING:
    from hostmap.ingest.passive_dns import PassiveDnsReader

__all__ = ["load_into"]

_BOM = b"\xef\xbb\xbf"
_CHUNK = 1 << 22

# COF keys whose repetition would make DuckDB (first wins) and Python (last wins) differ.
_KEYS = ("rrname", "rrtype", "rdata", "time_first", "time_last", "zone_time_first",
         "zone_time_last", "count", "obj", "cond")
# Lines DuckDB's JSON parser accepts but Python's may not, or may read otherwise:
# an escaped character (a key could hide behind it), a trailing comma, nan/inf,
# a "cond" key (DNSDB SAF), a COF key given twice.
_GUARD = "|".join([r"\\u", r",[ \t]*[\]}]", r"[:,\[][ \t]*-?[nNiI][aAnN]", '"cond"']
                  + [f'"{key}".*"{key}"' for key in _KEYS if key != "cond"])

_FIELDS = "{" + ",".join(f'"{key}":"JSON"' for key in _KEYS if key != "cond") + "}"

_ROW_TYPE = ("STRUCT(name VARCHAR, rtype VARCHAR, value VARCHAR, addr_num VARCHAR, "
             "first_seen TIMESTAMPTZ, last_seen TIMESTAMPTZ, count BIGINT, raw_type VARCHAR)[]")

_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"{_OCTET}(\.{_OCTET}){{3}}"
_H = "[0-9a-f]{1,4}"
_IPV6 = "|".join([
    f"({_H}:){{7}}{_H}", f"({_H}:){{1,7}}:", f"({_H}:){{1,6}}:{_H}",
    f"({_H}:){{1,5}}(:{_H}){{1,2}}", f"({_H}:){{1,4}}(:{_H}){{1,3}}",
    f"({_H}:){{1,3}}(:{_H}){{1,4}}", f"({_H}:){{1,2}}(:{_H}){{1,5}}",
    f"{_H}:(:{_H}){{1,6}}", f":((:{_H}){{1,7}}|:)",
])
_EPOCH = "[0-9]{1,11}"  # whole seconds up to year 5138: Python's range, exactly in a double
_ISO = (r'"(1[0-9]|[2-8][0-9]|9[0-8])[0-9]{2}-[0-9]{2}-[0-9]{2}[T ]([01][0-9]|2[0-3]):[0-5][0-9]'
        r':[0-5][0-9](Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?"')


class _NeedsPython(Exception):
    """The file is not one the bulk path reproduces exactly (e.g. a DNSDB SAF stream)."""


def load_into(reader: PassiveDnsReader, path: Path, store: Any,
              input_id: int) -> tuple[int, list[ReadIssue]]:
    """Store the rows `reader.read(path)` would give; return (rows stored, issues)."""
    store.flush()
    try:
        compressed, lines = _lines_file(path)
    except _NeedsPython:
        return _load_with_python(reader, path, store, input_id)
    loader = _BulkLoad(reader, path, store, input_id, compressed, lines)
    try:
        return loader.run()
    except (_NeedsPython, duckdb.Error, OSError, EOFError, zlib.error):
        with contextlib.suppress(duckdb.Error):
            store.con.execute("DELETE FROM resolution WHERE input_id = ?", [input_id])
        return _load_with_python(reader, path, store, input_id)


def _load_with_python(reader: PassiveDnsReader, path: Path, store: Any,
                      input_id: int) -> tuple[int, list[ReadIssue]]:
    """The normal path: `read_file(path, reader)` item by item into `Store.add`."""
    from hostmap.ingest import read_file  # the package imports this module's reader

    records, issues = 0, []
    with store.streaming():
        for item in read_file(path, reader):
            if isinstance(item, ReadIssue):
                issues.append(item)
            else:
                store.add(input_id, item)
                records += 1
        store.flush()
    return records, issues


def _open(path: Path, compressed: bool) -> Any:
    return gzip.open(path, "rb") if compressed else path.open("rb")


def _lines_file(path: Path) -> tuple[bool, int]:
    """(whether `path` is gzip, its number of lines); raises _NeedsPython unless it is
    plain COF lines.

    Mirrors the start of `PassiveDnsReader._read_stream`: the first non-blank
    line must be a JSON object (not an "input" document, not SAF).
    """
    with path.open("rb") as probe:
        compressed = probe.read(2) == GZIP_MAGIC
    try:
        with _open(path, compressed) as stream:
            first_line = b""
            for raw in stream:
                if raw.strip():
                    first_line = raw.removeprefix(_BOM)
                    break
        carriage_return, lines = _scan(path, compressed)
    except (OSError, EOFError, zlib.error) as exc:
        raise _NeedsPython from exc  # unreadable or damaged: the Python reader says how
    try:
        first = json_loads(first_line)
    except ValueError:
        raise _NeedsPython from None
    if not isinstance(first, dict) or isinstance(first.get("input"), list):
        raise _NeedsPython  # one JSON document
    if "cond" in first or isinstance(first.get("obj"), dict):
        raise _NeedsPython  # a DNSDB SAF stream: its conditions span lines
    if carriage_return:
        raise _NeedsPython
    return compressed, lines


def _scan(path: Path, compressed: bool) -> tuple[bool, int]:
    """(holds a CR, number of lines) of the uncompressed content, in one pass.

    DuckDB's CSV reader ends lines at a CR, and may leave out a line too long
    for it without a word (a gzip line inflating to a gigabyte): the number
    of lines it read must be this one.  Lines: the newlines, plus one for
    text after the last.
    """
    carriage_return, newlines, last = False, 0, b"\n"
    with _open(path, compressed) as stream:
        while chunk := stream.read(_CHUNK):
            carriage_return = carriage_return or b"\r" in chunk
            newlines += chunk.count(b"\n")
            last = chunk[-1:]
    return carriage_return, newlines + (last != b"\n")


def _tail(path: Path, compressed: bool) -> tuple[bool, int]:
    """(ends with a newline, number of newlines) of the uncompressed content.

    Only asked when the last issue is a JSON error (its wording depends on the newline).
    """
    if not compressed:
        with path.open("rb") as f:
            size = f.seek(0, 2)
            if size == 0:
                return True, 0
            f.seek(size - 1)
            if f.read(1) == b"\n":
                return True, 0
    newlines, last = 0, b"\n"
    with _open(path, compressed) as stream:
        while chunk := stream.read(_CHUNK):
            newlines += chunk.count(b"\n")
            last = chunk[-1:]
    return last == b"\n", newlines


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _fragment_string(frag: str) -> str:
    """SQL: the text of a JSON string fragment that holds no escape."""
    return f"substr({frag}, 2, length({frag}) - 2)"


def _is_plain_string(frag: str) -> str:
    return f"(starts_with({frag}, '\"') AND NOT contains({frag}, '\\'))"


def _time(frag: str) -> str:
    """SQL: a COF time fragment as TIMESTAMPTZ (NULL when absent, null or "").

    Only asked of fragments `_time_ok` accepts.
    """
    local = (f"strptime(concat(substr({frag}, 2, 10), 'T', substr({frag}, 13, 8)), "
             f"'%Y-%m-%dT%H:%M:%S')")
    offset_minutes = (f"(CASE WHEN length({frag}) = 27 THEN "
                      f"(CASE WHEN substr({frag}, 21, 1) = '-' THEN -1 ELSE 1 END) * "
                      f"(substr({frag}, 22, 2)::INTEGER * 60 + substr({frag}, 25, 2)::INTEGER) "
                      f"ELSE 0 END)")
    return (f"(CASE WHEN {frag} IS NULL OR {frag} = '\"\"' THEN NULL "
            f"WHEN NOT starts_with({frag}, '\"') THEN to_timestamp({frag}::BIGINT) "
            f"WHEN length({frag}) <= 13 THEN to_timestamp({_fragment_string(frag)}::BIGINT) "
            f"ELSE timezone('UTC', {local} - to_minutes({offset_minutes})) END)")


def _time_ok(frag: str) -> str:
    """SQL: the fragment is a time `_time` reads exactly as `parse_time` does.

    Absent, null or "": no time.  A JSON integer, or a string of digits: epoch
    seconds (up to 11 digits, non-negative).  A string in the strict ISO form
    'YYYY-MM-DD[T ]hh:mm:ss' with 'Z' or '+hh:mm' or nothing, a real date.
    """
    return (f"(CASE WHEN {frag} IS NULL OR {frag} = '\"\"' THEN true "
            f"WHEN NOT starts_with({frag}, '\"') THEN length({frag}) <= 11 "
            f"AND regexp_full_match({frag}, '{_EPOCH}') "
            f"WHEN length({frag}) <= 13 THEN regexp_full_match({frag}, '\"{_EPOCH}\"') "
            f"WHEN regexp_full_match({frag}, '{_ISO}') THEN try_strptime(concat(substr({frag}, 2, "
            f"10), 'T', substr({frag}, 13, 8)), '%Y-%m-%dT%H:%M:%S') IS NOT NULL "
            f"ELSE false END)")


def _name(text: str, udf: str) -> str:
    """SQL: `normalize_hostname(text)` -- in SQL for plain ASCII names, else in Python.

    Plain: ASCII, no bracket, colon or backslash, no white space at either end, not
    the root, not ending in two dots, not all digits and dots (an address),
    no 'xn--' (an A-label to decode).
    """
    lowered = f"lower(CASE WHEN ends_with({text}, '.') THEN left({text}, -1) ELSE {text} END)"
    plain = (f"(strlen({text}) = length({text}) AND {text} NOT IN ('', '.') "
             f"AND NOT contains({text}, ':') AND NOT contains({text}, '[') "
             f"AND NOT contains({text}, '\\') AND {text}[1] > ' ' AND {text}[-1] > ' ' "
             f"AND NOT ends_with({text}, '..') "
             f"AND NOT (CASE WHEN regexp_matches({text}, '[0-9]\\.?$') "
             f"THEN regexp_full_match({text}, '[0-9.]*') ELSE false END))")
    return (f"(CASE WHEN {plain} AND NOT contains({lowered}, 'xn--') THEN {lowered} "
            f"ELSE {udf}({text}) END)")


def _source(path_sql: str, compressed: bool) -> str:
    """DuckDB's CSV reader giving each raw line of the file as one value (NULL if empty)."""
    return (f"read_csv({path_sql}, columns = {{'line': 'VARCHAR'}}, delim = '\x01', "
            f"quote = '', escape = '', comment = '', header = false, auto_detect = false, "
            f"new_line = '\\n', strict_mode = true, "
            f"compression = '{'gzip' if compressed else 'none'}')")


def _select(lines_table: str, name_udf: str, line_udf: str) -> str:
    """The SELECT giving `resolution` rows (minus provenance) for every line of the file.

    `lines_table` holds the file's raw lines in order (see `_source`), so its
    row id numbers them and every stage below runs on all threads.
    Stages, innermost first: number the raw lines and pull the COF fields as
    JSON fragments; decide whether SQL reads the line exactly (`shaped`, then
    `fast` once names and addresses are checked); one row per rdata value for
    fast lines, the Python function's rows for the others; addresses made
    canonical, with their numbers.
    """
    lines = (f"SELECT n, line, regexp_matches(line, {_sql_text(_GUARD)}) AS odd, "
             f"try(json_transform(line, {_sql_text(_FIELDS)})) AS j "
             f"FROM (SELECT rowid + 1 AS n, line FROM {lines_table}) WHERE line IS NOT NULL")
    # The fragments as text (compared with text, a JSON value would parse the literal).
    texts = ", ".join(f"j.{key}::VARCHAR AS {key}" for key in _KEYS if key != "cond")
    no_time = ("((time_first IS NULL OR time_first = '\"\"') "
               "AND (time_last IS NULL OR time_last = '\"\"'))")
    fragments = (
        "SELECT n, line, odd, j IS NOT NULL AS parsed, rrname AS rr, rrtype AS ty, rdata AS rd, "
        f"count AS cf, obj, CASE WHEN {no_time} THEN zone_time_first ELSE time_first END AS tf, "
        f"CASE WHEN {no_time} THEN zone_time_last ELSE time_last END AS tl "
        f"FROM (SELECT n, line, odd, j, {texts} FROM ({lines}))")
    # rdata: a string or a non-empty list of strings.  Without escapes, a compact list
    # splits at '","' and no piece may hold a quote; with escapes (TXT quotes) DuckDB
    # decodes it.
    rdata_ok = (
        "(CASE WHEN NOT contains(rd, '\\') THEN starts_with(rd, '\"') "
        "OR (starts_with(rd, '[\"') AND ends_with(rd, '\"]') "
        "AND NOT contains(replace(substr(rd, 3, length(rd) - 4), '\",\"', ''), '\"')) "
        "WHEN starts_with(rd, '\"') THEN true WHEN starts_with(rd, '[') "
        "THEN list_bool_and(list_transform(json_type(rd, '$[*]'), lambda t: t = 'VARCHAR')) "
        "ELSE false END)")
    values = (
        "(CASE WHEN NOT contains(rd, '\\') THEN (CASE WHEN starts_with(rd, '\"') "
        f"THEN [{_fragment_string('rd')}] "
        "ELSE string_split(substr(rd, 3, length(rd) - 4), '\",\"') END) "
        "WHEN starts_with(rd, '\"') THEN [json_extract_string(rd, '$')] "
        "ELSE json_extract_string(rd, '$[*]') END)")
    # count: an integer is kept; a string, list, object or boolean is no count; other
    # numbers (fractions, huge integers, nan) are left to Python.
    count_ok = ("(CASE WHEN cf IS NULL OR cf[1] IN ('\"', '[', '{', 't', 'f') THEN true "
                "ELSE length(cf) <= 19 AND regexp_full_match(cf, '-?[0-9]{1,18}') END)")
    shaped = (
        f"(NOT odd AND parsed AND {_is_plain_string('rr')} AND {_is_plain_string('ty')} "
        "AND strlen(ty) = length(ty) AND (obj IS NULL OR NOT starts_with(obj, '{')) "
        f"AND {rdata_ok} AND {count_ok} AND {_time_ok('tf')} AND {_time_ok('tl')})")
    checked = (
        f"SELECT n, line, shaped, tf, tl, "
        f"CASE WHEN shaped THEN {_fragment_string('rr')} END AS name_raw, "
        f"CASE WHEN shaped THEN {_fragment_string('ty')} END AS rtype_raw, "
        f"CASE WHEN shaped THEN {values} END AS vals, "
        "CASE WHEN shaped AND cf IS NOT NULL AND cf[1] NOT IN ('\"', '[', '{', 't', 'f') "
        "THEN cf::BIGINT END AS cnt "
        f"FROM (SELECT *, {shaped} AS shaped FROM ({fragments}))")
    rt = ("CASE upper(rtype_raw) WHEN 'A' THEN 'A' WHEN 'AAAA' THEN 'AAAA' "
          "WHEN 'CNAME' THEN 'CNAME' WHEN 'PTR' THEN 'PTR' WHEN 'NS' THEN 'NS' ELSE 'OTHER' END")
    normal = (
        "SELECT n, line, shaped, name_raw, rtype_raw, rt, vals, cnt, "
        f"CASE WHEN shaped THEN {_time('tf')} END AS first_seen, "
        f"CASE WHEN shaped THEN {_time('tl')} END AS last_seen, "
        f"CASE WHEN shaped THEN {_name('name_raw', name_udf)} END AS name, "
        "CASE WHEN shaped AND rt IN ('CNAME', 'PTR', 'NS') THEN list_transform(vals, "
        f"lambda v: {_name('v', name_udf)}) END AS norm "
        f"FROM (SELECT *, CASE WHEN shaped THEN {rt} END AS rt FROM ({checked}))")
    address_ok = ("list_bool_and(list_transform(vals, lambda v: CASE WHEN contains(v, ':') "
                  f"THEN regexp_full_match(lower(v), '{_IPV6}') AND NOT contains(lower(v), 'ffff') "
                  f"ELSE regexp_full_match(v, '{_IPV4}') END))")
    fast = (
        f"(shaped AND name IS NOT NULL "
        f"AND (CASE WHEN rt IN ('A', 'AAAA') THEN {address_ok} WHEN rt = 'OTHER' THEN true "
        "ELSE list_bool_and(list_transform(norm, lambda v: v IS NOT NULL)) END) "
        "AND NOT coalesce(last_seen < first_seen, false) "
        "AND NOT (rt = 'PTR' AND (contains(lower(name_raw), 'in-addr.arpa') "
        "OR contains(lower(name_raw), 'ip6.arpa'))))")
    # One row per value; lines SQL cannot vouch for are read by Python, in place.
    rows = (
        "SELECT n, name, rt, first_seen, last_seen, cnt, rtype_raw, "
        "unnest(CASE WHEN fast THEN coalesce(norm, vals) ELSE [] END) AS v, "
        f"unnest(CASE WHEN fast THEN [] ELSE {line_udf}(line, n) END) AS u "
        f"FROM (SELECT *, {fast} AS fast FROM ({normal}))")
    # IPv6 text to its eight groups (x: the lower-cased value of an A/AAAA row with ':').
    v6_halves = (
        "CASE WHEN split_part(x, '::', 1) = '' THEN []::VARCHAR[] "
        "ELSE string_split(split_part(x, '::', 1), ':') END AS gl, "
        "CASE WHEN split_part(x, '::', 2) = '' THEN []::VARCHAR[] "
        "ELSE string_split(split_part(x, '::', 2), ':') END AS gr")
    v6_groups = (
        "CASE WHEN contains(x, '::') THEN list_concat(gl, "
        "list_transform(range(8 - len(gl) - len(gr)), lambda i: '0'), gr) "
        "ELSE string_split(x, ':') END")
    addresses = (
        "SELECT *, CASE WHEN g IS NOT NULL THEN ':' || array_to_string(list_transform(g, "
        "lambda s: coalesce(nullif(ltrim(s, '0'), ''), '0')), ':') || ':' END AS s6 "
        f"FROM (SELECT *, CASE WHEN x IS NOT NULL THEN {v6_groups} END AS g "
        f"FROM (SELECT *, {v6_halves} FROM (SELECT *, CASE WHEN u IS NULL AND rt IN ('A', 'AAAA') "
        f"AND contains(v, ':') THEN lower(v) END AS x FROM ({rows}))))")
    # The longest run of two or more zero groups (the first of equal ones) becomes '::'.
    compress = "CASE " + " ".join(
        f"WHEN contains(s6, '{run}') THEN replace(trim(regexp_replace(s6, '{run}', '|'), ':'), "
        f"'|', '::')" for run in (":" + "0:" * k for k in range(8, 1, -1))
    ) + " ELSE trim(s6, ':') END"
    v4_number = ("list_reduce(list_transform(string_split(v, '.'), lambda o: o::UBIGINT), "
                 "lambda a, b: a * 256 + b)::UHUGEINT")
    v6_number = ("('0x' || array_to_string(list_transform(g, lambda s: lpad(s, 4, '0')), ''))"
                 "::UHUGEINT")
    return (
        "SELECT n, "
        "CASE WHEN u IS NULL THEN name ELSE u.name END AS name, "
        "CASE WHEN u IS NULL THEN rt ELSE u.rtype END AS rtype, "
        f"CASE WHEN u IS NOT NULL THEN u.value WHEN g IS NOT NULL THEN {compress} ELSE v END "
        "AS value, "
        "CASE WHEN u IS NOT NULL THEN u.addr_num::UHUGEINT "
        f"WHEN g IS NOT NULL THEN {v6_number} "
        f"WHEN rt IN ('A', 'AAAA') THEN {v4_number} END AS addr_num, "
        "CASE WHEN u IS NULL THEN first_seen ELSE u.first_seen END AS first_seen, "
        "CASE WHEN u IS NULL THEN last_seen ELSE u.last_seen END AS last_seen, "
        "CASE WHEN u IS NULL THEN cnt ELSE u.count END AS count, "
        "CASE WHEN u IS NULL THEN (CASE WHEN rt = 'OTHER' THEN rtype_raw END) ELSE u.raw_type END "
        "AS raw_type "
        f"FROM ({addresses})"
    )


class _BulkLoad:
    """One file through DuckDB; see the module docstring."""

    def __init__(self, reader: PassiveDnsReader, path: Path, store: Any, input_id: int,
                 compressed: bool, lines: int) -> None:
        self.reader, self.path, self.store = reader, path, store
        self.input_id, self.compressed, self.lines = input_id, compressed, lines
        self.issues: dict[int, tuple[str, ReadIssue]] = {}
        self.saf = False

    def run(self) -> tuple[int, list[ReadIssue]]:
        # A cursor of its own: the store's connection may hold an unfinished result, and
        # the functions registered here stay private to this load.
        con = self.store.con.cursor()
        registered = False
        try:
            con.execute("SET TimeZone = 'UTC'")
            # Functions live in the database, not the cursor: names of this load's own, so a
            # second passive-DNS file in one store takes this path too.
            name_udf = f"hostmap_pdns_name_{self.input_id}"
            line_udf = f"hostmap_pdns_line_{self.input_id}"
            con.create_function(name_udf, _normalize_name, [duckdb.sqltypes.VARCHAR],
                                duckdb.sqltypes.VARCHAR)
            con.create_function(line_udf, self._line,
                                [duckdb.sqltypes.VARCHAR, duckdb.sqltypes.BIGINT],
                                duckdb.sqltypes.DuckDBPyType(_ROW_TYPE))
            registered = True
            ordered = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()
            if not ordered[0][0]:
                con.execute("SET preserve_insertion_order = true")
            lines_table = f"hostmap_pdns_lines_{self.input_id}"
            try:
                # The raw lines first, read on all threads in file order; their row ids
                # are the line numbers (a numbering window would run on one thread).
                con.execute(f"CREATE OR REPLACE TEMP TABLE {lines_table} AS SELECT line FROM "
                            f"{_source(_sql_text(str(self.path)), self.compressed)}")
                seen = con.execute(f"SELECT count(*) FROM {lines_table}").fetchall()[0][0]
                if seen != self.lines:
                    raise _NeedsPython(f"DuckDB read {seen} of {self.lines} lines")
                select = _select(lines_table, name_udf, line_udf)
                rows = con.execute(
                    "INSERT INTO resolution SELECT ?, ?, ?, 'line ' || n, name, rtype, value, "
                    "addr_num, 'passive-dns', first_seen, last_seen, count, raw_type "
                    f"FROM ({select})",
                    [self.input_id, str(self.path), self.reader.format]).fetchall()
            finally:
                con.execute(f"DROP TABLE IF EXISTS {lines_table}")
                if not ordered[0][0]:
                    con.execute("SET preserve_insertion_order = false")
        except duckdb.Error:
            if self.saf:
                raise _NeedsPython from None
            raise
        finally:
            if registered:
                for udf in (name_udf, line_udf):
                    with contextlib.suppress(duckdb.Error):
                        con.remove_function(udf)
            con.close()
        return int(rows[0][0]), self._final_issues()

    def _line(self, text: str, number: int) -> list[dict[str, Any]]:
        """The rows of one line the Python way; its issue, if any, is kept by number."""
        raw = text.encode("utf-8", "surrogatepass") + b"\n"
        at = Provenance(file=str(self.path), format=self.reader.format, locator=f"line {number}")
        if not raw.strip():
            return []
        try:
            record = json_loads(raw)
        except ValueError as exc:
            self.issues[number] = (text, ReadIssue(provenance=at, message=f"not JSON: {exc}"))
            return []
        if isinstance(record, dict) and "cond" in record:
            self.saf = True
            raise _NeedsPython("a DNSDB SAF condition line")
        if isinstance(record, dict) and isinstance(record.get("obj"), dict):
            record = record["obj"]
        rows = []
        for item in self.reader._record(record, at):
            if isinstance(item, ReadIssue):
                self.issues[number] = (text, item)
            elif isinstance(item, Resolution):
                rows.append(_row(item))
        return rows

    def _final_issues(self) -> list[ReadIssue]:
        """Issues in line order; a JSON error on a last line lacking its newline is re-worded."""
        numbers = sorted(self.issues)
        issues = [self.issues[n][1] for n in numbers]
        if issues and issues[-1].message.startswith("not JSON: "):
            ends_with_newline, newlines = _tail(self.path, self.compressed)
            if not ends_with_newline and numbers[-1] == newlines + 1:
                text, issue = self.issues[numbers[-1]]
                try:
                    json_loads(text.encode("utf-8", "surrogatepass"))
                except ValueError as exc:
                    issues[-1] = ReadIssue(provenance=issue.provenance, message=f"not JSON: {exc}")
        return issues


def _row(item: Resolution) -> dict[str, Any]:
    """A Resolution as the struct the line function returns (the columns Store.add writes)."""
    address = item.rtype in (RecordType.A, RecordType.AAAA)
    return {"name": item.name, "rtype": str(item.rtype), "value": item.value,
            "addr_num": _addr_num(item.value) if address else None,
            "first_seen": item.first_seen, "last_seen": item.last_seen, "count": item.count,
            "raw_type": item.raw_type}


def _addr_num(text: str) -> str | None:
    try:
        return str(int(ipaddress.ip_address(text)))
    except ValueError:
        return None


def _normalize_name(text: str) -> str | None:
    """`normalize_hostname`, or NULL (the line then goes to Python) if it raises."""
    try:
        return normalize_hostname(text)
    except Exception:  # noqa: BLE001 - the Python path reports it with the line
        return None

