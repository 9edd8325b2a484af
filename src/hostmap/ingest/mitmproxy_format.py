"""The mitmproxy flow-dump format as `hostmap.ingest` lists it: its name and sniffer.

Reading is `hostmap.ingest.mitmproxy_flows`, imported on the first flow file
read, so every other command and format goes without mitmproxy's import.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from pathlib import Path

from hostmap.ingest._reader import Part, ReadItem

__all__ = ["MitmproxyFlowsReader", "reader"]

_RECORD_START = re.compile(rb"\A(\d{1,12}):(\d{1,12}):([A-Za-z_]{1,40})[,;]")
"""A record's length prefix, then the first key of its dict (bytes ',' or text ';')."""

_FLOW_KEYS = frozenset(
    b"backup client_conn comment error id intercepted is_replay live marked metadata mode "
    b"request response server_conn timestamp_created type version websocket".split()
)
"""Top-level keys of a serialized flow, in the dumps of mitmproxy 0.10 to 11."""


class MitmproxyFlowsReader:
    """Reads flow dumps written by mitmproxy, mitmdump and mitmweb."""

    format = "mitmproxy"
    description = "mitmproxy, mitmdump and mitmweb flow dumps (-w FILE), as far back as 0.11"
    suffixes = (".mitm", ".flow", ".flows")
    signature = "tnetstring '<digits>:' holding a dict of flow keys ('version', 'type', ...)"
    locator_prefix = "flow "

    def sniff(self, head: bytes, path: Path) -> float:
        match = _RECORD_START.match(head)
        if match is None or int(match.group(2)) != len(match.group(3)):
            return 0.0
        end = len(match.group(1)) + 1 + int(match.group(1))
        complete = end < len(head)
        if complete and head[end : end + 1] != b"}":
            return 0.0
        if match.group(3) in _FLOW_KEYS:
            return 1.0
        return 0.5 if complete else 0.25

    def read(self, path: Path) -> Iterator[ReadItem]:
        from hostmap.ingest import mitmproxy_flows

        yield from mitmproxy_flows.read_flows(path)

    def parts(self, path: Path, count: int) -> list[Part]:
        from hostmap.ingest import mitmproxy_flows

        return mitmproxy_flows.flow_parts(path, count)

    def read_part(self, path: Path, part: Part, *,
                  to_end: bool = True) -> Generator[ReadItem, None, int]:
        from hostmap.ingest import mitmproxy_flows

        return (yield from mitmproxy_flows.read_flow_part(path, part))


reader = MitmproxyFlowsReader()
