"""Writes as journal entries: JSON text (with the embedded store's typed tags), never pickle."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import json_codec
from .base import AppendSeries, Delete, Put, Update, Upsert, Write


def dumps_batch(writes: Sequence[Write]) -> str:
    """A batch of writes as one JSON journal entry."""
    return json_codec.dumps([_entry(write) for write in writes])


def loads_batch(text: str) -> list[Write]:
    """The writes a journal entry stands for."""
    return [_write(entry) for entry in json_codec.loads(text)]


def _entry(write: Write) -> dict[str, Any]:
    entry: dict[str, Any]
    if isinstance(write, Put):
        entry = {"op": "put", "collection": write.collection, "document": write.document}
    elif isinstance(write, Upsert):
        entry = {"op": "upsert", "collection": write.collection, "document": write.document}
    elif isinstance(write, Update):
        entry = {"op": "update", "collection": write.collection, "filter": dict(write.filter), "set": write.set,
                 "unset": list(write.unset)}
    elif isinstance(write, Delete):
        entry = {"op": "delete", "collection": write.collection, "filter": dict(write.filter)}
    elif isinstance(write, AppendSeries):
        entry = {"op": "series", "experiment_id": write.experiment_id, "name": write.name,
                 "steps": np.asarray(write.steps, dtype="<i8").tobytes(),
                 "values": np.asarray(write.values, dtype="<f8").tobytes(), "bucket_id": write.bucket_id}
    else:
        raise TypeError(f"not a write: {write!r}")
    return entry


def _write(entry: dict[str, Any]) -> Write:
    op = entry["op"]
    if op == "put":
        return Put(entry["collection"], entry["document"])
    if op == "upsert":
        return Upsert(entry["collection"], entry["document"])
    if op == "update":
        return Update(entry["collection"], entry["filter"], entry["set"], tuple(entry["unset"]))
    if op == "delete":
        return Delete(entry["collection"], entry["filter"])
    if op == "series":
        return AppendSeries(entry["experiment_id"], entry["name"], np.frombuffer(entry["steps"], dtype="<i8"),
                            np.frombuffer(entry["values"], dtype="<f8"), entry["bucket_id"])
    raise ValueError(f"unknown journal entry {op!r}")
