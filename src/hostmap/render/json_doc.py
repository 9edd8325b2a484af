"""The report as JSON (schema "hostmap/report/1", documented in the README)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

__all__ = ["render", "to_jsonable"]


def to_jsonable(value: Any) -> Any:
    """Plain JSON types: datetimes become ISO 8601 in UTC with a 'Z'."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


def render(report: dict[str, Any]) -> str:
    """The whole report as indented JSON (UTF-8 text, non-ASCII kept)."""
    return json.dumps(to_jsonable(report), ensure_ascii=False, indent=2) + "\n"
