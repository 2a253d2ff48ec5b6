"""Dotted paths through nested documents: whether a user's path is one, the value at one, a document flattened
to them, and the paths on which several documents differ."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .errors import InvalidArgument
from .stored_equality import same

_MISSING = object()


def get_path(document: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path through nested documents, or None."""
    value: Any = document
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def check_field(path: Any, what: str) -> str:
    """`path`, a dotted field path a user may sort, rank, group or plot by; InvalidArgument naming `what`
    otherwise."""
    if not isinstance(path, str) or not path or path.startswith("$") or "" in path.split(".") or "\x00" in path:
        raise InvalidArgument(f"{what} must be a dotted field path such as metrics.best_val_loss, got {path!r}")
    return path


def flatten(document: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """`{"a": {"b": 1}}` -> `{"a.b": 1}`; lists stay values."""
    flat: dict[str, Any] = {}
    for key, value in document.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, path))
        else:
            flat[path] = value
    return flat


def differing_keys(documents: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Dotted keys whose values differ between the documents (missing counts), with each one's value.

    A missing key shows as None. Values compare as stored (`stored_equality.same`): NaN in both runs is no
    difference, while 1 and 1.0 (an int and a double) are.
    """
    flats = [flatten(document) for document in documents]
    keys = sorted({key for flat in flats for key in flat})
    diff = {}
    for key in keys:
        values = [flat.get(key, _MISSING) for flat in flats]
        if any(other is not values[0] and (values[0] is _MISSING or other is _MISSING or not same(values[0], other))
               for other in values[1:]):
            diff[key] = [None if value is _MISSING else value for value in values]
    return diff
