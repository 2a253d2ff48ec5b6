"""Pushing a run carries its stored checkpoint copies into the destination's artifact store, on every backend:
once, and a second push copies nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

from epochlog import Tracker
from tests.cli.helpers import Cli

from .conftest import write


def laptop(tmp_path: Path) -> tuple[Tracker, str, Path]:
    tracker = Tracker(tmp_path / "laptop.db", artifacts=True)
    run = tracker.create_experiment("offline", 1, capture=False)
    model = write(tmp_path / "model.pt", 40_000)
    hf = tmp_path / "checkpoint-9"
    write(hf / "weights.bin", 3_000, seed=2)
    tracker.save_checkpoint_info(run, 1, {}, {"path": model}, store_file=True)
    tracker.save_checkpoint_info(run, 2, {}, {"path": hf}, is_best=True, store_file=True)
    tracker.update_experiment_status(run, "completed")
    assert tracker.copies is not None and tracker.copies.uploader.drain(30)
    return tracker, run, model


def test_a_pushed_run_brings_its_stored_files(copying: Tracker, tmp_path: Path) -> None:
    source, run, model = laptop(tmp_path)
    summary = source.push(copying)
    assert summary.files is not None and (summary.files.copied, summary.files.missing) == (1 + 1 + 1, 0)  # the model; the directory's file and manifest
    assert copying.sync(30)
    assert [row["stored"] for row in copying.verify_checkpoints(run)] == ["ok", "ok"]
    fetched = copying.fetch_checkpoint(run, 1, to=tmp_path / "cluster")
    assert hashlib.sha256(fetched.read_bytes()).digest() == hashlib.sha256(model.read_bytes()).digest()
    again = source.push(copying)
    assert again.changed == 0 and again.files is not None and (again.files.copied, again.files.present) == (0, 3)
    source.close()


def test_push_from_the_command_line_copies_the_files_unless_told_not_to(cli: Cli, tmp_path: Path) -> None:
    source, run, _ = laptop(tmp_path)
    source.close()
    first = tmp_path / "first.db"
    out = cli.ok("push", str(tmp_path / "laptop.db"), "--to", str(first), uri=False).stdout
    assert "copied 3 stored checkpoint file(s)" in out
    with Tracker(first, artifacts=True) as there:
        assert [row["stored"] for row in there.verify_checkpoints(run)] == ["ok", "ok"]
    second = tmp_path / "second.db"
    out = cli.ok("push", str(tmp_path / "laptop.db"), "--to", str(second), "--no-files", uri=False).stdout
    assert "stored checkpoint file" not in out
    with Tracker(second, artifacts=True) as there:
        assert [row["stored"] for row in there.verify_checkpoints(run)] == ["missing", "missing"]
