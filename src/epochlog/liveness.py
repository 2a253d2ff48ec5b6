"""When a running run was last seen alive, and so whether it is stale: one judgement for the tracker
(`get_stale_runs`), the CLI and the dashboard.

A run epochlog records beats a `heartbeat`. One the seed's code left `running` has none: its latest sign of
life is then the newer of its latest epoch's `timestamp` and its `start_time`, and a run with none of these
is stale. Such runs need a second query (their epochs), so every view asks for the runs it shows only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from bson import ObjectId

from .schema import EPOCHS, EXPERIMENTS
from .types import Document, Reader

_NOT_A_DATE = {"$not": {"$type": "date"}}


def beats(document: Mapping[str, Any]) -> bool:
    """Whether a run's staleness can be read from its own document (a running run with a heartbeat)."""
    return document.get("status") != "running" or isinstance(document.get("heartbeat"), dt.datetime)


def last_seen(document: Mapping[str, Any], last_epoch: dt.datetime | None = None) -> dt.datetime | None:
    """A run's latest sign of life: its heartbeat, else the newer of `last_epoch` (its latest epoch's
    timestamp, from `latest_epoch_times`) and its start time; None when it has none of them."""
    heartbeat = document.get("heartbeat")
    if isinstance(heartbeat, dt.datetime):
        return heartbeat
    signs = [value for value in (last_epoch, document.get("start_time")) if isinstance(value, dt.datetime)]
    return max(signs) if signs else None


def is_stale(document: Mapping[str, Any], now: dt.datetime, stale_after: float,
             last_epoch: dt.datetime | None = None) -> bool:
    """Whether a running run has shown no sign of life for more than `stale_after` seconds."""
    if document.get("status") != "running":
        return False
    seen = last_seen(document, last_epoch)
    return seen is None or (now - seen).total_seconds() > stale_after


def latest_epoch_times(store: Reader, experiment_ids: Iterable[Any]) -> dict[Any, dt.datetime]:
    """The newest epoch timestamp of each experiment that has one (one small query per experiment: call it
    for the runs without a heartbeat only)."""
    found: dict[Any, dt.datetime] = {}
    for eid in dict.fromkeys(experiment_ids):
        newest = store.find(EPOCHS, {"experiment_id": eid, "timestamp": {"$type": "date"}},
                            projection={"timestamp": 1}, sort=[("timestamp", -1)], limit=1)
        if newest and isinstance(newest[0].get("timestamp"), dt.datetime):
            found[eid] = newest[0]["timestamp"]
    return found


def stale_ids(store: Reader, documents: Iterable[Mapping[str, Any]], now: dt.datetime, stale_after: float) -> set[Any]:
    """The ids of the documents' runs that are stale; the epochs of those without a heartbeat are looked up."""
    documents = list(documents)
    epochs = latest_epoch_times(store, [document["_id"] for document in documents if not beats(document)])
    return {document["_id"] for document in documents
            if is_stale(document, now, stale_after, epochs.get(document["_id"]))}


def stale_filter(store: Reader, cutoff: dt.datetime) -> Document:
    """A filter matching the running runs last seen before `cutoff`. Those with a heartbeat are matched by it;
    those without are judged here first (a second step: their epochs), and matched by id."""
    beating: Document = {"status": "running", "heartbeat": {"$lt": cutoff}}
    silent = store.find(EXPERIMENTS, {"status": "running", "heartbeat": _NOT_A_DATE},
                        projection={"status": 1, "heartbeat": 1, "start_time": 1})
    epochs = latest_epoch_times(store, [document["_id"] for document in silent])
    lost: list[ObjectId] = []
    for document in silent:
        seen = last_seen(document, epochs.get(document["_id"]))
        if seen is None or seen < cutoff:
            lost.append(document["_id"])
    return {"$or": [beating, {"_id": {"$in": lost}}]} if lost else beating


__all__ = ["beats", "is_stale", "last_seen", "latest_epoch_times", "stale_filter", "stale_ids"]
