"""A projection specification -> a function applied (in Python) to each decoded document.

MongoDB 4.4+ semantics for find(): an inclusion or an exclusion projection (mixing them, `_id` aside,
is an error), dotted paths into documents and arrays of documents, `_id` kept unless excluded,
fields kept in the document's own order, `$slice`, and `$elemMatch` (whose condition is compiled
by sql.py and evaluated by SQLite, so it means exactly what the same filter means).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import QueryError
from ..store import json_codec
from .parse import split_path
from .sql import compile_filter, register_functions

Projection = Mapping[str, Any]


@dataclass(frozen=True)
class _Slice:
    skip: int | None  # None: `limit` alone, negative meaning "the last -limit"
    limit: int


@dataclass(frozen=True)
class _ElemMatch:
    key: str
    sql: str
    params: tuple[Any, ...]


_INCLUDE, _EXCLUDE = "include", "exclude"
_Spec = str | _Slice | _ElemMatch | dict
_OMIT = object()


def compile_projection(projection: Mapping[str, Any] | Sequence[str] | None) -> Callable[[dict], dict] | None:
    """The function that projects one document, or None when the whole document is wanted."""
    if projection is None:
        return None
    if not isinstance(projection, Mapping):
        if isinstance(projection, str) or not isinstance(projection, Sequence) or \
                not all(isinstance(name, str) for name in projection):
            raise QueryError(f"a projection must be a document or a list of field names, got {projection!r}")
        projection = {name: 1 for name in projection}
    if not projection:
        return None
    tree: dict[str, Any] = {}
    id_spec: str | None = None
    modes = set()
    for path, value in projection.items():
        keys = split_path(path)
        if any(key == "" for key in keys):
            raise QueryError(f"projection path {path!r} has an empty component")
        spec = _spec(path, keys, value)
        if path == "_id" and spec in (_INCLUDE, _EXCLUDE):
            id_spec = spec
            continue
        if spec in (_INCLUDE, _EXCLUDE):
            modes.add(spec)
        elif isinstance(spec, _ElemMatch):
            modes.add(_INCLUDE)
        _insert(tree, keys, spec, path)
    if len(modes) > 1:
        raise QueryError(f"a projection cannot mix inclusion and exclusion (other than _id): {dict(projection)!r}")
    # {_id: 1} alone includes only _id; {_id: 0} alone, or only $slice, excludes (keeps the rest)
    inclusion = modes == {_INCLUDE} or (not modes and id_spec == _INCLUDE and not tree)
    if inclusion:
        if id_spec != _EXCLUDE and "_id" not in tree:
            tree = {"_id": _INCLUDE, **tree}
        return lambda document: _include(document, tree)
    if id_spec == _EXCLUDE:
        tree = {**tree, "_id": _EXCLUDE}
    return lambda document: _exclude(document, tree)


def _spec(path: str, keys: tuple[str, ...], value: Any) -> _Spec:
    if isinstance(value, bool) or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        return _INCLUDE if value else _EXCLUDE
    if isinstance(value, Mapping) and len(value) == 1:
        operator, operand = next(iter(value.items()))
        if operator == "$slice":
            return _slice(path, operand)
        if operator == "$elemMatch":
            if len(keys) != 1:
                raise QueryError(f"$elemMatch projection cannot be used on a dotted path ({path!r})")
            if not isinstance(operand, Mapping):
                raise QueryError(f"$elemMatch projection needs a document, got {operand!r}")
            sql, params = compile_filter({"v": {"$elemMatch": operand}})
            return _ElemMatch(keys[0], sql, tuple(params))
        raise QueryError(f"projection operator {operator} is not supported (only $slice and $elemMatch)")
    raise QueryError(f"projection value for {path!r} must be 0/1, true/false, $slice or $elemMatch, got {value!r}")


def _slice(path: str, operand: Any) -> _Slice:
    def whole(number: Any) -> int:
        if isinstance(number, bool) or not isinstance(number, (int, float)) or number != int(number):
            raise QueryError(f"$slice for {path!r} needs whole numbers, got {operand!r}")
        return int(number)

    if isinstance(operand, (list, tuple)):
        if len(operand) != 2:
            raise QueryError(f"$slice for {path!r} needs a number or [skip, limit], got {operand!r}")
        skip, limit = whole(operand[0]), whole(operand[1])
        if limit <= 0:
            raise QueryError(f"$slice for {path!r}: limit must be positive, got {limit}")
        return _Slice(skip, limit)
    return _Slice(None, whole(operand))


def _insert(tree: dict[str, Any], keys: tuple[str, ...], spec: _Spec, path: str) -> None:
    node = tree
    for key in keys[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise QueryError(f"projection path collision at {path!r}")
        node = child
    if keys[-1] in node:
        raise QueryError(f"projection path collision at {path!r}")
    node[keys[-1]] = spec


def _include(document: dict, tree: dict[str, Any]) -> dict:
    out = {}
    for key, value in document.items():
        spec = tree.get(key)
        if spec is None:
            continue
        result = _included(value, spec)
        if result is not _OMIT:
            out[key] = result
    return out


def _included(value: Any, spec: _Spec) -> Any:
    if spec == _INCLUDE:
        return value
    if isinstance(spec, _Slice):
        return _apply_slice(value, spec)
    if isinstance(spec, _ElemMatch):
        return _elem_match(value, spec)
    if isinstance(value, dict):
        return _include(value, spec)  # type: ignore[arg-type]
    if isinstance(value, list):  # documents and arrays inside are projected; scalars are dropped
        return [_included(item, spec) for item in value if isinstance(item, (dict, list))]
    return _OMIT


def _exclude(document: dict, tree: dict[str, Any]) -> dict:
    out = {}
    for key, value in document.items():
        spec = tree.get(key)
        if spec is None:
            out[key] = value
        elif spec != _EXCLUDE:
            out[key] = _excluded(value, spec)
    return out


def _excluded(value: Any, spec: _Spec) -> Any:
    if isinstance(spec, _Slice):
        return _apply_slice(value, spec)
    if isinstance(value, dict):
        return _exclude(value, spec)  # type: ignore[arg-type]
    if isinstance(value, list):
        return [_excluded(item, spec) for item in value]
    return value


def _apply_slice(value: Any, spec: _Slice) -> Any:
    if not isinstance(value, list):
        return value
    if spec.skip is None:
        return value[:spec.limit] if spec.limit >= 0 else value[max(len(value) + spec.limit, 0):]
    start = spec.skip if spec.skip >= 0 else max(len(value) + spec.skip, 0)
    return value[start:start + spec.limit]


# -- $elemMatch, evaluated by SQLite -----------------------------------------------------------------

_local = threading.local()


def _connection() -> sqlite3.Connection:
    db = getattr(_local, "db", None)
    if db is None:
        db = sqlite3.connect(":memory:")
        register_functions(db)
        _local.db = db
    return db


def _elem_match(value: Any, spec: _ElemMatch) -> Any:
    if not isinstance(value, list) or not value:
        return _OMIT
    wrapped = json_codec.dumps([{"v": [item]} for item in value])
    sql = f"SELECT min(k) FROM (SELECT e.key AS k, e.value AS doc, NULL AS id FROM json_each(?) AS e) WHERE {spec.sql}"
    (index,) = _connection().execute(sql, (wrapped, *spec.params)).fetchone()
    return _OMIT if index is None else [value[index]]
