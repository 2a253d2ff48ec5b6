"""The sort key of a value in MongoDB's cross-type order, as SQL, and the paths that never held an array.

A value that is not an array sorts by two expressions: the rank of its type (`sort_rank`) and its
value within the rank (`sort_value`). On a path under which no document has ever held an array (the
store keeps count, `array_free`) they are the whole sort key, and filters compare them too, so the
store's expression indexes on them (over `scalar_ref`, spelled literally) serve both.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from bson import ObjectId

from ..documents import date_to_millis
from ..schema import FieldType
from . import parse as ast
from .fragments import Sql, fmt
from .paths import DOC_LITERAL, Ref, Row

#: Ranks in MongoDB's comparison order (an empty array's sort key is `undefined`, below null).
UNDEFINED, NULL_RANK, NUMBER, STRING, OBJECT, ARRAY, BINARY, OBJECT_ID, BOOL, DATE = range(10)
_SCALAR_KEY = re.compile(r"[A-Za-z0-9_]+")


def array_free(path: Sequence[str], arrays: Collection[str] | None) -> bool:
    """Whether no stored document has an array at `path` or above it. `arrays` lists the dotted paths
    (through documents only) where some document of the collection has held an array; None: unknown."""
    if arrays is None:
        return False
    return not any(".".join(path[:i]) in arrays for i in range(1, len(path) + 1))


def scalar_ref(path: Sequence[str]) -> Ref | None:
    """The value at a path of plain keys, spelled literally (see `sort_rank`), or None for other keys."""
    ref = DOC_LITERAL
    for key in path:
        if not _SCALAR_KEY.fullmatch(key):
            return None
        ref = Ref(ref.src, ref.path + ('."' + key + '"'), literal=True)
    return ref


def sort_rank(value: Ref | Row) -> Sql:
    """The rank of the value's type in MongoDB's order (missing ranks as null). With `sort_value`, the
    sort key of a value that is not an array; over a `scalar_ref`, the expression an index is built on."""
    return fmt(f"CASE {{}} WHEN 'null' THEN {NULL_RANK} WHEN 'integer' THEN {NUMBER} WHEN 'real' THEN {NUMBER} "
               f"WHEN 'text' THEN {STRING} WHEN 'array' THEN {ARRAY} WHEN 'true' THEN {BOOL} "
               f"WHEN 'false' THEN {BOOL} WHEN 'object' THEN CASE substr({{}}, 1, 5) "
               f"WHEN '{{\"$da' THEN {DATE} WHEN '{{\"$oi' THEN {OBJECT_ID} WHEN '{{\"$bi' THEN {BINARY} "
               f"WHEN '{{\"$nu' THEN {NUMBER} ELSE {OBJECT} END ELSE {NULL_RANK} END",
               value.type(), value.value())


def sort_value(value: Ref | Row) -> Sql:
    """The value within its rank: numbers, strings, 0/1, milliseconds, ObjectId hex; NULL for NaN
    (the lowest number); documents and arrays by their JSON text (see docs/QUERY.md)."""
    v = value.value()
    return fmt("CASE WHEN {} = 'object' THEN CASE substr({}, 1, 5) WHEN '{\"$da' THEN {} "
               "WHEN '{\"$oi' THEN {} WHEN '{\"$nu' THEN NULL ELSE {} END ELSE {} END",
               value.type(), v, value.tag("date"), value.tag("oid"), v, v)


def sort_key_of(operand: Any) -> tuple[int, Any] | None:
    """(rank, value within the rank) of an operand, as `sort_rank`/`sort_value` compute them, for the
    operands whose equality and order MongoDB decides by exactly that pair; None for the others."""
    if operand is None:
        return NULL_RANK, None
    if isinstance(operand, bool):
        return BOOL, int(operand)
    if isinstance(operand, (int, float)):
        return None if isinstance(operand, float) and math.isnan(operand) else (NUMBER, operand)
    if isinstance(operand, str):
        return STRING, operand
    if isinstance(operand, dt.datetime):
        return DATE, date_to_millis(operand)
    if isinstance(operand, ObjectId):
        return OBJECT_ID, str(operand)
    return None


def fixed_ranks(node: ast.Node, typed: Mapping[str, FieldType] = {},
                arrays: Collection[str] | None = None) -> frozenset[tuple[str, ...]]:
    """The paths whose `sort_rank` is the same in every document `node` matches (it compares them with a
    scalar), for `compile_sort` to leave out: SQLite 3.40 does not see that an equality makes an
    expression in the ORDER BY constant, and would sort what an index already returns in order."""
    if isinstance(node, ast.And):
        return frozenset().union(*(fixed_ranks(child, typed, arrays) for child in node.children))
    if (isinstance(node, ast.Field) and isinstance(node.pred, (ast.Eq, ast.Cmp)) and sort_key_of(node.pred.value)
            and ".".join(node.path) not in typed and array_free(node.path, arrays) and scalar_ref(node.path)):
        return frozenset([node.path])
    return frozenset()

