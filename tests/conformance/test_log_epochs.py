"""`log_epochs` on every backend: many epochs in one write, backdated, with the experiment's best and last epoch
kept as `log_epoch` keeps them; a bad row refused by position before anything is written."""

from __future__ import annotations

import datetime as dt

import pytest

from epochlog import InvalidArgument, InvalidDocument, Tracker

DAY = dt.datetime(2025, 6, 1, tzinfo=dt.timezone.utc)


def test_epochs_written_at_once_keep_their_times_and_set_the_best(tracker: Tracker) -> None:
    eid = tracker.create_experiment("imported", 1, objective={"metric": "val_loss", "mode": "min"})
    rows = [{"epoch": epoch, "metrics": {"val_loss": loss}, "timing": {"duration_seconds": 60.0},
             "timestamp": DAY + dt.timedelta(minutes=epoch)} for epoch, loss in enumerate([0.9, 0.4, 0.6])]
    assert tracker.log_epochs(eid, rows) == 3
    tracker.sync()
    epochs = tracker.get_experiment_history(eid)["epochs"]
    assert [(e["epoch"], e["metrics"]["val_loss"], e["timestamp"]) for e in epochs] == \
        [(0, 0.9, DAY), (1, 0.4, DAY + dt.timedelta(minutes=1)), (2, 0.6, DAY + dt.timedelta(minutes=2))]
    metrics = tracker.get_experiment(eid)["metrics"]
    assert (metrics["best_val_loss"], metrics["best_epoch"], metrics["last_epoch"]) == (0.4, 1, 2)
    assert tracker.log_epochs(eid, [{"epoch": 1, "metrics": {"val_loss": 0.5}}]) == 1  # again: replaced
    tracker.sync()
    assert [e["metrics"]["val_loss"] for e in tracker.get_experiment_history(eid)["epochs"]] == [0.9, 0.5, 0.6]
    assert tracker.get_experiment(eid)["metrics"]["best_val_loss"] == 0.5  # the best epoch logged again


@pytest.mark.parametrize("bad, error, culprit", [
    ({"metrics": {"val_loss": 0.1}}, InvalidArgument, r"epochs\[1\] must be a mapping with an epoch"),
    ({"epoch": -1}, InvalidArgument, "non-negative integer"),
    ({"epoch": 1, "timestamp": "yesterday"}, InvalidArgument, r"epochs\[1\]: timestamp must be a datetime"),
    ({"epoch": 1, "experiment_id": "x"}, InvalidArgument, "set by log_epochs itself"),
    ({"epoch": 1, "metrics": {"a.b": 1.0}}, InvalidDocument, "a.b"),
])
def test_a_bad_row_is_refused_by_position_and_nothing_is_written(tracker: Tracker, bad: dict, error: type,
                                                                  culprit: str) -> None:
    eid = tracker.create_experiment("imported", 1)
    with pytest.raises(error, match=culprit):
        tracker.log_epochs(eid, [{"epoch": 0, "metrics": {"val_loss": 0.3}}, bad])
    tracker.sync()
    assert tracker.get_experiment_history(eid)["epochs"] == []
    assert "best_val_loss" not in tracker.get_experiment(eid).get("metrics", {})
