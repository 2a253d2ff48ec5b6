"""The leaderboard of any status, over the JSON API and in real headless Chromium."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from epochlog import Tracker
from epochlog.web import create_app

from .conftest import Demo, LiveServer, TestClient

WAIT = 15_000


def _rows(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/api/leaderboard", params={"n": 50, **params})
    assert response.status_code == 200, response.text
    return [row for board in response.json()["boards"] for row in board["rows"]]


def test_completed_only_unless_asked(client: TestClient, demo: Demo) -> None:
    assert {row["status"] for row in _rows(client)} == {"completed"}
    everything = _rows(client, status="any")
    assert {demo.running, demo.failed} <= {row["id"] for row in everything}
    assert {row["status"] for row in _rows(client, status="failed,running")} == {"failed", "running"}
    assert {row["status"] for row in _rows(client, status=["failed", "running"])} == {"failed", "running"}
    body = client.get("/api/leaderboard", params={"status": "any"}).json()
    assert body["status"] == "any"
    assert all(board["considered"] >= board["completed"] for board in body["boards"])
    assert all(isinstance(row["best_epoch"], int) for row in everything)


@pytest.mark.parametrize("status", ["finished", "any,failed", ""])
def test_a_bad_status_is_a_400_naming_it(client: TestClient, status: str) -> None:
    response = client.get("/api/leaderboard", params={"status": status})
    if status == "":  # nothing typed: the default board
        assert response.status_code == 200 and response.json()["status"] == "completed"
        return
    assert response.status_code == 400 and "status" in response.json()["error"]


def test_each_row_says_whether_its_best_checkpoint_verifies(tracker: Tracker, tmp_path: Path) -> None:
    states = {}
    for name, fate in [("kept", "ok"), ("deleted", "missing"), ("edited", "changed"), ("none", None)]:
        exp_id = tracker.create_experiment(name, 1)
        tracker.log_epoch(exp_id, 0, {"val_loss": 0.5})
        if fate is not None:
            path = tmp_path / f"{name}.pt"
            path.write_bytes(b"weights")
            tracker.save_checkpoint_info(exp_id, 0, {}, {"path": str(path)}, is_best=True)
            if fate == "missing":
                path.unlink()
            elif fate == "changed":
                path.write_bytes(b"other weights")
        tracker.update_experiment_status(exp_id, "failed")
        states[exp_id] = fate
    with TestClient(create_app(tracker), base_url="http://127.0.0.1") as client:
        assert {row["id"]: row["checkpoint"] for row in _rows(client, status="failed")} == states


@pytest.mark.browser
def test_the_runs_toggle_ranks_unfinished_runs(page: Any, live_server: LiveServer, demo: Demo) -> None:
    page.goto(live_server.url + "/leaderboard?n=50")
    page.wait_for_selector(".board tbody tr", timeout=WAIT)
    statuses = page.eval_on_selector_all(".board tbody tr", "els => els.map(e => e.dataset.status)")
    assert set(statuses) == {"completed"}
    page.select_option("#status", "any")
    page.wait_for_url("**status=any**", timeout=WAIT)
    page.wait_for_selector(f'.board tbody tr[data-id="{demo.running}"]', timeout=WAIT)
    running = page.locator(f'.board tbody tr[data-id="{demo.running}"]')
    cell, board = page.locator(".board td.checkpoint").first.bounding_box(), page.locator(".board").first.bounding_box()
    assert cell["x"] + cell["width"] <= board["x"] + board["width"]  # the column fits: no scrolling to it
    assert "running" in running.locator("td.status").inner_text()
    cells = page.eval_on_selector_all(".board td.checkpoint", "els => els.map(e => e.innerText.trim())")
    assert cells and set(cells) <= {"ok", "missing", "changed", "unchecked", "—"} and "ok" in cells
    assert "any status" in page.inner_text("#board-sub")
    page.goto(live_server.url + "/leaderboard?status=failed,stopped")  # a link's own choice is kept
    page.wait_for_selector(f'.board tbody tr[data-id="{demo.failed}"]', timeout=WAIT)
    assert page.eval_on_selector("#status", "e => e.value") == "failed,stopped"
    assert set(page.eval_on_selector_all(".board tbody tr", "els => els.map(e => e.dataset.status)")) <= {
        "failed", "stopped"}
    assert not page.js_errors


def test_a_running_run_without_a_heartbeat_is_stale_by_its_latest_epoch(tracker: Tracker) -> None:
    """Runs the seed's code left `running` have no heartbeat: the leaderboard's stale badge reads their epochs."""
    import datetime as dt

    from bson import ObjectId

    from epochlog.schema import EPOCHS, EXPERIMENTS
    from epochlog.store.base import Put

    now = dt.datetime.now(dt.timezone.utc)
    ids = {}
    for name, last_epoch in [("lively", now), ("silent", now - dt.timedelta(days=3))]:
        eid = ObjectId()
        tracker.store.write([
            Put(EXPERIMENTS, {"_id": eid, "experiment_name": name, "challenge": 1, "status": "running",
                              "start_time": now - dt.timedelta(days=4), "metrics": {"best_val_loss": 0.5}}),
            Put(EPOCHS, {"_id": ObjectId(), "experiment_id": eid, "epoch": 0, "metrics": {"val_loss": 0.5},
                         "timestamp": last_epoch})])
        ids[name] = str(eid)
    with TestClient(create_app(tracker), base_url="http://127.0.0.1") as client:
        stale = {row["id"]: row["stale"] for row in _rows(client, status="running")}
    assert stale == {ids["lively"]: False, ids["silent"]: True}


def test_archived_runs_neither_rank_nor_count(tracker: Tracker) -> None:
    """The board's counts choose runs as its rows do (experiment_filter), in the dashboard and in `epochlog best`."""
    import math

    from typer.testing import CliRunner

    from epochlog.cli import app

    ids = {}
    for name, loss in [("archived", 0.1), ("kept", 0.2), ("diverged", math.nan)]:
        ids[name] = tracker.create_experiment(name, 1, metrics={"best_val_loss": loss})
        tracker.update_experiment_status(ids[name], "completed")
    tracker.archive_experiments([ids["archived"]])
    with TestClient(create_app(tracker), base_url="http://127.0.0.1") as client:
        [board] = client.get("/api/leaderboard", params={"challenge": 1}).json()["boards"]
    assert [row["id"] for row in board["rows"]] == [str(ids["kept"])]
    assert (board["completed"], board["considered"], board["ranked"]) == (2, 2, 1)
    result = CliRunner().invoke(app, ["best", "--json", "--uri", tracker.store.uri])
    assert result.exit_code == 0 and str(ids["archived"]) not in result.stdout and str(ids["kept"]) in result.stdout
