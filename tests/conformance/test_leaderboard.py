"""get_best_models: completed runs by a metric; NaN, inf and missing never rank; ties are deterministic."""

from __future__ import annotations

import math

from epochlog import Tracker


def _finished(tracker: Tracker, name: str, loss: float | None, *, challenge: int = 2, status: str = "completed",
              **metrics: float) -> str:
    exp_id = tracker.create_experiment(experiment_name=name, challenge=challenge)
    values = dict(metrics)
    if loss is not None:
        values["best_val_loss"] = loss
    tracker.update_experiment_status(exp_id, status, metrics=values)
    return exp_id


def test_ranks_completed_runs_of_the_challenge_by_lowest_loss(tracker: Tracker) -> None:
    _finished(tracker, "b", 0.30)
    _finished(tracker, "a", 0.10)
    _finished(tracker, "c", 0.20)
    _finished(tracker, "other-challenge", 0.01, challenge=1)
    _finished(tracker, "failed", 0.001, status="failed")
    _finished(tracker, "nan", math.nan)
    _finished(tracker, "inf", math.inf)
    _finished(tracker, "minus-inf", -math.inf)
    _finished(tracker, "missing", None)
    best = tracker.get_best_models(challenge=2, n=5)
    assert [doc["experiment_name"] for doc in best] == ["a", "c", "b"]
    assert [doc["experiment_name"] for doc in tracker.get_best_models(challenge=2, n=2)] == ["a", "c"]


def test_other_metric_max_mode_and_extra_filter(tracker: Tracker) -> None:
    _finished(tracker, "x", 0.3, accuracy=0.7)
    _finished(tracker, "y", 0.2, accuracy=0.9)
    _finished(tracker, "z", 0.1, accuracy=math.nan)
    best = tracker.get_best_models(challenge=2, n=5, metric="metrics.accuracy", mode="max")
    assert [doc["experiment_name"] for doc in best] == ["y", "x"]
    only_x = tracker.get_best_models(challenge=2, filter={"experiment_name": {"$in": ["x", "z"]}})
    assert [doc["experiment_name"] for doc in only_x] == ["z", "x"]


def test_ties_are_broken_by_start_order(tracker: Tracker) -> None:
    names = [f"tie{i}" for i in range(6)]
    for name in names:
        _finished(tracker, name, 0.5)
    assert [doc["experiment_name"] for doc in tracker.get_best_models(challenge=2, n=6)] == names
