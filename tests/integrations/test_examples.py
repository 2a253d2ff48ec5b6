"""The examples run as a user runs them (`python examples/...`) and leave their run in the store they were given."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from epochlog import Tracker

from .children import run_example


def run(script: str, tmp_path: Path) -> tuple[str, str]:
    """Run an example for 2 epochs of 96 windows; its store's URI and the experiment id it printed last."""
    uri = f"sqlite:///{tmp_path / 'runs.db'}"
    result = run_example(script, tmp_path, "--uri", uri, "--epochs", "2", "--windows", "96")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stderr, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("experiment ") and ": completed, best epoch " in last
    return uri, last.split()[1].rstrip(":")


def only_experiment(tracker: Tracker, printed: str) -> dict[str, Any]:
    [experiment] = tracker.search_experiments({})
    assert str(experiment["_id"]) == printed
    assert experiment["status"] == "completed" and experiment["challenge"] == 1
    return experiment


def test_the_eegnex_example_records_its_run(tmp_path: Path) -> None:
    uri, printed = run("train_eegnex.py", tmp_path)
    with Tracker(uri) as tracker:
        experiment = only_experiment(tracker, printed)
        assert experiment["model"]["name"] == "EEGNeX" and experiment["model"]["parameters"] > 0
        assert experiment["dataset"]["samples"] == 96 and experiment["dataset"]["valid_samples"] > 0
        assert experiment["config"]["max_epochs"] == 2 and experiment["config"]["module__n_chans"] == 16
        assert experiment["metrics"]["best_epoch"] in (1, 2) and experiment["metrics"]["last_epoch"] == 2
        found = tracker.get_experiment_history(experiment["_id"])
        assert [epoch["epoch"] for epoch in found["epochs"]] == [1, 2]
        assert found["checkpoints"] and sum(c["is_best"] for c in found["checkpoints"]) == 1
        assert {state["state"] for state in tracker.verify_checkpoints(experiment["_id"])} == {"ok"}
        assert (tmp_path / "checkpoints" / "eegnex_synthetic").is_dir()


def test_the_lightning_example_records_its_run(tmp_path: Path) -> None:
    uri, printed = run("train_lightning.py", tmp_path)
    with Tracker(uri) as tracker:
        experiment = only_experiment(tracker, printed)
        assert experiment["model"]["name"] == "EEGNeXModule" and experiment["model"]["module"] == "EEGNeX"
        assert experiment["model"]["parameters"] > 0
        assert experiment["dataset"]["train_size"] + experiment["dataset"]["val_size"] == 96
        assert experiment["config"] == {"n_chans": 16, "n_times": 200, "lr": 2e-3}
        assert experiment["objective"] == {"metric": "val_loss", "mode": "min"}
        assert experiment["metrics"]["best_epoch"] in (0, 1) and experiment["metrics"]["last_epoch"] == 1
        found = tracker.get_experiment_history(experiment["_id"])
        assert [epoch["epoch"] for epoch in found["epochs"]] == [0, 1]
        assert {"val_loss", "val_acc", "train_loss_epoch"} <= set(found["epochs"][0]["metrics"])
        assert [name for name in tracker.get_metric_names(experiment["_id"])
                if not name.startswith("system/")] == ["train_loss_step"]  # system/ when it ran 10 s
        assert found["checkpoints"] and sum(c["is_best"] for c in found["checkpoints"]) == 1
        assert {state["state"] for state in tracker.verify_checkpoints(experiment["_id"])} == {"ok"}
        assert (tmp_path / "checkpoints" / "eegnex_lightning").is_dir()
