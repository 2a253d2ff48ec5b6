"""MongoDB filter documents -> the AST of nodes.py: the one parser every backend shares.

Negative operators are lifted out of the leaf, exactly as MongoDB parses them (`$ne`, `$nin`, `$not`,
`$exists: false` become `Not` nodes), and operator documents with several operators become `And`s.
Operand values are normalized the way documents are (datetimes to aware UTC milliseconds, numpy
scalars to Python numbers, tuples to lists), so they compare like stored values.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from typing import Any

from bson import ObjectId
from bson.regex import Regex as BsonRegex

from ..documents import INT64_MAX, INT64_MIN, normalize_value
from ..errors import InvalidDocument, QueryError
from .nodes import (
    And,
    Cmp,
    ElemMatchDoc,
    ElemMatchValue,
    Eq,
    Exists,
    Field,
    In,
    Mod,
    Node,
    Nor,
    Not,
    Or,
    Pred,
    Regex,
    Size,
    TRUE,
    Type,
    ValueAnd,
    ValueNot,
    ValueTest,
)
from .regex import regex_value

# -- operator tables -------------------------------------------------------------------------------

LOGICAL = ("$and", "$or", "$nor")
#: Operators that take a path's values (MongoDB's "path-accepting keywords" we implement).
VALUE_OPERATORS = frozenset({"$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$not",
                             "$regex", "$options", "$all", "$elemMatch", "$size", "$type", "$mod"})
_REFUSED = {
    "$where": "runs JavaScript on the server",
    "$function": "runs JavaScript on the server",
    "$accumulator": "runs JavaScript on the server",
    "$text": "needs a text index, which epochlog does not have",
    "$jsonSchema": "is not supported",
    "$sampleRate": "is not supported",
}
_UNSUPPORTED = frozenset({"$bitsAllClear", "$bitsAllSet", "$bitsAnyClear", "$bitsAnySet", "$geoIntersects",
                          "$geoWithin", "$near", "$nearSphere", "$maxDistance", "$minDistance", "$center",
                          "$box", "$polygon", "$centerSphere", "$geometry", "$comment", "$meta", "$rand"})

#: `$type` aliases (and their BSON numbers) -> the canonical alias.
TYPE_ALIASES: dict[Any, str] = {
    "double": "double", 1: "double", "string": "string", 2: "string", "object": "object", 3: "object",
    "array": "array", 4: "array", "binData": "binData", 5: "binData", "undefined": "undefined", 6: "undefined",
    "objectId": "objectId", 7: "objectId", "bool": "bool", 8: "bool", "date": "date", 9: "date",
    "null": "null", 10: "null", "regex": "regex", 11: "regex", "dbPointer": "dbPointer", 12: "dbPointer",
    "javascript": "javascript", 13: "javascript", "symbol": "symbol", 14: "symbol",
    "javascriptWithScope": "javascriptWithScope", 15: "javascriptWithScope", "int": "int", 16: "int",
    "timestamp": "timestamp", 17: "timestamp", "long": "long", 18: "long", "decimal": "decimal", 19: "decimal",
    "minKey": "minKey", -1: "minKey", "maxKey": "maxKey", 127: "maxKey", "number": "number",
}


# -- entry points ----------------------------------------------------------------------------------


def parse_filter(filter: Mapping[str, Any] | None) -> Node:
    """The AST of a MongoDB filter; QueryError names the operator or path it cannot accept."""
    if filter is None:
        return TRUE
    if not isinstance(filter, Mapping):
        raise QueryError(f"a filter must be a document (a mapping), got {type(filter).__name__}")
    return _document(filter, top=True)


def split_path(path: Any) -> tuple[str, ...]:
    """The keys of a dotted path; QueryError for a non-string or a `$`-prefixed component."""
    if not isinstance(path, str):
        raise QueryError(f"a field path must be a string, got {type(path).__name__} {path!r}")
    parts = tuple(path.split("."))
    for part in parts:
        if part.startswith("$"):
            raise QueryError(f"field path {path!r}: component {part!r} starts with '$' "
                             "(positional and operator paths are not allowed here)")
        if "\x00" in part:
            raise QueryError(f"field path {path!r} contains a NUL character")
    return parts


# -- documents and fields --------------------------------------------------------------------------


def _document(filter: Mapping[str, Any], top: bool = False) -> Node:
    """A filter document's AST; `top`: the whole filter, or items of its `$and`/`$or`/`$nor` (not `$elemMatch`'s)."""
    nodes: list[Node] = []
    for key, value in filter.items():
        if not isinstance(key, str):
            raise QueryError(f"filter keys must be strings, got {type(key).__name__} {key!r}")
        if key.startswith("$"):
            nodes.append(_top_level(key, value, top))
        else:
            nodes.append(_field(split_path(key), value))
    return _and(nodes)


def _top_level(key: str, value: Any, top: bool) -> Node:
    if key in LOGICAL:
        if not isinstance(value, (list, tuple)) or not value:
            raise QueryError(f"{key} needs a non-empty list of filter documents, got {value!r}")
        children = []
        for item in value:
            if not isinstance(item, Mapping):
                raise QueryError(f"{key} needs a list of filter documents, got an item {item!r}")
            children.append(_document(item, top))
        if key == "$and":
            return _and(children)
        return Or(tuple(children)) if key == "$or" else Nor(tuple(children))
    if key == "$comment":
        return TRUE
    if key == "$expr":  # find, count and $match set it apart before parsing (query/expr_filter.py)
        raise QueryError("$expr can only be applied to the top-level document" if not top else
                         "$expr is taken by find, count and aggregation's $match filters, not by update or "
                         "delete filters")
    if key in _REFUSED:
        raise QueryError(f"operator {key} is refused: it {_REFUSED[key]}")
    raise QueryError(f"unknown top level operator {key}")


def _field(path: tuple[str, ...], value: Any) -> Node:
    if _is_operator_document(value):
        return _lift(path, _operators(value))
    if isinstance(value, (re.Pattern, BsonRegex)):
        return Field(path, _regex_pred(value, None))
    return Field(path, Eq(_operand(value)))


def _is_operator_document(value: Any) -> bool:
    if not isinstance(value, Mapping) or not value:
        return False
    first = next(iter(value))
    return isinstance(first, str) and first.startswith("$")


def _lift(path: tuple[str, ...], test: ValueTest) -> Node:
    """A value test over every value of `path`: negations and conjunctions move outside the leaf."""
    if isinstance(test, ValueAnd):
        return _and([_lift(path, item) for item in test.tests])
    if isinstance(test, ValueNot):
        return Not(_lift(path, test.test))
    return Field(path, test)


def _and(nodes: list[Node]) -> Node:
    nodes = [node for node in nodes if node != TRUE]
    if not nodes:
        return TRUE
    return nodes[0] if len(nodes) == 1 else And(tuple(nodes))


# -- operators -------------------------------------------------------------------------------------


def _operators(ops: Mapping[str, Any]) -> ValueTest:
    """The test an operator document (`{$gt: 1, $lt: 5}`) applies to one value."""
    tests: list[ValueTest] = []
    keys = list(ops)
    for key in keys:
        if not isinstance(key, str) or not key.startswith("$"):
            raise QueryError(f"unknown operator {key!r}: an operator document cannot mix operators and fields")
    if "$options" in ops and "$regex" not in ops:
        raise QueryError("$options needs a $regex")
    for key in keys:
        operand = ops[key]
        if key == "$options":
            continue
        if key == "$regex":
            tests.append(_regex_pred(operand, ops.get("$options")))
        else:
            tests.append(_operator(key, operand))
    return tests[0] if len(tests) == 1 else ValueAnd(tuple(tests))


def _operator(key: str, operand: Any) -> ValueTest:
    if key == "$eq":
        return Eq(_operand(operand, "$eq"))
    if key == "$ne":
        if isinstance(operand, (re.Pattern, BsonRegex)):
            raise QueryError("$ne cannot take a regular expression (use $not)")
        return ValueNot(Eq(_operand(operand, "$ne")))
    if key in ("$gt", "$gte", "$lt", "$lte"):
        if isinstance(operand, (re.Pattern, BsonRegex)):
            raise QueryError(f"{key} cannot take a regular expression")
        return Cmp(key, _operand(operand, key))
    if key == "$in":
        return In(_in_values(operand, "$in"))
    if key == "$nin":
        return ValueNot(In(_in_values(operand, "$nin")))
    if key == "$exists":
        return Exists() if _truthy(operand) else ValueNot(Exists())
    if key == "$not":
        return ValueNot(_not_operand(operand))
    if key == "$all":
        return _all(operand)
    if key == "$elemMatch":
        return _elem_match(operand)
    if key == "$size":
        return Size(_whole_number(operand, "$size", minimum=0))
    if key == "$type":
        return Type(_type_names(operand))
    if key == "$mod":
        return _mod(operand)
    if key in _REFUSED:
        raise QueryError(f"operator {key} is refused: it {_REFUSED[key]}")
    if key in LOGICAL:
        raise QueryError(f"unknown operator {key} inside a field (logical operators go at the top level)")
    if key in _UNSUPPORTED:
        raise QueryError(f"operator {key} is not supported")
    raise QueryError(f"unknown operator {key}")


def _not_operand(operand: Any) -> ValueTest:
    if isinstance(operand, (re.Pattern, BsonRegex)):
        return _regex_pred(operand, None)
    if not isinstance(operand, Mapping):
        raise QueryError(f"$not needs an operator document or a regular expression, got {operand!r}")
    if not operand:
        raise QueryError("$not cannot be empty")
    if not _is_operator_document(operand):
        raise QueryError(f"$not needs an operator document, got {dict(operand)!r}")
    return _operators(operand)


def _in_values(operand: Any, key: str) -> tuple[Any, ...]:
    if not isinstance(operand, (list, tuple)):
        raise QueryError(f"{key} needs a list, got {operand!r}")
    values = []
    for item in operand:
        if isinstance(item, (re.Pattern, BsonRegex)):
            values.append(regex_value(item, None))
        elif _is_operator_document(item):
            raise QueryError(f"{key} cannot contain operators, got {dict(item)!r}")
        else:
            values.append(_operand(item, key))
    return tuple(values)


def _all(operand: Any) -> ValueTest:
    if not isinstance(operand, (list, tuple)):
        raise QueryError(f"$all needs a list, got {operand!r}")
    if not operand:
        return In(())  # MongoDB: an empty $all matches nothing
    elem_matches = [isinstance(item, Mapping) and next(iter(item), None) == "$elemMatch" for item in operand]
    if any(elem_matches):
        if not all(elem_matches):
            raise QueryError("$all cannot mix $elemMatch documents and values")
        for item in operand:
            if len(item) != 1:
                raise QueryError(f"$all: an $elemMatch document takes nothing else, got {dict(item)!r}")
        tests: list[ValueTest] = [_elem_match(item["$elemMatch"]) for item in operand]
    else:
        tests = []
        for item in operand:
            if isinstance(item, (re.Pattern, BsonRegex)):
                tests.append(_regex_pred(item, None))
            elif _is_operator_document(item):
                raise QueryError(f"$all cannot contain operators other than $elemMatch, got {dict(item)!r}")
            else:
                tests.append(Eq(_operand(item, "$all")))
    return tests[0] if len(tests) == 1 else ValueAnd(tuple(tests))


def _elem_match(operand: Any) -> Pred:
    if not isinstance(operand, Mapping):
        raise QueryError(f"$elemMatch needs a document, got {operand!r}")
    first = next(iter(operand), None)
    if isinstance(first, str) and first in VALUE_OPERATORS:
        return ElemMatchValue(_operators(operand))
    return ElemMatchDoc(_document(operand))


def _regex_pred(operand: Any, options: Any) -> Regex:
    value = regex_value(operand, options)
    return Regex(value.pattern, value.options)


def _type_names(operand: Any) -> frozenset[str]:
    items = operand if isinstance(operand, (list, tuple)) else [operand]
    names = set()
    for item in items:
        key = item
        if isinstance(item, float) and item.is_integer():
            key = int(item)
        if isinstance(item, bool) or not isinstance(key, (str, int)) or key not in TYPE_ALIASES:
            raise QueryError(f"$type: unknown type {item!r}")
        names.add(TYPE_ALIASES[key])
    return frozenset(names)


def _mod(operand: Any) -> Mod:
    if not isinstance(operand, (list, tuple)) or len(operand) != 2:
        raise QueryError(f"$mod needs a list [divisor, remainder], got {operand!r}")
    divisor = _whole_number(operand[0], "$mod divisor", truncate=True)
    remainder = _whole_number(operand[1], "$mod remainder", truncate=True)
    if divisor == 0:
        raise QueryError("$mod: the divisor cannot be 0")
    return Mod(divisor, remainder)


def _whole_number(value: Any, what: str, minimum: int | None = None, truncate: bool = False) -> int:
    number = normalize_value(value, what) if not isinstance(value, (int, float)) else value
    if isinstance(number, bool) or not isinstance(number, (int, float)):
        raise QueryError(f"{what} needs a number, got {value!r}")
    if isinstance(number, float):
        if not math.isfinite(number) or not (truncate or number.is_integer()):
            raise QueryError(f"{what} needs a whole number, got {value!r}")
        number = int(number)
    if not INT64_MIN <= number <= INT64_MAX:
        raise QueryError(f"{what} does not fit in 64 bits: {value!r}")
    if minimum is not None and number < minimum:
        raise QueryError(f"{what} cannot be negative, got {value!r}")
    return number


def _truthy(value: Any) -> bool:
    """BSON's notion of a true value: only false, 0 and null are false."""
    if value is None or value is False:
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value != 0
    return True


# -- operand values --------------------------------------------------------------------------------


def _operand(value: Any, where: str = "value") -> Any:
    """An operand normalized like a stored value; dicts keep any string keys (they simply never match)."""
    if value is None or isinstance(value, (bool, str, ObjectId, bytes)):
        return value
    if type(value) is int:
        if not INT64_MIN <= value <= INT64_MAX:
            raise QueryError(f"{where}: integer {value} does not fit in 64 bits")
        return value
    if type(value) is float:
        return value
    if isinstance(value, (re.Pattern, BsonRegex)):
        return regex_value(value, None)
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise QueryError(f"{where}: document keys must be strings, got {key!r}")
            out[key] = _operand(item, where)
        return out
    if isinstance(value, (list, tuple)):
        return [_operand(item, where) for item in value]
    if isinstance(value, (dt.datetime, dt.date)):
        return normalize_value(value, where)
    try:
        normalized = normalize_value(value, where)
    except InvalidDocument as error:
        raise QueryError(f"{where}: {error}") from None
    return normalized if normalized is value else _operand(normalized, where)
