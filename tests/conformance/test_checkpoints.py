"""Checkpoints: size and checksum filled in, one best per experiment, verification of the files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from epochlog import NotFound, Tracker


def test_size_and_checksum_are_filled_from_the_file(tracker: Tracker, tmp_path: Path) -> None:
    weights = tmp_path / "model.pt"
    weights.write_bytes(b"\x01\x02" * 3_000_000)
    exp_id = tracker.create_experiment(experiment_name="ckpt", challenge=1)
    checkpoint_id = tracker.save_checkpoint_info(exp_id, epoch=3, metrics={"val_loss": 0.2},
                                                 file={"path": weights})
    [checkpoint] = tracker.get_experiment_history(exp_id)["checkpoints"]
    assert str(checkpoint["_id"]) == checkpoint_id
    assert checkpoint["file"]["path"] == str(weights)
    assert checkpoint["file"]["size_mb"] == pytest.approx(6.0)
    assert checkpoint["file"]["checksum"] == "sha256:" + hashlib.sha256(weights.read_bytes()).hexdigest()
    assert tracker.verify_checkpoint(checkpoint_id) == "ok"
    weights.write_bytes(b"changed")
    assert tracker.verify_checkpoint(checkpoint_id) == "changed"
    weights.unlink()
    assert tracker.verify_checkpoint(checkpoint_id) == "missing"
    with pytest.raises(NotFound):
        tracker.verify_checkpoint("0" * 24)


def test_only_one_best_checkpoint_after_any_sequence(tracker: Tracker) -> None:
    exp_id = tracker.create_experiment(experiment_name="best", challenge=1)
    other = tracker.create_experiment(experiment_name="other", challenge=1)
    tracker.save_checkpoint_info(other, epoch=0, metrics={}, file={"path": "o.pt"}, is_best=True)
    for epoch, best in [(0, True), (1, False), (2, True), (3, True), (4, False)]:
        tracker.save_checkpoint_info(exp_id, epoch=epoch, metrics={}, file={"path": f"{epoch}.pt"}, is_best=best)
    checkpoints = tracker.get_experiment_history(exp_id)["checkpoints"]
    assert [c["epoch"] for c in checkpoints if c["is_best"]] == [3]
    assert [c["is_best"] for c in tracker.get_experiment_history(other)["checkpoints"]] == [True]
    states = {row["path"]: row["state"] for row in tracker.verify_checkpoints(exp_id)}
    assert states == {f"{epoch}.pt": "missing" for epoch in range(5)}
