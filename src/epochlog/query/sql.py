"""The filter AST -> one parameterized SQLite boolean expression over a table's `id` and `doc` columns.

`doc` holds `json_codec.dumps` of a document without its `_id` (which is the `id` column, 24 hex).
Every user value and every JSON path reaches SQLite as a `?` parameter; the SQL text is built only
from fixed fragments, so a field named `a'); DROP TABLE x;--` is just a field that does not exist.

A path is matched the way MongoDB's ElementPath iterator walks it (docs/QUERY.md): through
documents key by key, through arrays element by element (and by offset for numeric keys), and an
array at the end counts as itself and as each of its elements. Each way a path can run through a
document ("route") becomes one flat `EXISTS` over joined `json_each` tables, every value addressed
by a JSON path on `doc` itself (`json_type(doc, ? || j1.key || ?)`), so the SQL nests only as deep
as `$elemMatch` does. Keys a JSON path cannot spell exactly in SQLite 3.40 (quotes, backslashes,
non-ASCII, control characters) are found with `json_each ... WHERE key = ?` instead.

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
import functools
import math
import re
import sqlite3
import threading
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from bson import ObjectId

from ..documents import date_to_millis
from ..errors import QueryError
from ..schema import FieldType
from .. import json_codec
from . import parse as ast
from .parse import compile_regex, parse_filter

REGEXP_FUNCTION = "epochlog_regexp"
TAG_PREFIX = '{"$'  # json_codec's tagged scalars; stored documents never have '$' keys
MAX_SQL_LENGTH = 1_000_000
_CHECKED_LENGTH = 3_000  # longer expressions are prepared once here, to report what SQLite cannot parse
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_JSON_TYPES = ("null", "true", "false", "integer", "real", "text", "array", "object")
_SAFE_KEY = re.compile(r'[ !#-\[\]-~]*')  # printable ASCII but '"' and '\': exact in a JSON path
_TYPED_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_OPS = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
_LONG_IN = 32
_NODES = (ast.Const, ast.And, ast.Or, ast.Nor, ast.Not, ast.Field)


# -- SQL fragments ---------------------------------------------------------------------------------


class Sql:
    """SQL text with the parameters of its `?` placeholders, in order."""

    __slots__ = ("_depth", "params", "text")

    def __init__(self, text: str, params: Sequence[Any] = ()) -> None:
        self.text = text
        self.params = tuple(params)
        self._depth: int | None = None

    @property
    def depth(self) -> int:
        """About how much of SQLite 3.40's parser stack (100 entries) the text needs."""
        if self._depth is None:
            depth = deepest = 0
            for token in _NESTING.findall(self.text):
                if token in _NESTING_COST:
                    depth += _NESTING_COST[token]
                    deepest = max(deepest, depth)
                else:
                    depth -= _NESTING_COST["(" if token == ")" else "CASE"]
            self._depth = deepest
        return self._depth

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sql) and self.text == other.text and self.params == other.params

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return f"Sql({self.text!r}, {self.params!r})"


class P:
    """A value that enters the SQL as a `?` parameter."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


Part = Sql | P
_NESTING = re.compile(r"\(|\)|\bCASE\b|\bEND\b")
_NESTING_COST = {"(": 2, "CASE": 5}
TRUE, FALSE = Sql("1"), Sql("0")


def fmt(template: str, *parts: Part) -> Sql:
    """Fill each `{}` of a fixed template with a fragment or a parameter."""
    pieces = template.split("{}")
    if len(pieces) != len(parts) + 1:
        raise AssertionError(f"template {template!r} takes {len(pieces) - 1} parts, got {len(parts)}")
    text = [pieces[0]]
    params: list[Any] = []
    for part, piece in zip(parts, pieces[1:]):
        if isinstance(part, Sql):
            text.append(part.text)
            params.extend(part.params)
        else:
            text.append("?")
            params.append(part.value)
        text.append(piece)
    return Sql("".join(text), params)


def join(separator: str, parts: Iterable[Part]) -> Sql:
    parts = list(parts)
    return fmt(separator.join(["{}"] * len(parts)), *parts)


def _chain(operator: str, unit: Sql, zero: Sql, parts: Iterable[Sql]) -> Sql:
    items = list(dict.fromkeys(part for part in parts if part != unit))
    if zero in items:
        return zero
    if not items:
        return unit
    if len(items) == 1:
        return items[0]
    # SQLite's parser needs less stack for a deep left operand than for a deep right one
    deepest = max(range(len(items)), key=lambda i: items[i].depth)
    items.insert(0, items.pop(deepest))
    return fmt("(" + f" {operator} ".join(["{}"] * len(items)) + ")", *items)


def and_(*parts: Sql) -> Sql:
    return _chain("AND", TRUE, FALSE, parts)


def or_(*parts: Sql) -> Sql:
    return _chain("OR", FALSE, TRUE, parts)


def not_(part: Sql) -> Sql:
    """True where `part` is false or NULL (and `part` is evaluated with short-circuits)."""
    if part == TRUE:
        return FALSE
    if part == FALSE:
        return TRUE
    return fmt("CASE WHEN {} THEN 0 ELSE 1 END", part)


def exists(source: Sql, alias: str, condition: Sql) -> Sql:
    if condition == FALSE:
        return FALSE
    return fmt(f"EXISTS (SELECT 1 FROM {{}} AS {alias} WHERE {{}})", source, condition)


def case_type(type_sql: Sql, branches: Mapping[str, Sql]) -> Sql:
    """`CASE <json type> WHEN 'integer' THEN ... ELSE 0 END`, or lighter forms when they will do."""
    branches = {name: cond for name, cond in branches.items() if cond != FALSE}
    if not branches:
        return FALSE
    conds = set(branches.values())
    if len(conds) == 1:
        (cond,) = conds
        if len(branches) == len(_JSON_TYPES):
            return fmt("({} IS NOT NULL)", type_sql) if cond == TRUE else and_(fmt("({} IS NOT NULL)", type_sql), cond)
        if "SELECT" not in cond.text:  # no subquery to guard: an AND is lighter on SQLite's parser stack
            names = ", ".join(f"'{name}'" for name in branches)
            test = f"({{}} = {names})" if len(branches) == 1 else f"({{}} IN ({names}))"
            return and_(fmt(test, type_sql), cond)
    parts: list[Part] = [type_sql]
    text = "CASE {}"
    for name, cond in branches.items():
        text += f" WHEN '{name}' THEN {{}}"
        parts.append(cond)
    return fmt(text + " ELSE 0 END", *parts)


# -- where values are read from --------------------------------------------------------------------


class Path:
    """A JSON path as SQL: literal text (parameters) and the keys of `json_each` rows, concatenated."""

    __slots__ = ("pieces",)

    def __init__(self, *pieces: str | Sql) -> None:
        self.pieces = pieces

    def __add__(self, piece: str | Sql) -> Path:
        if isinstance(piece, str) and self.pieces and isinstance(self.pieces[-1], str):
            return Path(*self.pieces[:-1], self.pieces[-1] + piece)
        return Path(*self.pieces, piece)

    def sql(self, literal: bool = False) -> Sql:
        """The path as SQL: its text pieces as parameters, or as quoted literals (which an index can match)."""
        def text(piece: str) -> Part:
            return Sql("'" + piece.replace("'", "''") + "'") if literal else P(piece)
        return join(" || ", [text(piece) if isinstance(piece, str) else piece for piece in self.pieces])


ROOT = Path("$")


def json_key(key: str) -> str | None:
    """The JSON path step for `key`, or None if SQLite 3.40's paths cannot spell it exactly."""
    return '."' + key + '"' if _SAFE_KEY.fullmatch(key) else None


class Ref:
    """The value at `path` inside the JSON text `src` (usually `doc`); it may be missing. A `literal`
    reference spells its path in the SQL text, so that the expression can match an expression index."""

    __slots__ = ("literal", "path", "src")

    def __init__(self, src: Sql, path: Path | None = None, literal: bool = False) -> None:
        self.src = src
        self.path = path or ROOT
        self.literal = literal

    def _call(self, function: str, path: Path | None = None) -> Sql:
        return fmt(f"{function}({{}}, {{}})", self.src, (path or self.path).sql(self.literal))

    def type(self) -> Sql:
        return self._call("json_type")

    def value(self) -> Sql:
        return self._call("json_extract")

    def tag(self, name: str) -> Sql:
        """The JSON value inside a json_codec tag (`$date`, `$oid`, ...); NULL if it is not one."""
        return self._call("json_extract", self.path + f'."${name}"')

    def each(self) -> Sql:
        return self._call("json_each")

    def length(self) -> Sql:
        return self._call("json_array_length")

    def key(self, key: str) -> Ref | None:
        step = json_key(key)
        return None if step is None else Ref(self.src, self.path + step, self.literal)

    def index(self, index: int) -> Ref:
        return Ref(self.src, self.path + f"[{index}]", self.literal)

    def element(self, alias: str) -> Ref:
        """The element that row `alias` of `json_each(<this array>)` stands for."""
        # CAST: the key of a row of json_each over an object (which a guard has yet to rule out,
        # SQLite 3.40 evaluating both sides of AND) must still make a valid path
        return Ref(self.src, self.path + "[" + Sql(f"CAST({alias}.key AS INTEGER)") + "]", self.literal)


class Row:
    """A `json_each` row (`alias`): type and value read from its columns, the rest through `ref`."""

    __slots__ = ("alias", "ref")

    def __init__(self, alias: str, ref: Ref) -> None:
        self.alias = alias
        self.ref = ref

    def type(self) -> Sql:
        return Sql(f"{self.alias}.type")

    def value(self) -> Sql:
        return Sql(f"{self.alias}.value")

    def tag(self, name: str) -> Sql:
        return self.ref.tag(name)

    def each(self) -> Sql:
        return self.ref.each()

    def length(self) -> Sql:
        return self.ref.length()

    def key(self, key: str) -> Ref | None:
        return self.ref.key(key)

    def index(self, index: int) -> Ref:
        return self.ref.index(index)

    def element(self, alias: str) -> Ref:
        return self.ref.element(alias)


Handle = Ref | Row


def refs_along(first: Ref, rest: Sequence[str]) -> list[Ref]:
    """`first` and the value under each next key of `rest`, up to the first key a JSON path cannot name."""
    refs = [first]
    for key in rest:
        child = refs[-1].key(key)
        if child is None:
            break
        refs.append(child)
    return refs


def member_row(alias: str) -> Row:
    """A row found by key among an object's members: its value is read as JSON text of its own."""
    text = Sql(f"CASE WHEN {alias}.type IN ('object', 'array') THEN {alias}.value ELSE 'null' END")
    return Row(alias, Ref(text))


def is_(value: Handle, json_type: str) -> Sql:
    return fmt(f"({{}} = '{json_type}')", value.type())


def plain_object(value: Handle) -> Sql:
    """An object that is a document, not one of json_codec's tagged scalars (date, ObjectId, bytes, NaN)."""
    return fmt("(substr({}, 1, 3) <> {})", value.value(), P(TAG_PREFIX))


class Route:
    """The `json_each` tables and conditions a way through a document has gathered so far; conditions
    gathered before the first table stay outside the `EXISTS`, so they are checked first."""

    __slots__ = ("inner", "joins", "outer")

    def __init__(self, joins: tuple[tuple[Sql, str], ...] = (), outer: tuple[Sql, ...] = (),
                 inner: tuple[Sql, ...] = ()) -> None:
        self.joins = joins
        self.outer = outer
        self.inner = inner

    def join(self, source: Sql, alias: str) -> Route:
        return Route(self.joins + ((source, alias),), self.outer, self.inner)

    def where(self, *conds: Sql) -> Route:
        if self.joins:
            return Route(self.joins, self.outer, self.inner + conds)
        return Route(self.joins, self.outer + conds, self.inner)

    def sql(self, final: Sql) -> Sql:
        if not self.joins:
            return and_(*self.outer, final)
        condition = and_(*self.inner, final)
        if condition == FALSE:
            return FALSE
        tables = ", ".join(f"{{}} AS {alias}" for _, alias in self.joins)
        found = fmt(f"EXISTS (SELECT 1 FROM {tables} WHERE {{}})", *(source for source, _ in self.joins), condition)
        guard = and_(*self.outer)
        # the cheap guard first (a WHERE evaluates AND with short-circuits); a CASE would need more
        # parser stack, and an unguarded json_each is harmless (paths stay valid), just slower
        return found if guard == TRUE else fmt("({} AND {})", guard, found)


# -- typed fields ----------------------------------------------------------------------------------


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


def _typed_value(kind: str, value: Any) -> tuple[bool, Any]:
    """(True, the SQL value) if `value` is in the type bracket of a typed field of `kind`."""
    if kind == "str" and isinstance(value, str):
        return True, value
    if kind == "int" and isinstance(value, (int, float)) and not isinstance(value, bool) and not _is_nan(value):
        return True, value
    if kind == "bool" and isinstance(value, bool):
        return True, int(value)
    if kind == "date" and isinstance(value, dt.datetime):
        return True, date_to_millis(value)
    if kind == "oid" and isinstance(value, ObjectId):
        return True, str(value)
    return False, None


# -- paths that never held an array ---------------------------------------------------------------

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


def _key_of(operand: Any) -> tuple[int, Any] | None:
    """(rank, value within the rank) of an operand, as `sort_rank`/`sort_value` compute them, for the
    operands whose equality and order MongoDB decides by exactly that pair; None for the others."""
    if operand is None:
        return NULL_RANK, None
    if isinstance(operand, bool):
        return BOOL, int(operand)
    if isinstance(operand, (int, float)):
        return None if _is_nan(operand) else (NUMBER, operand)
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
    if (isinstance(node, ast.Field) and isinstance(node.pred, (ast.Eq, ast.Cmp)) and _key_of(node.pred.value)
            and ".".join(node.path) not in typed and array_free(node.path, arrays) and scalar_ref(node.path)):
        return frozenset([node.path])
    return frozenset()


# -- the compiler ----------------------------------------------------------------------------------


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


_checker = threading.local()


def _check(sql: Sql) -> None:
    """Prepare the expression (EXPLAIN only) so that one SQLite 3.40 cannot parse is a QueryError."""
    db = getattr(_checker, "db", None)
    if db is None:
        db = _checker.db = sqlite3.connect(":memory:", check_same_thread=False)
        register_functions(db)
        db.execute("CREATE TABLE t (id TEXT PRIMARY KEY, doc TEXT NOT NULL)")
    try:
        db.execute(f"EXPLAIN SELECT id FROM t WHERE {sql.text}", sql.params).fetchone()
    except sqlite3.OperationalError as error:
        raise QueryError(f"the filter nests too deeply for SQLite ({error}): $elemMatch inside $elemMatch "
                         "inside $elemMatch, or long paths through nested arrays") from None


DOC = Ref(Sql("doc"))
DOC_LITERAL = Ref(Sql("doc"), literal=True)


class _Compiler:
    def __init__(self, typed: Mapping[str, FieldType], arrays: Collection[str] | None = None) -> None:
        self.typed = typed
        self.arrays = arrays
        self._aliases = 0

    def alias(self) -> str:
        self._aliases += 1
        return f"j{self._aliases}"

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
                return self.typed_field("id", "oid", pred)
            kind = self.typed.get(dotted)
            if kind is not None:
                # A typed field may hold null (an experiment without a challenge): presence and $type null
                # look at the JSON type, since the typed expression is NULL for null and missing alike.
                stored_type = Sql(f"json_type(doc, '$.{dotted}')")
                if isinstance(pred, ast.Exists):
                    return fmt("({} IS NOT NULL)", stored_type)
                typed = self.typed_field(typed_field_sql(dotted, kind), kind, pred)
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
        index = _array_index(path[0])
        if index is not None:
            routes += self.chain(root.index(index), path[1:], pred, as_array)
        elif pred_missing(pred):
            routes.append(as_array.sql(TRUE))
        return or_(*routes)

    # -- typed fields ------------------------------------------------------------------------------

    def typed_field(self, expr: str, kind: str, pred: ast.Pred) -> Sql:
        x = Sql(expr)
        present = self.typed_present(x, kind, pred)
        if present == TRUE:
            present = fmt("({} IS NOT NULL)", x)
        return or_(fmt("({} IS NULL)", x), present) if pred_missing(pred) else present

    def typed_present(self, x: Sql, kind: str, pred: ast.Pred) -> Sql:
        """The condition on a present value `x` of type `kind` (NULL where it means no match)."""
        if isinstance(pred, ast.Eq):
            ok, value = _typed_value(kind, pred.value)
            return fmt("({} = {})", x, P(value)) if ok else FALSE
        if isinstance(pred, ast.Cmp):
            ok, value = _typed_value(kind, pred.value)
            if ok and kind == "bool":
                return _in_sql(x, [int(b) for b in (False, True) if _py_cmp(pred.op, b, pred.value)])
            return fmt(f"({{}} {_OPS[pred.op]} {{}})", x, P(value)) if ok else FALSE
        if isinstance(pred, ast.In):
            values: list[Any] = []
            parts = []
            for item in pred.values:
                if isinstance(item, ast.RegexValue):
                    if kind == "str":
                        parts.append(_regexp_sql(x, item))
                    continue
                ok, value = _typed_value(kind, item)
                if ok and value not in values:
                    values.append(value)
            return or_(_in_sql(x, values), *parts)
        if isinstance(pred, ast.Exists):
            return TRUE
        if isinstance(pred, ast.Regex):
            return _regexp_sql(x, pred) if kind == "str" else FALSE
        if isinstance(pred, ast.Type):
            return _typed_type(x, kind, pred.names)
        if isinstance(pred, ast.Mod):
            return fmt("({} % {} = {})", x, P(pred.divisor), P(pred.remainder)) if kind == "int" else FALSE
        return FALSE  # $size, $elemMatch: a typed field is never an array

    # -- paths that never held an array -------------------------------------------------------------

    def scalar_field(self, leaf: Ref, pred: ast.Pred) -> Sql:
        """`pred` on a value that is never an array: equality and order with a scalar compare the sort
        key (`sort_rank`, `sort_value`), which an index on that key serves; the rest as for one value."""
        key = _key_of(pred.value) if isinstance(pred, (ast.Eq, ast.Cmp)) else None
        if key is None:
            missing = (fmt("({} IS NULL)", leaf.type()),) if pred_missing(pred) else ()
            return or_(self.single(leaf, pred), *missing)
        rank, value = key
        op = "=" if isinstance(pred, ast.Eq) else _OPS[pred.op]  # type: ignore[union-attr]
        same_rank = fmt(f"({{}} = {rank})", sort_rank(leaf))
        if rank == NULL_RANK:  # null and missing: equal to null, and neither above nor below it
            return same_rank if op in ("=", ">=", "<=") else FALSE
        return and_(same_rank, fmt(f"({{}} {op} {{}})", sort_value(leaf), P(value)))

    # -- routes through a document -----------------------------------------------------------------

    def from_object(self, obj: Ref, path: Sequence[str], pred: ast.Pred, route: Route) -> list[Sql]:
        """Routes for `path` from the document at `obj` (MongoDB's getFieldDottedOrArray onwards)."""
        first = obj.key(path[0])
        if first is None:
            return self.member(obj, path, pred, route)
        return self.chain(first, path[1:], pred, route)

    def chain(self, first: Ref, rest: Sequence[str], pred: ast.Pred, route: Route) -> list[Sql]:
        """Routes from `first` (the value under a path's first key, perhaps missing) on through `rest`:
        the value the keys lead to, the path being missing, or an array at one of the keys."""
        refs = refs_along(first, rest)
        missing = pred_missing(pred)
        routes: list[Sql] = []
        arrays: list[Sql] = []
        not_arrays = [fmt("({} IS NOT 'array')", ref.type()) for ref in refs[:len(rest)]]
        if len(refs) > len(rest):
            leaf = refs[-1]
            routes.append(route.sql(self.leaf(leaf, pred)))
            if missing:
                routes.append(route.sql(and_(fmt("({} IS NULL)", leaf.type()), *not_arrays)))
        else:  # stopped at a key only json_each can find
            holder = refs[-1]
            routes += self.member(holder, rest[len(refs) - 1:], pred, route.where(is_(holder, "object")))
            if missing:
                routes.append(route.sql(and_(fmt("({} IS NOT 'object')", holder.type()), *not_arrays)))
        for i, ref in enumerate(refs[:len(rest)]):
            arrays += self.through_array(ref, rest[i:], pred, route.where(is_(ref, "array")))
        return routes + arrays

    def member(self, obj: Ref, path: Sequence[str], pred: ast.Pred, route: Route) -> list[Sql]:
        """Routes through the member of `obj` named `path[0]`, found with `json_each ... WHERE key = ?`."""
        key, rest = path[0], path[1:]
        alias = self.alias()
        row = member_row(alias)
        inner = route.join(obj.each(), alias).where(fmt(f"({alias}.key = {{}})", P(key)))
        if not rest:
            routes = [inner.sql(self.leaf(row, pred))]
        else:
            routes = self.from_object(row.ref, rest, pred, inner.where(is_(row, "object")))
            routes += self.through_array(row.ref, rest, pred, inner.where(is_(row, "array")))
        if pred_missing(pred):
            if rest:
                routes.append(inner.sql(fmt(f"({alias}.type NOT IN ('object', 'array'))")))
            other = self.alias()
            routes.append(route.sql(fmt(f"NOT EXISTS (SELECT 1 FROM {{}} AS {other} WHERE {other}.key = {{}})",
                                        obj.each(), P(key))))
        return routes

    def through_array(self, array: Ref, rest: Sequence[str], pred: ast.Pred, route: Route) -> list[Sql]:
        """Routes for `rest` (not empty) through the array at `array`, as MongoDB's BSONElementIterator:
        its documents are walked with `rest`; a numeric first key also names the element at that
        offset, walked with what follows (and, if it is an array, through its own elements)."""
        alias = self.alias()
        row = Row(alias, array.element(alias))
        plain = (plain_object(row),) if pred_missing(pred) else ()
        inside = route.join(array.each(), alias).where(is_(row, "object"), *plain)
        routes = self.from_object(row.ref, rest, pred, inside)
        index = _array_index(rest[0])
        if index is None:
            return routes
        element = array.index(index)
        if len(rest) == 1:
            return routes + [route.sql(self.single(element, pred))]
        plain = (plain_object(element),) if pred_missing(pred) else ()
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
            return {name: TRUE for name in _JSON_TYPES}
        if isinstance(pred, ast.Regex):
            return {"text": _regexp_sql(value.value(), pred)}
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
            return {name: TRUE for name, b in (("true", True), ("false", False)) if _py_cmp(op, b, operand)}
        if isinstance(operand, (int, float)):
            if _is_nan(operand):
                return self.eq(value, operand) if op in ("$gte", "$lte") else {}
            cond = fmt(f"({{}} {_OPS[op]} {{}})", value.value(), P(operand))
            return {"integer": cond, "real": cond}
        if isinstance(operand, str):
            return {"text": fmt(f"({{}} {_OPS[op]} {{}})", value.value(), P(operand))}
        if isinstance(operand, (list, dict, bytes)):
            raise QueryError(f"{op} with a {type(operand).__name__} operand is not supported by the embedded "
                             "store (see docs/QUERY.md)")
        tagged = _tagged(operand)
        if tagged is not None:
            return {"object": fmt(f"({{}} {_OPS[op]} {{}})", value.tag(tagged[0]), P(tagged[1]))}
        return {}  # a regular expression: MongoDB compares it only with stored regular expressions

    def in_(self, value: Handle, operands: Sequence[Any]) -> dict[str, Sql]:
        numbers: list[Any] = []
        strings: list[Any] = []
        tags: dict[str, list[Any]] = {}
        out: dict[str, list[Sql]] = {}
        for operand in operands:
            tagged = _tagged(operand)
            if isinstance(operand, ast.RegexValue):
                out.setdefault("text", []).append(_regexp_sql(value.value(), operand))
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
            cond = _in_sql(value.value(), numbers)
            out.setdefault("integer", []).append(cond)
            out.setdefault("real", []).append(cond)
        if strings:
            out.setdefault("text", []).append(_in_sql(value.value(), strings))
        for name, values in tags.items():
            out.setdefault("object", []).append(_in_sql(value.tag(name), values))
        return {name: or_(*conds) for name, conds in out.items()}


# -- helpers ---------------------------------------------------------------------------------------


def pred_missing(pred: ast.Pred) -> bool:
    """Whether a missing value satisfies `pred` (MongoDB: equality with null, $gte/$lte null)."""
    if isinstance(pred, ast.Eq):
        return pred.value is None
    if isinstance(pred, ast.In):
        return any(value is None for value in pred.values)
    if isinstance(pred, ast.Cmp):
        return pred.value is None and pred.op in ("$gte", "$lte")
    return False


def _traverses(pred: ast.Pred) -> bool:
    """Whether the elements of an array at the end of the path count too (not for $size, $elemMatch)."""
    return not isinstance(pred, (ast.Size, ast.ElemMatchDoc, ast.ElemMatchValue))


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _array_index(key: str) -> int | None:
    """The array offset a path key names ("0", "12"; not "01": MongoDB compares the text)."""
    if key.isascii() and key.isdigit() and str(int(key)) == key:
        return int(key)
    return None


def _tagged(value: Any) -> tuple[str, Any] | None:
    """(json_codec tag, the JSON value inside it) for values stored as tagged objects."""
    if isinstance(value, dt.datetime):
        return "date", date_to_millis(value)
    if isinstance(value, ObjectId):
        return "oid", str(value)
    if isinstance(value, bytes):
        return "binary", base64.b64encode(value).decode("ascii")
    return None


def _in_sql(x: Sql, values: Sequence[Any]) -> Sql:
    """`x IN (...)`; a long list is one JSON parameter, whatever SQLite's limit on variables."""
    if not values:
        return FALSE
    if len(values) == 1:
        return fmt("({} = {})", x, P(values[0]))
    if len(values) > _LONG_IN:
        return fmt("({} IN (SELECT value FROM json_each({})))", x, P(json_codec.dumps(list(values))))
    return fmt("({} IN (" + ", ".join(["{}"] * len(values)) + "))", x, *(P(value) for value in values))


def _regexp_sql(x: Sql, regex: ast.Regex | ast.RegexValue) -> Sql:
    return fmt(f"{REGEXP_FUNCTION}({{}}, {{}}, {{}})", P(regex.pattern), P(regex.options), x)


def _py_cmp(op: str, left: Any, right: Any) -> bool:
    return {"$gt": left > right, "$gte": left >= right, "$lt": left < right, "$lte": left <= right}[op]


def _type_branches(value: Handle, names: frozenset[str]) -> dict[str, Sql]:
    out: dict[str, list[Sql]] = {}
    for name in names:
        for json_type, cond in _type_conditions(value, name):
            out.setdefault(json_type, []).append(cond)
    return {json_type: or_(*conds) for json_type, conds in out.items()}


def _type_conditions(value: Handle, name: str) -> list[tuple[str, Sql]]:
    nan = ("object", fmt("({} IS NOT NULL)", value.tag("numberDouble")))
    int32 = fmt(f"({{}} BETWEEN {_INT32_MIN} AND {_INT32_MAX})", value.value())
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


def _typed_type(x: Sql, kind: str, names: frozenset[str]) -> Sql:
    if kind == "int":
        numeric = names & {"number", "int", "long"}
        if numeric == {"int"}:
            return fmt(f"({{}} BETWEEN {_INT32_MIN} AND {_INT32_MAX})", x)
        if numeric == {"long"}:
            return fmt(f"({{}} NOT BETWEEN {_INT32_MIN} AND {_INT32_MAX})", x)
        return TRUE if numeric else FALSE
    wanted = {"str": "string", "date": "date", "oid": "objectId", "bool": "bool"}[kind]
    return TRUE if wanted in names else FALSE


# -- the regular-expression function -----------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def _pattern(pattern: str, options: str) -> re.Pattern[str]:
    return compile_regex(ast.RegexValue(pattern, options))


def _regexp(pattern: str, options: str, value: Any) -> int:
    if not isinstance(value, str):
        return 0
    return 1 if _pattern(pattern, options).search(value) else 0


def register_functions(connection: sqlite3.Connection) -> None:
    """Register on `connection` the SQL function compiled `$regex` filters call (`epochlog_regexp`)."""
    connection.create_function(REGEXP_FUNCTION, 3, _regexp, deterministic=True)
