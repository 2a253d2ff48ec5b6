"""`$project`, `$addFields`/`$set` and `$unset`: a field specification -> a function reshaping one document.

A specification is a tree of paths (`"a.b"` and `{"a": {"b": ...}}` alike) whose leaves include (1,
true), exclude (0, false) or compute (any other expression). As in MongoDB: `$project` is either an
inclusion (with computed fields; only `_id` may be excluded) or an exclusion; `_id` is kept unless
excluded and comes first; a path through an array applies to each element (inclusion drops the
elements that are not documents, a computed field turns them into documents); a computed field that
evaluates to nothing (`$$REMOVE`, a missing path) is left out. `$addFields` computes every leaf (a
number is a value there) into a copy of the document, merging into embedded documents.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ...errors import QueryError
from .expressions import Variables, evaluate, operator_of, root_variables
from .values import MISSING, is_number

Reshape = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class _Computed:
    expression: Any


_INCLUDE, _EXCLUDE = "include", "exclude"
_Tree = dict[str, Any]  # key -> _INCLUDE | _EXCLUDE | _Computed | _Tree


def project(spec: Any) -> Reshape:
    """The `$project` stage's function."""
    tree = _tree("$project", spec, computed_only=False)
    id_node = tree.pop("_id", None)
    modes = _modes(tree)
    if _EXCLUDE in modes and len(modes) > 1:
        raise QueryError(f"$project cannot mix exclusion with inclusion or computed fields: {dict(spec)!r}")
    if not modes and id_node in (None, _EXCLUDE):  # only {_id: 0}: an exclusion
        modes = {_EXCLUDE}
    if modes == {_EXCLUDE}:
        if isinstance(id_node, _Computed):
            raise QueryError("$project cannot compute _id in an exclusion projection")
        if id_node == _EXCLUDE:
            tree["_id"] = _EXCLUDE
        return lambda document: _exclude(document, tree)
    if id_node != _EXCLUDE:
        tree = {"_id": id_node or _INCLUDE, **tree}

    def reshape(document: dict[str, Any]) -> dict[str, Any]:
        result = _include(document, tree)
        _compute(result, tree, root_variables(document))
        return {"_id": result.pop("_id"), **result} if "_id" in result else result
    return reshape


def add_fields(spec: Any, stage: str = "$addFields") -> Reshape:
    """The `$addFields` (`$set`) stage's function."""
    tree = _tree(stage, spec, computed_only=True)

    def reshape(document: dict[str, Any]) -> dict[str, Any]:
        result = dict(document)
        _compute(result, tree, root_variables(document))
        return result
    return reshape


def unset(spec: Any) -> Reshape:
    """The `$unset` stage's function: an exclusion of a path or a list of paths."""
    paths = [spec] if isinstance(spec, str) else spec
    if not isinstance(paths, (list, tuple)) or not paths or not all(isinstance(path, str) for path in paths):
        raise QueryError(f"$unset takes a field path or a non-empty list of them, got {spec!r}")
    tree = _tree("$unset", {path: 0 for path in paths}, computed_only=False)
    return lambda document: _exclude(document, tree)


# -- the tree --------------------------------------------------------------------------------------


def _tree(stage: str, spec: Any, computed_only: bool) -> _Tree:
    if not isinstance(spec, Mapping) or not spec:
        raise QueryError(f"{stage} takes a non-empty document of fields, got {spec!r}")
    tree: _Tree = {}
    for key, value in spec.items():
        if not isinstance(key, str) or not key or key.startswith("$") or any(not part for part in key.split(".")):
            raise QueryError(f"{stage}: invalid field path {key!r}")
        node: Any
        if isinstance(value, Mapping) and value and operator_of(value) is None:
            node = _tree(stage, value, computed_only)
        elif not computed_only and (isinstance(value, bool) or is_number(value)):
            node = _INCLUDE if value else _EXCLUDE
        elif isinstance(value, Mapping) and not value and not computed_only:
            raise QueryError(f"{stage}: an empty specification is not valid (at {key!r})")
        else:
            node = _Computed(value)
        _insert(stage, tree, key.split("."), node)
    return tree


def _insert(stage: str, tree: _Tree, parts: list[str], node: Any) -> None:
    head, rest = parts[0], parts[1:]
    if not rest:
        if head in tree:
            existing = tree[head]
            if isinstance(existing, dict) and isinstance(node, dict):
                for key, child in node.items():
                    _insert(stage, existing, [key], child)
                return
            raise QueryError(f"{stage}: path collision at {head!r}")
        tree[head] = node
        return
    child = tree.setdefault(head, {})
    if not isinstance(child, dict):
        raise QueryError(f"{stage}: path collision at {head!r}")
    _insert(stage, child, rest, node)


def _modes(tree: _Tree) -> set[str]:
    modes: set[str] = set()
    for node in tree.values():
        if isinstance(node, dict):
            modes |= _modes(node)
        else:
            modes.add(_INCLUDE if isinstance(node, _Computed) else node)
    return modes


def _has_computed(tree: _Tree) -> bool:
    return any(isinstance(node, _Computed) or (isinstance(node, dict) and _has_computed(node))
               for node in tree.values())


# -- applying it -----------------------------------------------------------------------------------


def _include(document: dict[str, Any], tree: _Tree) -> dict[str, Any]:
    result = {}
    for key, value in document.items():
        node = tree.get(key)
        if node == _INCLUDE:
            result[key] = value
        elif isinstance(node, dict):
            kept = _include_value(value, node)
            if kept is not MISSING:
                result[key] = kept
    return result


def _include_value(value: Any, tree: _Tree) -> Any:
    if isinstance(value, dict):
        return _include(value, tree)
    if isinstance(value, list):
        return [_include_value(item, tree) for item in value if isinstance(item, (dict, list))]
    return MISSING


def _exclude(document: dict[str, Any], tree: _Tree) -> dict[str, Any]:
    result = {}
    for key, value in document.items():
        node = tree.get(key)
        if node == _EXCLUDE:
            continue
        result[key] = _exclude_value(value, node) if isinstance(node, dict) else value
    return result


def _exclude_value(value: Any, tree: _Tree) -> Any:
    if isinstance(value, dict):
        return _exclude(value, tree)
    if isinstance(value, list):
        return [_exclude_value(item, tree) for item in value]
    return value


def _compute(target: dict[str, Any], tree: _Tree, variables: Variables) -> None:
    """Set the computed leaves of `tree` into `target` (a fresh copy at each level it changes)."""
    for key, node in tree.items():
        if isinstance(node, _Computed):
            value = evaluate(node.expression, variables)
            if value is MISSING:
                target.pop(key, None)
            else:
                target[key] = value
        elif isinstance(node, dict) and _has_computed(node):
            target[key] = _compute_into(target.get(key, MISSING), node, variables)


def _compute_into(value: Any, tree: _Tree, variables: Variables) -> Any:
    if isinstance(value, list):
        return [_compute_into(item, tree, variables) for item in value]
    result = dict(value) if isinstance(value, dict) else {}
    _compute(result, tree, variables)
    return result
