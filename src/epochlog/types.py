"""Type aliases and small value types shared across epochlog."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

from bson import ObjectId

Document = dict[str, Any]
Filter = Mapping[str, Any]
Projection = Mapping[str, Any]
#: A sort as pymongo takes it: [("metrics.best_val_loss", 1), ("start_time", -1)].
SortSpec = Sequence[tuple[str, int]]
#: What users may pass where an id is expected: an ObjectId or its 24-hex string.
IdLike = Union[ObjectId, str]


@dataclass(frozen=True)
class IndexSpec:
    """One index: its (field, direction) keys, and whether it is unique."""

    keys: tuple[tuple[str, int], ...]
    unique: bool = False

    @property
    def name(self) -> str:
        """MongoDB's default index name, e.g. `experiment_id_1_epoch_-1`."""
        return "_".join(f"{field}_{direction}" for field, direction in self.keys)
