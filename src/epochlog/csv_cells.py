"""CSV cells, one rule for the CLI's `export`/`groups` and the dashboard's export.

Ids as hex, dates as ISO 8601 UTC with milliseconds, booleans as true/false, NaN/inf as nan/inf, lists and
documents as JSON, and no cell a spreadsheet would run as a formula (text starting with = + - @, a tab or a
carriage return gets a leading apostrophe unless it is a number such as -0.5).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bson import ObjectId, json_util

from .iso_dates import iso

_JSON = json_util.RELAXED_JSON_OPTIONS.with_options(tz_aware=True)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    """The value as a CSV cell (see the module doc)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, dt.datetime):
        return iso(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple, dict, bytes)):
        value = json_util.dumps(value, json_options=_JSON, ensure_ascii=False)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _is_number(value):
        return "'" + value
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
