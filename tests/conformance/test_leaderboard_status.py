"""Leaderboards of unfinished runs, and whether each ranked run's best checkpoint still verifies, on every backend."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from epochlog import InvalidArgument, Tracker
from epochlog.checkpoints import VerifiedFiles
from epochlog.tracker import leaderboard_statuses


def _runs(tracker: Tracker) -> dict[str, str]:
    """One run per status, each with a best val_loss reached by its epochs: completed 0.5, running 0.2,
    failed 0.3, stopped 0.4 (and a failed run whose only epoch is NaN)."""
    ids: dict[str, str] = {}
    for status, loss in [("completed", 0.5), ("running", 0.2), ("failed", 0.3), ("stopped", 0.4),
                         ("nan", float("nan"))]:
        exp_id = tracker.create_experiment(status, 1)
        tracker.log_epoch(exp_id, 0, {"val_loss": loss + 1})
        tracker.log_epoch(exp_id, 1, {"val_loss": loss})
        if status != "running":
            tracker.update_experiment_status(exp_id, "failed" if status == "nan" else status)
        ids[status] = exp_id
    tracker.flush()
    tracker.sync()
    return ids


def _ranked(tracker: Tracker, **kwargs: object) -> list[str]:
    return [str(document["_id"]) for document in tracker.get_best_models(**kwargs)]  # type: ignore[arg-type]


def test_completed_runs_only_by_default_any_status_or_a_list_on_request(tracker: Tracker) -> None:
    ids = _runs(tracker)
    assert _ranked(tracker) == [ids["completed"]]
    assert _ranked(tracker, status="any") == [ids["running"], ids["failed"], ids["stopped"], ids["completed"]]
    assert _ranked(tracker, status=["failed", "stopped"]) == [ids["failed"], ids["stopped"]]
    assert _ranked(tracker, status="running") == [ids["running"]]
    [running] = tracker.get_best_models(status="running")
    assert running["status"] == "running" and running["metrics"]["best_epoch"] == 1


@pytest.mark.parametrize("status", ["done", ["failed", "finished"], 3, [None]])
def test_an_unknown_status_is_refused_by_name(tracker: Tracker, status: object) -> None:
    with pytest.raises(InvalidArgument, match="status"):
        tracker.get_best_models(status=status)  # type: ignore[arg-type]


@pytest.mark.parametrize(("typed", "expected"), [
    (None, "completed"), ([], "completed"), (["any"], "any"), (["ANY"], "any"),
    (["failed,stopped"], ["failed", "stopped"]), (["failed", "stopped", "failed"], ["failed", "stopped"]),
    ([" Running , "], ["running"]),
])
def test_what_a_user_types_becomes_a_status_choice(typed: list[str] | None, expected: object) -> None:
    assert leaderboard_statuses(typed) == expected


@pytest.mark.parametrize("typed", [["any,failed"], ["done"], ["failed", "nope"]])
def test_a_typed_status_that_means_nothing_names_itself(typed: list[str]) -> None:
    with pytest.raises(InvalidArgument, match="status"):
        leaderboard_statuses(typed)


def test_each_ranked_run_says_whether_its_best_checkpoint_verifies(tracker: Tracker, tmp_path: Path) -> None:
    ids = _runs(tracker)
    files = {name: tmp_path / f"{name}.pt" for name in ("completed", "running", "failed")}
    for name, path in files.items():
        path.write_bytes(name.encode() * 100)
        tracker.save_checkpoint_info(ids[name], 1, {"val_loss": 0.1}, {"path": str(path)}, is_best=True)
    tracker.save_checkpoint_info(ids["stopped"], 1, {}, None, is_best=True)  # no file recorded
    tracker.sync()
    files["running"].write_bytes(b"overwritten")
    files["failed"].unlink()
    states = tracker.best_checkpoint_states(ids.values())
    assert states == {tracker.get_experiment(i)["_id"]: state for i, state in [
        (ids["completed"], "ok"), (ids["running"], "changed"), (ids["failed"], "missing"),
        (ids["stopped"], "unchecked"), (ids["nan"], None)]}
    assert tracker.best_checkpoint_states([]) == {}


def test_a_later_best_checkpoint_is_the_one_verified(tracker: Tracker, tmp_path: Path) -> None:
    exp_id = tracker.create_experiment("two-best", 1)
    old, new = tmp_path / "old.pt", tmp_path / "new.pt"
    old.write_bytes(b"old")
    new.write_bytes(b"new")
    tracker.save_checkpoint_info(exp_id, 1, {}, {"path": str(old)}, is_best=True)
    tracker.save_checkpoint_info(exp_id, 3, {}, {"path": str(new)}, is_best=True)
    tracker.sync()
    old.unlink()
    assert list(tracker.best_checkpoint_states([exp_id]).values()) == ["ok"]


def test_a_remembered_file_is_hashed_again_once_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    path.write_bytes(b"weights" * 1000)
    from epochlog.checkpoints import file_facts

    record = {"path": str(path), **(file_facts(path) or {})}
    past = time.time() - 60  # older than the racy window: the state may be remembered
    os.utime(path, (past, past))
    verified = VerifiedFiles()
    assert verified.state(record) == "ok"
    assert verified.state(record) == "ok"
    with open(path, "r+b") as handle:  # same size, rewritten in place, times set back as a copy tool would
        handle.write(b"W")
    os.utime(path, (past, past))
    assert verified.state(record) == "changed"  # ctime moved on: the file was read again
    path.unlink()
    assert verified.state(record) == "missing"
