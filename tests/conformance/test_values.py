"""Values users actually pass are stored faithfully; values that cannot be stored are refused whole."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest
from bson import ObjectId

from epochlog import InvalidDocument, Tracker
from epochlog.schema import EXPERIMENTS


def _config_roundtrip(tracker: Tracker, config: dict) -> dict:
    exp_id = tracker.create_experiment(experiment_name="values", challenge=1, config=config)
    return tracker.get_experiment(exp_id)["config"]


def test_numpy_path_datetime_tuple_set_values(tracker: Tracker) -> None:
    stored = _config_roundtrip(tracker, {
        "lr": np.float32(0.5), "batch": np.int64(16), "flag": np.bool_(True), "shape": np.array([64, 200]),
        "path": Path("/data/R1"), "when": dt.datetime(2025, 10, 20, 12, 30, 15, 123456),
        "day": dt.date(2025, 10, 20), "pair": (1, "a"), "bands": {4, 1, 8},
        "aware": dt.datetime(2025, 10, 20, 14, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    })
    utc = dt.timezone.utc
    assert stored == {
        "lr": 0.5, "batch": 16, "flag": True, "shape": [64, 200], "path": "/data/R1",
        "when": dt.datetime(2025, 10, 20, 12, 30, 15, 123000, tzinfo=utc),
        "day": dt.datetime(2025, 10, 20, tzinfo=utc), "pair": [1, "a"], "bands": [1, 4, 8],
        "aware": dt.datetime(2025, 10, 20, 12, 0, tzinfo=utc),
    }
    assert type(stored["batch"]) is int and type(stored["flag"]) is bool


def test_unicode_and_long_strings(tracker: Tracker) -> None:
    name = "эксперимент 🧠 <b>&amp;</b> \"quoted\" 'single' \\ back"
    stored = _config_roundtrip(tracker, {"name": name, "long": "x" * 1_000_000})
    assert stored == {"name": name, "long": "x" * 1_000_000}


def test_nan_and_infinity_keep_their_meaning(tracker: Tracker) -> None:
    exp_id = tracker.create_experiment(experiment_name="nan", challenge=1)
    tracker.log_epoch(exp_id, 0, metrics={"val_loss": math.nan, "grad": math.inf, "low": -math.inf, "ok": 1.5})
    metrics = tracker.get_experiment_history(exp_id)["epochs"][0]["metrics"]
    assert math.isnan(metrics["val_loss"])
    assert metrics["grad"] == math.inf and metrics["low"] == -math.inf and metrics["ok"] == 1.5


@pytest.mark.parametrize("config, culprit", [
    ({"a.b": 1}, "a.b"),
    ({"$where": 1}, "$where"),
    ({"outer": {"in.ner": 1}}, "outer.in.ner"),
    ({1: "x"}, "1"),
    ({"nested": {("t",): 1}}, "nested"),
    ({"bad": object()}, "bad"),
    ({"big": 2**70}, "big"),
    ({"list": [1, {"$x": 2}]}, "list.1.$x"),
])
def test_bad_keys_and_values_name_the_culprit_and_write_nothing(tracker: Tracker, config: dict,
                                                                culprit: str) -> None:
    with pytest.raises(InvalidDocument) as raised:
        tracker.create_experiment(experiment_name="bad", challenge=1, config=config)
    assert culprit in str(raised.value)
    assert tracker.store.count(EXPERIMENTS) == 0


def test_circular_deep_and_oversized_documents_are_refused(tracker: Tracker) -> None:
    circular: dict = {"a": 1}
    circular["self"] = circular
    deep: dict = {}
    node = deep
    for _ in range(10_000):
        node["n"] = {}
        node = node["n"]
    for config, message in [(circular, "circular"), (deep, "nesting"), ({"blob": ["x" * 1000] * 17_000}, "16")]:
        with pytest.raises(InvalidDocument, match=message):
            tracker.create_experiment(experiment_name="bad", challenge=1, config=config)
    assert tracker.store.count(EXPERIMENTS) == 0


def test_bad_epoch_metrics_leave_the_epochs_unchanged(tracker: Tracker) -> None:
    exp_id = tracker.create_experiment(experiment_name="e", challenge=1)
    tracker.log_epoch(exp_id, 0, metrics={"val_loss": 0.5})
    with pytest.raises(InvalidDocument, match="metrics.bad.key"):
        tracker.log_epoch(exp_id, 0, metrics={"bad.key": 1})
    with pytest.raises(ValueError, match="epoch"):
        tracker.log_epoch(exp_id, -1, metrics={})
    epochs = tracker.get_experiment_history(exp_id)["epochs"]
    assert [(e["epoch"], e["metrics"]) for e in epochs] == [(0, {"val_loss": 0.5})]


def test_ids_are_objectids_and_datetimes_are_utc(tracker: Tracker) -> None:
    exp_id = tracker.create_experiment(experiment_name="ids", challenge=1)
    document = tracker.get_experiment(exp_id)
    assert document["_id"] == ObjectId(exp_id)
    assert document["start_time"].utcoffset() == dt.timedelta(0)
