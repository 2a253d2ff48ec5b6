"""Filling a store as training does, and reading back everything a push must copy."""

from __future__ import annotations

from typing import Any

import numpy as np
from bson import ObjectId

from epochlog import Tracker
from epochlog.documents import utcnow
from epochlog.object_ids import new_object_id
from epochlog.schema import ALERTS, COLLECTIONS, CONSOLE, SERIES, TRANSFERS
from epochlog.store import Put, Store
from epochlog.json_codec import dumps



def fill(tracker: Tracker, runs: int = 3, epochs: int = 4, *, prefix: str = "run") -> list[str]:
    """`runs` completed runs with epochs, a step series, two checkpoints and a console line each, plus subjects."""
    ids = []
    for number in range(runs):
        # the first run records its package set (a blob); the others nothing, which is quicker
        run = tracker.create_experiment(f"{prefix}-{number}", 1, config={"lr": 0.1 * (number + 1)},
                                        capture=["packages"] if number == 0 else False)
        for epoch in range(epochs):
            tracker.log_epoch(run, epoch, {"val_loss": 1.0 / (epoch + 1), "train_loss": float("nan")})
        tracker.log_metric_series(run, "loss", np.arange(50), np.linspace(1, 0, 50))
        tracker.save_checkpoint_info(run, 0, {"val_loss": 1.0}, is_best=True)
        tracker.save_checkpoint_info(run, epochs - 1, {"val_loss": 0.5}, is_best=True)
        tracker.store.write([Put(CONSOLE, {"_id": new_object_id(), "experiment_id": ObjectId(run), "seq": 0,
                                           "stream": "stdout", "text": f"epoch {epochs - 1} done\n"})])
        tracker.update_experiment_status(run, "completed")
        ids.append(run)
    tracker.upsert_subjects([{"subject_id": f"{prefix}-s{number}", "age": number} for number in range(2)])
    tracker.store.write([Put(ALERTS, {"_id": new_object_id(), "key": f"failed:{ids[0]}", "sent_at": utcnow()})])
    tracker.flush()
    return ids


def content(store: Store) -> dict[str, Any]:
    """Every document but the push's own bookkeeping, and every bucket, as comparable text (key order ignored)."""
    found: dict[str, Any] = {}
    for collection in COLLECTIONS:
        if collection not in (SERIES, TRANSFERS):
            found[collection] = sorted(canonical(document) for document in store.find(collection))
    buckets = store.read_buckets([bucket for bucket, _ in store.series_bucket_ids()])
    found[SERIES] = sorted((str(b.bucket_id), str(b.experiment_id), b.name, b.steps.tolist(), dumps(b.values.tolist()))
                           for b in buckets)
    return found


def canonical(value: Any) -> str:
    def ordered(item: Any) -> Any:
        if isinstance(item, dict):
            return {key: ordered(item[key]) for key in sorted(item)}
        if isinstance(item, list):
            return [ordered(element) for element in item]
        return item

    return dumps(ordered(value))


def new_counts(summary: Any) -> dict[str, int]:
    """Per collection, documents written new or updated (only the non-zero ones)."""
    return {name: counts.new + counts.updated for name, counts in summary.counts.items() if counts.new + counts.updated}
