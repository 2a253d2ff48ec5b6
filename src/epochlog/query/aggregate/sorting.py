"""`$sort`: MongoDB's order across types, and the key a path gives a document that holds arrays."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...errors import QueryError
from ...types import Document
from .values import MISSING, compare


def sort(spec: Any, documents: list[Document]) -> list[Document]:
    keys = sort_keys(spec)

    def key(document: Document) -> list[Any]:
        return [_Directed(_sort_value(document, path.split("."), direction), direction) for path, direction in keys]
    return sorted(documents, key=key)


def sort_keys(spec: Any) -> list[tuple[str, int]]:
    """The (path, direction) pairs of a `$sort` specification."""
    if not isinstance(spec, Mapping) or not spec:
        raise QueryError(f"$sort takes a non-empty document of fields, got {spec!r}")
    keys = []
    for path, direction in spec.items():
        if isinstance(direction, Mapping):
            raise QueryError(f"$sort: {{$meta}} and other sort expressions are not supported (field {path!r})")
        if isinstance(direction, bool) or direction not in (1, -1):
            raise QueryError(f"$sort direction for {path!r} must be 1 or -1, got {direction!r}")
        if not isinstance(path, str) or not path or path.startswith("$") or any(not part for part in path.split(".")):
            raise QueryError(f"$sort: invalid field path {path!r}")
        keys.append((path, int(direction)))
    return keys


class _Directed:
    """A sort key in one direction."""

    __slots__ = ("value", "direction")

    def __init__(self, value: Any, direction: int) -> None:
        self.value, self.direction = value, direction

    def __lt__(self, other: _Directed) -> bool:
        return compare(self.value, other.value) * self.direction < 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Directed) and compare(self.value, other.value) == 0


def _sort_value(document: Any, parts: list[str], direction: int) -> Any:
    """The key a path gives a document: the smallest of its values ascending, the largest descending
    (an array at the end gives its elements, an empty one sorts below null)."""
    values = _sort_candidates(document, parts)
    best = values[0]
    for value in values[1:]:
        if compare(value, best) * direction < 0:
            best = value
    return best


def _sort_candidates(value: Any, parts: list[str]) -> list[Any]:
    if not parts:
        if isinstance(value, list):
            return list(value) if value else [MISSING]
        return [value]
    if isinstance(value, dict):
        return _sort_candidates(value[parts[0]], parts[1:]) if parts[0] in value else [None]
    if isinstance(value, list):
        if parts[0].isdigit() and int(parts[0]) < len(value):
            return _sort_candidates(value[int(parts[0])], parts[1:])
        found = [item for element in value for item in _sort_candidates(element, parts)]
        return found or [None]
    return [None]
