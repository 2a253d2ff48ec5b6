"""The explore page: a scatter plot and parallel coordinates over any filter; brushing selects runs to compare."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from epochlog import Tracker
from epochlog.store.sqlite import SQLiteStore
from epochlog.web import create_app

from .conftest import LiveServer

WAIT = 15_000


def _sweep(tracker: Tracker) -> list[str]:
    """Eight completed runs over learning rates 1e-4..1e-1 and two optimizers, plus a NaN one and an archived one."""
    ids = []
    for index, lr in enumerate([1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 2e-1]):
        eid = tracker.create_experiment(f"run{index}", 1, config={"lr": lr, "optimizer": ["adam", "sgd"][index % 2],
                                                                  "batch_size": 16 * (1 + index % 3)})
        tracker.update_experiment_status(eid, "completed", metrics={"best_val_loss": 0.3 + abs(math.log10(lr) + 2.5) / 10})
        ids.append(eid)
    nan = tracker.create_experiment("diverged", 1, config={"lr": 1.0, "optimizer": "sgd"})
    tracker.update_experiment_status(nan, "completed", metrics={"best_val_loss": math.nan})
    hidden = tracker.create_experiment("hidden", 1, config={"lr": 0.5})
    tracker.archive_experiments([hidden])
    return ids


def test_explore_api_gives_values_and_leaves_out_what_cannot_be_plotted(tracker: Tracker) -> None:
    _sweep(tracker)
    with TestClient(create_app(tracker), base_url="http://127.0.0.1") as client:
        answer = client.get("/api/explore", params={"fields": "config.lr,metrics.best_val_loss,config.optimizer"}).json()
        assert answer["fields"] == ["config.lr", "metrics.best_val_loss", "config.optimizer"]
        assert answer["total"] == 9 and len(answer["rows"]) == 9  # the archived run is not explored
        by_name = {row["name"]: row["values"] for row in answer["rows"]}
        assert by_name["run0"] == [1e-4, pytest.approx(0.45), "adam"] and by_name["diverged"][1] is None
        filtered = client.get("/api/explore", params={"fields": "config.lr", "filter": '{"config.optimizer": "sgd"}'})
        assert len(filtered.json()["rows"]) == 5
        for params in [{"fields": ""}, {"fields": "$where"}, {"fields": "config.lr", "filter": "{bad"},
                       {"fields": ",".join(f"config.k{i}" for i in range(13))}]:
            assert client.get("/api/explore", params=params).status_code == 400, params


@pytest.mark.browser
def test_brushing_the_scatter_and_the_axes_selects_runs_for_compare(tmp_path: Path, browser: Any) -> None:
    tracker = Tracker(store=SQLiteStore(tmp_path / "explore.db"))
    _sweep(tracker)
    with LiveServer(create_app(tracker)) as server:
        page = browser.new_page(viewport={"width": 1200, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{server.url}/explore?x=config.lr&y=metrics.best_val_loss&logx=1"
                  "&dims=config.lr,config.optimizer,config.batch_size,metrics.best_val_loss")
        page.wait_for_selector("#scatter circle.dot", timeout=WAIT)
        assert page.locator("#scatter circle.dot").count() == 8  # the NaN run has no y
        assert "1 without both values" in page.inner_text("#scatter-meta")
        assert page.locator("#parallel polyline").count() == 8
        box = page.locator("#scatter svg").bounding_box()
        page.mouse.move(box["x"] + 60, box["y"] + 5)  # the left half, all heights: the smallest learning rates
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.45, box["y"] + box["height"] - 45, steps=5)
        page.mouse.up()
        picked = page.locator("#scatter circle.dot.picked").count()
        assert 2 <= picked <= 6 and page.inner_text("#selection") == f"{picked} selected"
        assert page.inner_text("#compare") == f"Compare {picked}"

        page.locator("#parallel svg").scroll_into_view_if_needed()
        axis = page.locator("#parallel .axis-hit").nth(1).bounding_box()  # optimizer: adam below, sgd above
        page.mouse.move(axis["x"] + axis["width"] / 2, axis["y"] + axis["height"] * 0.55)
        page.mouse.down()
        page.mouse.move(axis["x"] + axis["width"] / 2, axis["y"] + axis["height"] - 2, steps=5)
        page.mouse.up()
        page.wait_for_function("() => document.querySelectorAll('#parallel polyline.kept').length === 4", timeout=WAIT)
        assert page.inner_text("#selection") == "4 selected"
        page.click("#compare")
        page.wait_for_url("**/compare?ids=**", timeout=WAIT)
        page.wait_for_selector("#legend .chip", timeout=WAIT)
        assert page.locator("#legend .chip").count() == 4
        page.close()
    assert not errors
    tracker.close()
