"""`$expr` in find filters, for stores that cannot hand it to MongoDB: aggregation's `$match` code, reused.

MongoDB takes `$expr` at the top level of a filter and in `$and`/`$or`/`$nor` items at any depth. The
conditions holding one (`aggregate.match.split_expr`) are set apart; the others still narrow the rows,
in the store's own find (SQL and its indexes, or the server) and its sort order, and `aggregate.match.match`
keeps the documents the `$expr` conditions hold for. Skip, limit and projection apply after that.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ..errors import QueryError
from ..types import Document, Filter, Projection, SortSpec
from .aggregate.expressions import check_operators
from .aggregate.match import has_expr, match, split_expr
from .parse import parse_filter
from .projection import compile_projection

#: A store's find of a filter without `$expr`, sorted by the spec and neither skipped nor limited.
PlainFind = Callable[[Filter | None, SortSpec | None], list[Document]]

__all__ = ["find_with_expr", "has_expr", "split_filter"]


def split_filter(filter: Filter | None, *, supported: bool = True) -> tuple[Filter | None, Filter | None]:
    """(the conditions without `$expr`, those holding one or None). Before anything is read, a QueryError for
    what the `$expr` part would be refused for: an operator that runs code, with `supported` one outside
    the evaluator's subset, and whatever the parser refuses in the plain items of its `$and`/`$or`/`$nor`."""
    if filter is None or not has_expr(filter):
        return filter, None
    plain, computed = split_expr(filter)
    _check(computed, supported)
    return plain or None, computed


def find_with_expr(find: PlainFind, filter: Filter, projection: Projection | None, sort: SortSpec | None,
                   skip: int, limit: int) -> list[Document]:
    """What a find of `filter` (holding `$expr`) returns, the plain part read through `find`."""
    plain, computed = split_filter(filter)
    project = compile_projection(projection, plain)
    documents = find(plain, sort)
    documents = match(computed, documents)[skip:] if computed else documents[skip:]
    documents = documents[:limit] if limit else documents
    return [project(document) for document in documents] if project else documents


def _check(computed: Filter, supported: bool) -> None:
    for key, value in computed.items():
        if key == "$expr":
            check_operators(value, supported=supported)
            continue
        for item in value:  # an $and/$or/$nor list (split_expr sets nothing else apart)
            if not isinstance(item, Mapping):
                raise QueryError(f"{key} needs a list of filter documents, got an item {item!r}")
            plain, inner = split_expr(item)
            parse_filter(plain)
            _check(inner, supported)
