"""The filter AST -> one parameterized SQLite boolean expression over a table's `id` and `doc` columns.

`doc` holds `json_codec.dumps` of a document without its `_id` (which is the `id` column, 24 hex).
Every user value and every JSON path reaches SQLite as a `?` parameter (fragments.py); the SQL text is
built only from fixed fragments, so a field named `a'); DROP TABLE x;--` is just a field that does not
exist.

A path is walked as MongoDB walks it (walk.py); each route through a document becomes one flat
`EXISTS` over joined `json_each` tables, every value addressed by a JSON path on `doc` itself
(paths.py), so the SQL nests only as deep as `$elemMatch` does. Typed fields (typed.py) and paths that
never held an array (sort_key.py) compile to plain expressions that the store's indexes serve.

NULL discipline: an expression may yield NULL where it means "no match"; negations therefore read
`CASE WHEN x THEN 0 ELSE 1 END`, and everything else uses expressions only where NULL acts as false.
SQLite 3.40 evaluates both sides of an AND or OR used as a value (a CASE's THEN), so nothing relies on
AND to guard against an error: element paths stay valid whatever `json_each` iterates.
SQLite 3.40's parser stack is fixed (100 entries): deep operands go first in AND/OR chains, and filters
it still cannot parse are refused with a QueryError.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
import sqlite3
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from bson import ObjectId

from ..documents import INT32_MAX, INT32_MIN, date_to_millis
from ..errors import QueryError
from ..schema import FieldType
from . import nodes as ast
from .fragments import (
    COMPARISONS,
    FALSE,
    JSON_TYPES,
    TRUE,
    P,
    Sql,
    and_,
    case_type,
    compare,
    exists,
    fmt,
    in_list,
    not_,
    or_,
)
from .functions import regexp_call
from .parse import parse_filter
from .paths import DOC, Handle, Ref, Row, array_index, is_, member_row, plain_object
from .scratch import scratch_connection
from .sort_key import NULL_RANK, array_free, scalar_ref, sort_key_of, sort_rank, sort_value
from .typed import typed_condition, typed_field_sql
from .walk import PathWalker, Route

MAX_SQL_LENGTH = 1_000_000
_CHECKED_LENGTH = 3_000  # longer expressions are prepared once here, to report what SQLite cannot parse
_NODES = (ast.Const, ast.And, ast.Or, ast.Nor, ast.Not, ast.Field)


def compile_filter(filter: Mapping[str, Any] | ast.Node | None, typed: Mapping[str, FieldType] = {},
                   arrays: Collection[str] | None = None) -> tuple[str, list[Any]]:
    """("<SQL boolean expression over id and doc>", params) for a filter; "1" when it is empty.

    `arrays` (see `array_free`) lets paths that never held an array compile to a plain comparison of
    their sort key, which expression indexes serve; without it every path may meet arrays."""
    node = filter if isinstance(filter, _NODES) else parse_filter(filter)  # type: ignore[arg-type]
    sql = _Compiler(typed, arrays).node(node, None)
    if len(sql.text) > MAX_SQL_LENGTH:
        raise QueryError(f"the filter compiles to {len(sql.text)} characters of SQL: too complex for the "
                         "embedded store (long paths through arrays, nested $elemMatch)")
    if len(sql.text) > _CHECKED_LENGTH:
        _check(sql)
    return sql.text, list(sql.params)


def _check(sql: Sql) -> None:
    """Prepare the expression (EXPLAIN only) so that one SQLite 3.40 cannot parse is a QueryError."""
    try:
        scratch_connection().execute(f"EXPLAIN SELECT id FROM t WHERE {sql.text}", sql.params).fetchone()
    except sqlite3.OperationalError as error:
        raise QueryError(f"the filter nests too deeply for SQLite ({error}): $elemMatch inside $elemMatch "
                         "inside $elemMatch, or long paths through nested arrays") from None


class _Compiler(PathWalker[ast.Pred]):
    def __init__(self, typed: Mapping[str, FieldType], arrays: Collection[str] | None = None) -> None:
        super().__init__("j")
        self.typed = typed
        self.arrays = arrays

    # -- logical nodes; `root` is None for the document, else the $elemMatch element -------------

    def node(self, node: ast.Node, root: Row | None) -> Sql:
        if isinstance(node, ast.Const):
            return TRUE if node.value else FALSE
        if isinstance(node, ast.And):
            return and_(*(self.node(child, root) for child in node.children))
        if isinstance(node, ast.Or):
            return or_(*(self.node(child, root) for child in node.children))
        if isinstance(node, ast.Nor):
            return not_(or_(*(self.node(child, root) for child in node.children)))
        if isinstance(node, ast.Not):
            return not_(self.node(node.child, root))
        if isinstance(node, ast.Field):
            return self.field(node.path, node.pred, root)
        raise QueryError(f"not a filter node: {node!r}")

    def field(self, path: tuple[str, ...], pred: ast.Pred, root: Row | None) -> Sql:
        if root is None:
            dotted = ".".join(path)
            if dotted == "_id":
                return typed_condition("id", "oid", pred)
            kind = self.typed.get(dotted)
            if kind is not None:
                # A typed field may hold null (an experiment without a challenge): presence and $type null
                # look at the JSON type, since the typed expression is NULL for null and missing alike.
                stored_type = Sql(f"json_type(doc, '$.{dotted}')")
                if isinstance(pred, ast.Exists):
                    return fmt("({} IS NOT NULL)", stored_type)
                typed = typed_condition(typed_field_sql(dotted, kind), kind, pred)
                if isinstance(pred, ast.Type) and "null" in pred.names:
                    return or_(fmt("({} = 'null')", stored_type), typed)
                return typed
            leaf = scalar_ref(path) if array_free(path, self.arrays) else None
            if leaf is not None:
                return self.scalar_field(leaf, pred)
            return or_(*self.from_object(DOC, path, pred, Route()))
        # $elemMatch's element: a document, or an array whose fields are "0", "1", ...
        routes = self.from_object(root.ref, path, pred, Route().where(is_(root, "object"), plain_object(root)))
        as_array = Route().where(is_(root, "array"))
        index = array_index(path[0])
        if index is not None:
            routes += self.chain(root.index(index), path[1:], pred, as_array)
        elif ast.pred_missing(pred):
            routes.append(as_array.sql(TRUE))
        return or_(*routes)

    # -- paths that never held an array -------------------------------------------------------------

    def scalar_field(self, leaf: Ref, pred: ast.Pred) -> Sql:
        """`pred` on a value that is never an array: equality and order with a scalar compare the sort
        key (`sort_rank`, `sort_value`), which an index on that key serves; the rest as for one value."""
        key = sort_key_of(pred.value) if isinstance(pred, (ast.Eq, ast.Cmp)) else None
        if key is None:
            missing = (fmt("({} IS NULL)", leaf.type()),) if ast.pred_missing(pred) else ()
            return or_(self.single(leaf, pred), *missing)
        rank, value = key
        op = "=" if isinstance(pred, ast.Eq) else COMPARISONS[pred.op]  # type: ignore[union-attr]
        same_rank = fmt(f"({{}} = {rank})", sort_rank(leaf))
        if rank == NULL_RANK:  # null and missing: equal to null, and neither above nor below it
            return same_rank if op in ("=", ">=", "<=") else FALSE
        return and_(same_rank, fmt(f"({{}} {op} {{}})", sort_value(leaf), P(value)))

    # -- routes through a document (walk.py) -------------------------------------------------------

    def end(self, value: Handle, pred: ast.Pred, route: Route, guards: Sequence[Sql]) -> list[Sql]:
        ends = [route.sql(self.leaf(value, pred))]
        if isinstance(value, Ref) and ast.pred_missing(pred):
            ends.append(route.sql(and_(fmt("({} IS NULL)", value.type()), *guards)))
        return ends

    def keeps_missing(self, pred: ast.Pred) -> bool:
        return ast.pred_missing(pred)

    def absent(self, route: Route, *conds: Sql) -> Sql:
        return route.sql(and_(*conds))

    def through_array(self, array: Ref, rest: Sequence[str], pred: ast.Pred, route: Route) -> list[Sql]:
        """Routes for `rest` (not empty) through the array at `array`, as MongoDB's BSONElementIterator:
        its documents are walked with `rest`; a numeric first key also names the element at that
        offset, walked with what follows (and, if it is an array, through its own elements)."""
        alias = self.alias()
        row = Row(alias, array.element(alias))
        plain = (plain_object(row),) if ast.pred_missing(pred) else ()
        inside = route.join(array.each(), alias).where(is_(row, "object"), *plain)
        routes = self.from_object(row.ref, rest, pred, inside)
        index = array_index(rest[0])
        if index is None:
            return routes
        element = array.index(index)
        if len(rest) == 1:
            return routes + [route.sql(self.single(element, pred))]
        plain = (plain_object(element),) if ast.pred_missing(pred) else ()
        routes += self.from_object(element, rest[1:], pred, route.where(is_(element, "object"), *plain))
        routes += self.through_array(element, rest[1:], pred, route.where(is_(element, "array")))
        return routes

    def leaf(self, value: Handle, pred: ast.Pred) -> Sql:
        """The value a path ends at: it matches, or (if an array) one of its elements does."""
        branches = self.branches(value, pred)
        if _traverses(pred):
            alias = self.alias()
            row = Row(alias, value.element(alias))
            elements = exists(value.each(), alias, case_type(row.type(), self.branches(row, pred)))
            branches["array"] = or_(elements, branches.get("array", FALSE))
        return case_type(value.type(), branches)

    def single(self, value: Handle, pred: ast.Pred) -> Sql:
        """`pred` on one value, not looking into it if it is an array."""
        return case_type(value.type(), self.branches(value, pred))

    def value_test(self, value: Handle, test: ast.ValueTest) -> Sql:
        if isinstance(test, ast.ValueAnd):
            return and_(*(self.value_test(value, item) for item in test.tests))
        if isinstance(test, ast.ValueNot):
            return not_(self.value_test(value, test.test))
        return self.single(value, test)

    # -- one value ---------------------------------------------------------------------------------

    def branches(self, value: Handle, pred: ast.Pred) -> dict[str, Sql]:
        """For each JSON type, the condition on which a present value of that type satisfies `pred`."""
        if isinstance(pred, ast.Eq):
            return self.eq(value, pred.value)
        if isinstance(pred, ast.Cmp):
            return self.cmp(value, pred)
        if isinstance(pred, ast.In):
            return self.in_(value, pred.values)
        if isinstance(pred, ast.Exists):
            return {name: TRUE for name in JSON_TYPES}
        if isinstance(pred, ast.Regex):
            return {"text": regexp_call(value.value(), pred)}
        if isinstance(pred, ast.Size):
            return {"array": fmt("({} = {})", value.length(), P(pred.n))}
        if isinstance(pred, ast.Type):
            return _type_branches(value, pred.names)
        if isinstance(pred, ast.Mod):
            v = value.value()
            return {"integer": fmt("({} % {} = {})", v, P(pred.divisor), P(pred.remainder)),
                    "real": fmt("({} BETWEEN -9.2e18 AND 9.2e18 AND CAST({} AS INTEGER) % {} = {})",
                                v, v, P(pred.divisor), P(pred.remainder))}
        alias = self.alias()
        row = Row(alias, value.element(alias))
        if isinstance(pred, ast.ElemMatchValue):
            return {"array": exists(value.each(), alias, self.value_test(row, pred.test))}
        if isinstance(pred, ast.ElemMatchDoc):  # only elements that are documents or arrays count
            document = or_(and_(is_(row, "object"), plain_object(row)), is_(row, "array"))
            return {"array": exists(value.each(), alias, and_(document, self.node(pred.filter, row)))}
        raise QueryError(f"not a predicate: {pred!r}")

    def eq(self, value: Handle, operand: Any) -> dict[str, Sql]:
        if operand is None:
            return {"null": TRUE}
        if isinstance(operand, bool):
            return {"true" if operand else "false": TRUE}
        if isinstance(operand, (int, float)):
            if _is_nan(operand):
                return {"object": fmt("({} IS NOT NULL)", value.tag("numberDouble"))}
            cond = fmt("({} = {})", value.value(), P(operand))
            return {"integer": cond, "real": cond}
        if isinstance(operand, str):
            return {"text": fmt("({} = {})", value.value(), P(operand))}
        if isinstance(operand, list):
            conds = [fmt("({} = {})", value.length(), P(len(operand)))]
            conds += [self.single(value.index(i), ast.Eq(item)) for i, item in enumerate(operand)]
            return {"array": and_(*conds)}
        if isinstance(operand, dict):
            return {"object": self.object_eq(value, operand)}
        tagged = _tagged(operand)
        if tagged is not None:
            return {"object": fmt("({} = {})", value.tag(tagged[0]), P(tagged[1]))}
        return {}  # a regular expression as a value: never stored, so never equal

    def object_eq(self, value: Handle, operand: dict[str, Any]) -> Sql:
        """Equal documents: the same keys in the same order, equal values (MongoDB compares BSON)."""
        if any(key.startswith("$") for key in operand):
            return FALSE  # stored documents never have such keys
        conds = [fmt("((SELECT count(*) FROM {}) = {})", value.each(), P(len(operand)))]
        for position, (key, item) in enumerate(operand.items()):
            conds.append(fmt(f"((SELECT key FROM {{}} ORDER BY id LIMIT 1 OFFSET {position}) = {{}})",
                             value.each(), P(key)))
            child = value.key(key)
            if child is not None:
                conds.append(self.single(child, ast.Eq(item)))
            else:
                alias = self.alias()
                conds.append(exists(value.each(), alias, and_(fmt(f"({alias}.key = {{}})", P(key)),
                                                              self.single(member_row(alias), ast.Eq(item)))))
        return and_(*conds)

    def cmp(self, value: Handle, pred: ast.Cmp) -> dict[str, Sql]:
        operand, op = pred.value, pred.op
        if operand is None:
            return {"null": TRUE} if op in ("$gte", "$lte") else {}
        if isinstance(operand, bool):
            return {name: TRUE for name, b in (("true", True), ("false", False)) if compare(op, b, operand)}
        if isinstance(operand, (int, float)):
            if _is_nan(operand):
                return self.eq(value, operand) if op in ("$gte", "$lte") else {}
            cond = fmt(f"({{}} {COMPARISONS[op]} {{}})", value.value(), P(operand))
            return {"integer": cond, "real": cond}
        if isinstance(operand, str):
            return {"text": fmt(f"({{}} {COMPARISONS[op]} {{}})", value.value(), P(operand))}
        if isinstance(operand, (list, dict, bytes)):
            raise QueryError(f"{op} with a {type(operand).__name__} operand is not supported by the embedded "
                             "store (see docs/QUERY.md)")
        tagged = _tagged(operand)
        if tagged is not None:
            return {"object": fmt(f"({{}} {COMPARISONS[op]} {{}})", value.tag(tagged[0]), P(tagged[1]))}
        return {}  # a regular expression: MongoDB compares it only with stored regular expressions

    def in_(self, value: Handle, operands: Sequence[Any]) -> dict[str, Sql]:
        numbers: list[Any] = []
        strings: list[Any] = []
        tags: dict[str, list[Any]] = {}
        out: dict[str, list[Sql]] = {}
        for operand in operands:
            tagged = _tagged(operand)
            if isinstance(operand, ast.RegexValue):
                out.setdefault("text", []).append(regexp_call(value.value(), operand))
            elif isinstance(operand, (int, float)) and not isinstance(operand, bool) and not _is_nan(operand):
                numbers.append(operand)
            elif isinstance(operand, str):
                strings.append(operand)
            elif tagged is not None:
                tags.setdefault(tagged[0], []).append(tagged[1])
            else:
                for name, cond in self.eq(value, operand).items():
                    out.setdefault(name, []).append(cond)
        if numbers:
            cond = in_list(value.value(), numbers)
            out.setdefault("integer", []).append(cond)
            out.setdefault("real", []).append(cond)
        if strings:
            out.setdefault("text", []).append(in_list(value.value(), strings))
        for name, values in tags.items():
            out.setdefault("object", []).append(in_list(value.tag(name), values))
        return {name: or_(*conds) for name, conds in out.items()}


# -- helpers ---------------------------------------------------------------------------------------


def _traverses(pred: ast.Pred) -> bool:
    """Whether the elements of an array at the end of the path count too (not for $size, $elemMatch)."""
    return not isinstance(pred, (ast.Size, ast.ElemMatchDoc, ast.ElemMatchValue))


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _tagged(value: Any) -> tuple[str, Any] | None:
    """(json_codec tag, the JSON value inside it) for values stored as tagged objects."""
    if isinstance(value, dt.datetime):
        return "date", date_to_millis(value)
    if isinstance(value, ObjectId):
        return "oid", str(value)
    if isinstance(value, bytes):
        return "binary", base64.b64encode(value).decode("ascii")
    return None


def _type_branches(value: Handle, names: frozenset[str]) -> dict[str, Sql]:
    out: dict[str, list[Sql]] = {}
    for name in names:
        for json_type, cond in _type_conditions(value, name):
            out.setdefault(json_type, []).append(cond)
    return {json_type: or_(*conds) for json_type, conds in out.items()}


def _type_conditions(value: Handle, name: str) -> list[tuple[str, Sql]]:
    nan = ("object", fmt("({} IS NOT NULL)", value.tag("numberDouble")))
    int32 = fmt(f"({{}} BETWEEN {INT32_MIN} AND {INT32_MAX})", value.value())
    tags = {"date": "date", "objectId": "oid", "binData": "binary"}
    if name == "double":
        return [("real", TRUE), nan]
    if name == "number":
        return [("real", TRUE), ("integer", TRUE), nan]
    if name == "int":
        return [("integer", int32)]
    if name == "long":
        return [("integer", not_(int32))]
    if name in tags:
        return [("object", fmt("({} IS NOT NULL)", value.tag(tags[name])))]
    simple = {"string": "text", "array": "array", "null": "null"}
    if name in simple:
        return [(simple[name], TRUE)]
    if name == "bool":
        return [("true", TRUE), ("false", TRUE)]
    if name == "object":
        return [("object", plain_object(value))]
    return []  # decimal, regex, timestamp, ...: types epochlog never stores

