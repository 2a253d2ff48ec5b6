"""Typed fields: paths the tracker always writes with one scalar type, compiled to one plain expression.

`schema.TYPED_FIELDS` names them (`status`, `start_time`, `experiment_id`, ...; `_id` is the `id`
column). A typed field compiles to `json_extract(doc, '$.path')` (with `."$date"`, `."$oid"` for
tagged types), the expression the store's indexes are built on; a condition on a value of another
type is false, as in MongoDB, whose brackets never mix types.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from bson import ObjectId

from ..documents import INT32_MAX, INT32_MIN, date_to_millis
from ..schema import FieldType
from . import nodes as ast
from .fragments import COMPARISONS, FALSE, TRUE, P, Sql, compare, fmt, in_list, or_
from .functions import regexp_call

_TYPED_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def typed_field_sql(path: str, kind: FieldType) -> str:
    """The SQL expression of a typed field. The store builds its expression indexes from it, so it is
    emitted verbatim (the path comes from the schema, never from a user, and is checked)."""
    if path == "_id":
        return "id"
    if not _TYPED_PATH.fullmatch(path):
        raise ValueError(f"typed field path {path!r} must be dotted identifiers")
    if kind not in ("oid", "int", "str", "date", "bool"):
        raise ValueError(f"unknown field type {kind!r}")
    suffix = {"date": '."$date"', "oid": '."$oid"'}.get(kind, "")
    return f"json_extract(doc, '$.{path}{suffix}')"


def typed_condition(expr: str, kind: str, pred: ast.Pred) -> Sql:
    """`pred` on the typed field whose SQL expression is `expr` (`typed_field_sql`, or `id`)."""
    x = Sql(expr)
    present = _present(x, kind, pred)
    if present == TRUE:
        present = fmt("({} IS NOT NULL)", x)
    return or_(fmt("({} IS NULL)", x), present) if ast.pred_missing(pred) else present


def _present(x: Sql, kind: str, pred: ast.Pred) -> Sql:
    """The condition on a present value `x` of type `kind` (NULL where it means no match)."""
    if isinstance(pred, ast.Eq):
        ok, value = _typed_value(kind, pred.value)
        return fmt("({} = {})", x, P(value)) if ok else FALSE
    if isinstance(pred, ast.Cmp):
        ok, value = _typed_value(kind, pred.value)
        if ok and kind == "bool":
            return in_list(x, [int(b) for b in (False, True) if compare(pred.op, b, pred.value)])
        return fmt(f"({{}} {COMPARISONS[pred.op]} {{}})", x, P(value)) if ok else FALSE
    if isinstance(pred, ast.In):
        values: list[Any] = []
        parts = []
        for item in pred.values:
            if isinstance(item, ast.RegexValue):
                if kind == "str":
                    parts.append(regexp_call(x, item))
                continue
            ok, value = _typed_value(kind, item)
            if ok and value not in values:
                values.append(value)
        return or_(in_list(x, values), *parts)
    if isinstance(pred, ast.Exists):
        return TRUE
    if isinstance(pred, ast.Regex):
        return regexp_call(x, pred) if kind == "str" else FALSE
    if isinstance(pred, ast.Type):
        return _typed_type(x, kind, pred.names)
    if isinstance(pred, ast.Mod):
        return fmt("({} % {} = {})", x, P(pred.divisor), P(pred.remainder)) if kind == "int" else FALSE
    return FALSE  # $size, $elemMatch: a typed field is never an array


def _typed_value(kind: str, value: Any) -> tuple[bool, Any]:
    """(True, the SQL value) if `value` is in the type bracket of a typed field of `kind`."""
    if kind == "str" and isinstance(value, str):
        return True, value
    if kind == "int" and isinstance(value, (int, float)) and not isinstance(value, bool) and not (
            isinstance(value, float) and math.isnan(value)):
        return True, value
    if kind == "bool" and isinstance(value, bool):
        return True, int(value)
    if kind == "date" and isinstance(value, dt.datetime):
        return True, date_to_millis(value)
    if kind == "oid" and isinstance(value, ObjectId):
        return True, str(value)
    return False, None


def _typed_type(x: Sql, kind: str, names: frozenset[str]) -> Sql:
    if kind == "int":
        numeric = names & {"number", "int", "long"}
        if numeric == {"int"}:
            return fmt(f"({{}} BETWEEN {INT32_MIN} AND {INT32_MAX})", x)
        if numeric == {"long"}:
            return fmt(f"({{}} NOT BETWEEN {INT32_MIN} AND {INT32_MAX})", x)
        return TRUE if numeric else FALSE
    wanted = {"str": "string", "date": "date", "oid": "objectId", "bool": "bool"}[kind]
    return TRUE if wanted in names else FALSE

