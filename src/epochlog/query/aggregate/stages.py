"""Pipeline stages over lists of documents, in Python: `run_stages(stages, documents, find)`.

The stage table, and the stages that are not grouping (grouping.py), sorting (sorting.py) or reshaping
(reshape.py). `find(collection, filter)` reads another collection for `$lookup` (the store's own find,
so its indexes and semantics apply); `$facet` runs each sub-pipeline over the same input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ... import schema
from ...errors import QueryError
from ...types import Document, Filter
from . import grouping, sorting
from .expressions import evaluate, field_path, root_variables
from .match import match
from .reshape import add_fields, project, unset
from .values import MISSING, whole_number

Find = Callable[[str, Filter], list[Document]]
Stage = tuple[str, Any]
_Run = Callable[[Any, list[Document], Find], list[Document]]
_NOT_IN_FACET = frozenset({"$facet", "$out", "$merge", "$collStats", "$indexStats", "$geoNear"})


def stage_of(stage: Any) -> Stage:
    """(name, specification) of one pipeline stage document."""
    if not isinstance(stage, Mapping) or len(stage) != 1:
        raise QueryError(f"a pipeline stage is a document with exactly one field, got {stage!r}")
    (name, spec), = stage.items()
    if not isinstance(name, str) or not name.startswith("$"):
        raise QueryError(f"unrecognized pipeline stage name {name!r}")
    return name, spec


def run_stages(stages: Sequence[Stage], documents: list[Document], find: Find) -> list[Document]:
    for name, spec in stages:
        run = STAGES.get(name)
        if run is None:
            raise QueryError(f"pipeline stage {name} is not supported by epochlog's aggregation")
        documents = run(spec, documents, find)
    return documents


def _match(spec: Any, documents: list[Document], find: Find) -> list[Document]:
    return match(spec, documents)


def _reshape(build: Callable[[Any], Callable[[Document], Document]]) -> _Run:
    def run(spec: Any, documents: list[Document], find: Find) -> list[Document]:
        reshape = build(spec)
        return [reshape(document) for document in documents]
    return run


def _replace_root(spec: Any, documents: list[Document], find: Find) -> list[Document]:
    if not isinstance(spec, Mapping) or set(spec) != {"newRoot"}:
        raise QueryError(f"$replaceRoot takes {{newRoot: <expression>}}, got {spec!r}")
    return _replace_with(spec["newRoot"], documents, find)


def _replace_with(spec: Any, documents: list[Document], find: Find) -> list[Document]:
    results = []
    for document in documents:
        root = evaluate(spec, root_variables(document))
        if not isinstance(root, dict):
            raise QueryError(f"'newRoot' must evaluate to a document, got {root!r}")
        results.append(root)
    return results


def _facet(spec: Any, documents: list[Document], find: Find) -> list[Document]:
    if not isinstance(spec, Mapping) or not spec:
        raise QueryError(f"$facet takes a non-empty document of pipelines, got {spec!r}")
    result = {}
    for name, pipeline in spec.items():
        if not isinstance(pipeline, (list, tuple)):
            raise QueryError(f"$facet: {name!r} must be a pipeline (a list of stages)")
        stages = [stage_of(stage) for stage in pipeline]
        for stage_name, _ in stages:
            if stage_name in _NOT_IN_FACET:
                raise QueryError(f"{stage_name} is not allowed inside $facet")
        result[name] = run_stages(stages, list(documents), find)
    return [result]


# -- paging and unwinding -------------------------------------------------------------------------


def _limit(spec: Any, documents: list[Document], find: Find) -> list[Document]:
    return documents[:count_argument("$limit", spec, minimum=1)]


def _skip(spec: Any, documents: list[Document], find: Find) -> list[Document]:
    return documents[count_argument("$skip", spec, minimum=0):]


def count_argument(stage: str, spec: Any, minimum: int) -> int:
    number = whole_number(spec)
    if number is None or number < minimum:
        raise QueryError(f"{stage} takes a {'positive' if minimum else 'non-negative'} integer, got {spec!r}")
    return number


def _unwind(spec: Any, documents: list[Document], find: Find) -> list[Document]:
    options = {"path": spec} if isinstance(spec, str) else spec
    if not isinstance(options, Mapping) or "path" not in options or \
            set(options) - {"path", "includeArrayIndex", "preserveNullAndEmptyArrays"}:
        raise QueryError(f"$unwind takes a field path or {{path, includeArrayIndex, preserveNullAndEmptyArrays}}, "
                         f"got {spec!r}")
    path, index_field = options["path"], options.get("includeArrayIndex")
    preserve = options.get("preserveNullAndEmptyArrays", False)
    if not isinstance(path, str) or not path.startswith("$") or path.startswith("$$"):
        raise QueryError(f"$unwind: the path must be a field path starting with '$', got {path!r}")
    if index_field is not None and (not isinstance(index_field, str) or not index_field or index_field.startswith("$")):
        raise QueryError(f"$unwind: includeArrayIndex must be a field name without '$', got {index_field!r}")
    if not isinstance(preserve, bool):
        raise QueryError(f"$unwind: preserveNullAndEmptyArrays must be a bool, got {preserve!r}")
    parts = path[1:].split(".")
    field_path(None, path[1:])  # validates the path
    results = []
    for document in documents:
        value = _get(document, parts)
        if isinstance(value, list) and value:
            for index, item in enumerate(value):
                results.append(_indexed(_set(document, parts, item), index_field, index))
        elif isinstance(value, list) or value is None or value is MISSING:
            if preserve:
                kept = _unset(document, parts) if isinstance(value, list) else document
                results.append(_indexed(kept, index_field, None))
        else:
            results.append(_indexed(document, index_field, None))
    return results


def _indexed(document: Document, field: str | None, index: int | None) -> Document:
    return _set(document, field.split("."), index) if field else document


def _get(document: Any, parts: list[str]) -> Any:
    for part in parts:
        if not isinstance(document, dict) or part not in document:
            return MISSING
        document = document[part]
    return document


def _set(document: Document, parts: list[str], value: Any) -> Document:
    """A copy of `document` with `value` at `parts` (through documents, creating them)."""
    result = dict(document)
    head = result.get(parts[0])
    result[parts[0]] = _set(head if isinstance(head, dict) else {}, parts[1:], value) if parts[1:] else value
    return result


def _unset(document: Document, parts: list[str]) -> Document:
    result = dict(document)
    if not parts[1:]:
        result.pop(parts[0], None)
    elif isinstance(result.get(parts[0]), dict):
        result[parts[0]] = _unset(result[parts[0]], parts[1:])
    return result


# -- joins -----------------------------------------------------------------------------------------


def _lookup(spec: Any, documents: list[Document], find: Find) -> list[Document]:
    required = {"from", "localField", "foreignField", "as"}
    if not isinstance(spec, Mapping) or set(spec) != required:
        if isinstance(spec, Mapping) and ("pipeline" in spec or "let" in spec):
            raise QueryError("$lookup with let/pipeline is not supported by epochlog's aggregation "
                             "(use localField and foreignField)")
        raise QueryError(f"$lookup takes from, localField, foreignField and as, got {spec!r}")
    lookup_target(spec["from"])
    for key in ("localField", "foreignField", "as"):
        if not isinstance(spec[key], str) or not spec[key] or spec[key].startswith("$"):
            raise QueryError(f"$lookup: {key} must be a field path without '$', got {spec[key]!r}")
    results = []
    for document in documents:
        local = field_path(document, spec["localField"])
        values = local if isinstance(local, list) else [None if local is MISSING else local]
        joined = find(spec["from"], {spec["foreignField"]: {"$in": values}}) if values else []
        results.append(_set(document, spec["as"].split("."), joined))
    return results


def lookup_target(collection: Any) -> None:
    """Refuse a `$lookup` of anything but one of epochlog's document collections."""
    if collection not in schema.COLLECTIONS or collection == schema.SERIES:
        raise QueryError(f"$lookup: from must be one of epochlog's collections, got {collection!r}")


def _plain(run: Callable[[Any, list[Document]], list[Document]]) -> _Run:
    return lambda spec, documents, find: run(spec, documents)


STAGES: dict[str, _Run] = {
    "$match": _match, "$project": _reshape(project), "$addFields": _reshape(add_fields),
    "$set": _reshape(lambda spec: add_fields(spec, "$set")), "$unset": _reshape(unset),
    "$replaceRoot": _replace_root, "$replaceWith": _replace_with,
    "$group": _plain(grouping.group), "$sortByCount": _plain(grouping.sort_by_count),
    "$count": _plain(grouping.count), "$bucket": _plain(grouping.bucket), "$facet": _facet,
    "$sort": _plain(sorting.sort), "$limit": _limit, "$skip": _skip, "$unwind": _unwind, "$lookup": _lookup,
}
