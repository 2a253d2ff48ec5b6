"""`$toDouble`, `$toInt`, `$toLong`, `$toString` and `$toBool`, as `$convert` converts (a QueryError where it
would fail): strings parse as base-10 numbers only, doubles truncate toward zero, dates are milliseconds
since the epoch (`$toString`: ISO 8601 UTC with milliseconds).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from typing import Any

from bson import ObjectId

from ...documents import as_utc
from ...errors import QueryError
from ...iso_dates import iso
from .values import is_nullish, is_number, type_name

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")
_DOUBLE_TEXT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)


def _converter(operator: str, convert: Callable[[Any], Any]) -> Callable[[list[Any]], Any]:
    """A `$to...` operator: null for null or missing, else `convert`'s value."""
    def apply(values: list[Any]) -> Any:
        (value,) = values
        return None if is_nullish(value) else convert(value)
    return apply


def _cannot(operator: str, value: Any) -> QueryError:
    return QueryError(f"{operator}: unsupported conversion from {type_name(value)} ({value!r})")


def _to_double(value: Any) -> float:
    if isinstance(value, (bool, int, float)):
        return float(value)
    if isinstance(value, dt.datetime):
        return float(_millis(value))
    if isinstance(value, str):
        if not _DOUBLE_TEXT.fullmatch(value):
            raise QueryError(f"$toDouble: failed to parse number {value!r}")
        return float(value)
    raise _cannot("$toDouble", value)


def _to_integer(operator: str, bounds: tuple[int, int], dates: bool) -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, float):
            if not math.isfinite(value):
                raise QueryError(f"{operator}: cannot convert {value!r} to an integer")
            value = int(value)  # toward zero, as MongoDB truncates
        elif isinstance(value, str):
            if not _INTEGER_TEXT.fullmatch(value):
                raise QueryError(f"{operator}: failed to parse number {value!r}")
            value = int(value)
        elif dates and isinstance(value, dt.datetime):
            value = _millis(value)
        elif not isinstance(value, int):
            raise _cannot(operator, value)
        if not bounds[0] <= value <= bounds[1]:
            raise QueryError(f"{operator}: conversion would overflow: {value!r}")
        return value
    return convert


def _to_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _double_text(value)
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, dt.datetime):
        return iso(value)
    raise _cannot("$toString", value)


def _double_text(value: float) -> str:
    if value != value:
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value)) if value or math.copysign(1, value) > 0 else "-0"
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{'-' if exponent.startswith('-') else '+'}{exponent.lstrip('+-').zfill(2)}"
    return text


def _to_bool(value: Any) -> bool:
    """Numbers are true unless zero, booleans are themselves, everything else (even "") is true."""
    if is_number(value):
        return bool(value != 0)
    return value if isinstance(value, bool) else True


def _millis(value: dt.datetime) -> int:
    return (as_utc(value) - _EPOCH) // dt.timedelta(milliseconds=1)


CONVERTERS: dict[str, Callable[[list[Any]], Any]] = {
    "$toDouble": _converter("$toDouble", _to_double),
    "$toInt": _converter("$toInt", _to_integer("$toInt", _INT32, False)),
    "$toLong": _converter("$toLong", _to_integer("$toLong", _INT64, True)),
    "$toString": _converter("$toString", _to_string), "$toBool": _converter("$toBool", _to_bool),
}
