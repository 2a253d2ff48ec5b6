"""What only the MongoDB backend has: the seed's indexes on the server, round trips, the value fallback."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Iterator

import mongomock
import numpy as np
import pytest
from bson import ObjectId
from pymongo import monitoring

from epochlog import Tracker
from epochlog.schema import INDEXES
from epochlog.documents import normalize_document
from epochlog.errors import QueryError
from epochlog.store.base import Put
from epochlog.store.mongo import MongoStore


class CommandCounter(monitoring.CommandListener):
    """Counts the commands pymongo sends, by name."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.names.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest.fixture
def counted(mongo_uri: str) -> Iterator[tuple[MongoStore, CommandCounter]]:
    counter = CommandCounter()
    store = MongoStore(mongo_uri, database=f"test_{uuid.uuid4().hex[:12]}", event_listeners=[counter])
    yield store, counter
    store.drop_database()
    store.close()


def test_the_seed_indexes_are_on_the_server_exactly(counted) -> None:
    store, _ = counted
    store.ensure_indexes()
    store.ensure_indexes()  # idempotent
    database = store._client[store.database_name]
    for collection, specs in INDEXES.items():
        found = {(tuple(index["key"].items()), bool(index.get("unique"))) for index in
                 database[collection].list_indexes() if index["name"] != "_id_"}
        expected = {(tuple((field, direction) for field, direction in spec.keys), spec.unique) for spec in specs}
        assert found == expected, collection


def test_log_epoch_is_one_round_trip_and_a_batch_of_points_one_bulk_write(counted) -> None:
    store, counter = counted
    tracker = Tracker(store=store)
    exp_id = tracker.create_experiment(experiment_name="round-trips", challenge=1)
    counter.names.clear()
    for epoch in range(20):
        tracker.log_epoch(exp_id, epoch, metrics={"train_loss": 0.1, "val_loss": 0.2})
    # FerretDB: an insert first, served from the unique index
    upsert = "insert" if store.uses_fallback_form else "update"
    assert counter.names == [upsert] * 20
    tracker.flush()  # the experiment's best and last epoch, held back within the second (see objective.py)
    assert counter.names == [upsert] * 20 + ["update"]
    counter.names.clear()
    tracker.log_metric_series(exp_id, "batch_loss", np.arange(1000), np.linspace(1, 0, 1000))
    assert counter.names == ["insert"]  # a bucket is inserted once; a replayed one is already there
    counter.names.clear()
    for step in range(999):
        tracker.log_metrics(exp_id, {"lr": 0.1}, step=step)
    tracker.flush()
    assert counter.names == ["insert"]


def test_non_finite_values_use_the_documented_fallback_on_ferretdb(counted) -> None:
    store, _ = counted
    tracker = Tracker(store=store)
    exp_id = tracker.create_experiment(experiment_name="nan", challenge=1, config={"grid": [[1, 2], [3]]})
    tracker.log_epoch(exp_id, 0, metrics={"val_loss": math.nan, "grad": math.inf})
    raw = store._client[store.database_name]["epochs"].find_one({})
    if store.uses_fallback_form:  # FerretDB refuses NaN and ±Infinity: stored in the queryable fallback form
        assert raw["metrics"] == {"val_loss": {"__epochlog_float__": "NaN"}, "grad": {"__epochlog_float__": "Infinity"}}
        assert store.count("epochs", {"metrics.val_loss.__epochlog_float__": "NaN"}) == 1
    metrics = tracker.get_experiment_history(exp_id)["epochs"][0]["metrics"]
    assert math.isnan(metrics["val_loss"]) and metrics["grad"] == math.inf
    assert tracker.get_experiment(exp_id)["config"]["grid"] == [[1, 2], [3]]


def test_on_a_server_that_takes_them_nan_and_nested_arrays_are_sent_natively() -> None:
    # FerretDB refuses these values, so mongomock stands in for MongoDB: what MongoStore sends to a server
    # that is not FerretDB (uses_fallback_form=False) is applied there and read back with its meaning.
    store = MongoStore("mongodb://localhost:27017/eeg2025")
    assert store.uses_fallback_form is False
    document = normalize_document({"_id": ObjectId(), "val_loss": math.nan, "grad": -math.inf, "grid": [[1, 2]]})
    collection, operation = store._operation(Put("epochs", document))
    oracle = mongomock.MongoClient()["eeg2025"][collection]
    oracle.replace_one(operation._filter, operation._doc, upsert=True)
    stored = oracle.find_one({})
    assert math.isnan(stored["val_loss"]) and stored["grad"] == -math.inf and stored["grid"] == [[1, 2]]
    store.close()


def test_on_mongodb_expr_goes_to_the_server_as_it_is() -> None:
    # mongomock stands in for MongoDB (FerretDB 1.x lacks $expr, so there it runs in Python): the filter is
    # the server's to evaluate, operators outside the embedded engine's subset included; code is refused here.
    store = MongoStore("mongodb://localhost:27017/eeg2025")
    store._db = mongomock.MongoClient()["eeg2025"]  # type: ignore[assignment]
    store._ready = True
    day = dt.datetime(2025, 3, 1, tzinfo=dt.timezone.utc)
    store._db["experiments"].insert_many([{"k": "a", "start_time": day, "m": {"v": 1, "t": 2}},
                                          {"k": "b", "start_time": day + dt.timedelta(days=1), "m": {"v": 3, "t": 2}}])
    same_day = {"$expr": {"$eq": [{"$dateToString": {"date": "$start_time", "format": "%Y-%m-%d"}}, "2025-03-01"]}}
    assert [d["k"] for d in store.find("experiments", same_day)] == ["a"]
    assert [d["k"] for d in store.find("experiments", {"$or": [{"k": "a"}, {"$expr": {"$gt": ["$m.v", "$m.t"]}}]},
                                       sort=[("k", -1)], projection={"k": 1})] == ["b", "a"]
    assert store.count("experiments", {"$expr": {"$gt": ["$m.v", "$m.t"]}}) == 1
    with pytest.raises(QueryError, match=r"\$function is refused"):
        store.find("experiments", {"$expr": {"$function": {"body": "return true", "args": [], "lang": "js"}}})
    with pytest.raises(QueryError, match=r"unknown operator \$expr"):
        store.count("experiments", {"k": {"$expr": True}})
