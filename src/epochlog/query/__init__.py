"""MongoDB's query language for the embedded store: one parser, one AST, one SQL compiler.

    parse.py       filter dict -> AST (frozen dataclasses), QueryError naming the culprit
    sql.py         AST -> parameterized SQLite expression over (id, doc); typed-field expressions
    sort.py        sort spec -> ORDER BY body in MongoDB's cross-type order
    projection.py  projection spec -> a function applied to decoded documents
    find.py        filter, sort, skip, limit -> one SELECT over a table's (id, doc)
    expr_filter.py `$expr` in find filters: set apart from the SQL, decided by aggregation's `$match` code

Semantics and every deviation from MongoDB: docs/QUERY.md.
"""

from __future__ import annotations

from .find import compile_find
from .parse import Node, parse_filter
from .projection import compile_projection
from .sort import compile_sort
from .sql import compile_filter, register_functions, typed_field_sql

__all__ = [
    "Node",
    "compile_filter",
    "compile_find",
    "compile_projection",
    "compile_sort",
    "parse_filter",
    "register_functions",
    "typed_field_sql",
]
