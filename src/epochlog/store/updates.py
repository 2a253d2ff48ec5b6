"""`$set` and `$unset` applied to a decoded document with MongoDB's path rules (for stores without them)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import InvalidDocument


def apply_update(document: dict[str, Any], set_fields: Mapping[str, Any], unset: Iterable[str]) -> None:
    """Change `document` in place. A path through a scalar raises InvalidDocument, as MongoDB refuses it."""
    for path, value in set_fields.items():
        parent, last = _parent(document, path, create=True)
        _assign(parent, last, value, path)
    for path in unset:
        try:
            parent, last = _parent(document, path, create=False)
        except LookupError:
            continue
        if isinstance(parent, dict):
            parent.pop(last, None)
        elif isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
            parent[int(last)] = None  # MongoDB's $unset on an array element leaves null


def _parent(document: dict[str, Any], path: str, *, create: bool) -> tuple[Any, str]:
    parts = path.split(".")
    node: Any = document
    for depth, part in enumerate(parts[:-1]):
        if isinstance(node, dict):
            child = node.get(part)
            if child is None and part not in node or child is None and create:
                if not create:
                    raise LookupError(path)
                child = node[part] = {}
        elif isinstance(node, list) and part.isdigit():
            index = int(part)
            if index >= len(node) or node[index] is None:
                if not create:
                    raise LookupError(path)
                node.extend([None] * (index + 1 - len(node)))
                node[index] = {}
            child = node[index]
        else:
            if not create:
                raise LookupError(path)
            raise InvalidDocument(f"cannot create field {part!r} inside a {type(node).__name__}",
                                  ".".join(parts[:depth + 1]))
        node = child
    if not isinstance(node, (dict, list)) or isinstance(node, list) and not parts[-1].isdigit():
        if not create:
            raise LookupError(path)
        raise InvalidDocument(f"cannot create field {parts[-1]!r} inside a {type(node).__name__}", path)
    return node, parts[-1]


def _assign(parent: Any, key: str, value: Any, path: str) -> None:
    if isinstance(parent, dict):
        parent[key] = value
        return
    index = int(key)
    if index >= len(parent):
        parent.extend([None] * (index + 1 - len(parent)))
    parent[index] = value
