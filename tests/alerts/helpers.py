"""Building watchers and checking the payloads they send."""

from __future__ import annotations

import datetime as dt
from typing import Any

from epochlog import Tracker
from epochlog.alerts import Leaderboard, Retry, Watcher, Webhook
from epochlog.alerts.state import WATCH_KEY, alert_id
from epochlog.documents import utcnow
from epochlog.schema import ALERTS
from epochlog.store.base import Put

FAST = Retry(attempts=4, first=0.01, factor=2.0, cap=0.05)
EXPERIMENT_KEYS = {"id", "name", "status", "challenge", "host"}
DETAILS = {
    "failed": {"error", "end_time"},
    "stale": {"last_seen", "stale_after", "marked_failed"},
    "nan": {"metric", "value", "epoch"},
    "leader": {"board", "metric", "mode", "value", "runner_up"},
}


def watcher(tracker: Tracker, *urls: str, stale_after: float = 3600.0, boards: tuple[str, ...] = ("best_val_loss",),
            retry: Retry = FAST) -> Watcher:
    return Watcher(tracker, [Webhook(url) for url in urls], stale_after=stale_after,
                   leaderboards=[Leaderboard.parse(board) for board in boards], retry=retry)


def watched_since(tracker: Tracker, seconds_ago: float) -> dt.datetime:
    """Pretend the store was first watched `seconds_ago` (the `watch` marker a first watcher writes)."""
    since = utcnow() - dt.timedelta(seconds=seconds_ago)
    tracker.store.write([Put(ALERTS, {"_id": alert_id(WATCH_KEY), "key": WATCH_KEY, "since": since})])
    return since


def check_payload(payload: dict[str, Any], event: str, experiment_id: str) -> dict[str, Any]:
    """The documented shape (docs/CONTEXT.md, Alerts); returns the details."""
    assert set(payload) == {"source", "event", "key", "text", "at", "experiment", "details"}, payload
    assert payload["source"] == "epochlog" and payload["event"] == event
    assert payload["key"].startswith(f"{event}:") and payload["key"].endswith(experiment_id)
    assert payload["at"].endswith("Z") and dt.datetime.fromisoformat(payload["at"].replace("Z", "+00:00"))
    assert set(payload["experiment"]) == EXPERIMENT_KEYS and payload["experiment"]["id"] == experiment_id
    assert experiment_id in payload["text"]
    assert set(payload["details"]) == DETAILS[event], payload["details"]
    return dict(payload["details"])
