"""Documents changed on both sides: merged by the documented rule, the losing values kept under `conflicts`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from epochlog import Tracker
from epochlog.schema import CHECKPOINTS, EPOCHS
from epochlog.store import Store
from epochlog.store.sqlite import SQLiteStore
from epochlog.transfer import push

from .stores import content, fill


@pytest.fixture
def laptop(tmp_path: Path) -> Tracker:
    tracker = Tracker(store=SQLiteStore(tmp_path / "laptop.db"))
    yield tracker
    tracker.close()


@pytest.fixture
def shared(store: Store) -> Tracker:
    return Tracker(store=store)


def lost(experiment: dict[str, Any], field: str) -> list[Any]:
    return [entry["value"] for entry in experiment.get("conflicts", []) if entry["field"] == field]


def test_a_change_on_one_side_only_fast_forwards(laptop: Tracker, shared: Tracker) -> None:
    [run] = fill(laptop, runs=1)
    push(laptop.store, shared.store)
    laptop.set_notes(run, "diverged at epoch 3")
    push(laptop.store, shared.store)
    experiment = shared.get_experiment(run)
    assert experiment["notes"] == "diverged at epoch 3" and "conflicts" not in experiment


def test_an_offline_copy_edited_and_pushed_back_fast_forwards(laptop: Tracker, shared: Tracker) -> None:
    [run] = fill(shared, runs=1)
    push(shared.store, laptop.store)  # the offline copy
    laptop.set_tags(run, ["reviewed"])
    summary = push(laptop.store, shared.store)
    assert summary.merged == 0 and shared.get_experiment(run)["tags"] == ["reviewed"]
    assert "conflicts" not in shared.get_experiment(run)


def test_both_sides_changed_the_run_further_along_wins_and_nothing_is_lost(laptop: Tracker,
                                                                           shared: Tracker) -> None:
    [run] = fill(laptop, runs=1)
    push(laptop.store, shared.store)
    shared.set_notes(run, "notes written on the shared store")
    shared.merge_experiment(run, config={"only_on_shared": 1})
    laptop.resume_run(run)
    laptop.set_notes(run, "notes written on the laptop")
    laptop.update_experiment_status(run, "completed")  # a later end: the laptop's run is further along
    summary = push(laptop.store, shared.store)
    assert summary.merged == 1 and summary.conflicts >= 1
    experiment = shared.get_experiment(run)
    assert experiment["notes"] == "notes written on the laptop"
    assert lost(experiment, "notes") == ["notes written on the shared store"]
    assert experiment["config"]["only_on_shared"] == 1  # a field on one side only is kept
    assert experiment["end_time"] == laptop.get_experiment(run)["end_time"]
    assert push(laptop.store, shared.store).changed == 0


def test_on_a_tie_the_destination_keeps_its_value_and_the_pushed_one_is_kept_too(laptop: Tracker,
                                                                                shared: Tracker) -> None:
    [run] = fill(laptop, runs=1)
    push(laptop.store, shared.store)
    shared.set_notes(run, "shared")
    laptop.set_notes(run, "laptop")
    push(laptop.store, shared.store)
    experiment = shared.get_experiment(run)
    assert experiment["notes"] == "shared" and lost(experiment, "notes") == ["laptop"]
    laptop.set_tags(run, ["seen"])  # the laptop changes again: the same losing notes are not recorded twice
    push(laptop.store, shared.store)
    assert lost(shared.get_experiment(run), "notes") == ["laptop"]


def test_an_epoch_logged_on_both_sides_keeps_the_later_and_records_the_other(laptop: Tracker,
                                                                            shared: Tracker) -> None:
    [run] = fill(laptop, runs=1, epochs=2)
    push(laptop.store, shared.store)
    shared.log_epoch(run, 1, {"val_loss": 7.0})
    time.sleep(0.01)  # timestamps have millisecond precision: make the laptop's surely later
    laptop.log_epoch(run, 1, {"val_loss": 0.25})
    laptop.flush()
    push(laptop.store, shared.store)
    [epoch] = shared.store.find(EPOCHS, {"experiment_id": shared.get_experiment(run)["_id"], "epoch": 1})
    assert epoch["metrics"]["val_loss"] == 0.25
    [older] = lost(shared.get_experiment(run), "epochs.1")
    assert older["metrics"]["val_loss"] == 7.0
    assert push(laptop.store, shared.store).changed == 0


def test_one_best_checkpoint_after_both_sides_saved_a_new_best(laptop: Tracker, shared: Tracker) -> None:
    [run] = fill(laptop, runs=1, epochs=4)
    push(laptop.store, shared.store)
    shared.save_checkpoint_info(run, 10, {"val_loss": 0.3}, is_best=True)
    time.sleep(0.01)
    laptop.save_checkpoint_info(run, 11, {"val_loss": 0.2}, is_best=True)  # saved later: it stays best
    push(laptop.store, shared.store)
    bests = shared.store.find(CHECKPOINTS, {"is_best": True})
    assert [document["epoch"] for document in bests] == [11]
    assert shared.store.count(CHECKPOINTS) == 4


def test_merging_into_a_fresh_store_and_back_agrees(laptop: Tracker, shared: Tracker, tmp_path: Path) -> None:
    fill(laptop, runs=2)
    push(laptop.store, shared.store)
    back = SQLiteStore(tmp_path / "back.db")
    push(shared.store, back)
    assert content(back) == content(laptop.store)
    back.close()
