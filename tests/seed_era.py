"""Documents the team's original tracker code could have left behind (plain pymongo writes in the seed's shape,
with values of unexpected types), written straight into a store past every check epochlog makes on its own writes;
and, for the property tests, strategies of arbitrary JSON-like values in the places of an experiment's fields.

Shared by the CLI, dashboard and conformance tests: whatever epochlog shows must show these.
"""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
from collections.abc import Mapping
from contextlib import closing
from typing import Any

from bson import ObjectId
from hypothesis import strategies as st

from epochlog.documents import array_paths
from epochlog.schema import CHECKPOINTS, EPOCHS, EXPERIMENTS, STATUSES
from epochlog import json_codec
from epochlog.store import Store
from epochlog.store.sqlite import SQLiteStore

T0 = dt.datetime(2025, 10, 20, 9, 0, tzinfo=dt.timezone.utc)


def raw_insert(store: Store, collection: str, *documents: Mapping[str, Any]) -> None:
    """Insert documents as another program would, bypassing epochlog (its typed fields, its key checks)."""
    inner = getattr(store, "inner", store)  # the journal writes through to its MongoDB
    if isinstance(inner, SQLiteStore):
        with closing(sqlite3.connect(inner.path)) as db, db:  # the connection's own `with` only commits
            for document in documents:
                body = {key: value for key, value in document.items() if key != "_id"}
                db.execute(f"INSERT INTO {collection}(id, doc) VALUES (?, ?)",
                           (str(document["_id"]), json_codec.dumps(body)))
                db.executemany("INSERT OR IGNORE INTO array_paths VALUES (?, ?)",
                               [(collection, path) for path in array_paths(document)])
        return
    import pymongo

    client: pymongo.MongoClient[Any] = pymongo.MongoClient(inner.uri)
    try:
        database = inner.database_name  # type: ignore[union-attr]
        client[database][collection].insert_many([dict(document) for document in documents])
    finally:
        client.close()


def _experiment(name: Any, **fields: Any) -> dict[str, Any]:
    document: dict[str, Any] = {"_id": ObjectId(), "experiment_name": name, "challenge": 1, "status": "completed",
                                "start_time": T0, "end_time": T0 + dt.timedelta(hours=1), "model": {"name": "EEGNeX"},
                                "config": {"lr": 0.001}, "metrics": {"best_val_loss": 0.5}, "tags": ["seed"],
                                "notes": ""}
    document.update(fields)
    return {key: value for key, value in document.items() if value is not _DROP}


_DROP = object()  # a field the document does not have at all


def seed_era_experiments() -> list[dict[str, Any]]:
    """One experiment per oddity, each named after it (except the one whose name is a number)."""
    return [
        _experiment("tags-with-a-number", tags=["seed", 7, None]),
        _experiment("tags-a-number", tags=7),
        _experiment("tags-one-string", tags="seed,eegnex"),
        _experiment("notes-a-list", notes=["first", "second"]),
        _experiment("model-a-string", model="EEGNeX"),
        _experiment("config-a-list", config=[1, 2]),
        _experiment("config-a-string", config="lr=0.1"),
        _experiment("error-a-string", status="failed", error="CUDA out of memory"),
        _experiment("error-a-document-of-odd-values", status="failed", error={"type": 3, "message": ["a"]}),
        _experiment("metrics-odd-values", metrics={"best_val_loss": "0.5", "best_epoch": None, "extra": {"a": 1},
                                                   "flag": True}),
        _experiment("metrics-a-list", metrics=[0.5, 0.4]),
        _experiment("metrics-a-string", metrics="0.5"),
        _experiment("start-time-a-string", start_time="last tuesday", end_time="2025-10-21"),
        _experiment("start-time-missing", start_time=_DROP, end_time=_DROP),
        _experiment("start-time-epoch-seconds", start_time=1_730_000_000, end_time=1_730_003_600.5),
        _experiment("start-time-null", start_time=None, end_time=None),
        _experiment("no-end-time", status="failed", end_time=_DROP),
        _experiment("status-missing", status=_DROP),
        _experiment("status-unknown", status="crashed"),
        _experiment("status-a-number", status=3),
        _experiment("challenge-a-string", challenge="2"),
        _experiment("running-without-heartbeat", status="running", end_time=None),
        _experiment("heartbeat-a-string", status="running", end_time=None, heartbeat="yesterday"),
        _experiment(42, dataset="HBN", objective="val_loss"),
        _experiment("legacy-odd", legacy={"run_id": 3, "source": "old.db", "repairs": "one string"},
                    subject_metrics=["a"], config_raw=["not", "text"]),
        _experiment("model-a-list", model=["EEGNeX", 2], dataset=[1]),
    ]


def seed_era_epochs(experiment_id: ObjectId, *, duplicates: bool) -> list[dict[str, Any]]:
    """Epochs of unexpected shapes; two with the same number when `duplicates` (a unique index refuses them)."""
    def epoch(number: Any, **fields: Any) -> dict[str, Any]:
        document = {"_id": ObjectId(), "experiment_id": experiment_id, "epoch": number,
                    "metrics": {"train_loss": 1.0, "val_loss": 0.9}, "timestamp": T0 + dt.timedelta(minutes=1)}
        document.update(fields)
        return {key: value for key, value in document.items() if value is not _DROP}

    epochs = [epoch(0), epoch(1, metrics=_DROP), epoch(2, metrics=[0.5]), epoch("3"), epoch(4.5),
              epoch(5, metrics={"val_loss": "0.4", "train_loss": None, "odd": {"x": 1}}),
              epoch(6, timestamp="later", timing="fast"), epoch(None), epoch(7, timing={"duration_seconds": "3"})]
    if duplicates:
        epochs.append(epoch(0, metrics={"val_loss": 0.8}))
    return epochs


def seed_era_checkpoints(experiment_id: ObjectId) -> list[dict[str, Any]]:
    def checkpoint(epoch: Any, **fields: Any) -> dict[str, Any]:
        return {"_id": ObjectId(), "experiment_id": experiment_id, "epoch": epoch, "is_best": False,
                "metrics": {"val_loss": 0.5}, "timestamp": T0, **fields}

    return [checkpoint(0, file=None), checkpoint(1, file="/tmp/seed/epoch1.pt", is_best=True),
            checkpoint(2, file={"path": 5, "size_mb": "big", "checksum": 7}, metrics="good"),
            checkpoint("3", file=["x"], is_best="yes")]


def write_seed_era(store: Store, *, duplicates: bool = False) -> dict[str, ObjectId]:
    """Every odd experiment, and odd epochs and checkpoints under the first; their ids by name."""
    experiments = seed_era_experiments()
    raw_insert(store, EXPERIMENTS, *experiments)
    first = experiments[0]["_id"]
    raw_insert(store, EPOCHS, *seed_era_epochs(first, duplicates=duplicates))
    raw_insert(store, CHECKPOINTS, *seed_era_checkpoints(first))
    return {str(document["experiment_name"]): document["_id"] for document in experiments}


# -- arbitrary documents, for the property tests -----------------------------------------------------------

KEYS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=6)
TEXT = st.one_of(st.text(max_size=10), st.sampled_from(["[/run]", "[bold]x", "", "—", "running", "/tmp/x.pt"]))
DATES = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2090, 1, 1),
                     timezones=st.just(dt.timezone.utc))
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**63, max_value=2**63 - 1), st.floats(),
                    TEXT, DATES)
JSON_LIKE = st.recursive(SCALARS, lambda children: st.one_of(st.lists(children, max_size=3),
                                                               st.dictionaries(KEYS, children, max_size=3)),
                         max_leaves=8)
MISSING = _DROP


#: One value of each type, so that every field meets every type often (JSON_LIKE alone rarely hits a given one).
ODD = st.sampled_from([None, "last tuesday", 7, 2.5, True, ["a", 1], {"a": {"b": 1}}, math.nan])


def _field(*typical: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A field: missing, a value of any type, anything JSON-like, or one of the shapes epochlog itself writes."""
    return st.one_of(*typical, ODD, JSON_LIKE, st.just(MISSING))  # Hypothesis favours the first: most telling first


def _without_missing(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if value is not MISSING}


EXPERIMENT_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "experiment_name": _field(TEXT),
    "challenge": _field(st.sampled_from([1, 2])),
    "status": _field(st.sampled_from([*STATUSES, "crashed"])),
    "start_time": _field(DATES, st.just("last tuesday")),
    "end_time": _field(DATES, st.none()),
    "heartbeat": _field(DATES),
    "model": _field(st.fixed_dictionaries({"name": TEXT}), TEXT),
    "config": _field(st.dictionaries(KEYS, JSON_LIKE, max_size=4)),
    "dataset": _field(),
    "metrics": _field(st.dictionaries(st.sampled_from(["best_val_loss", "best_epoch", "val_loss", "acc"]),
                                      st.one_of(st.floats(), TEXT, st.none(), JSON_LIKE), max_size=4)),
    "tags": _field(st.lists(TEXT, max_size=3), st.integers(), TEXT),
    "notes": _field(TEXT, st.lists(TEXT, max_size=2)),
    "error": _field(TEXT, st.fixed_dictionaries({"type": JSON_LIKE, "message": JSON_LIKE})),
    "legacy": _field(st.fixed_dictionaries({"run_id": JSON_LIKE, "source": JSON_LIKE, "repairs": JSON_LIKE})),
    "subject_metrics": _field(),
    "config_raw": _field(TEXT),
}
EXPERIMENTS_ANY = st.fixed_dictionaries({name: strategy for name, strategy in EXPERIMENT_FIELDS.items()}) \
    .map(_without_missing).map(lambda document: {"_id": ObjectId(), **document})
EPOCHS_ANY = st.lists(st.fixed_dictionaries({
    "epoch": _field(st.integers(min_value=0, max_value=5), st.sampled_from([1.5, "3"])),
    "metrics": _field(st.dictionaries(st.sampled_from(["train_loss", "val_loss", "acc"]), JSON_LIKE, max_size=3)),
    "timestamp": _field(DATES), "timing": _field()}).map(_without_missing), min_size=1, max_size=4)
CHECKPOINTS_ANY = st.lists(st.fixed_dictionaries({
    "epoch": _field(st.integers(min_value=0, max_value=5)), "is_best": _field(st.booleans()),
    "file": _field(st.none(), TEXT, st.fixed_dictionaries({"path": JSON_LIKE, "size_mb": JSON_LIKE,
                                                            "checksum": JSON_LIKE})),
    "metrics": _field()}).map(_without_missing), min_size=1, max_size=3)


def shape(value: Any) -> str:
    """What kind of value a field holds, for `hypothesis.event`."""
    if value is MISSING:
        return "missing"
    if value is None:
        return "null"
    if isinstance(value, float):
        return "nan" if value != value else "inf" if value in (float("inf"), float("-inf")) else "float"
    if isinstance(value, dt.datetime):
        return "date"
    return {bool: "bool", int: "int", str: "str", list: "list", dict: "dict"}.get(type(value), type(value).__name__)


def shapes(document: Mapping[str, Any], epochs: list[dict[str, Any]],
           checkpoints: list[dict[str, Any]]) -> set[str]:
    """Every `field=shape` a generated experiment exercises (statuses by name, `unknown` for others)."""
    found = {f"{name}={shape(document.get(name, MISSING))}" for name in EXPERIMENT_FIELDS}
    status = document.get("status", MISSING)
    if isinstance(status, str):
        found.add(f"status={status if status in STATUSES else 'unknown'}")
    for name in ("metrics", "config"):
        if isinstance(document.get(name), dict):
            found |= {f"{name} value={shape(value)}" for value in document[name].values()}
    for epoch in epochs:
        found |= {f"epoch {name}={shape(epoch.get(name, MISSING))}" for name in ("epoch", "metrics", "timestamp")}
    numbers = [repr(epoch["epoch"]) for epoch in epochs if "epoch" in epoch]
    if len(numbers) != len(set(numbers)):
        found.add("epochs with the same number")
    found |= {f"checkpoint file={shape(checkpoint.get('file', MISSING))}" for checkpoint in checkpoints}
    return found
