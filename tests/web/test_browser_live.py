"""In Chromium: a running experiment followed by server-sent events, or by polling past the stream limit;
the experiments table filtered with `$expr` and showing a computed column."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from bson import ObjectId

from epochlog import Tracker
from epochlog.schema import EXPERIMENTS
from epochlog.store import Put
from epochlog.web import create_app

from .conftest import LiveServer

pytestmark = pytest.mark.browser
WAIT = 15_000
EPOCHS_POLL = "/epochs?after="


def running_experiment(tracker: Tracker) -> str:
    """A run with three epochs of two losses: six points on the page's loss chart."""
    eid = tracker.create_experiment("live", 1)
    for epoch in range(3):
        tracker.log_epoch(eid, epoch, {"train_loss": 1.0 - epoch / 10, "val_loss": 1.1 - epoch / 10})
    return eid


def record_requests(page: Any) -> list[Any]:
    requests: list[Any] = []
    page.on("request", lambda request: requests.append(request))
    return requests


def test_a_running_experiment_is_followed_by_server_sent_events(tmp_path: Path, page: Any, tracker: Tracker) -> None:
    eid = running_experiment(tracker)
    with LiveServer(create_app(tracker)) as server:
        requests = record_requests(page)
        page.goto(f"{server.url}/experiments/{eid}")
        page.wait_for_selector("#live:not([hidden])", timeout=WAIT)
        page.wait_for_function("() => Number(document.querySelector('#epoch-charts .chart')?.dataset.points) === 6",
                               timeout=WAIT)
        streams = [r for r in requests if r.resource_type == "eventsource"]
        assert [r.url for r in streams] == [f"{server.url}/api/experiments/{eid}/events"]
        page.wait_for_timeout(1000)  # the catch-up read when the stream opened is over
        polled = sum(EPOCHS_POLL in r.url for r in requests)
        page.wait_for_timeout(3000)  # polling would have asked at least once by now
        assert sum(EPOCHS_POLL in r.url for r in requests) == polled

        writer = Tracker(tmp_path / "epochlog.db")  # the training process
        writer.log_epoch(eid, 3, {"train_loss": 0.6, "val_loss": 0.7})
        page.wait_for_function("() => Number(document.querySelector('#epoch-charts .chart').dataset.points) === 8",
                               timeout=WAIT)
        assert any(r.url.endswith(f"{EPOCHS_POLL}2") for r in requests)  # only what the page lacked
        writer.log_metric_series(eid, "batch_loss", [0, 1, 2], [0.9, 0.8, 0.7])
        page.wait_for_selector("#series-charts .chart[data-key='batch_loss'][data-points='3']", timeout=WAIT)
        writer.update_experiment_status(eid, "completed")
        page.wait_for_selector("#badges .badge.completed", timeout=WAIT)
        page.wait_for_selector("#live", state="hidden", timeout=WAIT)
        writer.close()
        assert len([r for r in requests if r.resource_type == "eventsource"]) == 1  # never reopened
    assert not page.js_errors


def test_past_the_stream_limit_the_page_polls(tmp_path: Path, page: Any, tracker: Tracker) -> None:
    eid = running_experiment(tracker)
    with LiveServer(create_app(tracker, max_streams=0)) as server:
        refused: list[int] = []
        page.on("response", lambda r: refused.append(r.status) if r.url.endswith("/events") else None)
        requests = record_requests(page)
        page.goto(f"{server.url}/experiments/{eid}")
        page.wait_for_function("() => Number(document.querySelector('#epoch-charts .chart')?.dataset.points) === 6",
                               timeout=WAIT)
        writer = Tracker(tmp_path / "epochlog.db")
        writer.log_epoch(eid, 3, {"train_loss": 0.6, "val_loss": 0.7})
        page.wait_for_function("() => Number(document.querySelector('#epoch-charts .chart').dataset.points) === 8",
                               timeout=WAIT)
        writer.close()
        assert refused == [503]
        assert sum(EPOCHS_POLL in r.url for r in requests) >= 2  # the first view, then polls every 2 s
    assert not page.js_errors


# -- $expr and a computed column ------------------------------------------------------------------

GAP = {"$subtract": ["$metrics.best_val_loss", "$metrics.best_train_loss"]}


def study(tracker: Tracker) -> None:
    """Runs whose validation loss is below, above or beside the training loss, and odd documents."""
    start = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    documents = [("under", {"best_val_loss": 0.5, "best_train_loss": 0.75}),
                 ("over", {"best_val_loss": 0.75, "best_train_loss": 0.5}),
                 ("text", {"best_val_loss": "n/a", "best_train_loss": 0.5}),
                 ("missing", {"best_train_loss": 0.5}),
                 ("no-metrics", None)]
    tracker.store.write([Put(EXPERIMENTS, {"_id": ObjectId(), "experiment_name": name, "challenge": 1,
                                           "status": "completed", "start_time": start + dt.timedelta(minutes=index),
                                           **({} if metrics is None else {"metrics": metrics})})
                         for index, (name, metrics) in enumerate(documents)])


def table(page: Any) -> dict[str, str]:
    """Name -> the computed column's text, for the rows shown."""
    return dict(page.eval_on_selector_all("#experiments tbody tr", """rows => rows.map(r => [
        r.querySelector('td.name').textContent, r.querySelector('td.computed')?.textContent ?? null])"""))


def test_the_filter_box_takes_expr(page: Any, tracker: Tracker) -> None:
    study(tracker)
    with LiveServer(create_app(tracker)) as server:
        page.goto(server.url + "/")
        page.wait_for_selector("#experiments tbody tr", timeout=WAIT)
        assert len(table(page)) == 5
        page.fill("#f-filter", json.dumps({"$expr": {"$lt": ["$metrics.best_val_loss", "$metrics.best_train_loss"]}}))
        page.click("#filters button[type=submit]")
        page.wait_for_function("() => document.querySelectorAll('#experiments tbody tr').length === 2", timeout=WAIT)
        assert sorted(table(page)) == ["missing", "under"]  # as in MongoDB, missing sorts below every number
        assert page.is_hidden("#filter-error")
    assert not page.js_errors


def test_a_computed_column_is_evaluated_on_the_server_and_kept_in_the_url(page: Any, tracker: Tracker) -> None:
    study(tracker)
    with LiveServer(create_app(tracker)) as server:
        page.goto(server.url + "/")
        page.wait_for_selector("#experiments tbody tr", timeout=WAIT)
        page.fill("#f-cname", "gap")
        page.fill("#f-compute", json.dumps(GAP))
        page.click("#filters button[type=submit]")
        page.wait_for_selector("#experiments th.computed", timeout=WAIT)
        assert page.inner_text("#experiments th.computed").strip() == "gap"
        expected = {"under": "-0.25", "over": "0.25", "text": "—", "missing": "—", "no-metrics": "—"}
        assert table(page) == expected
        assert "compute=" in page.url and "cname=gap" in page.url

        page.reload()  # the first page comes inside the HTML, computed there too
        page.wait_for_selector("#experiments th.computed", timeout=WAIT)
        assert table(page) == expected and page.input_value("#f-cname") == "gap"

        page.fill("#f-compute", json.dumps({"$function": {"body": "x", "args": [], "lang": "js"}}))
        page.click("#filters button[type=submit]")
        page.wait_for_selector("#compute-error:not([hidden])", timeout=WAIT)
        assert "$function" in page.inner_text("#compute-error")
        assert page.is_hidden("#filter-error")

        page.fill("#f-compute", json.dumps({"$nosuch": 1}))
        page.click("#filters button[type=submit]")
        page.wait_for_function("() => document.querySelector('#compute-error').textContent.includes('$nosuch')",
                               timeout=WAIT)
        page.fill("#f-compute", json.dumps({"$add": ["$metrics.best_train_loss", 1]}))
        page.click("#filters button[type=submit]")
        page.wait_for_selector("#compute-error", state="hidden", timeout=WAIT)
        assert table(page)["over"] == "1.5"
    assert not page.js_errors


def test_the_computed_column_sorts_the_table(page: Any, tracker: Tracker) -> None:
    study(tracker)
    with LiveServer(create_app(tracker)) as server:
        page.goto(server.url + "/?" + urlencode({"compute": json.dumps(GAP), "cname": "gap"}))
        page.wait_for_selector("#experiments th.computed", timeout=WAIT)
        page.click("#experiments th.computed")
        page.wait_for_selector("#experiments th.computed[aria-sort=ascending]", timeout=WAIT)
        # MongoDB's order: null (what the rows without two numbers compute) before numbers, ties by _id
        assert list(table(page)) == ["text", "missing", "no-metrics", "under", "over"]
        assert "sort=%24computed" in page.url or "sort=$computed" in page.url
        page.click("#experiments th.computed")
        page.wait_for_selector("#experiments th.computed[aria-sort=descending]", timeout=WAIT)
        assert list(table(page)) == ["over", "under", "no-metrics", "missing", "text"]
        page.fill("#f-compute", "")  # no computed column left to sort by: the newest first again
        page.click("#filters button[type=submit]")
        page.wait_for_function("() => !document.querySelector('#experiments th.computed')", timeout=WAIT)
        assert list(table(page)) == ["no-metrics", "missing", "text", "over", "under"]
    assert not page.js_errors


def test_a_computed_sort_is_among_the_newest_matches_and_says_so(tracker: Tracker,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from epochlog.web import listing

    study(tracker)
    monkeypatch.setattr(listing, "COMPUTED_SORT_LIMIT", 3)
    with TestClient(create_app(tracker), base_url="http://127.0.0.1") as client:
        page = client.get("/api/experiments", params={"compute": json.dumps(GAP), "sort": "$computed",
                                                      "order": 1}).json()
        assert [row["experiment_name"] for row in page["rows"]] == ["text", "missing", "no-metrics"]
        assert page["sorted_within"] == 3 and page["total"] == 5  # the three newest; the oldest two not among them
        refused = client.get("/api/experiments", params={"sort": "$computed"})
        assert refused.status_code == 400 and "computed column" in refused.json()["error"]
