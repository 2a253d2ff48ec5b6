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
import os
from collections.abc import Callable
from typing import Any

from bson import ObjectId

from .documents import date_to_millis, millis_to_date
from .object_ids import object_id
from .speedups import json_encoder

def _default(value: Any) -> Any:
    kind = type(value)  # exact types first: this runs for every ObjectId and date of every document
    if kind is ObjectId:
        return {"$oid": str(value)}
    if kind is dt.datetime or isinstance(value, dt.datetime):
        return {"$date": date_to_millis(value)}
    if isinstance(value, ObjectId):
        return {"$oid": str(value)}
    if isinstance(value, bytes):
        return {"$binary": base64.b64encode(value).decode("ascii")}
    raise TypeError(f"not a normalized value: {type(value).__name__}")


# One encoder for every document (the json module's C one when it passes its check, speedups.py).
_chunks = json_encoder(_default)
# What stands for an infinity while a document is encoded, replaced by SQLite's literal afterwards: a string no
# document holds (a NUL and this process's random nonce).
_INFINITY = {1: "\x00+inf" + os.urandom(8).hex(), -1: "\x00-inf" + os.urandom(8).hex()}
_INFINITY_TEXT = {json.dumps(text, ensure_ascii=False): literal for text, literal in
                  ((_INFINITY[1], "1e999"), (_INFINITY[-1], "-1e999"))}


def _non_finite_as_tokens(value: Any) -> Any:
    """`value` with NaN as its tag and the infinities as stand-ins (documents, lists and tuples rebuilt)."""
    kind = type(value)
    if kind is float and not math.isfinite(value):
        return {"$numberDouble": "NaN"} if value != value else _INFINITY[1 if value > 0 else -1]
    if kind is dict:
        return {key: _non_finite_as_tokens(item) for key, item in value.items()}
    if kind is list or kind is tuple:
        return [_non_finite_as_tokens(item) for item in value]
    return value


def dumps(document: Any) -> str:
    """JSON text for a normalized document or value."""
    text = "".join(_chunks(document))
    if "NaN" in text or "Infinity" in text:  # rare: re-encode with tokens SQLite understands
        text = "".join(_chunks(_non_finite_as_tokens(document)))
        for stand_in, literal in _INFINITY_TEXT.items():
            text = text.replace(stand_in, literal)
    return text


# The tags, by key. User keys never start with '$', so a one-key object whose key is one of these is a tag.
_TAGS = {
    "$date": millis_to_date,
    "$oid": object_id,
    "$numberDouble": float,
    "$binary": base64.b64decode,
}


def _hook(obj: dict[str, Any], _len=len, _tag=_TAGS.get) -> Any:
    if _len(obj) == 1:
        key, = obj
        decode = _tag(key)
        if decode is not None:
            return decode(obj[key])
    return obj


# One decoder for every document: json.loads(text, object_hook=...) builds a new decoder and scanner on each
# call, which was a fifth of the time of reading 1,000 epochs (docs/PERFORMANCE.md, W4).
_decoder = json.JSONDecoder(object_hook=_hook)
# Texts without a tag need no hook at all: a tag's key is written "$... (or, though never by dumps, "\u0024...).
_plain_decoder = json.JSONDecoder()


def _decode_with(decoder: json.JSONDecoder) -> Callable[[str], Any]:
    # JSONDecoder.decode is raw_decode(text, 0) -> scan_once(text, 0), plus a regex match on each side for
    # whitespace, which dumps never writes. Call the (C) scanner straight away, and leave whatever it does not
    # consume whole -- surrounding whitespace, extra data, errors -- to decode, which then does and says the same.
    scan, decode = decoder.scan_once, decoder.decode  # type: ignore[attr-defined]

    def decode_text(text: str) -> Any:
        try:
            document, end = scan(text, 0)
        except StopIteration:
            return decode(text)
        return document if end == len(text) else decode(text)
    return decode_text


_decode = _decode_with(_decoder)
_decode_plain = _decode_with(_plain_decoder)


def loads(text: str | bytes) -> Any:
    """The normalized document a `dumps` text stands for."""
    if not isinstance(text, str):
        text = text.decode("utf-8")
    if '"$' in text or "\\u0024" in text:
        return _decode(text)
    return _decode_plain(text)
