"""Step-level series: buffered single points, batches, order, replacement of a step logged again."""

from __future__ import annotations

import math

import numpy as np

from epochlog import Tracker


def test_single_points_and_batches_read_back_in_step_order(tracker: Tracker) -> None:
    exp_id = tracker.create_experiment(experiment_name="series", challenge=1)
    for step in range(2500):
        tracker.log_metrics(exp_id, {"loss": 1.0 / (step + 1), "acc": step / 2500}, step=step)
    series = tracker.get_metric_series(exp_id, "loss")
    assert len(series) == 2500
    assert series.steps.tolist() == list(range(2500))
    assert series.values[10] == 1.0 / 11
    assert tracker.get_metric_names(exp_id) == ["acc", "loss"]

    steps = np.arange(100_000, 300_000)
    tracker.log_metric_series(exp_id, "grad_norm", steps[::-1], np.sqrt(steps[::-1]))
    grad = tracker.get_metric_series(exp_id, "grad_norm")
    assert np.array_equal(grad.steps, steps) and np.array_equal(grad.values, np.sqrt(steps))


def test_a_step_logged_again_keeps_the_last_value_and_nan_survives(tracker: Tracker) -> None:
    exp_id = tracker.create_experiment(experiment_name="resume", challenge=1)
    tracker.log_metric_series(exp_id, "loss", [0, 1, 2], [3.0, 2.0, 1.0])
    tracker.log_metric_series(exp_id, "loss", [1, 2, 3], [math.nan, 0.5, math.inf])
    series = tracker.get_metric_series(exp_id, "loss")
    assert series.steps.tolist() == [0, 1, 2, 3]
    assert series.values[0] == 3.0 and math.isnan(series.values[1])
    assert series.values[2] == 0.5 and series.values[3] == math.inf


def test_series_of_unknown_metric_is_empty_and_flushed_on_close(tracker: Tracker) -> None:
    exp_id = tracker.create_experiment(experiment_name="empty", challenge=1)
    assert len(tracker.get_metric_series(exp_id, "nothing")) == 0
    tracker.log_metrics(exp_id, {"lr": 0.1}, step=7)
    tracker.flush()
    assert tracker.store.read_series(tracker.get_experiment(exp_id)["_id"], "lr").steps.tolist() == [7]
