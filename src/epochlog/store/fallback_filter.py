"""A filter as a server holding the fallback form (fallback_form.py) must be asked it, and whether it is exact.

On such a server NaN and ±inf are documents `{"__epochlog_float__": ...}` and an array inside an array is
`{"__epochlog_array__": [...]}`, so the filter the user wrote would compare against the wrong values.
Each leaf of the parsed filter is rewritten so that it selects, on the stored form, exactly the
documents MongoDB would select on the values they stand for:

    {a: NaN}, {a: {$gte: NaN}}     -> {"a.__epochlog_float__": "NaN"}     (NaN equals only NaN)
    {a: {$gt: NaN}}, {$lt: NaN}    -> nothing                              (NaN is neither < nor > anything)
    {a: {$gt: 2}}                  -> {$or: [{a: {$gt: 2}}, {"a.__epochlog_float__": "Infinity"}]}
    {a: {$lt: inf}}                -> {$or: [{a: {$type: "number"}}, {"a.__epochlog_float__": "-Infinity"}]}
    {a: [1, 2]}, {$in: [[1, 2]]}   -> {$or: [{a: [1, 2]}, {"a.__epochlog_array__": [1, 2]}]}  (the array, or an element)

(MongoDB: src/mongo/db/matcher/expression_leaf.cpp, ComparisonMatchExpressionBase::compare: "NaN is only
equal to NaN"; the manual's `$in`: "if the field holds an array, $in selects the documents whose field
holds an array that contains at least one element that matches a value in the specified array".)

A leaf the stored form cannot answer exactly (an `$elemMatch`, which FerretDB 1.x also gets wrong on
arrays of documents; a document operand, which FerretDB does not compare with array elements; a path
with an array offset; `$type` of numbers, objects or arrays; null under a dotted path; `$regex` option
`x`, which FerretDB refuses) is replaced by a bound: everything in a positive position, nothing under
a negation, so the server returns a superset and `exact` is False. The store then decides each
returned document with `query.evaluate`, which is the embedded store's own SQL.
"""

from __future__ import annotations

import math
from typing import Any

from bson.regex import Regex as BsonRegex

from ..query.nodes import (And, Cmp, Const, ElemMatchDoc, ElemMatchValue, Eq, Exists, In, Mod, Node, Nor,
                           Not, Or, Regex, RegexValue, Size, Type)
from .fallback_form import ARRAY_TAG, FLOAT_TAG, encode

_NOTHING: dict[str, Any] = {"_id": {"$in": []}}
_SHIFTED_TYPES = frozenset({"double", "number", "object", "array"})  # what the tagged forms change


def fallback_filter(node: Node) -> tuple[dict[str, Any], bool]:
    """(the filter to send, whether the server's answer is exactly MongoDB's)."""
    return _node(node, True)


def _node(node: Node, positive: bool) -> tuple[dict[str, Any], bool]:
    if isinstance(node, Const):
        return ({} if node.value else _NOTHING), True
    if isinstance(node, (And, Or, Nor)):
        inner = positive if not isinstance(node, Nor) else not positive
        parts = [_node(child, inner) for child in node.children]
        operator = {And: "$and", Or: "$or", Nor: "$nor"}[type(node)]
        return {operator: [part for part, _ in parts]}, all(exact for _, exact in parts)
    if isinstance(node, Not):
        part, exact = _node(node.child, not positive)
        return {"$nor": [part]}, exact
    leaf = _leaf(node.path, node.pred)
    if leaf is None:
        return ({} if positive else _NOTHING), False
    return leaf, True


def _leaf(path: tuple[str, ...], pred: Any) -> dict[str, Any] | None:
    """The exact rewrite of one leaf, or None when the stored form cannot answer it exactly."""
    dotted = ".".join(path)
    if any(key.isdigit() for key in path) or isinstance(pred, (ElemMatchDoc, ElemMatchValue)):
        return None  # an offset may land on a tagged array; $elemMatch sees tagged elements
    if isinstance(pred, Eq):
        return _equal(dotted, len(path), pred.value)
    if isinstance(pred, In):
        return _one_of(dotted, len(path), pred.values)
    if isinstance(pred, Cmp):
        return _compare(dotted, len(path), pred.op, pred.value)
    if isinstance(pred, Type):
        return None if pred.names & _SHIFTED_TYPES else {dotted: {"$type": sorted(pred.names)}}
    if isinstance(pred, Regex):
        return None if "x" in pred.options else {dotted: {"$regex": pred.pattern, "$options": pred.options}}
    if isinstance(pred, Exists):
        return {dotted: {"$exists": True}}
    if isinstance(pred, Size):
        return {dotted: {"$size": pred.n}}
    if isinstance(pred, Mod):
        return {dotted: {"$mod": [pred.divisor, pred.remainder]}}  # NaN and ±inf never match, tagged or not
    return None


def _equal(dotted: str, depth: int, value: Any) -> dict[str, Any] | None:
    if type(value) is float and not math.isfinite(value):
        return {f"{dotted}.{FLOAT_TAG}": encode(value)[FLOAT_TAG]}
    if isinstance(value, list):
        stored = encode(value)
        return {"$or": [{dotted: {"$eq": stored}}, {f"{dotted}.{ARRAY_TAG}": {"$eq": stored}}]}
    if isinstance(value, (dict, RegexValue)):
        return None  # FerretDB 1.x compares no document with array elements; a regex value matches nothing
    if value is None and depth > 1:
        return None  # "missing" under an array of tagged values differs
    return {dotted: {"$eq": value}}


def _one_of(dotted: str, depth: int, values: tuple[Any, ...]) -> dict[str, Any] | None:
    plain: list[Any] = []
    alternatives: list[dict[str, Any]] = []
    for value in values:
        if isinstance(value, RegexValue):
            plain.append(BsonRegex(value.pattern, value.options))
        elif (type(value) is float and not math.isfinite(value)) or isinstance(value, (list, dict)) or \
                (value is None and depth > 1):
            alternative = _equal(dotted, depth, value)
            if alternative is None:
                return None
            alternatives.append(alternative)
        else:
            plain.append(value)
    if not alternatives:
        return {dotted: {"$in": plain}}
    return {"$or": ([{dotted: {"$in": plain}}] if plain else []) + alternatives}


def _compare(dotted: str, depth: int, op: str, value: Any) -> dict[str, Any] | None:
    if value is None:
        return _equal(dotted, depth, None) if op in ("$gte", "$lte") else _NOTHING
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return {dotted: {op: value}}  # strings, dates, ObjectIds: no tagged form in their bracket
    upward = op in ("$gt", "$gte")
    if value != value:  # NaN: equal to NaN only, never less or greater
        return _equal(dotted, depth, value) if op in ("$gte", "$lte") else _NOTHING
    if math.isinf(value):
        if (value > 0) == upward:  # above +inf or below -inf: only the bound itself, if inclusive
            return _equal(dotted, depth, value) if op in ("$gte", "$lte") else _NOTHING
        inclusive = [_equal(dotted, depth, value)] if op in ("$gte", "$lte") else []
        return {"$or": [{dotted: {"$type": "number"}}, _equal(dotted, depth, -value), *inclusive]}  # type: ignore[list-item]
    return {"$or": [{dotted: {op: value}}, _equal(dotted, depth, math.inf if upward else -math.inf)]}
