"""Subjects keyed by subject_id, config_diff, and run handles."""

from __future__ import annotations

import pytest

from epochlog import InvalidArgument, Tracker


def test_subjects_upsert_by_subject_id(tracker: Tracker) -> None:
    tracker.upsert_subjects([{"subject_id": "sub-01", "age": 9.5, "sex": "F"},
                             {"subject_id": "sub-02", "age": 12, "releases": ["R1", "R2"]}])
    tracker.upsert_subjects([{"subject_id": "sub-01", "age": 10.0, "sex": "F"}])
    subjects = tracker.get_subjects()
    assert [(s["subject_id"], s["age"]) for s in subjects] == [("sub-01", 10.0), ("sub-02", 12)]
    assert [s["subject_id"] for s in tracker.get_subjects({"releases": "R2"})] == ["sub-02"]
    with pytest.raises(InvalidArgument, match="subject_id"):
        tracker.upsert_subjects([{"age": 3}])


def test_config_diff_lists_the_dotted_keys_that_differ(tracker: Tracker) -> None:
    a = tracker.create_experiment(experiment_name="a", challenge=1, model={"name": "EEGNeX"},
                                  config={"optim": {"lr": 0.1, "name": "adam"}, "batch": 16})
    b = tracker.create_experiment(experiment_name="b", challenge=1, model={"name": "EEGNeX"},
                                  config={"optim": {"lr": 0.2, "name": "adam"}, "batch": 16, "extra": True})
    assert tracker.config_diff([a, b]) == {"config.extra": [None, True], "config.optim.lr": [0.1, 0.2]}


def test_run_handle_records_how_the_run_ended(tracker: Tracker) -> None:
    with tracker.start_run("ok", 1, config={"lr": 0.1}) as run:
        run.log_epoch(0, {"val_loss": 0.3})
    assert tracker.get_experiment(run.id)["status"] == "completed"

    with pytest.raises(ZeroDivisionError):
        with tracker.start_run("boom", 1) as failing:
            failing.log_epoch(0, {"val_loss": 0.3})
            1 / 0
    error = tracker.get_experiment(failing.id)
    assert error["status"] == "failed" and error["error"]["type"] == "ZeroDivisionError"
    assert "1 / 0" in error["error"]["traceback"]

    with pytest.raises(KeyboardInterrupt):
        with tracker.start_run("ctrl-c", 1) as stopped:
            raise KeyboardInterrupt
    assert tracker.get_experiment(stopped.id)["status"] == "stopped"

    resumed = tracker.resume_run(stopped.id)
    resumed.log_epoch(0, {"val_loss": 0.1})
    assert tracker.get_experiment(stopped.id)["status"] == "running"
