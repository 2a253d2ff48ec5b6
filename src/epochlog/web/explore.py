"""The explore page's data: chosen fields of the runs a filter matches, for scatter plots and parallel axes.

A value is a number (finite; NaN and ±inf are left out as missing) or a category (strings, booleans as
`true`/`false`, anything else as its text); a run that lacks a field has null there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..dotted import check_field, get_path
from ..display import text
from ..errors import InvalidArgument
from ..tracker import Tracker
from ..types import Document

MAX_FIELDS = 12
MAX_RUNS = 20_000


def explore_rows(tracker: Tracker, fields: Sequence[str], condition: Document, limit: int) -> Document:
    """`{"fields", "rows": [{"id", "name", "status", "values"}], "total"}` for the runs `condition` matches
    (the newest `limit` of them)."""
    if not fields or len(fields) > MAX_FIELDS:
        raise InvalidArgument(f"choose 1 to {MAX_FIELDS} fields, got {len(fields)}")
    for path in fields:
        check_field(path, "fields")
    if not 1 <= limit <= MAX_RUNS:
        raise InvalidArgument(f"limit must be between 1 and {MAX_RUNS}")
    projection = dict.fromkeys(["experiment_name", "status", *fields], 1)
    documents = tracker.search_experiments(condition, projection=projection, sort=[("start_time", -1)], limit=limit)
    rows = [{"id": str(d["_id"]), "name": _text(d.get("experiment_name")), "status": _text(d.get("status")),
             "values": [_value(get_path(d, path)) for path in fields]} for d in documents]
    total = len(rows) if len(rows) < limit else tracker.count_experiments(condition)
    return {"fields": list(fields), "rows": rows, "total": total}


def _value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    return text(value)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) or value is None else str(value)
