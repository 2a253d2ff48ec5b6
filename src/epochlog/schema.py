"""The collections epochlog keeps, their natural keys and indexes: one description every backend follows."""

from __future__ import annotations

from typing import Literal

from .types import IndexSpec

EXPERIMENTS, EPOCHS, CHECKPOINTS, SUBJECTS, SERIES = "experiments", "epochs", "checkpoints", "subjects", "series"
BLOBS = "blobs"  # content-addressed documents (git diffs, package sets) experiments refer to by sha256
CONSOLE = "console"  # chunks of a run's captured stdout/stderr, in order
ALERTS = "alerts"  # what `epochlog watch` has already sent, so a restarted watcher sends nothing twice
TRANSFERS = "transfers"  # per source store, what `epochlog push` already copied here (the watermark); never pushed
COLLECTIONS = (EXPERIMENTS, EPOCHS, CHECKPOINTS, SUBJECTS, SERIES, BLOBS, CONSOLE, ALERTS, TRANSFERS)

STATUSES = ("running", "completed", "failed", "stopped")

#: Fields whose natural key a replacement (`Upsert`) matches on; unique in every backend.
NATURAL_KEYS: dict[str, tuple[str, ...]] = {
    EPOCHS: ("experiment_id", "epoch"),
    SUBJECTS: ("subject_id",),
}

#: The seed's indexes, exactly, plus those the step series and leaderboards need.
INDEXES: dict[str, list[IndexSpec]] = {
    EXPERIMENTS: [
        IndexSpec((("status", 1), ("metrics.best_val_loss", 1))),  # get_best_models' default metric
        IndexSpec((("challenge", 1),)),
        IndexSpec((("status", 1),)),
        IndexSpec((("start_time", -1),)),
        IndexSpec((("tags", 1),)),
        IndexSpec((("experiment_name", 1), ("start_time", -1))),
    ],
    EPOCHS: [
        IndexSpec((("experiment_id", 1), ("epoch", 1)), unique=True),
        IndexSpec((("timestamp", -1),)),
    ],
    CHECKPOINTS: [
        IndexSpec((("experiment_id", 1),)),
        IndexSpec((("is_best", 1),)),
        IndexSpec((("experiment_id", 1), ("epoch", -1))),
    ],
    SUBJECTS: [
        IndexSpec((("subject_id", 1),), unique=True),
        IndexSpec((("releases", 1),)),
        IndexSpec((("age", 1),)),
    ],
    SERIES: [
        IndexSpec((("experiment_id", 1), ("name", 1), ("first_step", 1))),
    ],
    CONSOLE: [
        IndexSpec((("experiment_id", 1), ("seq", 1))),
    ],
}

FieldType = Literal["oid", "int", "str", "date", "bool"]

#: Fields the tracker always writes with one scalar type (never an array, never another type), so the
#: embedded store may compare them directly and use its expression indexes. Missing is allowed.
TYPED_FIELDS: dict[str, dict[str, FieldType]] = {
    EXPERIMENTS: {"_id": "oid", "challenge": "int", "status": "str", "start_time": "date",
                  "experiment_name": "str"},
    EPOCHS: {"_id": "oid", "experiment_id": "oid", "epoch": "int", "timestamp": "date"},
    CHECKPOINTS: {"_id": "oid", "experiment_id": "oid", "epoch": "int", "is_best": "bool"},
    SUBJECTS: {"_id": "oid", "subject_id": "str"},
    SERIES: {"_id": "oid", "experiment_id": "oid", "name": "str", "first_step": "int"},
    BLOBS: {"_id": "oid", "sha256": "str", "kind": "str"},
    CONSOLE: {"_id": "oid", "experiment_id": "oid", "seq": "int"},
}
