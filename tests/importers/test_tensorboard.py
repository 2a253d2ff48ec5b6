"""epochlog import tensorboard: logs written by torch's SummaryWriter and TensorBoard's writer, on every backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from epochlog import InvalidArgument, Tracker
from epochlog.importers.tensorboard import import_tensorboard


def test_one_experiment_per_run_directory(tracker: Tracker, tensorboard_logdir: Path) -> None:
    report = import_tensorboard(tracker, tensorboard_logdir)
    assert report.created == 3
    runs = {d["experiment_name"]: d for d in tracker.search_experiments()}
    assert set(runs) == {"lr0.1/version_0", "lr0.01/version_0", "tf2"}
    lightning = runs["lr0.01/version_0"]
    assert lightning["config"] == {"lr": 0.01, "batch_size": 32, "optimizer": "adam"}
    assert lightning["status"] == "completed" and lightning["end_time"] >= lightning["start_time"]
    assert [e["epoch"] for e in tracker.get_experiment_history(lightning["_id"])["epochs"]] == [0, 1, 2]
    assert lightning["metrics"]["best_val_loss"] == pytest.approx(1 / 3 + 0.01)
    assert tracker.get_metric_series(lightning["_id"], "train/loss").steps.tolist() == list(range(15))
    assert any("lr0.01/version_0: 1 histograms not imported" == item for item in report.unmapped)
    tensors = tracker.get_metric_series(runs["tf2"]["_id"], "loss")  # TF 2 style: scalars as tensors
    assert tensors.steps.tolist() == list(range(6)) and tensors.values[-1] == pytest.approx(1 / 6)


def test_importing_again_changes_nothing(tracker: Tracker, tensorboard_logdir: Path) -> None:
    import_tensorboard(tracker, tensorboard_logdir)
    again = import_tensorboard(tracker, tensorboard_logdir)
    assert (again.created, again.updated, again.unchanged, again.points) == (0, 0, 3, 0)
    assert tracker.count_experiments() == 3


def test_a_directory_without_logs_is_refused(tracker: Tracker, tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="no TensorBoard event files"):
        import_tensorboard(tracker, tmp_path)
    with pytest.raises(InvalidArgument, match="not a directory"):
        import_tensorboard(tracker, tmp_path / "missing")
    assert tracker.count_experiments() == 0
