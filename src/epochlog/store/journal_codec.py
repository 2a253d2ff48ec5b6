"""Writes as journal entries: JSON text (with the embedded store's typed tags), never pickle."""

from __future__ import annotations

import numpy as np

from . import json_codec
from .base import AppendSeries, Delete, Put, Update, Upsert, Write


def dumps(write: Write) -> str:
    """One write as a JSON entry."""
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
    return json_codec.dumps(entry)


def loads(text: str) -> Write:
    """The write a journal entry stands for."""
    entry = json_codec.loads(text)
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
