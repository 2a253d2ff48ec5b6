"""`epochlog best --status`: leaderboards of unfinished runs, each row with its best checkpoint's state."""

from __future__ import annotations

from pathlib import Path

from epochlog import Tracker

from .helpers import Cli


def _study(uri: str, folder: Path) -> dict[str, str]:
    """A completed, a failed and a running run; the failed one's best checkpoint file was deleted since."""
    ids: dict[str, str] = {}
    with Tracker(uri) as tracker:
        for name, status, loss in [("done-run", "completed", 0.5), ("crashed-run", "failed", 0.3),
                                   ("live-run", "running", 0.2)]:
            exp_id = tracker.create_experiment(name, 1)
            tracker.log_epoch(exp_id, 0, {"val_loss": loss + 1})
            tracker.log_epoch(exp_id, 1, {"val_loss": loss})
            checkpoint = folder / f"{name}.pt"
            checkpoint.write_bytes(name.encode())
            tracker.save_checkpoint_info(exp_id, 1, {"val_loss": loss}, {"path": str(checkpoint)}, is_best=True)
            if status != "running":
                tracker.update_experiment_status(exp_id, status)
            ids[name] = exp_id
    (folder / "crashed-run.pt").unlink()
    return ids


def test_the_default_board_stays_completed_only(cli: Cli, uri: str, tmp_path: Path) -> None:
    ids = _study(uri, tmp_path)
    ranked = cli.json("best")
    assert [str(d["_id"]) for d in ranked] == [ids["done-run"]]
    assert ranked[0]["best_checkpoint"] == "ok"
    out = cli.ok("best").stdout
    assert "done-run" in out and "crashed-run" not in out and "live-run" not in out
    assert "any status" not in out


def test_any_status_ranks_unfinished_runs_by_the_best_epoch_they_reached(cli: Cli, uri: str, tmp_path: Path) -> None:
    ids = _study(uri, tmp_path)
    ranked = cli.json("best", "--status", "any")
    assert [str(d["_id"]) for d in ranked] == [ids["live-run"], ids["crashed-run"], ids["done-run"]]
    assert [d["best_checkpoint"] for d in ranked] == ["ok", "missing", "ok"]
    assert [d["metrics"]["best_epoch"] for d in ranked] == [1, 1, 1]
    out = cli.ok("best", "--status", "any").stdout
    assert "any status" in out
    lines = {name: next(line for line in out.splitlines() if name in line) for name in ids}
    assert "running" in lines["live-run"] and "failed" in lines["crashed-run"]
    assert "missing" in lines["crashed-run"] and "ok" in lines["done-run"]


def test_statuses_repeated_or_comma_separated(cli: Cli, uri: str, tmp_path: Path) -> None:
    ids = _study(uri, tmp_path)
    for args in (["-s", "failed", "-s", "running"], ["--status", "failed,running"], ["-s", "Failed, RUNNING"]):
        assert [str(d["_id"]) for d in cli.json("best", *args)] == [ids["live-run"], ids["crashed-run"]]
    assert "No stopped experiment with a finite metrics.best_val_loss" in cli.ok("best", "-s", "stopped").stdout


def test_an_unknown_status_is_a_usage_error_naming_it(cli: Cli, uri: str, tmp_path: Path) -> None:
    _study(uri, tmp_path)
    for typed in ("finished", "any,failed"):
        result = cli("best", "--status", typed)
        assert result.exit_code == 2, result.output
        assert "--status" in result.output and "Traceback" not in result.output
    assert "'finished'" in cli("best", "--status", "finished").output
