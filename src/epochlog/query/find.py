"""A whole `find` -> one SELECT over a table's (id, doc): filter, sort (id last), skip and limit."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from ..schema import FieldType
from ..types import Filter, SortSpec
from .parse import parse_filter
from .sort import compile_sort
from .sort_key import fixed_ranks
from .sql import compile_filter


def compile_find(table: str, filter: Filter | None = None, sort: SortSpec | None = None, skip: int = 0,
                 limit: int = 0, typed: Mapping[str, FieldType] = {},
                 arrays: Collection[str] | None = None) -> tuple[str, list[Any]]:
    """("SELECT id, doc FROM <table> WHERE ... ORDER BY ..., id [LIMIT ... OFFSET ...]", params).

    A sort path whose rank the filter fixes sorts by its value alone (`sort_key.fixed_ranks`), so that an
    index on it returns the rows in order."""
    node = parse_filter(filter)
    where, params = compile_filter(node, typed, arrays)
    order, order_params = compile_sort(sort, typed, arrays, fixed_ranks(node, typed, arrays))
    sql = f"SELECT id, doc FROM {table} WHERE {where} ORDER BY {order + ', ' if order else ''}id"
    if limit or skip:
        sql += f" LIMIT {int(limit) if limit else -1} OFFSET {int(skip)}"
    return sql, params + order_params
