"""The objective: log_epoch keeps the best epoch and the last epoch on the experiment, on every backend."""

from __future__ import annotations

import math
import time

import pytest
from bson import ObjectId

from epochlog import InvalidArgument, Tracker
from epochlog.objective import LAST_EPOCH_INTERVAL


def _metrics(tracker: Tracker, exp_id: str) -> dict[str, object]:
    tracker.sync()
    return tracker.get_experiment(exp_id)["metrics"]


def test_the_best_epoch_follows_the_objective_as_epochs_arrive(tracker: Tracker) -> None:
    exp_id = tracker.create_experiment("r", 1)
    assert tracker.get_experiment(exp_id)["objective"] == {"metric": "val_loss", "mode": "min"}
    for epoch, loss in enumerate([0.9, 0.5, 0.7, math.nan, 0.4, 0.6]):
        tracker.log_epoch(exp_id, epoch, {"val_loss": loss, "train_loss": 1.0})
        if epoch == 2:
            metrics = _metrics(tracker, exp_id)
            assert (metrics["best_val_loss"], metrics["best_epoch"]) == (0.5, 1)
    metrics = _metrics(tracker, exp_id)
    assert (metrics["best_val_loss"], metrics["best_epoch"]) == (0.4, 4)
    tracker.update_experiment_status(exp_id, "completed")
    metrics = _metrics(tracker, exp_id)
    assert metrics["last_epoch"] == 5 and metrics["best_epoch"] == 4
    [best] = tracker.get_best_models(n=1)
    assert str(best["_id"]) == exp_id


def test_a_maximised_objective_of_another_metric(tracker: Tracker) -> None:
    exp_id = tracker.create_experiment("acc", 1, objective={"metric": "valid_acc", "mode": "max"})
    for epoch, accuracy in enumerate([0.5, 0.8, 0.7, math.inf]):
        tracker.log_epoch(exp_id, epoch, {"valid_acc": accuracy, "val_loss": 9.0 - epoch})
    metrics = _metrics(tracker, exp_id)
    assert (metrics["best_valid_acc"], metrics["best_epoch"]) == (0.8, 1)
    assert "best_val_loss" not in metrics


def test_epochs_without_the_objective_metric_keep_only_the_last_epoch(tracker: Tracker) -> None:
    exp_id = tracker.create_experiment("no-val", 1)
    for epoch in range(3):
        tracker.log_epoch(exp_id, epoch, {"train_loss": 1.0})
    tracker.flush()
    assert _metrics(tracker, exp_id) == {"last_epoch": 2}


def _stored(tracker: Tracker, exp_id: str) -> dict[str, object]:
    """The experiment's metrics as the store has them, without the tracker flushing what it holds back."""
    drain = getattr(tracker.store, "flush", None)
    if drain is not None:
        assert drain(30.0)
    document = tracker.store.find_one("experiments", {"_id": ObjectId(exp_id)})
    assert document is not None
    return document["metrics"]


def test_the_document_follows_slow_epochs_at_once_and_fast_ones_once_a_second(tracker: Tracker) -> None:
    exp_id = tracker.create_experiment("paced", 1)
    tracker.log_epoch(exp_id, 0, {"val_loss": 1.0})  # within a second of the creation: held back
    assert _stored(tracker, exp_id) == {}
    time.sleep(LAST_EPOCH_INTERVAL + 0.05)
    tracker.log_epoch(exp_id, 1, {"val_loss": 0.5})  # an epoch after a second: written with it
    assert _stored(tracker, exp_id) == {"best_val_loss": 0.5, "best_epoch": 1, "last_epoch": 1}
    tracker.log_epoch(exp_id, 2, {"val_loss": 0.4})  # fast again: held back
    assert _stored(tracker, exp_id)["last_epoch"] == 1
    tracker.flush()  # and flush writes what is held back
    assert _stored(tracker, exp_id) == {"best_val_loss": 0.4, "best_epoch": 2, "last_epoch": 2}


def test_a_tracker_of_another_process_continues_the_best(tracker: Tracker) -> None:
    exp_id = tracker.create_experiment("resumed", 1)
    tracker.log_epoch(exp_id, 0, {"val_loss": 0.5})
    tracker.sync()
    other = Tracker(store=tracker.store)  # knows the experiment only from the store
    assert other.progress(exp_id).best == 0.5
    other.log_epoch(exp_id, 1, {"val_loss": 0.6})
    other.log_epoch(exp_id, 2, {"val_loss": 0.3})
    other.flush()
    metrics = _metrics(other, exp_id)
    assert (metrics["best_val_loss"], metrics["best_epoch"]) == (0.3, 2)


def test_the_best_epoch_logged_again_replaces_the_best(tracker: Tracker) -> None:
    exp_id = tracker.create_experiment("relogged", 1)
    tracker.log_epoch(exp_id, 0, {"val_loss": 0.5})
    tracker.log_epoch(exp_id, 1, {"val_loss": 0.2})
    tracker.log_epoch(exp_id, 1, {"val_loss": 0.4})  # a resumed run logs epoch 1 again
    metrics = _metrics(tracker, exp_id)
    assert (metrics["best_val_loss"], metrics["best_epoch"]) == (0.4, 1)


def test_an_explicit_final_summary_wins(tracker: Tracker) -> None:
    exp_id = tracker.create_experiment("final", 1)
    tracker.log_epoch(exp_id, 0, {"val_loss": 0.5})
    tracker.update_experiment_status(exp_id, "completed", metrics={"best_val_loss": 0.45, "best_epoch": 7})
    metrics = _metrics(tracker, exp_id)
    assert (metrics["best_val_loss"], metrics["best_epoch"], metrics["last_epoch"]) == (0.45, 7, 0)


@pytest.mark.parametrize("objective", [{"metric": "a.b"}, {"metric": ""}, {"mode": "lowest"}, {"metric": 3},
                                       {"metric": "x", "extra": 1}, "val_loss"])
def test_a_bad_objective_is_refused_and_nothing_is_written(tracker: Tracker, objective: object) -> None:
    with pytest.raises(InvalidArgument, match="objective"):
        tracker.create_experiment("bad", 1, objective=objective)  # type: ignore[arg-type]
    tracker.sync()
    assert tracker.count_experiments() == 0


def test_documents_without_an_objective_are_judged_by_the_default(tracker: Tracker) -> None:
    from epochlog.store.base import Put

    eid = ObjectId()
    tracker.store.write([Put("experiments", {"_id": eid, "experiment_name": "seed-era", "status": "running",
                                             "objective": "nonsense", "metrics": {"best_val_loss": "n/a"}})])
    tracker.sync()
    tracker.log_epoch(eid, 0, {"val_loss": 0.7})
    assert _metrics(tracker, str(eid))["best_val_loss"] == 0.7
