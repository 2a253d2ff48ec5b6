"""epochlog import mlflow: a real MLflow store read with MLflow's client, on every backend, twice."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from epochlog import InvalidArgument, Tracker
from epochlog.importers.mlflow import import_mlflow


def _by_name(tracker: Tracker) -> dict[str, dict]:
    return {d["experiment_name"]: d for d in tracker.search_experiments()}


def test_runs_params_tags_status_series_and_epochs(tracker: Tracker, mlflow_uri: str) -> None:
    report = import_mlflow(tracker, mlflow_uri)
    assert (report.created, report.updated, report.unchanged) == (4, 0, 0)
    runs = _by_name(tracker)
    assert {name: d["status"] for name, d in runs.items()} == {
        "lr0.01": "completed", "lr0.001": "failed", "lr0.1": "stopped", "plain": "completed"}
    finished = runs["lr0.01"]
    assert finished["config"]["lr"] == 0.01 and finished["config"]["batch_size"] == 32
    assert finished["config"]["amp"] is True and finished["config"]["note"] == "keep as text"
    assert finished["config"]["optimizer"] == "nested-clash" and finished["config"]["optimizer_name"] == "adam"
    assert any("'optimizer.name'" in item for item in report.unmapped)  # the clash is said, not dropped
    assert finished["mlflow"]["tags"]["owner"] == "ana" and finished["tags"] == ["eegnex-sweep"]
    assert finished["end_time"] > finished["start_time"]
    series = tracker.get_metric_series(finished["_id"], "train/loss")
    assert series.steps.tolist() == list(range(30)) and np.allclose(series.values, 2.0 - 0.01 * np.arange(30))
    epochs = tracker.get_experiment_history(finished["_id"])["epochs"]
    assert [e["epoch"] for e in epochs] == [0, 1, 2]
    assert epochs[1]["metrics"] == {"val_loss": pytest.approx(0.51), "train_loss": pytest.approx(1.9)}
    assert finished["metrics"]["best_val_loss"] == pytest.approx(1 / 3 + 0.01)
    assert finished["metrics"]["best_epoch"] == 2
    assert tracker.get_experiment_history(runs["plain"]["_id"])["epochs"] == []  # no epoch metric: series only
    assert [d["experiment_name"] for d in tracker.get_best_models(status="any", n=2)] == ["lr0.001", "lr0.01"]
    assert "best_val_loss" not in runs["plain"]["metrics"] and runs["plain"]["metrics"]["val_loss"] == 0.2


def test_importing_again_duplicates_nothing_and_takes_changes(tracker: Tracker, mlflow_uri: str,
                                                              tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    shutil.copy(mlflow_uri.removeprefix("sqlite:///"), tmp_path / "mlflow.db")  # this test changes its store
    mlflow_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    import_mlflow(tracker, mlflow_uri)
    tracker.set_notes(_by_name(tracker)["plain"]["_id"], "kept across imports")
    again = import_mlflow(tracker, mlflow_uri)
    assert (again.created, again.updated, again.unchanged, again.epochs, again.points) == (0, 0, 4, 0, 0)
    assert tracker.count_experiments() == 4
    client = MlflowClient(tracking_uri=mlflow_uri)
    [run] = client.search_runs([client.get_experiment_by_name("other").experiment_id])
    client.log_metric(run.info.run_id, "val_loss", 0.05, step=9)
    changed = import_mlflow(tracker, mlflow_uri, experiment_names=["other"])
    assert (changed.created, changed.updated, changed.points) == (0, 1, 5)
    plain = _by_name(tracker)["plain"]
    assert plain["notes"] == "kept across imports" and plain["metrics"]["val_loss"] == 0.05
    assert tracker.get_metric_series(plain["_id"], "val_loss").steps.tolist() == [0, 1, 2, 3, 9]


def test_steps_as_epochs_an_mlruns_directory_and_bad_sources(tracker: Tracker, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import mlflow

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 writes an mlruns directory only so
    mlruns = tmp_path / "mlruns"
    mlflow.set_tracking_uri(mlruns.as_uri())
    try:
        mlflow.set_experiment("keras")
        with mlflow.start_run(run_name="keras-fit"):
            for epoch in range(2):
                mlflow.log_metric("val_loss", 1.0 - epoch / 4, step=epoch)
    finally:
        mlflow.set_tracking_uri(None)
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE")  # the importer, which only reads, says so itself
    report = import_mlflow(tracker, str(mlruns), steps_are_epochs=True)
    [run] = tracker.search_experiments()
    assert report.created == 1 and run["mlflow"]["experiment_name"] == "keras"
    assert [e["metrics"]["val_loss"] for e in tracker.get_experiment_history(run["_id"])["epochs"]] == [1.0, 0.75]
    with pytest.raises(InvalidArgument, match="no MLflow experiment named 'nope'"):
        import_mlflow(tracker, str(mlruns), experiment_names=["nope"])
    with pytest.raises(InvalidArgument, match="neither a tracking URI nor an mlruns directory"):
        import_mlflow(tracker, str(tmp_path / "missing"))
    assert tracker.count_experiments() == 1
