"""Whether two stored values are the same value as stored: one answer for the config and environment diffs
(CLI and dashboard), a push's "changed?" and a legacy migration's "unchanged?"."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from bson import ObjectId

from .documents import date_to_millis


def same(a: Any, b: Any) -> bool:
    """Equal as stored: NaN equals NaN; 1, 1.0 and True differ (int, double, bool), as do 0.0 and -0.0; key order
    does not matter, nor list or tuple."""
    return a is b or _canonical.encode(a) == _canonical.encode(b)


def _tagged(value: Any) -> Any:
    """The values JSON lacks, as the embedded store tags them (keys starting with `$` are never stored); any
    other type by its name and repr."""
    if isinstance(value, ObjectId):
        return {"$oid": str(value)}
    if isinstance(value, dt.datetime):
        return {"$date": date_to_millis(value)}
    if isinstance(value, bytes):
        return {"$binary": value.hex()}
    return {f"${type(value).__module__}.{type(value).__qualname__}": repr(value)}


# one encoder (the C one) for every comparison: sorted keys, NaN and ±inf as JSON's own tokens
_canonical = json.JSONEncoder(sort_keys=True, default=_tagged, separators=(",", ":"), ensure_ascii=False)


__all__ = ["same"]
