"""The groups API and page: the same config over seeds, its statistics, and its mean curve with a band."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from epochlog import Tracker
from epochlog.store.sqlite import SQLiteStore
from epochlog.web import create_app

from .conftest import LiveServer

WAIT = 15_000


def _seeds(tracker: Tracker) -> None:
    """lr 0.01 and 0.001, three seeds each, five epochs; one more 0.01 run diverged (NaN)."""
    for lr, offset in ((0.01, 0.0), (0.001, 0.2)):
        for seed in range(3):
            eid = tracker.create_experiment(f"lr{lr}-s{seed}", 1, config={"lr": lr, "seed": seed})
            for epoch in range(5):
                tracker.log_epoch(eid, epoch, {"val_loss": 1.0 / (epoch + 1) + offset + seed / 100})
            tracker.update_experiment_status(eid, "completed")
    eid = tracker.create_experiment("diverged", 1, config={"lr": 0.01, "seed": 9})
    tracker.update_experiment_status(eid, "completed", metrics={"best_val_loss": float("nan")})


@pytest.fixture
def seeded(tracker: Tracker) -> Tracker:
    _seeds(tracker)
    return tracker


def test_groups_api(seeded: Tracker) -> None:
    with TestClient(create_app(seeded), base_url="http://127.0.0.1") as client:
        answer = client.get("/api/groups", params={"except": "seed"}).json()
        assert answer["total"] == 2
        first, second = answer["groups"]
        assert first["group"] == {"config": {"lr": 0.01}} and first["n"] == 3 and first["excluded"] == 1
        assert first["mean"] == pytest.approx(0.2 + 0.01) and first["best"]["experiment_name"] == "lr0.01-s0"
        assert first["ci95_low"] < first["mean"] < first["ci95_high"] and second["mean"] > first["mean"]
        curve = client.get("/api/groups/curve", params={"ids": ",".join(first["experiment_ids"]),
                                                        "metric": "val_loss"}).json()
        assert curve["epochs"] == [0, 1, 2, 3, 4] and curve["n"] == [3] * 5
        assert curve["mean"][0] == pytest.approx(1.01) and curve["min"][0] == pytest.approx(1.0)
        assert curve["max"][0] == pytest.approx(1.02) and curve["sd"][0] == pytest.approx(0.01)
        by_lr = client.get("/api/groups", params={"by": "config.lr", "mode": "max"}).json()
        assert [g["group"]["config.lr"] for g in by_lr["groups"]] == [0.001, 0.01]
        for params, culprit in [({}, "say how to group"), ({"by": "config.lr", "except": "seed"}, "not both"),
                                ({"by": "$where"}, "by"), ({"except": "seed", "filter": "{bad"}, "filter"),
                                ({"except": "seed", "status": "done"}, "done")]:
            response = client.get("/api/groups", params=params)
            assert response.status_code == 400 and culprit in response.json()["error"], params
        refused = client.get("/api/groups/curve", params={"ids": "nope", "metric": "val_loss"})
        assert refused.status_code == 400
        assert client.get("/api/groups/curve", params={"ids": first["experiment_ids"][0],
                                                       "metric": "a.b"}).status_code == 400


@pytest.mark.browser
def test_groups_page_draws_a_groups_mean_curve_with_its_band(tmp_path: Path, browser: Any) -> None:
    tracker = Tracker(store=SQLiteStore(tmp_path / "groups.db"))
    _seeds(tracker)
    with LiveServer(create_app(tracker)) as server:
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{server.url}/groups")
        page.wait_for_selector("#groups-table tbody tr", timeout=WAIT)
        rows = page.locator("#groups-table tbody tr")
        assert rows.count() == 2
        assert "0.01" in rows.nth(0).inner_text() and "lr0.01-s0" in rows.nth(0).inner_text()
        headers = page.inner_text("#groups-table thead")
        assert "lr" in headers and "seed" not in headers  # only the key that differs between groups
        rows.nth(1).locator("td").first.click()
        page.wait_for_function("() => Number(document.querySelector('#curve-chart .chart')?.dataset.points) === 15",
                               timeout=WAIT)  # mean, upper and lower at five epochs
        assert "3 runs" in page.inner_text("#curve-title")
        page.select_option("#band", "range")
        page.wait_for_function("() => document.querySelector('#curve-chart .chart')", timeout=WAIT)
        page.select_option("#kind", "by")
        page.fill("#keys", "config.lr")
        page.click("#controls button[type=submit]")
        page.wait_for_url("**by=config.lr**", timeout=WAIT)
        page.wait_for_function("() => document.querySelectorAll('#groups-table tbody tr').length === 2", timeout=WAIT)
        page.close()
    assert not errors
    tracker.close()
