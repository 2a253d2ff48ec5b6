"""A computed column of the experiments table: an aggregation expression (`{"$subtract": ["$a", "$b"]}`)
evaluated on each row's document by the aggregation evaluator, so it means what it would in MongoDB."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bson import json_util

from ..errors import QueryError
from ..query.aggregate.expressions import check_operators, evaluate, root_variables
from ..query.aggregate.values import MISSING, order_key
from ..types import Document

PREFIX = "the computed column: "  # the page shows errors so marked next to the column's box, not the filter's
_WHOLE = ("$$ROOT", "$$CURRENT")  # expressions reaching these need every field of the document


def parse_expression(text: str) -> Any:
    """The expression typed as JSON (extended JSON allowed); refused before any row is read if it is not JSON
    or uses an operator the evaluator does not know or one that runs code."""
    try:
        expression = json_util.loads(text)
    except (ValueError, TypeError, RecursionError) as error:
        raise QueryError(f"{PREFIX}not valid JSON: {error}") from None
    try:
        check_operators(expression)
    except QueryError as error:
        raise QueryError(f"{PREFIX}{error}") from None
    except RecursionError:
        raise QueryError(f"{PREFIX}nested too deeply") from None
    return expression


def projection(expression: Any, fields: Iterable[str]) -> dict[str, int]:
    """`fields` plus the top-level fields the expression reads; every field when it reaches the whole document."""
    paths = set(_paths(expression))
    if any(path.split(".")[0] in _WHOLE for path in paths):
        return {"subject_metrics": 0}  # can be large, and no column wants it
    return dict.fromkeys([*fields, *(path[1:].split(".")[0] for path in paths if not path.startswith("$$"))], 1)


def value(expression: Any, document: Mapping[str, Any]) -> Any:
    """The expression's value for one document; None (a dash) where it reaches nothing or MongoDB would refuse
    this row's values, such as `$subtract` of a string."""
    try:
        result = evaluate(expression, root_variables(dict(document)))
    except (QueryError, RecursionError):
        return None
    return None if result is MISSING else result


def ordered(expression: Any, documents: Sequence[Document], order: int) -> list[Document]:
    """`documents` by the expression's value in MongoDB's order of values (ascending for `order` 1, nulls
    first as MongoDB puts them), ties by `_id`, as a find sorted by a field would give them."""
    keyed = [(order_key(value(expression, document)), order_key(document.get("_id")), document)
             for document in documents]
    keyed.sort(key=lambda item: (item[0], item[1]), reverse=order == -1)
    return [document for _, _, document in keyed]


def _paths(expression: Any) -> Iterable[str]:
    stack = [expression]
    while stack:
        node = stack.pop()
        if isinstance(node, str) and node.startswith("$") and len(node) > 1:
            yield node
        elif isinstance(node, Mapping):
            stack.extend(node.values())
        elif isinstance(node, (list, tuple)):
            stack.extend(node)
