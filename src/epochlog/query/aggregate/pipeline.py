"""A whole pipeline on a store that cannot run one itself: the head pushed into `find`, the rest in Python.

A leading `$match` becomes the find's filter (its `$expr` conditions, which SQL cannot take, stay
behind as a `$match` in Python); a `$group` straight after it goes to the store's `group_stage`, which runs
the plain ones itself; else a `$sort`, `$skip` and `$limit` straight after the `$match` become the
find's sort, skip and limit, so that the store's indexes serve them (the sort only where the store's
find sorts every value as MongoDB does). `check_pipeline` is what every
backend, MongoDB included, asks before anything runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from ...errors import QueryError
from ...types import Document, Filter, SortSpec
from ..parse import LOGICAL, VALUE_OPERATORS
from .accumulators import ACCUMULATORS
from .expressions import CODE_OPERATORS, OPERATORS
from .match import split_expr
from .sorting import sort_keys
from .stages import STAGES, Stage, count_argument, lookup_target, run_stages, stage_of


class Finder(Protocol):
    """What a pipeline reads through: a store's `find`, and its `group_stage` for a `$group` right after the
    leading `$match` (every `Store` is one)."""

    def find(self, collection: str, filter: Filter | None = None, *, sort: SortSpec | None = None, skip: int = 0,
             limit: int = 0) -> list[Document]: ...

    def group_stage(self, collection: str, filter: Filter | None,
                    spec: Mapping[str, Any]) -> list[Document] | None: ...


#: Stages that write: `aggregate` only reads.
_WRITING = frozenset({"$out", "$merge"})
_KNOWN = frozenset(STAGES) | frozenset(OPERATORS) | ACCUMULATORS | VALUE_OPERATORS | {*LOGICAL, "$expr", "$comment"}
_STAGE_NAMES = frozenset({"$graphLookup", "$unionWith", "$setWindowFields", "$densify", "$fill", "$sample",
                          "$bucketAuto", "$geoNear", "$redact", "$collStats", "$indexStats", "$documents"})


def check_pipeline(pipeline: Any) -> list[Stage]:
    """The (name, specification) stages of `pipeline`; QueryError for anything refused on every backend:
    an operator that runs code (`$where`, `$function`, `$accumulator`) anywhere in it, a writing stage,
    a `$lookup` of something but epochlog's collections."""
    if isinstance(pipeline, (str, bytes, Mapping)) or not isinstance(pipeline, Sequence):
        raise QueryError(f"a pipeline is a list of stage documents, got {pipeline!r}")
    stages = [stage_of(stage) for stage in pipeline]
    for name, spec in stages:
        if name in _WRITING:
            raise QueryError(f"pipeline stage {name} is refused: aggregate only reads")
        _refuse_code(spec)
    _check_lookups(pipeline)
    return stages


def run_pipeline(store: Finder, collection: str, pipeline: Any, *, sort_in_find: bool = True) -> list[Document]:
    """The pipeline's result documents with MongoDB's semantics, reading through `store.find`. Without
    `sort_in_find` (a store whose find does not sort every value as MongoDB does) `$sort` runs in Python."""
    stages = check_pipeline(pipeline)
    _refuse_unknown(pipeline)
    filter, rest = None, stages
    if rest and rest[0][0] == "$match":
        spec = rest[0][1]
        if not isinstance(spec, Mapping):
            raise QueryError(f"$match takes a filter document, got {spec!r}")
        plain, computed = split_expr(spec)
        filter, rest = plain or None, rest[1:]
        if computed:
            rest = [("$match", computed), *rest]
    if rest and rest[0][0] == "$group" and isinstance(rest[0][1], Mapping):
        grouped = store.group_stage(collection, filter, rest[0][1])
        if grouped is not None:
            return run_stages(rest[1:], grouped, lambda name, condition: store.find(name, condition))
    sort, skip, limit = None, 0, 0
    if rest and rest[0][0] == "$sort" and sort_in_find:
        sort, rest = sort_keys(rest[0][1]), rest[1:]
    if rest and rest[0][0] == "$skip":
        skip, rest = count_argument("$skip", rest[0][1], minimum=0), rest[1:]
    if rest and rest[0][0] == "$limit":
        limit, rest = count_argument("$limit", rest[0][1], minimum=1), rest[1:]
    documents = store.find(collection, filter, sort=sort, skip=skip, limit=limit)
    return run_stages(rest, documents, lambda name, condition: store.find(name, condition))


def _refuse_code(value: Any) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key in CODE_OPERATORS:
                raise QueryError(f"operator {key} is refused: it runs code")
            _refuse_code(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _refuse_code(item)


def _refuse_unknown(value: Any) -> None:
    """Refuse, before any document is read, an operator or stage that no table here knows, so that an empty
    collection refuses what a full one would."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str) and key.startswith("$"):
                if key not in _KNOWN:
                    raise QueryError(f"{'stage' if key in _STAGE_NAMES else 'operator'} {key} is not supported "
                                     "by epochlog's aggregation")
                if key == "$literal":
                    continue
            _refuse_unknown(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _refuse_unknown(item)


def _check_lookups(value: Any) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key in ("$lookup", "$graphLookup") and isinstance(item, Mapping):
                lookup_target(item.get("from"))
            elif key == "$unionWith":
                lookup_target(item.get("coll") if isinstance(item, Mapping) else item)
            _check_lookups(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _check_lookups(item)

