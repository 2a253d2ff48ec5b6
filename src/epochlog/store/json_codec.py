"""The embedded store's JSON encoding of normalized documents (what the query compiler reads with json_extract).

    datetime  -> {"$date": <int milliseconds since the epoch, UTC>}
    ObjectId  -> {"$oid": "<24 hex>"}
    bytes     -> {"$binary": "<base64>"}
    NaN       -> {"$numberDouble": "NaN"}
    +inf/-inf -> 1e999 / -1e999 (SQLite reads them as REAL infinities, so comparisons just work)

User keys never start with '$' (documents.check_key), so a one-key object whose key does is always a tag.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
from json.encoder import _make_iterencode, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

from bson import ObjectId

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
NAN_TOKEN = '{"$numberDouble":"NaN"}'


def date_to_millis(value: dt.datetime) -> int:
    """Milliseconds since the epoch of an aware (or UTC-naive) datetime."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def millis_to_date(millis: int) -> dt.datetime:
    return EPOCH + dt.timedelta(milliseconds=millis)


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"$date": date_to_millis(value)}
    if isinstance(value, ObjectId):
        return {"$oid": str(value)}
    if isinstance(value, bytes):
        return {"$binary": base64.b64encode(value).decode("ascii")}
    raise TypeError(f"not a normalized value: {type(value).__name__}")


def _floatstr(value: float) -> str:
    if value != value:
        return NAN_TOKEN
    if math.isinf(value):
        return "1e999" if value > 0 else "-1e999"
    return float.__repr__(value)


_fast = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_default, allow_nan=True).encode


def dumps(document: Any) -> str:
    """JSON text for a normalized document or value."""
    text = _fast(document)
    if "NaN" in text or "Infinity" in text:  # rare: re-encode with tokens SQLite understands
        text = "".join(_make_iterencode({}, _default, encode_basestring_ascii, None, _floatstr, ":", ",",
                                        False, False, True)(document, 0))
    return text


def _hook(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        key = next(iter(obj))
        if key[:1] == "$":
            value = obj[key]
            if key == "$date":
                return millis_to_date(value)
            if key == "$oid":
                return ObjectId(value)
            if key == "$numberDouble":
                return float(value)
            if key == "$binary":
                return base64.b64decode(value)
    return obj


# One decoder for every document: json.loads(text, object_hook=...) builds a new decoder and scanner on each
# call, which was a fifth of the time of reading 1,000 epochs (docs/PERFORMANCE.md, W4).
_decode = json.JSONDecoder(object_hook=_hook).decode


def loads(text: str | bytes) -> Any:
    """The normalized document a `dumps` text stands for."""
    return _decode(text if isinstance(text, str) else text.decode("utf-8"))
