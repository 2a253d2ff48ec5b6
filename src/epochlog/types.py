"""Type aliases and small value types shared across epochlog."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, Union

from bson import ObjectId

Document = dict[str, Any]
Filter = Mapping[str, Any]
Projection = Mapping[str, Any]
#: A sort as pymongo takes it: [("metrics.best_val_loss", 1), ("start_time", -1)].
SortSpec = Sequence[tuple[str, int]]
#: What users may pass where an id is expected: an ObjectId or its 24-hex string.
IdLike = Union[ObjectId, str]


class Reader(Protocol):
    """What reads documents with MongoDB filters: a `Tracker` (as the CLI and the dashboard read), or a store."""

    def find(self, collection: str, filter: Filter | None = None, *, projection: Projection | None = None,
             sort: SortSpec | None = None, skip: int = 0, limit: int = 0) -> list[Document]: ...

    def count(self, collection: str, filter: Filter | None = None, *, limit: int = 0) -> int: ...


@dataclass(frozen=True)
class IndexSpec:
    """One index: its (field, direction) keys, and whether it is unique."""

    keys: tuple[tuple[str, int], ...]
    unique: bool = False

    @property
    def name(self) -> str:
        """MongoDB's default index name, e.g. `experiment_id_1_epoch_-1`."""
        return "_".join(f"{field}_{direction}" for field, direction in self.keys)
