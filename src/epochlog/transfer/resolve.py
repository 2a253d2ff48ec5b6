"""How a push decides between two versions of one document (the rules of docs/MANY_MACHINES.md).

An experiment changed on both sides is merged field by field: a field on one side only is kept; of two different
values, the one of the run that is further along wins (`progress_rank`), the destination's on a tie, and the
losing value is kept in the experiment's `conflicts` list, so nothing is lost silently. `heartbeat` is not a
conflict: the later one is the run's latest sign of life. An epoch or checkpoint changed on both sides is taken
whole from the side that wrote it later (its `timestamp`); the losing version goes to `conflicts` as well.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from typing import Any

import bson

from ..documents import EPOCH
from ..stored_equality import same
from ..types import Document

CONFLICTS = "conflicts"
#: Fields no conflict is recorded for: the later heartbeat is simply the later sign of life.
_LATEST_WINS = ("heartbeat",)


def digest(document: Mapping[str, Any]) -> str:
    """A short fingerprint of a document as a store returns it (BSON, so key order counts: every backend keeps
    the order a document was written in, so a copy's fingerprint is the original's; a reordered document only
    costs a comparison with `same`)."""
    return hashlib.sha256(bson.encode(document)).hexdigest()[:20]


def progress_rank(experiment: Mapping[str, Any]) -> tuple[Any, ...]:
    """How far along a run is: ended beats running, then the later end, heartbeat and last epoch."""
    metrics = experiment.get("metrics")
    last_epoch = metrics.get("last_epoch") if isinstance(metrics, Mapping) else None
    return (experiment.get("status") not in (None, "running"), _date(experiment.get("end_time")),
            _date(experiment.get("heartbeat")),
            last_epoch if isinstance(last_epoch, int) and not isinstance(last_epoch, bool) else -1)


def merge_experiment(source: Document, dest: Document, source_name: str, dest_name: str,
                     at: dt.datetime) -> tuple[Document, int]:
    """The merged experiment and how many new conflicts it records (see the module doc)."""
    if progress_rank(source) > progress_rank(dest):
        return merge_documents(source, dest, dest_name, at)
    return merge_documents(dest, source, source_name, at)


def merge_documents(winner: Document, loser: Document, loser_name: str, at: dt.datetime) -> tuple[Document, int]:
    """`winner` with the fields only `loser` has, and `loser`'s differing values in `conflicts`; returns it and
    how many conflicts are new."""
    found: list[Document] = []
    merged = _merge(winner, loser, "", found, loser_name, at)
    merged[CONFLICTS] = union_conflicts(winner.get(CONFLICTS), loser.get(CONFLICTS))
    added = add_conflicts(merged, found)
    if not merged[CONFLICTS]:
        del merged[CONFLICTS]
    return merged, added


def later(source: Document, dest: Document) -> bool:
    """Whether the source's version of an epoch or checkpoint wins: written later (the destination's on a tie)."""
    return _date(source.get("timestamp")) > _date(dest.get("timestamp"))


def conflict(field: str, value: Any, store: str, at: dt.datetime) -> Document:
    """One entry of `conflicts`: the value that lost, where it came from and when the push met it."""
    return {"field": field, "value": value, "store": store, "at": at}


def add_conflicts(experiment: Document, conflicts: list[Document]) -> int:
    """Append `conflicts` to the experiment's list, leaving out any it already records; returns how many were new."""
    kept = union_conflicts(experiment.get(CONFLICTS))
    added = 0
    for entry in conflicts:
        if not any(isinstance(old, Mapping) and same((old.get("field"), old.get("value")), (entry["field"], entry["value"]))
                   for old in kept):
            kept.append(entry)
            added += 1
    if kept:
        experiment[CONFLICTS] = kept
    return added


def union_conflicts(*lists: Any) -> list[Any]:
    """The conflicts recorded on either side, each once, in order."""
    result: list[Any] = []
    for items in lists:
        for item in items if isinstance(items, list) else ([] if items is None else [items]):
            if not any(same(item, kept) for kept in result):
                result.append(item)
    return result


def _merge(winner: Mapping[str, Any], loser: Mapping[str, Any], prefix: str, conflicts: list[Document],
           loser_name: str, at: dt.datetime) -> Document:
    merged: Document = {}
    for key in [*winner, *(key for key in loser if key not in winner)]:
        if key == CONFLICTS and not prefix:
            continue
        path = f"{prefix}{key}"
        if key not in loser:
            merged[key] = winner[key]
        elif key not in winner:
            merged[key] = loser[key]
        elif isinstance(winner[key], Mapping) and isinstance(loser[key], Mapping):
            merged[key] = _merge(winner[key], loser[key], f"{path}.", conflicts, loser_name, at)
        elif same(winner[key], loser[key]):
            merged[key] = winner[key]
        elif path in _LATEST_WINS:
            merged[key] = max(winner[key], loser[key], key=_date)
        else:
            merged[key] = winner[key]
            conflicts.append(conflict(path, loser[key], loser_name, at))
    return merged


def _date(value: Any) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else EPOCH

