"""`epochlog fetch`, `epochlog gc` and the stored copies in `epochlog verify`."""

from __future__ import annotations

import hashlib
from pathlib import Path

from epochlog import Tracker
from tests.cli.helpers import Cli, assert_user_error

from .conftest import write


def study(uri: str, tmp_path: Path) -> str:
    with Tracker(uri, artifacts=True) as tracker:
        run = tracker.create_experiment("eegnex", 1, capture=False)
        for epoch in range(3):
            path = write(tmp_path / "train" / f"epoch{epoch}.pt", 5000 + epoch, seed=epoch)
            tracker.save_checkpoint_info(run, epoch, {"val_loss": 1 - epoch / 10}, {"path": path},
                                         is_best=epoch == 1, store_file=True)
        tracker.update_experiment_status(run, "completed")
    return run  # closing the tracker waited for the copies


def test_fetch_writes_the_best_or_an_epoch_verified(cli: Cli, tmp_path: Path) -> None:
    run = study(cli.uri, tmp_path)
    out = tmp_path / "fetched"
    assert cli.ok("fetch", run, "-o", str(out)).stdout.strip() == str(out / "epoch1.pt")
    assert (out / "epoch1.pt").read_bytes() == (tmp_path / "train" / "epoch1.pt").read_bytes()
    cli.ok("fetch", "eegnex", "--epoch", "2", "-o", str(out))
    assert (out / "epoch2.pt").stat().st_size == 5002
    assert_user_error(cli("fetch", run, "--epoch", "9", "-o", str(out)), "no checkpoint at epoch 9")
    assert_user_error(cli("fetch", "nobody"), "no experiment with id or name 'nobody'")


def test_gc_is_a_dry_run_until_apply_and_verify_checks_the_copies(cli: Cli, tmp_path: Path) -> None:
    run = study(cli.uri, tmp_path)
    assert "Would free 1 stored file (5,000 bytes), the copies of 1 checkpoint; 2 kept" in \
        cli.ok("gc", "--keep-best", "--keep-last", "1").stdout
    assert "Freed 1 stored file" in cli.ok("gc", "--keep-best", "--keep-last", "1", "--apply").stdout
    rows = cli.json("verify", run)
    assert [row["stored"] for row in rows] == [None, "ok", "ok"]
    assert_user_error(cli("gc"), "say what to keep")
    sha = hashlib.sha256((tmp_path / "train" / "epoch2.pt").read_bytes()).hexdigest()
    stored = Path(cli.uri.removeprefix("sqlite:///") + ".artifacts") / sha[:2] / sha
    stored.write_bytes(b"garbage")
    assert_user_error(cli("verify"), "1 stored copy is missing or damaged")


def test_sync_makes_the_copies_a_dead_process_queued(cli: Cli, tmp_path: Path) -> None:
    import json

    model = write(tmp_path / "model.pt", 7000)
    with Tracker(cli.uri, artifacts=True) as tracker:
        run = tracker.create_experiment("killed", 1, capture=False)
        checkpoint = tracker.save_checkpoint_info(run, 1, {}, {"path": model}, is_best=True)
        assert tracker.copies is not None
        queue = tracker.copies.uploader.directory  # what a process killed right after queueing leaves
        queue.mkdir(parents=True)
        (queue / f"{checkpoint}.json").write_text(json.dumps(
            {"checkpoint_id": checkpoint, "path": str(model), "kind": "file", "hashed": None,
             "sha256": hashlib.sha256(model.read_bytes()).hexdigest()}))
    assert "1 checkpoint copy made" in cli.ok("sync").stdout
    assert [row["stored"] for row in cli.json("verify", run)] == ["ok"]
    assert "checkpoint cop" not in cli.ok("sync").stdout  # nothing left to make
