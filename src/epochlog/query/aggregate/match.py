"""`$match` over documents a pipeline made: the find filter's own SQL semantics, plus `$expr`.

The part of a filter without `$expr` is decided by `query.evaluate` (the embedded store's compiled SQL,
so a `$match` means exactly what the same find filter means); `$expr`, and `$and`/`$or`/`$nor` items
holding one, are decided by the expression evaluator. Documents are handed over wrapped as
`{"d": document}`, the filter's paths prefixed to match, because `evaluate` treats `_id` as a table
column, and a pipeline's `_id` (a `$group` key) may be any value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...errors import QueryError
from ...types import Filter
from ..evaluate import matching
from ..parse import parse_filter
from .expressions import evaluate, root_variables
from .values import truthy

_LOGICAL = ("$and", "$or", "$nor")


def has_expr(filter: Any) -> bool:
    """Whether `$expr` occurs where this module evaluates it (top level, or inside `$and`/`$or`/`$nor`)."""
    if not isinstance(filter, Mapping):
        return False
    return any(key == "$expr" or (key in _LOGICAL and isinstance(value, (list, tuple)) and
                                  any(has_expr(item) for item in value)) for key, value in filter.items())


def split_expr(filter: Filter) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the conditions a find can take, the ones holding `$expr`): a conjunction of the two is `filter`."""
    plain, rest = {}, {}
    for key, value in filter.items():
        if has_expr({key: value}):
            rest[key] = value
        else:
            plain[key] = value
    return plain, rest


def match(filter: Any, documents: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The documents `filter` matches, in order."""
    if not isinstance(filter, Mapping):
        raise QueryError(f"$match takes a filter document, got {filter!r}")
    keep = _keep(filter, documents)
    return [document for document, kept in zip(documents, keep) if kept]


def _keep(filter: Mapping[str, Any], documents: Sequence[dict[str, Any]]) -> list[bool]:
    plain, rest = split_expr(filter)
    keep = [True] * len(documents)
    if plain:
        chosen = set(matching(parse_filter(_prefixed(plain)), [{"d": document} for document in documents]))
        keep = [index in chosen for index in range(len(documents))]
    for key, value in rest.items():
        if key == "$expr":
            flags = [truthy(evaluate(value, root_variables(document))) for document in documents]
        else:
            parts = [_keep(_document(key, item), documents) for item in value]
            if not parts:
                raise QueryError(f"{key} needs a non-empty list of filter documents")
            flags = [_combine(key, [part[index] for part in parts]) for index in range(len(documents))]
        keep = [a and b for a, b in zip(keep, flags)]
    return keep


def _combine(key: str, flags: list[bool]) -> bool:
    if key == "$and":
        return all(flags)
    return any(flags) if key == "$or" else not any(flags)


def _document(key: str, item: Any) -> Mapping[str, Any]:
    if not isinstance(item, Mapping):
        raise QueryError(f"{key} needs a list of filter documents, got an item {item!r}")
    return item


def _prefixed(filter: Mapping[str, Any]) -> dict[str, Any]:
    """`filter` over `{"d": document}`: field paths get "d.", logical operators recurse, other operators stay
    (for the parser to judge)."""
    out: dict[str, Any] = {}
    for key, value in filter.items():
        if isinstance(key, str) and key in _LOGICAL and isinstance(value, (list, tuple)):
            out[key] = [_prefixed(item) if isinstance(item, Mapping) else item for item in value]
        elif isinstance(key, str) and not key.startswith("$"):
            out[f"d.{key}"] = value
        else:
            out[key] = value
    return out
