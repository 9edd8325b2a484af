"""Header lists are stored as JSON text, byte for byte what json.dumps writes, memo or not."""

from __future__ import annotations

import json

from hostmap import store


def stored(headers):
    return store._headers_json(headers)


def test_header_json_is_what_json_dumps_writes(monkeypatch):
    monkeypatch.setattr(store, "_PAIR_MEMO", 3)  # the memo fills and is cleared on the way
    lists = [(("Host", "a.example.cn"), ("Accept", "*/*")),
             (("Host", "a.example.cn"), ("Cookie", 'k="v"; \\ x'), ("X-Name", "中文\u2028")),
             (("Accept", "*/*"),), (("Odd", "\ud800"),),
             [["a", "b"]]]  # a pair that is not a tuple still encodes
    for headers in lists * 3:
        assert stored(headers) == json.dumps(headers, ensure_ascii=False)
    assert len(store._PAIR_JSON) <= 3
    assert stored(()) is None
