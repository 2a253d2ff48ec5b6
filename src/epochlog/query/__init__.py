"""MongoDB's query language for the embedded store: one parser, one AST, one SQL compiler.

    nodes.py       the filter AST (frozen dataclasses)
    parse.py       filter dict -> AST, QueryError naming the culprit; regex.py: MongoDB regexes as Python's
    sql.py         AST -> parameterized SQLite expression over (id, doc), the compiler
      fragments.py   SQL text with its parameters, and the boolean combinators
      paths.py       where values are read from: JSON paths into `doc`, json_each rows
      walk.py        the path walker filters and sort keys share (MongoDB's ElementPath)
      typed.py       typed fields: one plain, indexed expression each
      sort_key.py    sort rank and value; paths that never held an array
      functions.py   the SQL functions compiled filters call (`$regex`)
      scratch.py     per-thread in-memory databases for SQL outside a store, closed with their thread
    sort.py        sort spec -> ORDER BY body in MongoDB's cross-type order
    projection.py  projection spec -> a function applied to decoded documents
    find.py        filter, sort, skip, limit -> one SELECT over a table's (id, doc)
    expr_filter.py `$expr` in find filters: set apart from the SQL, decided by aggregation's `$match` code
    filter_text.py a filter a user typed as JSON (CLI `--query`, the dashboard's box), with its limits

Semantics and every deviation from MongoDB: docs/QUERY.md.
"""

from __future__ import annotations

from .find import compile_find
from .functions import register_functions
from .nodes import Node
from .parse import parse_filter
from .projection import compile_projection
from .sort import compile_sort
from .sql import compile_filter
from .typed import typed_field_sql

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
