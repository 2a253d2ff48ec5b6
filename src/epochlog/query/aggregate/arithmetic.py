"""Arithmetic operators over evaluated arguments: numbers (ints and floats, never bools) and dates.

null or missing arguments give null; other non-numbers are a QueryError naming the operator. Integer
results stay integers while they fit 64 bits (then doubles, as MongoDB widens them); `$divide` always
gives a double; `$round` rounds the decimal value half to even.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from collections.abc import Callable
from typing import Any

from ...errors import QueryError
from .arguments import as_integer, as_number, int_result
from .values import is_nullish

_PRECISE = decimal.Context(prec=800)


def add(values: list[Any]) -> Any:
    if any(is_nullish(value) for value in values):
        return None
    dates = [value for value in values if isinstance(value, dt.datetime)]
    if len(dates) > 1:
        raise QueryError("$add only supports one date")
    total: Any = 0
    for value in values:
        if not isinstance(value, dt.datetime):
            total += as_number("$add", value)
    if dates:
        return dates[0] + dt.timedelta(milliseconds=round(total))
    return int_result(total) if isinstance(total, int) else total


def subtract(values: list[Any]) -> Any:
    left, right = values
    if is_nullish(left) or is_nullish(right):
        return None
    if isinstance(left, dt.datetime):
        if isinstance(right, dt.datetime):
            return (left - right) // dt.timedelta(milliseconds=1)
        return left - dt.timedelta(milliseconds=round(as_number("$subtract", right)))
    result = as_number("$subtract", left) - as_number("$subtract", right)
    return int_result(result) if isinstance(result, int) else result


def multiply(values: list[Any]) -> Any:
    if any(is_nullish(value) for value in values):
        return None
    product: Any = 1
    for value in values:
        product *= as_number("$multiply", value)
    return int_result(product) if isinstance(product, int) else product


def divide(values: list[Any]) -> Any:
    left, right = values
    if is_nullish(left) or is_nullish(right):
        return None
    if as_number("$divide", right) == 0:
        raise QueryError("$divide: can't divide by zero")
    try:
        return as_number("$divide", left) / right
    except OverflowError:
        return math.copysign(math.inf, left) * math.copysign(1, right)


def mod(values: list[Any]) -> Any:
    left, right = values
    if is_nullish(left) or is_nullish(right):
        return None
    a, b = as_number("$mod", left), as_number("$mod", right)
    if b == 0:
        raise QueryError("$mod: can't $mod by zero")
    if isinstance(a, int) and isinstance(b, int):
        return (abs(a) % abs(b)) * (1 if a >= 0 else -1)
    return math.fmod(a, b)


def _unary(operator: str, function: Callable[[Any], Any], check: Callable[[Any], bool] | None = None,
          domain: str = "") -> Callable[[list[Any]], Any]:
    """A one-number operator: null for null, NaN for NaN, QueryError outside its domain."""
    def apply(values: list[Any]) -> Any:
        (value,) = values
        if is_nullish(value):
            return None
        number = as_number(operator, value)
        if number != number:
            return number
        if check is not None and not check(number):
            raise QueryError(f"{operator}'s argument must be {domain}, got {value!r}")
        return function(number)
    return apply


def _integral(function: Callable[[float], float]) -> Callable[[Any], Any]:
    return lambda value: value if isinstance(value, int) or math.isinf(value) else float(function(value))


def _exp(value: float) -> float:
    try:
        return math.exp(value)
    except OverflowError:
        return math.inf


def round_(values: list[Any]) -> Any:
    value, place = values[0], values[1] if len(values) > 1 else 0
    if is_nullish(value) or is_nullish(place):
        return None
    number, places = as_number("$round", value), as_integer("$round place", place)
    if not -20 < places < 100:
        raise QueryError(f"$round: the place must be between -20 and 100, got {place!r}")
    if isinstance(number, float) and not math.isfinite(number):
        return number
    # MongoDB rounds the decimal value half to even (19.25 -> 19.2), not Python's binary one
    rounded = decimal.Decimal(repr(number) if isinstance(number, float) else number).quantize(
        decimal.Decimal(1).scaleb(-places), rounding=decimal.ROUND_HALF_EVEN, context=_PRECISE)
    return int(rounded) if isinstance(number, int) else float(rounded)


def power(values: list[Any]) -> Any:
    base, exponent = values
    if is_nullish(base) or is_nullish(exponent):
        return None
    b, e = as_number("$pow", base), as_number("$pow", exponent)
    if b == 0 and e < 0:
        raise QueryError("$pow cannot take a base of 0 and a negative exponent")
    if isinstance(b, int) and isinstance(e, int) and e >= 0:
        return int_result(b ** e)
    try:
        result = float(b) ** e
    except OverflowError:
        return math.inf if b > 0 or float(e) % 2 == 0 else -math.inf
    return math.nan if isinstance(result, complex) else result


UNARY: dict[str, Callable[[list[Any]], Any]] = {
    "$abs": _unary("$abs", lambda value: int_result(abs(value)) if isinstance(value, int) else abs(value)),
    "$sqrt": _unary("$sqrt", math.sqrt, lambda value: value >= 0, "non-negative"),
    "$log10": _unary("$log10", math.log10, lambda value: value > 0, "positive"),
    "$ln": _unary("$ln", math.log, lambda value: value > 0, "positive"),
    "$exp": _unary("$exp", _exp),
    "$floor": _unary("$floor", _integral(math.floor)), "$ceil": _unary("$ceil", _integral(math.ceil)),
}
