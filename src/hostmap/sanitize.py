"""`hostmap sanitize IN OUT`: a redacted copy of a capture that analysts can share as evidence.

HAR files, mitmproxy flow dumps and Fiddler SAZ archives are rewritten record
by record (`hostmap._sanitize_har`, `_sanitize_mitmproxy`, `_sanitize_saz`
say what changes in each); secrets and personal data are replaced as
`hostmap.redact` describes, and the summary counts what was replaced, by kind.

What the copy keeps: every record hostmap can read, with the same scheme,
host, port, server address, status and time, so `hostmap analyze` on the copy
finds the same endpoints; the response headers fronts leave; persistence
cookies cut down to the part that names the backend, so the copy still shows
the pool members behind a front.

The source is never modified; the copy is written to a temporary file beside
OUT and renamed over it only when complete.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from hostmap.errors import OutputError, UsageError

__all__ = ["KIND_LABELS", "SUPPORTED_FORMATS", "SanitizeSummary", "sanitize_file"]

SUPPORTED_FORMATS = ("har", "mitmproxy", "saz")

KIND_LABELS = {
    "cookie": "cookie values",
    "authorization": "credential header values (Authorization, X-Api-Key, ...)",
    "query": "URL query values",
    "fragment": "URL fragment values",
    "userinfo": "user names/passwords in URLs",
    "form": "form field values",
    "secret": "values of secret-named key=value pairs",
    "json-secret": "values of secret-named JSON/script keys",
    "credential": "Bearer/Basic credentials in text",
    "jwt": "JSON Web Tokens",
    "resident-id": "resident ID numbers",
    "phone": "mobile phone numbers",
    "email": "e-mail addresses",
    "body": "bodies that could not be looked into (emptied)",
    "client": "client addresses, ports and process names",
    "member": "unknown archive members (left out)",
}
"""What each counted kind means, for `SanitizeSummary.lines`."""

_Writer = Callable[[str, BinaryIO, Counter[str]], tuple[int, list[str]]]


@dataclass(frozen=True, slots=True, kw_only=True)
class SanitizeSummary:
    """What `sanitize_file` wrote and what it replaced."""

    source: str
    target: str
    format: str
    records: int
    """Records in the copy: HAR entries, flows, SAZ sessions."""
    removed: dict[str, int] = field(default_factory=dict)
    """How many values were replaced, by kind (`KIND_LABELS`), sorted by kind."""
    issues: tuple[str, ...] = ()
    """Records that could not be read and are not in the copy, one line each
    ("flow 3: cannot read (…); left out of the copy"); prefix them with `source`."""

    def lines(self) -> list[str]:
        """What was written and removed, one line each (the issues are separate)."""
        nouns = {"har": "entries", "mitmproxy": "flows", "saz": "sessions"}
        lines = [f"{self.source} -> {self.target}: {self.format}, "
                 f"{self.records} {nouns.get(self.format, 'records')}"]
        if not self.removed:
            lines.append("removed: nothing")
        for kind, count in self.removed.items():
            lines.append(f"removed: {count} {KIND_LABELS.get(kind, kind)}")
        return lines


def sanitize_file(source: Path, target: Path, *, format: str | None = None) -> SanitizeSummary:
    """Write a redacted copy of the HAR, mitmproxy or SAZ file `source` to `target`.

    The format is detected from the content unless `format` names it.  Raises
    UsageError (missing source, target that is the source or a folder, a
    format sanitize does not write), OutputError (target folder missing, a
    read or write failing), InputError (the source is not readable as its
    format).  Nothing is left at `target` or beside it when it raises.
    """
    if not source.is_file():
        raise UsageError(f"{source}: no such file")
    if target.is_dir():
        raise UsageError(f"{target} is a folder; give the name of the copy to write")
    if target.resolve() == source.resolve() or (target.exists() and target.samefile(source)):
        raise UsageError(f"{target} is the input itself; sanitize never modifies its input")
    if not target.parent.is_dir():
        raise OutputError(f"{target}: folder {target.parent} does not exist")
    # Here, not at the top: the command line imports this module for SUPPORTED_FORMATS.
    from hostmap.ingest import detect_format
    from hostmap.redact import redact_issue_message

    name = format if format is not None else detect_format(source).format
    writer = _writer(name)
    counts: Counter[str] = Counter()
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            records, issues = writer(str(source), out, counts)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; the copy is an ordinary file
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"cannot write {target} from {source}: {exc}") from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return SanitizeSummary(source=str(source), target=str(target), format=name,
                           records=records, removed=dict(sorted(counts.items())),
                           issues=tuple(redact_issue_message(issue) for issue in issues))


def _writer(name: str) -> _Writer:
    if name == "har":
        from hostmap._sanitize_har import write_har

        return write_har
    if name == "mitmproxy":
        from hostmap._sanitize_mitmproxy import write_flows

        return write_flows
    if name == "saz":
        from hostmap._sanitize_saz import write_saz

        return write_saz
    raise UsageError(f"sanitize writes {', '.join(SUPPORTED_FORMATS)} files, not {name}")
