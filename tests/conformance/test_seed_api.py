"""The seed's example, word for word, on every backend: names, argument names and return shapes."""

from __future__ import annotations

import datetime as dt

import pytest
from bson import ObjectId

from epochlog import InvalidArgument, NotFound, Tracker


def test_the_seed_example_runs_unchanged(tracker: Tracker) -> None:
    week_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=7)
    exp_id = tracker.create_experiment(
        experiment_name="eegnex_r1r2_20251020", challenge=2,
        model={"name": "EEGNeX", "parameters": 2457821},
        config={"batch_size": 16, "learning_rate": 0.002, "optimizer": "Adamax", "device": "cpu"},
        dataset={"releases": ["R1", "R2"], "train_windows": 103724},
        tags=["baseline", "cpu"])
    for epoch in range(20):
        tracker.log_epoch(exp_id, epoch, metrics={"train_loss": 0.04, "val_loss": 0.05, "learning_rate": 0.002},
                          timing={"duration_seconds": 3240.5})
    tracker.save_checkpoint_info(exp_id, epoch=15, metrics={"val_loss": 0.0452},
                                 file={"path": "checkpoints/best_model.pt"}, is_best=True)
    tracker.update_experiment_status(exp_id, "completed", metrics={"best_val_loss": 0.0452, "best_epoch": 15})
    best = tracker.get_best_models(challenge=2, n=5)
    found = tracker.search_experiments(
        query={"config.device": "cpu", "start_time": {"$gte": week_ago}, "status": "completed"},
        sort=[("metrics.best_val_loss", 1)], limit=10)
    history = tracker.get_experiment_history(exp_id)
    other = tracker.create_experiment(experiment_name="other", challenge=2, config={"batch_size": 32})
    compared = tracker.compare_experiments([exp_id, other])
    tracker.close()

    assert isinstance(exp_id, str) and ObjectId.is_valid(exp_id)
    assert [doc["_id"] for doc in best] == [ObjectId(exp_id)]
    # the explicit final metrics win over the best that log_epoch kept (epoch 0's 0.05); last_epoch is kept
    assert best[0]["metrics"] == {"best_val_loss": 0.0452, "best_epoch": 15, "last_epoch": 19}
    assert best[0]["model"]["name"] == "EEGNeX"
    assert [doc["experiment_name"] for doc in found] == ["eegnex_r1r2_20251020"]
    experiment = history["experiment"]
    assert experiment["status"] == "completed" and experiment["end_time"] >= experiment["start_time"]
    assert experiment["start_time"].tzinfo is not None
    assert experiment["dataset"] == {"releases": ["R1", "R2"], "train_windows": 103724}
    assert experiment["tags"] == ["baseline", "cpu"]
    assert [e["epoch"] for e in history["epochs"]] == list(range(20))
    assert history["epochs"][3]["metrics"]["val_loss"] == 0.05
    assert history["epochs"][3]["timing"] == {"duration_seconds": 3240.5}
    assert history["epochs"][3]["experiment_id"] == ObjectId(exp_id)
    [checkpoint] = history["checkpoints"]
    assert checkpoint["is_best"] is True and checkpoint["file"]["path"] == "checkpoints/best_model.pt"
    assert [doc["experiment_name"] for doc in compared] == ["eegnex_r1r2_20251020", "other"]


def test_experiment_id_is_accepted_as_keyword_and_as_objectid(tracker: Tracker) -> None:
    exp_id = tracker.create_experiment(experiment_name="kw", challenge=1)
    tracker.log_epoch(experiment_id=exp_id, epoch=0, metrics={"val_loss": 1.0})
    tracker.log_epoch(experiment_id=ObjectId(exp_id), epoch=1, metrics={"val_loss": 0.5})
    tracker.update_experiment_status(experiment_id=exp_id, status="stopped")
    history = tracker.get_experiment_history(experiment_id=exp_id)
    assert len(history["epochs"]) == 2 and history["experiment"]["status"] == "stopped"


def test_logging_an_epoch_again_replaces_it(tracker: Tracker) -> None:
    exp_id = tracker.create_experiment(experiment_name="resumed", challenge=1)
    tracker.log_epoch(exp_id, 3, metrics={"val_loss": 0.9})
    tracker.log_epoch(exp_id, 3, metrics={"val_loss": 0.4})
    epochs = tracker.get_experiment_history(exp_id)["epochs"]
    assert [(e["epoch"], e["metrics"]["val_loss"]) for e in epochs] == [(3, 0.4)]


def test_unknown_and_malformed_ids(tracker: Tracker) -> None:
    missing = str(ObjectId())
    with pytest.raises(NotFound, match=missing):
        tracker.log_epoch(missing, 0, metrics={})
    with pytest.raises(NotFound):
        tracker.get_experiment_history(missing)
    with pytest.raises(NotFound, match=missing):
        tracker.compare_experiments([missing])
    with pytest.raises(ValueError, match="not-an-id"):
        tracker.log_epoch("not-an-id", 0, metrics={})
    with pytest.raises(InvalidArgument):
        tracker.get_experiment_history("abc")


def test_bad_status_is_refused_and_changes_nothing(tracker: Tracker) -> None:
    exp_id = tracker.create_experiment(experiment_name="s", challenge=1)
    with pytest.raises(ValueError, match="finished"):
        tracker.update_experiment_status(exp_id, "finished")
    assert tracker.get_experiment_history(exp_id)["experiment"]["status"] == "running"


def test_status_metrics_merge_and_end_time(tracker: Tracker) -> None:
    exp_id = tracker.create_experiment(experiment_name="m", challenge=1)
    tracker.update_experiment_status(exp_id, "running", metrics={"best_val_loss": 0.3})
    running = tracker.get_experiment_history(exp_id)["experiment"]
    assert running["metrics"] == {"best_val_loss": 0.3} and "end_time" not in running
    tracker.update_experiment_status(exp_id, "completed", metrics={"best_epoch": 4}, notes="done")
    done = tracker.get_experiment_history(exp_id)["experiment"]
    assert done["metrics"] == {"best_val_loss": 0.3, "best_epoch": 4}
    assert done["notes"] == "done" and done["end_time"] is not None


def test_get_tracker_uses_the_embedded_store_by_default(tmp_path, monkeypatch) -> None:
    from epochlog import get_tracker

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EPOCHLOG_URI", raising=False)
    tracker = get_tracker()
    tracker.create_experiment(experiment_name="default", challenge=1)
    tracker.close()
    assert (tmp_path / "epochlog.db").exists()
    monkeypatch.setenv("EPOCHLOG_URI", f"sqlite:///{tmp_path}/elsewhere.db")
    get_tracker().close()
    assert (tmp_path / "elsewhere.db").exists()
