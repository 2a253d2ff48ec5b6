"""The dashboard in real headless Chromium, on the demo study served over HTTP."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from epochlog import Tracker
from epochlog.store.sqlite import SQLiteStore
from epochlog.web import create_app, listing

from .conftest import TOKEN, Demo, LiveServer

pytestmark = pytest.mark.browser
WAIT = 15_000  # ms: the longest any page element may take to appear


def chart_points(page: Any, selector: str) -> list[int]:
    """How many data points each chart under `selector` holds."""
    return page.eval_on_selector_all(f"{selector} .chart", "els => els.map(e => Number(e.dataset.points))")


def canvases_drawn(page: Any, selector: str) -> bool:
    """Whether every chart's canvas has coloured (non-white, non-transparent) pixels: curves were drawn."""
    return page.eval_on_selector_all(f"{selector} .chart canvas", """els => els.length > 0 && els.every(c => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let coloured = 0;
        for (let i = 0; i < d.length; i += 4) {
            const [r, g, b, a] = [d[i], d[i + 1], d[i + 2], d[i + 3]];
            if (a > 0 && Math.max(r, g, b) - Math.min(r, g, b) > 60) coloured++;
        }
        return coloured > 50;
    })""")


def test_a_count_past_its_limit_reads_as_a_lower_bound(page: Any, live_server: LiveServer,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(listing, "COUNT_LIMIT", 3)
    page.goto(live_server.url + "/?limit=10")
    page.wait_for_selector("#experiments tbody tr", timeout=WAIT)
    assert page.inner_text("#summary-line").startswith("11+ experiments")
    assert page.inner_text("#range") == "1–10 of 11+" and page.is_enabled("#next")


def test_experiments_page_sorts_filters_and_leads_to_compare(page: Any, live_server: LiveServer, demo: Demo) -> None:
    page.goto(live_server.url + "/")
    page.wait_for_selector("#experiments tbody tr", timeout=WAIT)
    assert page.locator("#experiments tbody tr").count() == len(demo.ids)
    assert page.locator("#experiments tbody .badge.running").count() == 1
    assert "24 experiments" in page.inner_text("#summary-line")

    page.click("#experiments th[data-sort='metrics.best_val_loss']")
    page.wait_for_url("**sort=metrics.best_val_loss**", timeout=WAIT)
    page.wait_for_function("() => document.querySelector('#experiments th[aria-sort]')?.dataset.sort === "
                           "'metrics.best_val_loss'", timeout=WAIT)

    page.select_option("#f-challenge", "2")
    page.wait_for_url("**challenge=2**", timeout=WAIT)
    page.wait_for_function("() => document.querySelectorAll('#experiments tbody tr').length === 12", timeout=WAIT)

    page.fill("#f-filter", '{"status": {"$bogus": 1}}')
    page.click("#filters button[type=submit]")
    page.wait_for_selector("#filter-error:not([hidden])", timeout=WAIT)
    assert "$bogus" in page.inner_text("#filter-error")
    page.click("#reset")
    page.wait_for_function("() => document.querySelectorAll('#experiments tbody tr').length === 24", timeout=WAIT)
    assert page.is_hidden("#filter-error")

    rows = page.locator("#experiments tbody tr")
    for index in range(3):
        rows.nth(index).locator("input[type=checkbox]").check()
    assert page.inner_text("#compare") == "Compare 3"
    page.click("#compare")
    page.wait_for_url("**/compare?ids=**", timeout=WAIT)
    page.wait_for_selector("#curves .chart", timeout=WAIT)
    page.wait_for_function("() => [...document.querySelectorAll('#curves .chart')]"
                           ".some(c => Number(c.dataset.points) > 0)", timeout=WAIT)
    assert page.locator("#legend .chip").count() == 3
    assert page.locator("#config tr.differs").count() > 0
    assert "equal key" in page.inner_text("#config")
    assert canvases_drawn(page, "#curves")
    assert not page.js_errors


def test_experiment_page_draws_curves_checkpoints_and_config(page: Any, live_server: LiveServer, demo: Demo) -> None:
    with_series = next(i for i in demo.completed if demo.tracker.get_metric_names(i))
    page.goto(f"{live_server.url}/experiments/{with_series}")
    page.wait_for_selector("#epoch-charts .chart", timeout=WAIT)
    page.wait_for_function("() => [...document.querySelectorAll('.chart')].every(c => Number(c.dataset.points) > 0)",
                           timeout=WAIT)
    keys = page.eval_on_selector_all("#epoch-charts .chart", "els => els.map(e => e.dataset.key)")
    assert "loss" in keys and "learning_rate" in keys  # train_loss and val_loss share a chart
    assert all(points >= 30 for points in chart_points(page, "#epoch-charts"))
    series_points = chart_points(page, "#series-charts")
    assert series_points and 0 < series_points[0] <= 2000  # 3,600 batch losses, downsampled by the server
    assert canvases_drawn(page, "#epoch-charts")

    page.wait_for_selector("#checkpoint-table", timeout=WAIT)
    assert page.locator("#checkpoint-table .badge.best").count() == 1
    assert page.locator("#checkpoint-table .badge.ok").count() == page.locator("#checkpoint-table tbody tr").count()
    assert "learning_rate" in page.inner_text("#config-tree")
    assert page.locator("#summary .metric").count() >= 3

    page.locator("#epoch-charts .chart").first.locator("input[type=checkbox]").check()  # log scale
    assert canvases_drawn(page, "#epoch-charts")
    assert not page.js_errors


def test_zooming_a_step_series_refines_it_on_the_server(tmp_path: Any, browser: Any) -> None:
    tracker = Tracker(store=SQLiteStore(tmp_path / "big.db"))
    eid = tracker.create_experiment("big series", 1)
    steps = np.arange(200_000, dtype=np.int64)
    tracker.log_metric_series(eid, "loss", steps, np.cos(steps / 1000.0))
    tracker.update_experiment_status(eid, "completed")
    with LiveServer(create_app(tracker)) as server:
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.goto(f"{server.url}/experiments/{eid}")
        page.wait_for_function("() => Number(document.querySelector('#series-charts .chart')?.dataset.points) > 0",
                               timeout=WAIT)
        assert chart_points(page, "#series-charts")[0] <= 2000
        box = page.locator("#series-charts .u-over").bounding_box()
        with page.expect_response(lambda response: "start=" in response.url and "end=" in response.url,
                                  timeout=WAIT) as refined:
            page.mouse.move(box["x"] + box["width"] * 0.40, box["y"] + box["height"] / 2)
            page.mouse.down()
            page.mouse.move(box["x"] + box["width"] * 0.42, box["y"] + box["height"] / 2, steps=5)
            page.mouse.up()
        body = refined.value.json()
        assert 0 < body["count"] < 20_000 and len(body["steps"]) <= 2000
        assert 70_000 < body["steps"][0] < body["steps"][-1] < 95_000
        page.close()
    tracker.close()


def test_a_running_experiment_updates_live(page: Any, live_server: LiveServer, demo: Demo) -> None:
    page.goto(f"{live_server.url}/experiments/{demo.running}")
    page.wait_for_selector("#live:not([hidden])", timeout=WAIT)
    page.wait_for_function("() => Number(document.querySelector('#epoch-charts .chart')?.dataset.points) > 0",
                           timeout=WAIT)
    before = chart_points(page, "#epoch-charts")
    last = demo.tracker.get_experiment_history(demo.running)["epochs"][-1]["epoch"]
    writer = Tracker(demo.path)  # another connection, as a training process would have
    try:
        writer.log_epoch(demo.running, last + 1, {"train_loss": 0.91, "val_loss": 0.97, "learning_rate": 1e-4,
                                                  "val_nrmse": 0.99, "val_accuracy": 0.7})
        page.wait_for_function(
            f"() => Number(document.querySelector('#epoch-charts .chart').dataset.points) > {before[0]}", timeout=WAIT)
        requests = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
        assert any(f"/epochs?after={last}" in url for url in requests)  # only what the page lacked
        writer.update_experiment_status(demo.running, "completed")
        page.wait_for_selector("#live[hidden]", state="attached", timeout=WAIT)
        page.wait_for_selector("#badges .badge.completed", timeout=WAIT)
    finally:
        writer.update_experiment_status(demo.running, "running")
        writer.close()
    assert not page.js_errors


def test_leaderboard_and_subjects_pages(page: Any, live_server: LiveServer, demo: Demo) -> None:
    page.goto(live_server.url + "/leaderboard")
    page.wait_for_selector(".board tbody tr", timeout=WAIT)
    assert page.locator(".board").count() == 2
    names = page.eval_on_selector_all(".board td.name a", "els => els.map(a => a.getAttribute('href'))")
    assert f"/experiments/{demo.diverged}" not in names
    assert "without a finite value excluded" in page.inner_text("#boards")
    page.select_option("#metric", "metrics.best_val_accuracy")
    page.wait_for_url("**metric=metrics.best_val_accuracy**mode=max**", timeout=WAIT)

    page.goto(live_server.url + "/subjects")
    page.wait_for_selector("#breakdown-table tbody tr", timeout=WAIT)
    page.wait_for_selector("#subjects tbody tr", timeout=WAIT)
    assert page.locator("#subjects tbody tr").count() == 48
    page.select_option("#b-by", "sex")
    page.wait_for_function("() => document.querySelector('#breakdown-table th').textContent === 'sex'", timeout=WAIT)
    assert page.locator("#breakdown-table tbody tr").count() == 2
    assert not page.js_errors


def test_hostile_names_render_as_text(tmp_path: Any, browser: Any) -> None:
    tracker = Tracker(store=SQLiteStore(tmp_path / "xss.db"))
    name = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    first = tracker.create_experiment(name, 1, tags=["<b>t</b>"], config={"x": "<i>y</i>"}, notes="<u>n</u>")
    second = tracker.create_experiment("plain", 1, config={"x": "z"})
    for eid in (first, second):
        tracker.log_epoch(eid, 0, {"<svg onload=alert(3)>": 1.0})
    with LiveServer(create_app(tracker)) as server:
        page = browser.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        for path in ["/", f"/experiments/{first}", f"/compare?ids={first},{second}"]:
            page.goto(server.url + path)
            page.wait_for_load_state("networkidle")
            assert name in page.inner_text("body"), path
            assert page.locator("main script, main img, main b, main i, main u, main svg[onload]").count() == 0
        assert dialogs == []
        page.close()
    tracker.close()


def test_compare_page_updates_live(page: Any, live_server: LiveServer, demo: Demo) -> None:
    page.goto(f"{live_server.url}/compare?ids={demo.running},{demo.completed[0]}")
    page.wait_for_selector("#live:not([hidden])", timeout=WAIT)
    chart = "#curves .chart[data-key='val_loss']"
    page.wait_for_function(f"() => Number(document.querySelector(\"{chart}\")?.dataset.points) > 0", timeout=WAIT)
    before = int(page.get_attribute(chart, "data-points"))
    last = demo.tracker.get_experiment_history(demo.running)["epochs"][-1]["epoch"]
    writer = Tracker(demo.path)
    try:
        writer.log_epoch(demo.running, last + 1, {"train_loss": 0.9, "val_loss": 0.96})
        page.wait_for_function(f"() => Number(document.querySelector(\"{chart}\").dataset.points) > {before}",
                               timeout=WAIT)
    finally:
        writer.close()
    assert not page.js_errors


def test_compare_page_follows_the_step_series_of_a_running_experiment(page: Any, live_server: LiveServer,
                                                                      demo: Demo) -> None:
    page.goto(f"{live_server.url}/compare?ids={demo.running},{demo.completed[0]}")
    page.wait_for_selector("#live:not([hidden])", timeout=WAIT)
    chart = "#series-curves .chart[data-key='live_batch_loss']"
    writer = Tracker(demo.path)
    try:
        writer.log_metric_series(demo.running, "live_batch_loss", np.arange(50), np.linspace(1.0, 0.5, 50))
        writer.flush()
        page.wait_for_function(f"() => Number(document.querySelector(\"{chart}\")?.dataset.points) >= 50",
                               timeout=WAIT)  # a series that began after the page opened gets its chart
        writer.log_metric_series(demo.running, "live_batch_loss", np.arange(50, 80), np.linspace(0.5, 0.4, 30))
        writer.flush()
        page.wait_for_function(f"() => Number(document.querySelector(\"{chart}\").dataset.points) >= 80",
                               timeout=WAIT)  # and its new points
    finally:
        writer.close()
    assert not page.js_errors


def test_notes_and_tags_are_editable_behind_a_token(tmp_path: Any, browser: Any) -> None:
    tracker = Tracker(store=SQLiteStore(tmp_path / "edit.db"))
    eid = tracker.create_experiment("editable", 1, tags=["old"])
    with LiveServer(create_app(tracker, token=TOKEN)) as server:
        page = browser.new_page()
        page.goto(f"{server.url}/experiments/{eid}")
        assert page.locator("input[name=token]").count() == 1  # the sign-in form
        page.fill("input[name=token]", TOKEN)
        page.click("button[type=submit]")
        page.wait_for_selector("#new-tag", timeout=WAIT)
        assert page.inner_text("#mode") == "editing enabled"
        page.fill("#new-tag", "<b>new</b>")
        page.press("#new-tag", "Enter")
        page.wait_for_function("() => document.querySelector('#tag-list').textContent.includes('<b>new</b>')",
                               timeout=WAIT)
        page.click("#tag-list button[aria-label='remove old']")
        page.wait_for_function("() => !document.querySelector('#tag-list').textContent.includes('old')",
                               timeout=WAIT)
        page.fill("#notes-input", "lr too high")
        page.click("text=Save notes")
        page.wait_for_selector("text=saved", timeout=WAIT)
        page.close()
    document = tracker.get_experiment(eid)
    assert document["tags"] == ["<b>new</b>"] and document["notes"] == "lr too high"
    tracker.close()


def test_archive_from_the_experiment_page_hides_the_run_until_shown_or_restored(tmp_path: Any, browser: Any) -> None:
    tracker = Tracker(store=SQLiteStore(tmp_path / "archive.db"))
    eid = tracker.create_experiment("to-archive", 1)
    tracker.create_experiment("kept", 1)
    with LiveServer(create_app(tracker, token=TOKEN)) as server:
        page = browser.new_page()
        page.goto(f"{server.url}/experiments/{eid}")
        page.fill("input[name=token]", TOKEN)
        page.click("button[type=submit]")
        page.wait_for_selector("#archive:not([hidden])", timeout=WAIT)
        page.click("#archive")
        page.wait_for_selector("#badges .badge.archived", timeout=WAIT)
        assert page.inner_text("#archive") == "Restore"
        assert tracker.get_experiment(eid)["archived"] is True

        page.goto(f"{server.url}/")
        page.wait_for_selector("#experiments tbody tr", timeout=WAIT)
        assert page.inner_text("#experiments tbody").count("to-archive") == 0
        page.check("#f-archived")
        page.wait_for_url("**archived=1**", timeout=WAIT)
        page.wait_for_function("() => document.querySelectorAll('#experiments tbody tr').length === 2", timeout=WAIT)
        assert page.locator("#experiments tbody .badge.archived").count() == 1

        page.goto(f"{server.url}/experiments/{eid}")
        page.wait_for_selector("#archive:not([hidden])", timeout=WAIT)
        page.click("#archive")
        page.wait_for_function("() => !document.querySelector('#badges .badge.archived')", timeout=WAIT)
        page.close()
    assert "archived" not in tracker.get_experiment(eid)
    tracker.close()
