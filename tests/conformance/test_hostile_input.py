"""The hostile-input table of docs/RELIABILITY.md, one test per row, on every backend.

Each case either gets a clear error of epochlog's hierarchy naming the culprit and leaves the store
unchanged, or is stored faithfully.
"""

from __future__ import annotations

import math
import sys
import types

import numpy as np
import pytest

from epochlog import InvalidArgument, InvalidDocument, NotFound, QueryError, Tracker
from epochlog.schema import CHECKPOINTS, EPOCHS, EXPERIMENTS

SQL_PATH = "a'); DROP TABLE experiments;--"


def _snapshot(tracker: Tracker) -> tuple[int, int, int]:
    store = tracker.store
    return store.count(EXPERIMENTS), store.count(EPOCHS), store.count(CHECKPOINTS)


@pytest.fixture
def seeded(tracker: Tracker) -> tuple[Tracker, str]:
    exp_id = tracker.create_experiment(experiment_name="seeded", challenge=1, config={"lr": 0.1})
    tracker.log_epoch(exp_id, 0, metrics={"val_loss": 0.5})
    tracker.update_experiment_status(exp_id, "completed", metrics={"best_val_loss": 0.5})
    return tracker, exp_id


def test_non_finite_metrics_are_stored_and_never_ranked(seeded) -> None:
    tracker, exp_id = seeded
    for value in (math.nan, math.inf, -math.inf):
        other = tracker.create_experiment(experiment_name=f"bad-{value}", challenge=1)
        tracker.update_experiment_status(other, "completed", metrics={"best_val_loss": value})
        stored = tracker.get_experiment(other)["metrics"]["best_val_loss"]
        assert stored == value or math.isnan(value) and math.isnan(stored)
    assert [str(doc["_id"]) for doc in tracker.get_best_models(challenge=1)] == [exp_id]


def test_numpy_and_torch_values_are_plain_numbers(seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    tracker, exp_id = seeded

    class Tensor:  # the part of torch.Tensor epochlog relies on (torch is not a dependency)
        def __init__(self, values: list[float]) -> None:
            self.values = values

        def detach(self) -> Tensor:
            return self

        def cpu(self) -> Tensor:
            return self

        def tolist(self) -> list[float]:
            return self.values

    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(Tensor=Tensor))
    tracker.log_epoch(exp_id, 1, metrics={"loss": np.float64(0.25), "acc": np.float16(0.5), "n": np.uint8(7),
                                          "grad": Tensor([1.0, 2.0]), "w": np.eye(2)})
    metrics = tracker.get_experiment_history(exp_id)["epochs"][1]["metrics"]
    assert metrics == {"loss": 0.25, "acc": 0.5, "n": 7, "grad": [1.0, 2.0], "w": [[1.0, 0.0], [0.0, 1.0]]}


@pytest.mark.parametrize("config, culprit", [
    ({"a.b": 1}, "a.b"), ({"$set": 1}, "$set"), ({3: 1}, "3"), ({"x": {"y": {"$gt": 1}}}, "x.y.$gt"),
])
def test_bad_keys_are_refused(seeded, config: dict, culprit: str) -> None:
    tracker, _ = seeded
    before = _snapshot(tracker)
    with pytest.raises(InvalidDocument, match=culprit.replace("$", r"\$")):
        tracker.create_experiment(experiment_name="bad", challenge=1, config=config)
    assert _snapshot(tracker) == before


def test_circular_oversized_and_deep_documents_are_refused(seeded) -> None:
    tracker, exp_id = seeded
    circular: list = []
    circular.append(circular)
    deep: list = []
    node = deep
    for _ in range(10_000):
        node.append([])
        node = node[0]
    before = _snapshot(tracker)
    for metrics, message in [({"c": circular}, "circular"), ({"d": deep}, "nesting"),
                             ({"big": "x" * (17 * 1024 * 1024)}, "limit")]:
        with pytest.raises(InvalidDocument, match=message):
            tracker.log_epoch(exp_id, 5, metrics=metrics)
    assert _snapshot(tracker) == before


def test_one_megabyte_strings_and_emoji_are_stored_faithfully(seeded) -> None:
    tracker, _ = seeded
    name = "训练 🚀 naïve — ünïcödé"
    exp_id = tracker.create_experiment(experiment_name=name, challenge=1, notes="n" * 1_048_576)
    stored = tracker.get_experiment(exp_id)
    assert stored["experiment_name"] == name and stored["notes"] == "n" * 1_048_576
    assert [str(doc["_id"]) for doc in tracker.search_experiments({"experiment_name": name})] == [exp_id]


@pytest.mark.parametrize("bad_id", ["", "123", "zzzzzzzzzzzzzzzzzzzzzzzz", 12, None, {"$ne": None}])
def test_malformed_ids_are_refused(seeded, bad_id) -> None:
    tracker, _ = seeded
    before = _snapshot(tracker)
    with pytest.raises(InvalidArgument, match="ObjectId"):
        tracker.log_epoch(bad_id, 0, metrics={})
    with pytest.raises(InvalidArgument):
        tracker.compare_experiments([bad_id])
    assert _snapshot(tracker) == before


def test_unknown_ids_are_not_found(seeded) -> None:
    tracker, _ = seeded
    before = _snapshot(tracker)
    for call in (lambda: tracker.log_epoch("65f000000000000000000000", 0, {}),
                 lambda: tracker.update_experiment_status("65f000000000000000000000", "completed"),
                 lambda: tracker.save_checkpoint_info("65f000000000000000000000", 0, {}, {"path": "x"})):
        with pytest.raises(NotFound, match="65f000000000000000000000"):
            call()
    assert _snapshot(tracker) == before


@pytest.mark.parametrize("status", ["done", "", None, "RUNNING", {"$ne": "x"}])
def test_invalid_status_values(seeded, status) -> None:
    tracker, exp_id = seeded
    with pytest.raises(InvalidArgument, match="status"):
        tracker.update_experiment_status(exp_id, status)
    assert tracker.get_experiment(exp_id)["status"] == "completed"


@pytest.mark.parametrize("query, operator", [
    ({"$where": "sleep(1000)"}, "$where"),
    ({"config": {"$function": {"body": "function() {}", "args": [], "lang": "js"}}}, "$function"),
    ({"$expr": {"$gt": [{"$function": {"body": "function() {}", "args": [], "lang": "js"}}, 1]}}, "$function"),
    ({"metrics.best_val_loss": {"$bogus": 1}}, "$bogus"),
    ({"$text": {"$search": "x"}}, "$text"),
])
def test_code_executing_and_unknown_operators_are_refused(seeded, query: dict, operator: str) -> None:
    tracker, _ = seeded
    with pytest.raises(QueryError, match=operator.replace("$", r"\$")):
        tracker.search_experiments(query)


def test_operator_injection_through_scalar_arguments(seeded) -> None:
    tracker, _ = seeded
    before = _snapshot(tracker)
    with pytest.raises(InvalidArgument, match="challenge"):
        tracker.get_best_models(challenge={"$ne": None})
    with pytest.raises(InvalidArgument, match="experiment_name"):
        tracker.create_experiment(experiment_name={"$gt": ""}, challenge=1)
    with pytest.raises(InvalidDocument, match=r"\$ne"):
        tracker.create_experiment("x", 1, config={"k": {"$ne": 1}})
    assert _snapshot(tracker) == before


def test_sql_looking_field_paths_are_just_fields(seeded) -> None:
    tracker, exp_id = seeded
    assert tracker.search_experiments({SQL_PATH: 1}) == []
    assert tracker.search_experiments({f"config.{SQL_PATH}": {"$exists": True}}) == []
    assert len(tracker.search_experiments({}, sort=[(SQL_PATH, 1)], projection={SQL_PATH: 0})) == 1
    other = tracker.create_experiment(experiment_name="sql", challenge=1, config={SQL_PATH: "value"})
    found = tracker.search_experiments({f"config.{SQL_PATH}": "value"})
    assert [str(doc["_id"]) for doc in found] == [other]
    assert tracker.store.count(EXPERIMENTS) == 2 and tracker.get_experiment(exp_id)["status"] == "completed"
