"""The positional projection `{"arr.$": 1}`: which element of an array the filter matched.

MongoDB records, while matching, the offset in the first array a satisfied condition walked through
(its "elemMatchKey", src/mongo/db/matcher/match_details.h): `$and` keeps the last one set, `$or` the
one of the branch that matched, negations and `$size` none. The projection then keeps only that
element of the first array on the projected path (projection_executor_utils.cpp,
`applyFindPositionalProjection`). This module computes the same offset, testing each element with the
SQL the embedded store runs (evaluate.py), so "matched" means what it means in a filter.
"""

from __future__ import annotations

from typing import Any

from ..errors import QueryError
from .evaluate import matches
from .nodes import And, ElemMatchDoc, ElemMatchValue, Field, Node, Or, Size

_ELEMENT = ("v",)


def elem_match_key(node: Node, document: dict[str, Any]) -> int | None:
    """The offset MongoDB would record matching `document` against `node` (None: none recorded)."""
    if isinstance(node, And):
        key = None
        for child in node.children:
            key = _or_keep(elem_match_key(child, document), key)
        return key
    if isinstance(node, Or):
        for child in node.children:
            if matches(child, document):
                return elem_match_key(child, document)
        return None
    if isinstance(node, Field):
        return _field_key(node, document)
    return None  # $nor, $not and constants record nothing


def _or_keep(new: int | None, old: int | None) -> int | None:
    return old if new is None else new


def _field_key(node: Field, document: dict[str, Any]) -> int | None:
    value: Any = document
    for depth, key in enumerate(node.path):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
        if isinstance(value, list):
            return _first_element(node, value, node.path[depth + 1:])
    return None


def _first_element(node: Field, array: list[Any], rest: tuple[str, ...]) -> int | None:
    if isinstance(node.pred, Size):
        return None  # matches the array as a whole
    if rest and rest[0].isdigit():
        raise QueryError(f"positional projection: the filter path {'.'.join(node.path)!r} takes an array "
                         "offset, so the element it matched is ambiguous; use $elemMatch")
    for index, element in enumerate(array):
        if rest:
            found = isinstance(element, dict) and matches(Field(rest, node.pred), element)
        elif isinstance(node.pred, (ElemMatchDoc, ElemMatchValue)):
            found = matches(Field(_ELEMENT, node.pred), {"v": [element]})
        else:
            found = matches(Field(_ELEMENT, ElemMatchValue(node.pred)), {"v": [element]})
        if found:
            return index
    return None


def apply_positional(projected: dict[str, Any], path: tuple[str, ...], key: int | None) -> dict[str, Any]:
    """`projected` with the first array on `path` cut to its element `key` (MongoDB's errors 51246/51247)."""
    value: Any = projected
    for depth, name in enumerate(path):
        if not isinstance(value, dict) or name not in value:
            return projected
        child = value[name]
        if isinstance(child, list):
            if key is None:
                raise QueryError(f"positional operator '{'.'.join(path)}.$' couldn't find a matching element "
                                 "in the array (the filter must have one condition on that array)")
            if key >= len(child):
                raise QueryError(f"positional operator '{'.'.join(path)}.$' element mismatch")
            value[name] = [child[key]]
            return projected
        value = child
    return projected
