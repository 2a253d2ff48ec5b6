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
from .fragments import FALSE, TRUE, Sql, and_, fmt, join, not_
from .parse import split_path
from .paths import DOC, Handle, Ref, Row, array_index, is_, plain_object, refs_along
from .sort_key import NULL_RANK, UNDEFINED, array_free, scalar_ref, sort_rank, sort_value
from .typed import typed_field_sql
from .walk import PathWalker, Route


def compile_sort(sort: Sequence[tuple[str, int]] | Mapping[str, int] | None,
                 typed: Mapping[str, FieldType] = {}, arrays: Collection[str] | None = None,
                 fixed: Collection[tuple[str, ...]] = ()) -> tuple[str, list[Any]]:
    """("<ORDER BY body>", params), or ("", []) for no sort. A path that never held an array (see
    `sort_key.array_free`) sorts by its plain sort key, which an expression index can serve, and by its
    value alone if the filter fixes its rank (`sort_key.fixed_ranks`)."""
    if not sort:
        return "", []
    if not isinstance(sort, (Mapping, list, tuple)):
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
    union = join(" UNION ALL ", _Keys().from_object(DOC, keys, None, Route()))
    first = f"FROM ({{}}) ORDER BY r {word}, v {word} LIMIT 1"
    rank, value = fmt(f"(SELECT r {first})", union), fmt(f"(SELECT v {first})", union)
    refs = refs_along(DOC, keys)
    if len(refs) <= len(keys):
        return rank, value
    leaf = refs[-1]
    # the usual case, a scalar at the end of a path through documents: no subquery
    scalar = fmt("({} IS NOT NULL AND {} <> 'array')", leaf.type(), leaf.type())
    return (fmt("CASE WHEN {} THEN {} ELSE {} END", scalar, sort_rank(leaf), rank),
            fmt("CASE WHEN {} THEN {} ELSE {} END", scalar, sort_value(leaf), value))


class _Keys(PathWalker[None]):
    """The selects whose rows are a path's sort keys in one document."""

    def __init__(self) -> None:
        super().__init__("s")

    def end(self, value: Handle, target: None, route: Route, guards: Sequence[Sql]) -> list[Sql]:
        """A value that is not an array is the key (missing: null); an array's elements are."""
        return [_select(route.where(fmt("({} IS NOT 'array')", value.type()), *guards), sort_rank(value),
                        sort_value(value)),
                *self.leaf_array(value, route.where(is_(value, "array")))]

    def keeps_missing(self, target: None) -> bool:
        return True

    def absent(self, route: Route, *conds: Sql) -> Sql:
        return _null(route.where(*conds))

    def leaf_array(self, array: Handle, route: Route) -> list[Sql]:
        """An array at the end of the path: a key per element; an empty one sorts as `undefined`."""
        alias = self.alias()
        row = Row(alias, array.element(alias))
        return [_select(route.join(array.each(), alias), sort_rank(row), sort_value(row)),
                _select(route.where(fmt("({} = 0)", array.length())), Sql(str(UNDEFINED)), Sql("NULL"))]

    def through_array(self, array: Ref, rest: Sequence[str], target: None, route: Route) -> list[Sql]:
        """An array along the path: the keys in each of its documents (null for other elements), or,
        if the next key is an offset the array has, the keys from that element on."""
        selects: list[Sql] = []
        index = array_index(rest[0])
        if index is not None:
            selects += self.chain(array.index(index), rest[1:], None,
                                  route.where(fmt(f"({{}} > {index})", array.length())))
            route = route.where(fmt(f"({{}} <= {index})", array.length()))
        alias = self.alias()
        row = Row(alias, array.element(alias))
        each = route.join(array.each(), alias)
        document = and_(is_(row, "object"), plain_object(row))
        selects += self.from_object(row.ref, rest, None, each.where(document))
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
