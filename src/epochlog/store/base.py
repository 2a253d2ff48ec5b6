"""The storage contract: a handful of methods every backend implements, and the writes it accepts.

Every change goes through `Store.write`, a batch of `Write` operations applied in order (in one
transaction where the backend has them). Each operation is idempotent, so the write-behind journal
may replay a batch after a crash without duplicating anything.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np
from bson import ObjectId

from ..documents import check_size, check_typed_fields
from ..query.aggregate import run_pipeline
from ..query.parse import parse_filter
from ..groups import Members, Tally
from ..schema import SERIES
from ..types import Document, Filter, IndexSpec, Projection, SortSpec
from .index_keys import IndexInfo


@dataclass(frozen=True)
class Put:
    """Store `document` under its `_id`, replacing a document with the same `_id` if there is one."""

    collection: str
    document: Document


@dataclass(frozen=True)
class Upsert:
    """Replace the document whose natural key (schema.NATURAL_KEYS) matches `document`'s, or insert it.

    An existing document keeps its `_id`; a new one gets `document["_id"]`, which must be set.
    """

    collection: str
    document: Document


@dataclass(frozen=True)
class Update:
    """`$set` (dotted paths allowed) and `$unset` on every document matching `filter`."""

    collection: str
    filter: Filter
    set: Document = field(default_factory=dict)
    unset: tuple[str, ...] = ()


@dataclass(frozen=True)
class Delete:
    """Delete every document matching `filter`."""

    collection: str
    filter: Filter


@dataclass(frozen=True)
class AppendSeries:
    """Append points to one metric's step series as one bucket; `bucket_id` makes the append idempotent."""

    experiment_id: ObjectId
    name: str
    steps: np.ndarray  # int64, same length as values
    values: np.ndarray  # float64
    bucket_id: ObjectId


Write = Union[Put, Upsert, Update, Delete, AppendSeries]


@dataclass(frozen=True)
class MetricSeries:
    """A metric's points in step order; a step logged twice keeps the value logged last."""

    name: str
    steps: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return len(self.steps)


def ordered_series(name: str, steps: np.ndarray, values: np.ndarray) -> MetricSeries:
    """Points in step order; of a step logged more than once, the value logged last wins."""
    if len(steps) > 1 and not np.all(steps[1:] > steps[:-1]):
        order = np.argsort(steps, kind="stable")
        steps, values = steps[order], values[order]
        last = np.ones(len(steps), dtype=bool)
        last[:-1] = steps[1:] != steps[:-1]
        steps, values = steps[last], values[last]
    return MetricSeries(name, np.array(steps, dtype=np.int64), np.array(values, dtype=np.float64))


class Store(ABC):
    """A document store holding the collections in `schema.COLLECTIONS`."""

    uri: str
    database_name: str | None = None  # the MongoDB database a store holds; None for the embedded store

    @abstractmethod
    def write(self, writes: Sequence[Write]) -> None:
        """Apply `writes` in order; all or nothing where the backend has transactions."""

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every write accepted so far has reached the target (at most `timeout` seconds); False if
        some has not. Stores that write through at once have nothing to wait for; the journal ships its
        backlog."""
        return True

    @abstractmethod
    def find(self, collection: str, filter: Filter | None = None, *, projection: Projection | None = None,
             sort: SortSpec | None = None, skip: int = 0, limit: int = 0) -> list[Document]:
        """Documents matching a MongoDB filter, in MongoDB's sort order; `limit=0` means no limit."""

    @abstractmethod
    def count(self, collection: str, filter: Filter | None = None, *, limit: int = 0) -> int:
        """How many documents match `filter`, counting at most `limit` of them (0: all)."""

    def aggregate(self, collection: str, pipeline: Sequence[Mapping[str, Any]]) -> list[Document]:
        """The result documents of a MongoDB aggregation pipeline. By default run with MongoDB's semantics in
        Python over `find` (a leading `$match`, `$sort`, `$skip`, `$limit` pushed into it), see
        query/aggregate/; servers that run pipelines themselves override it."""
        return run_pipeline(self, collection, pipeline)

    def group_stage(self, collection: str, filter: Filter | None, spec: Mapping[str, Any]) -> list[Document] | None:
        """A pipeline's `$group` after the `$match` `filter`, if the store runs it itself exactly as MongoDB
        does; None leaves it to the pipeline's Python stage."""
        return None

    def group_tallies(self, collection: str, filter: Filter | None, paths: Sequence[str], metric: str,
                      mode: str) -> tuple[list[Tally], Members] | None:
        """The groups of `collection`'s documents matching `filter` by the values at `paths`, each with its tally
        of `metric` (see `groups.Tally`; the best run by `mode`), where the store can compute them itself;
        None where the caller is to group the documents (the default)."""
        return None

    @abstractmethod
    def read_series(self, experiment_id: ObjectId, name: str) -> MetricSeries:
        """All points of one step series (empty arrays if none were logged)."""

    @abstractmethod
    def series_names(self, experiment_id: ObjectId) -> list[str]:
        """The names of the step series logged for an experiment, sorted."""

    @abstractmethod
    def ensure_indexes(self) -> None:
        """Create the indexes in `schema.INDEXES` if they are missing (idempotent)."""

    @abstractmethod
    def create_index(self, collection: str, spec: IndexSpec) -> str:
        """Create a user's index (keys checked by `index_keys.index_spec`) if it is missing; its name."""

    @abstractmethod
    def list_indexes(self, collection: str) -> list[IndexInfo]:
        """The indexes of `collection`, epochlog's own first."""

    @abstractmethod
    def drop_index(self, collection: str, name: str) -> None:
        """Drop a user's index: NotFound if there is none of that name, InvalidArgument for epochlog's own."""

    def series_bucket_ids(self, experiment_ids: Sequence[ObjectId] | None = None, *,
                          since: ObjectId | None = None) -> list[tuple[ObjectId, ObjectId]]:
        """(bucket id, experiment id) of the stored step-series buckets of these experiments (of all when None),
        only buckets whose id is at least `since` when given. Stores holding buckets as documents of the
        `series` collection (MongoDB) need nothing more; the embedded store answers from its own table."""
        conditions: list[Filter] = []
        if experiment_ids is not None:
            conditions.append({"experiment_id": {"$in": list(experiment_ids)}})
        if since is not None:
            conditions.append({"_id": {"$gte": since}})
        found = self.find(SERIES, {"$and": conditions} if conditions else None, projection={"experiment_id": 1})
        return [(document["_id"], document["experiment_id"]) for document in found]

    def read_buckets(self, bucket_ids: Sequence[ObjectId]) -> list[AppendSeries]:
        """The stored buckets with these ids, as the appends that wrote them (replaying one changes nothing)."""
        found = self.find(SERIES, {"_id": {"$in": list(bucket_ids)}}) if bucket_ids else []
        return [AppendSeries(document["experiment_id"], document["name"], np.array(document["steps"], dtype=np.int64),
                             np.array(document["values"], dtype=np.float64), document["_id"]) for document in found]

    @abstractmethod
    def close(self) -> None:
        """Release connections and files; the store is unusable afterwards."""

    def check_writes(self, writes: Sequence[Write], encoded_length: int | None = None) -> None:
        """Raise what `write` would raise for values no backend may store (size, filters, a typed field of
        another type), without I/O.

        The journal calls this before accepting a batch, so a bad write fails in the caller, not later.
        `encoded_length`, the length of a compact JSON encoding of the whole batch, spares small batches
        the exact BSON size measurement (see `documents.check_size`).
        """
        for write in writes:
            if isinstance(write, (Put, Upsert)):
                check_typed_fields(write.collection, write.document)
                check_size(write.document, encoded_length)
            elif isinstance(write, (Update, Delete)):
                parse_filter(write.filter)
                if isinstance(write, Update):
                    check_typed_fields(write.collection, write.set)

    @property
    def index_problems(self) -> dict[str, str]:
        """Indexes of `schema.INDEXES` the store could not create ("collection.index" -> why; see
        `epochlog doctor`); empty for stores that always can."""
        return {}

    @property
    def unreachable(self) -> bool:
        """Whether the store knows its target to be unreachable right now while it still accepts writes
        (the journal during an outage); callers then skip reads they can do without."""
        return False

    def find_one(self, collection: str, filter: Filter | None = None, *,
                 projection: Projection | None = None) -> Document | None:
        """The first matching document, or None."""
        found = self.find(collection, filter, projection=projection, limit=1)
        return found[0] if found else None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()
