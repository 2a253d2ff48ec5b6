"""Stored documents as JSON the browser can read, and a response class that writes it.

    ObjectId          -> "<24 hex>"
    datetime          -> "2025-01-31T12:00:00.123Z"
    NaN, +inf, -inf   -> "NaN", "Infinity", "-Infinity" (JSON has no such numbers; the page shows them)
    bytes             -> {"$binary": "<base64>"}
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
from typing import Any

import numpy as np
from bson import ObjectId
from fastapi.responses import JSONResponse

from ..iso_dates import iso

_NON_FINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}


def jsonable(value: Any) -> Any:
    """A JSON-safe copy of a normalized value."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        if math.isfinite(value):
            return value
        return "NaN" if value != value else _NON_FINITE[value]
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, dt.datetime):
        return iso(value)
    if isinstance(value, bytes):
        return {"$binary": base64.b64encode(value).decode("ascii")}
    if isinstance(value, float):
        return jsonable(float(value))
    if isinstance(value, int):
        return int(value)
    if isinstance(value, np.generic):  # numpy scalars computed here (stored documents never hold them)
        return jsonable(value.item())
    return str(value)


def dumps(value: Any) -> str:
    """Compact JSON of a jsonable value."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def script_json(value: Any) -> str:
    """JSON safe to embed in `<script type="application/json">`: no `<`, `>`, `&` or line separators."""
    return (dumps(jsonable(value)).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


class DocumentResponse(JSONResponse):
    """A JSON response whose content may hold stored documents (ObjectIds, datetimes, NaN)."""

    def render(self, content: Any) -> bytes:
        return dumps(jsonable(content)).encode("utf-8")
