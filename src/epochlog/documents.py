"""Turning the values users pass (numpy, torch, datetime, NaN, paths) into storable documents.

`normalize_document` is the one gate every backend writes through: it returns a plain document
(dict, list, str, int, float, bool, None, aware-UTC datetime at millisecond precision, ObjectId,
bytes) or raises `InvalidDocument` naming the key path of the first value it cannot store.
"""

from __future__ import annotations

import datetime as dt
import enum
import sys
import time
from collections.abc import Mapping, Set
from pathlib import PurePath
from typing import Any

from bson import ObjectId
from bson import encode as bson_encode

from .errors import InvalidArgument, InvalidDocument
from .schema import TYPED_FIELDS

MAX_DEPTH = 100  # MongoDB's nesting limit for documents
MAX_BSON_SIZE = 16 * 1024 * 1024
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)

_SCALARS = (str, float, bool, type(None), ObjectId, bytes)
_ACCEPTED_KEYS: set[str] = set()  # keys check_key has let through (the same metric names, epoch after epoch)
_FLOAT = {float}


def utcnow() -> dt.datetime:
    """The current time as BSON stores it: aware UTC, millisecond precision."""
    return millis_to_date(time.time_ns() // 1_000_000)


def as_utc(value: dt.datetime) -> dt.datetime:
    """`value`, a naive one (as older clients and pymongo without tz_aware give them) taken as UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)


def date_to_millis(value: dt.datetime) -> int:
    """Milliseconds since the epoch of an aware (or UTC-naive) datetime."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


_FAST_MILLIS = 2**41  # 0 <= millis / 1000 < 2**31.03 s (1970 to 2039): a float within 0.24 µs of the exact value
_fromtimestamp = dt.datetime.fromtimestamp
_timedelta = dt.timedelta


def millis_to_date(millis: int) -> dt.datetime:
    """The aware UTC datetime `millis` milliseconds after the epoch (EPOCH + timedelta(milliseconds=millis))."""
    # fromtimestamp is a third faster than EPOCH + timedelta, and gives the same datetime for whole milliseconds
    # in this range, since the float's error is far below the half microsecond it is rounded to. Anything else
    # (before 1970, after 2039, not an int) takes the exact timedelta route.
    if type(millis) is int and 0 <= millis < _FAST_MILLIS:
        return _fromtimestamp(millis / 1000, UTC)
    return EPOCH + _timedelta(0, 0, 0, millis)


def to_utc(value: dt.datetime | dt.date) -> dt.datetime:
    """An aware UTC datetime truncated to milliseconds; naive datetimes are taken as UTC (as pymongo does)."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def to_object_id(value: Any, what: str = "id") -> ObjectId:
    """An ObjectId from an ObjectId or its 24-hex string; anything else is an InvalidArgument."""
    if isinstance(value, ObjectId):
        return value
    if isinstance(value, str) and ObjectId.is_valid(value):
        return ObjectId(value)
    raise InvalidArgument(f"{what} must be an ObjectId or a 24-character hex string, got {value!r}")


def normalize_document(document: Mapping[str, Any], path: str = "") -> dict[str, Any]:
    """Validate and convert a whole document; raise InvalidDocument naming the culprit's key path."""
    if not isinstance(document, Mapping):
        raise InvalidDocument(f"a document must be a mapping, got {type(document).__name__}", path)
    return _mapping(document, path, 1, set())


def normalize_value(value: Any, path: str) -> Any:
    """Convert one value (a metric, a config entry) the way it would be stored inside a document."""
    return _value(value, path, 1, set())


def normalize_field(key: str, value: Any) -> Any:
    """Convert the value of a document's top-level field `key` exactly as `normalize_document` would."""
    _accept_key(key, "")
    if type(value) is dict and _ACCEPTED_KEYS.issuperset(value) and set(map(type, value.values())) <= _FLOAT:
        return dict(value)  # the usual metrics: nothing to convert (what _value would return, sooner)
    return _value(value, key, 2, set())


def array_paths(document: Mapping[str, Any], prefix: str = "") -> set[str]:
    """The dotted paths, through documents only, at which `document` holds an array (not looking inside)."""
    found: set[str] = set()
    for key, value in document.items():
        if isinstance(value, Mapping):
            found |= array_paths(value, f"{prefix}{key}.")
        elif isinstance(value, (list, tuple)):
            found.add(prefix + key)
    return found


def check_key(key: Any, path: str) -> str:
    """A key MongoDB accepts in a stored document: a string, no '.', no leading '$', no NUL."""
    if not isinstance(key, str):
        raise InvalidDocument(f"keys must be strings, got {type(key).__name__} {key!r}", path)
    if "." in key or key.startswith("$") or "\x00" in key:
        raise InvalidDocument(f"key {key!r} may not contain '.' or NUL nor start with '$'", _join(path, key))
    return key


_TYPED_CHECKS: dict[str, tuple[type, ...]] = {"oid": (ObjectId,), "int": (int,), "str": (str,),
                                              "date": (dt.datetime,), "bool": (bool,)}


def check_typed_fields(collection: str, fields: Mapping[str, Any]) -> None:
    """Refuse, naming the field, a value of another type at a field whose type the query compiler trusts
    (`schema.TYPED_FIELDS`: one scalar type, or null). `fields` is a document or an update's `$set`."""
    typed = TYPED_FIELDS.get(collection)
    if not typed:
        return
    for field, kind in typed.items():  # a handful of fields, looked up: every write passes here
        value = fields.get(field)
        if value is not None and type(value) not in _TYPED_CHECKS[kind] and \
                not (kind == "date" and isinstance(value, dt.datetime)):
            raise _mistyped(kind, _shown(value), field)
    for key in fields:
        if "." in key and key.split(".", 1)[0] in typed:  # an update's `$set` of a path into a typed field
            raise _mistyped(typed[key.split(".", 1)[0]], "a path into it", key)


def _mistyped(kind: str, got: str, path: str) -> InvalidDocument:
    return InvalidDocument(f"must be {'an' if kind in ('oid', 'int') else 'a'} {_KIND_NAMES[kind]} or null, got {got}",
                           path)


_KIND_NAMES = {"oid": "ObjectId", "int": "integer", "str": "string", "date": "datetime", "bool": "boolean"}


def _shown(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:60] + '…' if len(text) > 60 else text}"


def check_size(document: Mapping[str, Any], encoded_length: int | None = None) -> None:
    """Refuse documents over MongoDB's 16 MB limit, before anything is written.

    `encoded_length` (a JSON length, say) lets small documents skip the exact BSON measurement:
    BSON is never more than ~9x a compact JSON encoding of the same document.
    """
    if encoded_length is not None and encoded_length * 9 < MAX_BSON_SIZE:
        return
    size = len(bson_encode(document))
    if size > MAX_BSON_SIZE:
        raise InvalidDocument(f"document is {size} bytes, over MongoDB's limit of {MAX_BSON_SIZE} bytes")


def _accept_key(key: Any, path: str) -> None:
    """check_key, once per distinct key (the same metric names come back epoch after epoch)."""
    if key not in _ACCEPTED_KEYS:
        check_key(key, path)
        if len(_ACCEPTED_KEYS) < 100_000:
            _ACCEPTED_KEYS.add(key)


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def _enter(container: object, path: str, depth: int, active: set[int]) -> int:
    """Refuse a container nested too deep or containing itself; mark it as being walked."""
    if depth > MAX_DEPTH:
        raise InvalidDocument(f"nesting deeper than {MAX_DEPTH} levels", path)
    marker = id(container)
    if marker in active:
        raise InvalidDocument("circular reference", path)
    active.add(marker)
    return marker


def _mapping(document: Mapping[Any, Any], path: str, depth: int, active: set[int]) -> dict[str, Any]:
    marker = _enter(document, path, depth, active)
    out = {}
    for key, value in document.items():
        _accept_key(key, path)
        if type(value) in _SCALARS or type(value) is int and INT64_MIN <= value <= INT64_MAX:
            out[key] = value
        else:
            out[key] = _value(value, f"{path}.{key}" if path else key, depth + 1, active)
    active.discard(marker)
    return out


def _value(value: Any, path: str, depth: int, active: set[int]) -> Any:
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is int or isinstance(value, int) and not isinstance(value, (bool, enum.Enum)):
        value = int(value)
        if not INT64_MIN <= value <= INT64_MAX:
            raise InvalidDocument(f"integer {value} does not fit in 64 bits", path)
        return value
    if isinstance(value, Mapping):
        return _mapping(value, path, depth, active)
    if isinstance(value, (list, tuple)):
        return _sequence(value, path, depth, active)
    if isinstance(value, (Set)):
        items = _sequence(list(value), path, depth, active)
        try:
            return sorted(items)
        except TypeError:
            return sorted(items, key=repr)
    if isinstance(value, str):  # subclasses, numpy.str_
        return str(value)
    if isinstance(value, float):  # subclasses, numpy.float64
        return float(value)
    if isinstance(value, dt.datetime) or isinstance(value, dt.date):
        return to_utc(value)
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, enum.Enum):
        return _value(value.value, path, depth, active)
    array_value = _array_like(value)
    if array_value is not _NOT_ARRAY:
        return _value(array_value, path, depth, active)
    raise InvalidDocument(f"cannot store a value of type {kind.__module__}.{kind.__qualname__}", path)


def _sequence(items: Any, path: str, depth: int, active: set[int]) -> list[Any]:
    marker = _enter(items, path, depth, active)
    out = [_value(item, f"{path}.{index}", depth + 1, active) for index, item in enumerate(items)]
    active.discard(marker)
    return out


_NOT_ARRAY = object()


def _array_like(value: Any) -> Any:
    """numpy scalars and arrays, and torch tensors, as Python values; _NOT_ARRAY for anything else.

    Neither library is imported here: a value can only be one of theirs if its module is loaded.
    """
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        if isinstance(value, numpy.generic):
            if isinstance(value, numpy.datetime64):
                return _datetime64(value)
            return value.item()
        if isinstance(value, numpy.ndarray):
            if value.dtype.kind == "M":
                return [_datetime64(item) for item in value.ravel()] if value.ndim == 1 else \
                    [_array_like(row) for row in value]
            return value.tolist()
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        return value.detach().cpu().tolist()
    return _NOT_ARRAY


def _datetime64(value: Any) -> dt.datetime | None:
    import numpy

    if numpy.isnat(value):
        return None
    micros = int(value.astype("datetime64[us]").astype("int64"))
    return to_utc(dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(microseconds=micros))
