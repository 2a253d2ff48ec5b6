"""A documented fallback form for values some MongoDB-wire servers refuse (FerretDB 1.x).

Such servers refuse NaN and ±Infinity doubles and arrays nested in arrays. On them (and only on them),
epochlog stores

    NaN, inf, -inf       -> {"__epochlog_float__": "NaN" | "Infinity" | "-Infinity"}
    [[1, 2], [3]]        -> [{"__epochlog_array__": [1, 2]}, {"__epochlog_array__": [3]}]

and turns them back on read. Filters are rewritten for these forms (fallback_filter.py), so that
`{"metrics.val_loss": {"$gt": 1}}` still selects +inf and `{"metrics.val_loss": NaN}` selects NaN, as on
MongoDB; the leaderboard keeps them out by its own finite bounds.
"""

from __future__ import annotations

import math
from typing import Any

FLOAT_TAG = "__epochlog_float__"
ARRAY_TAG = "__epochlog_array__"
_FLOAT_NAMES = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def encode(value: Any, in_array: bool = False) -> Any:
    """The fallback form of a normalized value (documents, lists and floats are rewritten)."""
    if type(value) is float:
        if math.isfinite(value):
            return value
        return {FLOAT_TAG: "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")}
    if type(value) is dict:
        return {key: encode(item) for key, item in value.items()}
    if type(value) is list:
        items = [encode(item, True) for item in value]
        return {ARRAY_TAG: items} if in_array else items
    return value


def decode(value: Any) -> Any:
    """The value a fallback form stands for."""
    if type(value) is dict:
        if len(value) == 1:
            if FLOAT_TAG in value:
                return _FLOAT_NAMES.get(value[FLOAT_TAG], math.nan)
            if ARRAY_TAG in value:
                return decode(value[ARRAY_TAG])
        return {key: decode(item) for key, item in value.items()}
    if type(value) is list:
        return [decode(item) for item in value]
    return value
