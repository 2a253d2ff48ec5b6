"""String operators over evaluated arguments, by code point (`$substrCP`, `$strLenCP`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...errors import QueryError
from .arguments import as_integer, as_string
from .values import is_nullish


def concat(values: list[Any]) -> Any:
    if any(is_nullish(value) for value in values):
        return None
    return "".join(as_string("$concat", value) for value in values)


def case(operator: str, upper: bool) -> Callable[[list[Any]], str]:
    """`$toUpper` or `$toLower`: "" for null."""
    def apply(values: list[Any]) -> str:
        (value,) = values
        if is_nullish(value):
            return ""
        text = as_string(operator, value)
        return text.upper() if upper else text.lower()
    return apply


def substr_cp(values: list[Any]) -> str:
    value, start, count = values
    if is_nullish(value):
        return ""
    begin, length = as_integer("$substrCP start", start), as_integer("$substrCP length", count)
    if begin < 0 or length < 0:
        raise QueryError("$substrCP: start and length must not be negative")
    return as_string("$substrCP", value)[begin:begin + length]


def str_len_cp(values: list[Any]) -> int:
    (value,) = values
    return len(as_string("$strLenCP", value))


def split(values: list[Any]) -> Any:
    value, delimiter = values
    if is_nullish(value):
        return None
    separator = as_string("$split delimiter", delimiter)
    if not separator:
        raise QueryError("$split: the delimiter must not be empty")
    return as_string("$split", value).split(separator)
