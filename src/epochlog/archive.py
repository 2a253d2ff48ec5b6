"""Archive, restore, purge: tidying a store without losing anything by accident.

Archiving sets `archived: true` (and `archived_at`) on experiments. Archived runs stay in the store, whole,
and in `search_experiments` (a MongoDB filter means what it says), but `epochlog ls`, `export`, the
leaderboards, `group_stats` and the dashboard leave them out unless asked to show them. Restoring unsets
the field. Purging deletes experiments and everything recorded under them (epochs, checkpoint records, step
series, console chunks); it refuses running experiments, and it is the only deletion of user data in
epochlog. Files on disk (checkpoints) are never touched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bson import ObjectId

from .documents import to_object_id
from .errors import InvalidArgument, NotFound
from .schema import CHECKPOINTS, CONSOLE, EPOCHS, EXPERIMENTS, SERIES
from .store import Store
from .store.base import Delete, Write
from .types import Document, Filter, IdLike

ARCHIVED = "archived"
#: The condition that leaves archived experiments out (a document without the field is not archived).
VISIBLE: Document = {ARCHIVED: {"$ne": True}}
#: What a purge deletes with an experiment, children first, so that a purge cut short is completed by the next.
DEPENDENTS = (EPOCHS, CHECKPOINTS, SERIES, CONSOLE)


@dataclass(frozen=True)
class Purge:
    """What a purge deleted (or, as a dry run, would delete): the experiments (id, name, status) and the
    number of documents per collection (step series counted by name)."""

    experiments: list[Document]
    counts: dict[str, int]


def select(store: Store, experiment_ids: Iterable[IdLike], filter: Filter | None) -> list[dict[str, Any]]:
    """The experiments named by id and/or matching `filter` (both: those that are both), with their status.

    Ids that name no experiment are a NotFound naming them; naming nothing at all is an InvalidArgument (an
    empty filter `{}` given on purpose selects every experiment)."""
    given = [experiment_ids] if isinstance(experiment_ids, (str, ObjectId)) else list(experiment_ids)
    ids = [to_object_id(value, "experiment id") for value in given]
    if not ids and filter is None:
        raise InvalidArgument("name the experiments: ids, or a filter ({} for all of them)")
    if filter is not None and not isinstance(filter, Mapping):
        raise InvalidArgument(f"filter must be a MongoDB filter document, got {filter!r}")
    conditions: list[Document] = []
    if ids:
        conditions.append({"_id": {"$in": ids}})
    if filter:
        conditions.append(dict(filter))
    found = store.find(EXPERIMENTS, {"$and": conditions} if conditions else None,
                       projection={"status": 1, "experiment_name": 1, ARCHIVED: 1})
    if ids:
        known = {document["_id"] for document in store.find(EXPERIMENTS, {"_id": {"$in": ids}}, projection={"_id": 1})}
        missing = [str(oid) for oid in dict.fromkeys(ids) if oid not in known]
        if missing:
            raise NotFound(f"no experiment with id {', '.join(missing)}")
    return found


def purge_writes(experiment_ids: list[ObjectId]) -> list[Write]:
    """The deletions of a purge: each dependent collection, then the experiments."""
    chosen = {"$in": experiment_ids}
    return [*(Delete(collection, {"experiment_id": chosen}) for collection in DEPENDENTS),
            Delete(EXPERIMENTS, {"_id": chosen})]


def purge_counts(store: Store, experiment_ids: list[ObjectId]) -> dict[str, int]:
    """How many documents a purge of these experiments deletes, per collection (step series by name)."""
    counts = {EXPERIMENTS: len(experiment_ids)}
    chosen = {"experiment_id": {"$in": experiment_ids}}
    for collection in DEPENDENTS:
        counts[collection] = sum(len(store.series_names(oid)) for oid in experiment_ids) if collection == SERIES \
            else store.count(collection, chosen)
    return counts
