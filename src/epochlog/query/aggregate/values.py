"""Values as aggregation expressions see them: MISSING, BSON types, truth, and MongoDB's comparison order.

The order is BSON's canonical one (src/mongo/bson/bsontypes.cpp, canonicalizeBSONType): missing
(and undefined) < null < numbers < strings < objects < arrays < binData < ObjectId < bool < date <
regex, the same ranks `query.sql` sorts stored values by. Within a type: numbers exactly (int and
float together, NaN below every other number), strings by code point, documents field by field
(type of the value, then key, then value), arrays element by element, a shorter prefix first.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Sequence
from typing import Any

from bson import ObjectId
from bson.regex import Regex as BsonRegex

from ...documents import INT64_MAX, INT64_MIN, as_utc
from ..nodes import RegexValue
from ..sort_key import ARRAY, BINARY, BOOL, DATE, NULL_RANK, NUMBER, OBJECT, OBJECT_ID, STRING, UNDEFINED

_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_REGEX = DATE + 1


class _Missing:
    """A path that reaches nothing: omitted from documents, below null in comparisons."""

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_nullish(value: Any) -> bool:
    """null or missing: what most operators answer null for."""
    return value is None or value is MISSING


def truthy(value: Any) -> bool:
    """Aggregation truth: false, null, missing and zero are false; everything else (empty arrays too) is true."""
    if value is None or value is MISSING or value is False:
        return False
    if is_number(value):
        return bool(value != 0)  # NaN too is true, as in MongoDB (it is not 0)
    return True


def type_name(value: Any) -> str:
    """`$type`'s answer; a Python int is "int" if it fits 32 bits, else "long", as pymongo stores it."""
    if value is MISSING:
        return "missing"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int" if _INT32_MIN <= value <= _INT32_MAX else "long"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bytes):
        return "binData"
    if isinstance(value, ObjectId):
        return "objectId"
    if isinstance(value, dt.datetime):
        return "date"
    if isinstance(value, (re.Pattern, BsonRegex, RegexValue)):
        return "regex"
    return type(value).__name__


def rank(value: Any) -> int:
    """The canonical BSON type rank of a value (MISSING as undefined)."""
    if value is MISSING:
        return UNDEFINED
    if value is None:
        return NULL_RANK
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, (int, float)):
        return NUMBER
    if isinstance(value, str):
        return STRING
    if isinstance(value, dict):
        return OBJECT
    if isinstance(value, list):
        return ARRAY
    if isinstance(value, bytes):
        return BINARY
    if isinstance(value, ObjectId):
        return OBJECT_ID
    if isinstance(value, dt.datetime):
        return DATE
    return _REGEX


def compare(left: Any, right: Any) -> int:
    """-1, 0 or 1: MongoDB's order of two values (`$cmp`, `$sort`, `$min`, group keys)."""
    a, b = rank(left), rank(right)
    if a != b:
        return -1 if a < b else 1
    if a == NUMBER:
        left_nan, right_nan = left != left, right != right
        if left_nan or right_nan:
            return (right_nan and not left_nan) - (left_nan and not right_nan)
    if a in (NUMBER, STRING, BOOL, OBJECT_ID):
        return (left > right) - (left < right)
    if a == DATE:
        return _sign(as_utc(left), as_utc(right))
    if a == OBJECT:
        return _sequences([(rank(v), k, v) for k, v in left.items()], [(rank(v), k, v) for k, v in right.items()])
    if a == ARRAY:
        return _sequences([(rank(v), "", v) for v in left], [(rank(v), "", v) for v in right])
    if a == BINARY:
        return _sign((len(left), left), (len(right), right))
    if a == _REGEX:
        return _sign(_regex_key(left), _regex_key(right))
    return 0


def equal(left: Any, right: Any) -> bool:
    return compare(left, right) == 0


#: A sort key for Python's `sorted` in MongoDB's order.
order_key = functools.cmp_to_key(compare)


def whole_number(value: Any) -> int | None:
    """An integral number as an int (a float like 2.0 too), None for anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            return None
        value = int(value)
    return value if INT64_MIN <= value <= INT64_MAX else None


def _sequences(left: Sequence[tuple[int, str, Any]], right: Sequence[tuple[int, str, Any]]) -> int:
    for (left_rank, left_key, left_value), (right_rank, right_key, right_value) in zip(left, right):
        if left_rank != right_rank:
            return -1 if left_rank < right_rank else 1
        if left_key != right_key:
            return -1 if left_key < right_key else 1
        result = compare(left_value, right_value)
        if result:
            return result
    return _sign(len(left), len(right))


def _sign(left: Any, right: Any) -> int:
    return (left > right) - (left < right)




def _regex_key(value: Any) -> tuple[str, str]:
    if isinstance(value, re.Pattern):
        return str(value.pattern), ""
    if isinstance(value, BsonRegex):
        return str(value.pattern), str(value.flags)
    return value.pattern, value.options
