"""Checks of evaluated arguments: a QueryError naming the operator when one is of the wrong type."""

from __future__ import annotations

from typing import Any

from ...errors import QueryError
from .values import is_number, type_name, whole_number

_INT64 = (-(2**63), 2**63 - 1)


def as_number(operator: str, value: Any) -> float | int:
    if not is_number(value):
        raise QueryError(f"{operator} only supports numeric types, not {type_name(value)}")
    return value  # type: ignore[no-any-return]


def as_array(operator: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise QueryError(f"{operator} needs an array, not {type_name(value)}")
    return value


def as_string(operator: str, value: Any) -> str:
    if not isinstance(value, str):
        raise QueryError(f"{operator} needs a string, not {type_name(value)}")
    return value


def as_integer(operator: str, value: Any) -> int:
    number = whole_number(value)
    if number is None:
        raise QueryError(f"{operator} needs an integral number, got {value!r}")
    return number


def int_result(value: int) -> int | float:
    """An integer result as MongoDB keeps it: a long while it fits, a double beyond."""
    return value if _INT64[0] <= value <= _INT64[1] else float(value)
