"""`epochlog ui --watch`: the dashboard's own watcher alerts while it serves, on every backend, and stops with it."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable

from epochlog import Tracker
from epochlog.alerts import WatchSettings, Webhook
from epochlog.web import create_app
from tests.alerts.helpers import check_payload
from tests.alerts.receivers import TOKEN, Receiver
from tests.web.conftest import LiveServer


def test_the_dashboard_alerts_while_it_serves_and_stops_with_it(tracker: Tracker,
                                                                receiver: Callable[..., Receiver]) -> None:
    hook = receiver()
    webhook = Webhook(hook.url)
    watch = WatchSettings((webhook,), interval=0.05)
    with LiveServer(create_app(tracker, watch=watch)) as server:
        with urllib.request.urlopen(f"{server.url}/api/status") as response:
            status = json.load(response)
        assert status["alerting"] == [webhook.label] and TOKEN not in json.dumps(status)
        time.sleep(0.2)  # the first pass marks when the store was first watched
        run = tracker.create_experiment("broken", 1, capture=False)
        tracker.update_experiment_status(run, "failed", error={"type": "ValueError", "message": "boom"})
        hook.wait_for("payloads", 1)
        check_payload(hook.payloads[0], "failed", run)
    later = tracker.create_experiment("after the dashboard", 1, capture=False)
    tracker.update_experiment_status(later, "failed")
    time.sleep(0.5)  # a watcher still running would have posted it by now
    assert [payload["key"] for payload in hook.payloads] == [f"failed:{run}"]


def test_a_dashboard_without_watch_alerts_nothing(tracker: Tracker) -> None:
    with LiveServer(create_app(tracker)) as server:
        with urllib.request.urlopen(f"{server.url}/api/status") as response:
            assert json.load(response)["alerting"] == []
