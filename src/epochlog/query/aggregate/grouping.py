"""`$group`, `$sortByCount`, `$count` and `$bucket`: documents -> one document a group.

Group keys are equal as MongoDB compares them (1 and 1.0 are one key, true and 1 are not, a missing key
is null). Groups keep the order in which their first document arrived; MongoDB leaves it unspecified.
No documents make no group, not even for `_id: null`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from bson import ObjectId

from ...documents import as_utc
from ...errors import QueryError
from ...types import Document
from .accumulators import Accumulator, accumulator
from .expressions import evaluate, root_variables
from .values import MISSING, compare, is_number, order_key, rank


def group(spec: Any, documents: list[Document]) -> list[Document]:
    if not isinstance(spec, Mapping) or "_id" not in spec:
        raise QueryError(f"$group needs an _id (the group key), got {spec!r}")
    fields = [(field, value) for field, value in spec.items() if field != "_id"]
    for field, _ in fields:
        if "." in field or field.startswith("$"):
            raise QueryError(f"$group: invalid output field name {field!r}")
    return _grouped(documents, spec["_id"], fields)


def _grouped(documents: list[Document], key: Any, fields: list[tuple[str, Any]],
             labels: list[Any] | None = None) -> list[Document]:
    """Groups by the expression `key` (or by the given `labels`, one a document), each with its accumulators."""
    for field, spec in fields:
        accumulator(field, spec)  # refused before any document is read
    groups: dict[Any, tuple[Any, list[tuple[str, Accumulator]]]] = {}
    for position, document in enumerate(documents):
        variables = root_variables(document)
        value = labels[position] if labels is not None else evaluate(key, variables)
        value = None if value is MISSING else value
        canonical = _canonical(value)
        if canonical not in groups:
            groups[canonical] = (value, [(field, accumulator(field, spec)) for field, spec in fields])
        for _, state in groups[canonical][1]:
            state.add(variables)
    return [{"_id": value, **{field: state.result() for field, state in states}}
            for value, states in groups.values()]


def _canonical(value: Any) -> Any:
    """A hashable stand-in equal for values MongoDB groups together (1 and 1.0; not True and 1)."""
    if isinstance(value, bool):
        return "bool", value
    if is_number(value):
        return ("nan",) if value != value else ("number", value)
    if isinstance(value, dict):
        return "object", tuple((key, _canonical(item)) for key, item in value.items())
    if isinstance(value, list):
        return "array", tuple(_canonical(item) for item in value)
    if isinstance(value, dt.datetime):
        return "date", as_utc(value)
    return rank(value), type(value).__name__, str(value) if not isinstance(value, (str, bytes, ObjectId)) else value


def sort_by_count(spec: Any, documents: list[Document]) -> list[Document]:
    if isinstance(spec, Mapping) and not spec:
        raise QueryError("$sortByCount takes an expression")
    counted = _grouped(documents, spec, [("count", {"$sum": 1})])
    return sorted(counted, key=lambda group: -group["count"])


def count(spec: Any, documents: list[Document]) -> list[Document]:
    if not isinstance(spec, str) or not spec or spec.startswith("$") or "." in spec or spec == "_id":
        raise QueryError(f"$count takes a non-empty field name without '$' or '.', got {spec!r}")
    return [{spec: len(documents)}] if documents else []


def bucket(spec: Any, documents: list[Document]) -> list[Document]:
    allowed = {"groupBy", "boundaries", "default", "output"}
    if not isinstance(spec, Mapping) or not {"groupBy", "boundaries"} <= set(spec) or set(spec) - allowed:
        raise QueryError(f"$bucket takes groupBy, boundaries and optionally default and output, got {spec!r}")
    boundaries = spec["boundaries"]
    if not isinstance(boundaries, (list, tuple)) or len(boundaries) < 2 or \
            len({rank(value) for value in boundaries}) != 1 or \
            any(compare(a, b) >= 0 for a, b in zip(boundaries, boundaries[1:])):
        raise QueryError(f"$bucket: boundaries must be 2 or more values of one type in ascending order, got {boundaries!r}")
    has_default = "default" in spec
    if has_default and compare(boundaries[0], spec["default"]) <= 0 and rank(spec["default"]) == rank(boundaries[0]) \
            and compare(spec["default"], boundaries[-1]) < 0:
        raise QueryError("$bucket: the default must be less than the lowest boundary or at least the highest")
    output = spec.get("output", {"count": {"$sum": 1}})
    if not isinstance(output, Mapping):
        raise QueryError(f"$bucket: output must be a document of accumulators, got {output!r}")
    labels = []
    for document in documents:
        value = evaluate(spec["groupBy"], root_variables(document))
        value = None if value is MISSING else value
        label = next((low for low, high in zip(boundaries, boundaries[1:])
                      if compare(low, value) <= 0 < compare(high, value)), MISSING)
        if label is MISSING:
            if not has_default:
                raise QueryError(f"$bucket: the value {value!r} falls in no bucket and there is no default")
            label = spec["default"]
        labels.append(label)
    grouped = _grouped(documents, None, list(output.items()), labels)
    return sorted(grouped, key=lambda group: order_key(group["_id"]))
