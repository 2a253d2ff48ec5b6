"""A projection specification -> a function applied (in Python) to each decoded document.

MongoDB 4.4+ semantics for find(): an inclusion or an exclusion projection (mixing them, `_id` aside,
is an error), dotted paths into documents and arrays of documents and their nested form
(`{"a": {"b": 1}}` is `{"a.b": 1}`), `_id` kept unless excluded, fields kept in the document's own
order, `$slice` (at the path's own array only: arrays nested in arrays on the way are kept whole),
`$elemMatch` and the positional `"a.$"` (both decided by evaluate.py, so that "matches" means what
the same filter means).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import json_codec
from ..errors import QueryError
from .nodes import Field, Node, Not
from .parse import parse_filter, split_path
from .positional import apply_positional, elem_match_key
from .scratch import scratch_connection
from .sql import compile_filter

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


class Projector:
    """One compiled projection, called on each decoded document the filter matched.

    `fields` are the top-level fields it reads (None: it needs the whole document), so that a server
    asked for a superset of the result can be asked for those alone."""

    def __init__(self, apply: Callable[[dict], dict], fields: frozenset[str] | None,
                 positional: tuple[tuple[str, ...], Node] | None = None) -> None:
        self._apply = apply
        self.fields = fields
        self._positional = positional

    def __call__(self, document: dict) -> dict:
        projected = self._apply(document)
        if self._positional is None:
            return projected
        path, filter = self._positional
        return apply_positional(projected, path, elem_match_key(filter, document))


def compile_projection(projection: Mapping[str, Any] | Sequence[str] | None,
                       filter: Mapping[str, Any] | Node | None = None) -> Projector | None:
    """The projector of one document, or None when the whole document is wanted. `filter` is the find's
    own: the positional `"a.$"` keeps the element of `a` it matched."""
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
    positional: tuple[tuple[str, ...], Node] | None = None
    elem_match = False
    for path, value in _flatten(projection):
        spec: _Spec
        if _positional_at(path) is not None:
            if positional is not None:
                raise QueryError(f"cannot specify more than one positional projection ({path!r})")
            positional = (_positional_path(path, value), _positional_filter(path, filter))
            keys, spec = positional[0], _INCLUDE
        else:
            keys = split_path(path)
            if any(key == "" for key in keys):
                raise QueryError(f"projection path {path!r} has an empty component")
            spec = _spec(path, keys, value)
        if path == "_id" and isinstance(spec, str):
            id_spec = spec
            continue
        if spec in (_INCLUDE, _EXCLUDE):
            modes.add(spec)
        elif isinstance(spec, _ElemMatch):
            modes.add(_INCLUDE)
            elem_match = True
        _insert(tree, keys, spec, path)
    if positional is not None and elem_match:
        raise QueryError("cannot specify a positional projection and $elemMatch together")
    if len(modes) > 1:
        raise QueryError(f"a projection cannot mix inclusion and exclusion (other than _id): {dict(projection)!r}")
    # {_id: 1} with no other inclusion (only $slice, or nothing) includes; {_id: 0} alone, or only $slice,
    # excludes (keeps the rest): computeProjectionType in src/mongo/db/query/projection_parser.cpp
    inclusion = modes == {_INCLUDE} or (not modes and id_spec == _INCLUDE)
    if inclusion:
        if id_spec != _EXCLUDE and "_id" not in tree:
            tree = {"_id": _INCLUDE, **tree}
        fields = frozenset(tree) | (_filter_fields(positional[1]) if positional else frozenset())
        return Projector(lambda document: _include(document, tree), fields, positional)
    if id_spec == _EXCLUDE:
        tree = {**tree, "_id": _EXCLUDE}
    return Projector(lambda document: _exclude(document, tree), None)


def _flatten(projection: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """(dotted path, value) pairs: the nested form `{"a": {"b": 1}}` (MongoDB 4.4+) is `{"a.b": 1}`."""
    pairs = []
    for key, value in projection.items():
        if not isinstance(key, str):
            raise QueryError(f"projection keys must be strings, got {key!r}")
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping) and not (len(value) == 1 and str(next(iter(value))).startswith("$")):
            if _positional_at(path) is not None:
                raise QueryError(f"positional projection {path!r} cannot be used with an expression or sub object")
            if not value:
                raise QueryError(f"an empty sub-projection is not a valid value (at {path!r})")
            pairs.extend(_flatten(value, path))
        else:
            pairs.append((path, value))
    return pairs


def _positional_at(path: str) -> int | None:
    """Where the first positional `.$` of a path starts (findFirstPositionalOperator), or None."""
    middle = path.find(".$.")
    if middle >= 0:
        return middle
    if path.endswith(".$"):
        return len(path) - 2
    return 0 if path == "$" else None


def _positional_path(path: str, value: Any) -> tuple[str, ...]:
    """The path a positional projection keeps one element on (MongoDB ignores what follows `.$.`)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise QueryError(f"positional projection {path!r} cannot be used with an expression or a literal")
    if not value:
        raise QueryError(f"positional projection {path!r} cannot exclude")
    begin = _positional_at(path) or 0
    end = begin + 3 if path[begin:begin + 3] == ".$." else len(path)
    rest = path[end:]
    if rest == "$" or _positional_at(rest) is not None or path.endswith(".$."):
        raise QueryError(f"cannot use the positional operator twice: {path!r}")
    keys = split_path(path[:begin]) if begin else ()
    if not keys or any(key == "" for key in keys):
        raise QueryError(f"positional projection {path!r} needs a field path before '.$'")
    return keys


def _positional_filter(path: str, filter: Mapping[str, Any] | Node | None) -> Node:
    """The find's filter, which must have a condition on the projected path's first field (31277)."""
    node = filter if filter is not None and not isinstance(filter, Mapping) else parse_filter(filter)
    if path.split(".")[0] not in _filter_fields(node):
        raise QueryError(f"positional projection {path!r} does not match the query document: the filter needs "
                         f"a condition on {path.split('.')[0]!r}")
    return node


def _filter_fields(node: Node) -> frozenset[str]:
    """The first components of every path the filter tests (hasPositionalOperatorMatch walks them so)."""
    if isinstance(node, Field):
        return frozenset([node.path[0]])
    children = getattr(node, "children", None) or ((node.child,) if isinstance(node, Not) else ())
    return frozenset().union(*(_filter_fields(child) for child in children))


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
        return [_included(item, spec if isinstance(item, dict) else _unsliced(spec, _INCLUDE))
                for item in value if isinstance(item, (dict, list))]
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
        return [_excluded(item, spec if not isinstance(item, list) else _unsliced(spec, None)) for item in value]
    return value


def _unsliced(spec: _Spec, replacement: str | None) -> _Spec:
    """`spec` inside an array nested in an array: MongoDB's $slice walks documents in arrays but keeps
    nested arrays whole (applyFindSliceProjectionToArray), while inclusion and exclusion go on into them
    (find's kRecurseNestedArrays). A slice becomes `replacement` (an inclusion, or nothing)."""
    if not isinstance(spec, dict):
        return spec
    out: dict[str, Any] = {}
    for key, child in spec.items():
        child = replacement if isinstance(child, _Slice) else _unsliced(child, replacement)
        if child is not None:
            out[key] = child
    return out


def _apply_slice(value: Any, spec: _Slice) -> Any:
    if not isinstance(value, list):
        return value
    if spec.skip is None:
        return value[:spec.limit] if spec.limit >= 0 else value[max(len(value) + spec.limit, 0):]
    start = spec.skip if spec.skip >= 0 else max(len(value) + spec.skip, 0)
    return value[start:start + spec.limit]


# -- $elemMatch, evaluated by SQLite -----------------------------------------------------------------


def _elem_match(value: Any, spec: _ElemMatch) -> Any:
    if not isinstance(value, list) or not value:
        return _OMIT
    wrapped = json_codec.dumps([{"v": [item]} for item in value])
    sql = f"SELECT min(k) FROM (SELECT e.key AS k, e.value AS doc, NULL AS id FROM json_each(?) AS e) WHERE {spec.sql}"
    (index,) = scratch_connection().execute(sql, (wrapped, *spec.params)).fetchone()
    return _OMIT if index is None else [value[index]]
