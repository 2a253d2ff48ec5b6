"""A sort specification -> the body of an SQL `ORDER BY` in MongoDB's cross-type order.

A generic field sorts by two expressions: the rank of the value's type in MongoDB's order (empty
array < null and missing < numbers < strings < objects < arrays < binData < ObjectId < bool < date)
and the value within that rank. Where a path meets arrays, MongoDB's sort-key generator (its
btree key generator) yields several keys -- each element of an array at the end of the path, the
path in each document of an array along it (null for elements that are not documents) -- and a
document sorts by the smallest of them ascending, the largest descending. Here those keys are the
rows of a `UNION ALL` of flat selects, one per way through the document, and the key is its first
row in the sort's direction. Typed fields (and `_id`) sort by their plain, indexable expression, and
so does the rank and value of a path under which no document has ever held an array (the store
tells which). The store appends `id` as the final tie-breaker.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from ..errors import QueryError
from ..schema import FieldType
from .parse import split_path
from .sql import (
    DOC,
    FALSE,
    NULL_RANK,
    TRUE,
    UNDEFINED,
    P,
    Ref,
    Route,
    Row,
    Sql,
    _array_index,
    and_,
    array_free,
    fmt,
    is_,
    join,
    member_row,
    not_,
    plain_object,
    refs_along,
    scalar_ref,
    sort_rank,
    sort_value,
    typed_field_sql,
)

def compile_sort(sort: Sequence[tuple[str, int]] | Mapping[str, int] | None,
                 typed: Mapping[str, FieldType] = {}, arrays: Collection[str] | None = None,
                 fixed: Collection[tuple[str, ...]] = ()) -> tuple[str, list[Any]]:
    """("<ORDER BY body>", params), or ("", []) for no sort. A path that never held an array (see
    `sql.array_free`) sorts by its plain sort key, which an expression index can serve, and by its
    value alone if the filter fixes its rank (`sql.fixed_ranks`)."""
    if not sort:
        return "", []
    if isinstance(sort, str):
        raise QueryError(f"a sort is a list of (field, direction) pairs, got {sort!r}")
    items = list(sort.items()) if isinstance(sort, Mapping) else list(sort)
    parts: list[Sql] = []
    for item in items:
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise QueryError(f"a sort item must be a (field, direction) pair, got {item!r}")
        path, direction = item
        keys = split_path(path)
        if isinstance(direction, bool) or direction not in (1, -1):
            raise QueryError(f"sort direction for {path!r} must be 1 or -1, got {direction!r}")
        word = "ASC" if direction == 1 else "DESC"
        dotted = ".".join(keys)
        if dotted == "_id":
            parts.append(Sql(f"id {word}"))
        elif dotted in typed:
            parts.append(Sql(f"{typed_field_sql(dotted, typed[dotted])} {word}"))
        else:
            leaf = scalar_ref(keys) if array_free(keys, arrays) else None
            if leaf is not None and keys in fixed:
                parts.append(fmt(f"{{}} {word}", sort_value(leaf)))
                continue
            rank, value = (sort_rank(leaf), sort_value(leaf)) if leaf is not None else _sort_key(keys, word)
            parts.append(fmt(f"{{}} {word}, {{}} {word}", rank, value))
    return ", ".join(part.text for part in parts), [param for part in parts for param in part.params]


def _sort_key(keys: Sequence[str], word: str) -> tuple[Sql, Sql]:
    union = join(" UNION ALL ", _Keys().from_object(DOC, keys, Route()))
    first = f"FROM ({{}}) ORDER BY r {word}, v {word} LIMIT 1"
    rank, value = fmt(f"(SELECT r {first})", union), fmt(f"(SELECT v {first})", union)
    leaf = DOC
    for key in keys:
        leaf = leaf.key(key)  # type: ignore[assignment]
        if leaf is None:
            return rank, value
    # the usual case, a scalar at the end of a path through documents: no subquery
    scalar = fmt("({} IS NOT NULL AND {} <> 'array')", leaf.type(), leaf.type())
    return (fmt("CASE WHEN {} THEN {} ELSE {} END", scalar, sort_rank(leaf), rank),
            fmt("CASE WHEN {} THEN {} ELSE {} END", scalar, sort_value(leaf), value))


class _Keys:
    """The selects whose rows are a path's sort keys in one document."""

    def __init__(self) -> None:
        self._aliases = 0

    def alias(self) -> str:
        self._aliases += 1
        return f"s{self._aliases}"

    def from_object(self, obj: Ref, path: Sequence[str], route: Route) -> list[Sql]:
        first = obj.key(path[0])
        if first is None:
            return self.member(obj, path, route)
        return self.chain(first, path[1:], route)

    def chain(self, first: Ref, rest: Sequence[str], route: Route) -> list[Sql]:
        refs = refs_along(first, rest)
        not_arrays = [fmt("({} IS NOT 'array')", ref.type()) for ref in refs[:len(rest)]]
        selects: list[Sql] = []
        if len(refs) > len(rest):
            leaf = refs[-1]
            selects.append(_select(route.where(fmt("({} IS NOT 'array')", leaf.type()), *not_arrays),
                                   sort_rank(leaf), sort_value(leaf)))
            selects += self.leaf_array(leaf, route.where(is_(leaf, "array")))
        else:
            holder = refs[-1]
            selects += self.member(holder, rest[len(refs) - 1:], route.where(is_(holder, "object")))
            selects.append(_null(route.where(fmt("({} IS NOT 'object')", holder.type()), *not_arrays)))
        for i, ref in enumerate(refs[:len(rest)]):
            selects += self.through_array(ref, rest[i:], route.where(is_(ref, "array")))
        return selects

    def member(self, obj: Ref, path: Sequence[str], route: Route) -> list[Sql]:
        alias = self.alias()
        row = member_row(alias)
        inner = route.join(obj.each(), alias).where(fmt(f"({alias}.key = {{}})", P(path[0])))
        rest = path[1:]
        if not rest:
            selects = [_select(inner.where(fmt(f"({alias}.type <> 'array')")), sort_rank(row), sort_value(row))]
            selects += self.leaf_array(row.ref, inner.where(is_(row, "array")))
        else:
            selects = self.from_object(row.ref, rest, inner.where(is_(row, "object")))
            selects += self.through_array(row.ref, rest, inner.where(is_(row, "array")))
            selects.append(_null(inner.where(fmt(f"({alias}.type NOT IN ('object', 'array'))"))))
        other = self.alias()
        absent = fmt(f"NOT EXISTS (SELECT 1 FROM {{}} AS {other} WHERE {other}.key = {{}})", obj.each(), P(path[0]))
        return selects + [_null(route.where(absent))]

    def leaf_array(self, array: Ref, route: Route) -> list[Sql]:
        """An array at the end of the path: a key per element; an empty one sorts as `undefined`."""
        alias = self.alias()
        row = Row(alias, array.element(alias))
        return [_select(route.join(array.each(), alias), sort_rank(row), sort_value(row)),
                _select(route.where(fmt("({} = 0)", array.length())), Sql(str(UNDEFINED)), Sql("NULL"))]

    def through_array(self, array: Ref, rest: Sequence[str], route: Route) -> list[Sql]:
        """An array along the path: the keys in each of its documents (null for other elements), or,
        if the next key is an offset the array has, the keys from that element on."""
        selects: list[Sql] = []
        index = _array_index(rest[0])
        if index is not None:
            selects += self.chain(array.index(index), rest[1:], route.where(fmt(f"({{}} > {index})", array.length())))
            route = route.where(fmt(f"({{}} <= {index})", array.length()))
        alias = self.alias()
        row = Row(alias, array.element(alias))
        each = route.join(array.each(), alias)
        document = and_(is_(row, "object"), plain_object(row))
        selects += self.from_object(row.ref, rest, each.where(document))
        selects.append(_null(each.where(not_(document))))
        selects.append(_null(route.where(fmt("({} = 0)", array.length()))))
        return selects


def _select(route: Route, rank: Sql, value: Sql) -> Sql:
    condition = and_(*route.outer, *route.inner)
    if condition == FALSE:
        condition = Sql("0")
    tables = "".join(f"{', ' if i else ' FROM '}{{}} AS {alias}" for i, (_, alias) in enumerate(route.joins))
    where = "" if condition == TRUE else " WHERE {}"
    parts = [rank, value, *(source for source, _ in route.joins)] + ([] if condition == TRUE else [condition])
    return fmt(f"SELECT {{}} AS r, {{}} AS v{tables}{where}", *parts)


def _null(route: Route) -> Sql:
    return _select(route, Sql(str(NULL_RANK)), Sql("NULL"))
