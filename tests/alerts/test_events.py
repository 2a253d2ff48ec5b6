"""Each of the four events gives exactly one POST with the documented payload, on every backend; a second pass
and a new watcher on the same store send nothing again; history before the first watch is not alerted."""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable

import pytest

from epochlog import Tracker
from epochlog.alerts import Watcher, Webhook
from epochlog.alerts.state import alert_id
from epochlog.documents import utcnow
from epochlog.errors import InvalidArgument
from epochlog.schema import ALERTS
from tests.alerts.helpers import check_payload, watched_since, watcher
from tests.alerts.receivers import TOKEN, Receiver


def test_each_event_is_posted_once(tracker: Tracker, receiver: Callable[..., Receiver]) -> None:
    hook = receiver()
    watched_since(tracker, 3600)
    failed = tracker.create_experiment("broken", 1, capture=False)
    tracker.log_epoch(failed, 0, {"val_loss": 2.0})
    tracker.update_experiment_status(failed, "failed", error={"type": "ValueError", "message": "boom"})
    diverged = tracker.create_experiment("diverged", 1, capture=False)
    tracker.log_epoch(diverged, 0, {"val_loss": 1.0})
    tracker.log_epoch(diverged, 1, {"val_loss": math.nan})
    tracker.update_experiment_status(diverged, "completed")
    leader = tracker.create_experiment("leader", 1, capture=False)
    tracker.log_epoch(leader, 0, {"val_loss": 0.1})
    tracker.update_experiment_status(leader, "completed")
    stale = tracker.create_experiment("silent", 1, capture=False, heartbeat=utcnow() - dt.timedelta(minutes=10))
    with watcher(tracker, hook.url, stale_after=60) as first:
        assert sorted(alert.key for alert in first.check()) == sorted(
            [f"failed:{failed}", f"nan:{diverged}", f"leader:best_val_loss:min:{leader}", f"stale:{stale}"])
        assert first.drain(30)
        assert first.check() == [] and first.drain(30)
    assert hook.hits == 4
    by_event = {payload["event"]: payload for payload in hook.payloads}
    assert check_payload(by_event["failed"], "failed", failed) == {
        "error": {"type": "ValueError", "message": "boom"}, "end_time": by_event["failed"]["details"]["end_time"]}
    assert "boom" in by_event["failed"]["text"] and by_event["failed"]["experiment"]["status"] == "failed"
    assert check_payload(by_event["nan"], "nan", diverged) == {"metric": "val_loss", "value": "NaN", "epoch": 1}
    details = check_payload(by_event["leader"], "leader", leader)
    assert details == {"board": "best_val_loss:min", "metric": "metrics.best_val_loss", "mode": "min", "value": 0.1,
                       "runner_up": {"id": diverged, "name": "diverged", "value": 1.0}}
    details = check_payload(by_event["stale"], "stale", stale)
    assert details["stale_after"] == 60 and details["marked_failed"] is False and details["last_seen"].endswith("Z")
    with watcher(tracker, hook.url, stale_after=60) as restarted:  # a watcher started again: nothing twice
        assert restarted.check() == [] and restarted.drain(30)
    assert hook.hits == 4
    logged = tracker.store.find(ALERTS, {"key": f"failed:{failed}"})
    assert [document["_id"] for document in logged] == [alert_id(f"failed:{failed}")]
    assert logged[0]["pending"] == {} and next(iter(logged[0]["delivered"].values()))["attempts"] == 1
    assert TOKEN not in repr(tracker.store.find(ALERTS))


@pytest.mark.parametrize("value, shown", [(math.inf, "Infinity"), (-math.inf, "-Infinity")])
def test_infinity_in_the_objective_of_a_running_run(tracker: Tracker, receiver: Callable[..., Receiver],
                                                    value: float, shown: str) -> None:
    hook = receiver()
    watched_since(tracker, 60)
    run = tracker.create_experiment("exploded", 1, capture=False, objective={"metric": "acc", "mode": "max"})
    tracker.log_epoch(run, 0, {"acc": 0.5, "val_loss": math.nan})  # val_loss is not its objective
    with watcher(tracker, hook.url) as watching:
        assert watching.check() == []
        tracker.log_epoch(run, 1, {"acc": value})
        tracker.log_epoch(run, 2, {"acc": value})
        assert [alert.key for alert in watching.check()] == [f"nan:{run}"]
        assert watching.drain(30)
    assert check_payload(hook.payloads[0], "nan", run) == {"metric": "acc", "value": shown, "epoch": 1}


def test_history_before_the_first_watch_is_not_alerted(tracker: Tracker, receiver: Callable[..., Receiver]) -> None:
    hook = receiver()
    old = tracker.create_experiment("old", 1, capture=False)
    tracker.log_epoch(old, 0, {"val_loss": math.nan})
    tracker.update_experiment_status(old, "failed", error={"type": "OSError", "message": "disk full"})
    done = tracker.create_experiment("done", 1, capture=False)
    tracker.log_epoch(done, 0, {"val_loss": 0.5})
    tracker.update_experiment_status(done, "completed")
    tracker.create_experiment("long-lost", 1, capture=False, heartbeat=utcnow() - dt.timedelta(hours=2))
    time.sleep(0.01)  # the first watch starts a clock tick after the history
    with watcher(tracker, hook.url, stale_after=60) as first:
        assert first.check() == []
        new = tracker.create_experiment("new", 1, capture=False)
        tracker.update_experiment_status(new, "failed")
        assert [alert.key for alert in first.check()] == [f"failed:{new}"]
        assert first.drain(30)
    assert [payload["key"] for payload in hook.payloads] == [f"failed:{new}"]
    assert hook.payloads[0]["details"]["error"] == {"type": None, "message": None}


def test_a_new_leader_is_posted_and_a_worse_run_is_not(tracker: Tracker, receiver: Callable[..., Receiver]) -> None:
    hook = receiver()
    watched_since(tracker, 60)

    def completed(name: str, accuracy: float) -> str:
        run = tracker.create_experiment(name, 1, capture=False, objective={"metric": "acc", "mode": "max"})
        tracker.log_epoch(run, 0, {"acc": accuracy})
        tracker.update_experiment_status(run, "completed")
        return run

    with watcher(tracker, hook.url, boards=("best_acc:max", "metrics.best_acc")) as watching:
        first = completed("first", 0.7)
        assert {alert.key for alert in watching.check()} == {f"leader:best_acc:max:{first}",
                                                             f"leader:best_acc:min:{first}"}
        worse = completed("worse", 0.6)  # worse by :max, the new first place of the :min board
        second = completed("better", 0.8)
        assert {alert.key for alert in watching.check()} == {f"leader:best_acc:max:{second}",
                                                             f"leader:best_acc:min:{worse}"}
        assert watching.check() == [] and watching.drain(30)
    max_board = [payload for payload in hook.payloads if payload["details"]["board"] == "best_acc:max"]
    assert [payload["experiment"]["id"] for payload in max_board] == [first, second]
    assert max_board[1]["details"]["runner_up"] == {"id": first, "name": "first", "value": 0.7}


def test_a_stale_run_marked_failed_is_one_alert(tracker: Tracker, receiver: Callable[..., Receiver]) -> None:
    hook = receiver()
    watched_since(tracker, 3600)
    gone = tracker.create_experiment("gone", 1, capture=False, heartbeat=utcnow() - dt.timedelta(minutes=30))
    tracker.mark_stale_failed(older_than=600)  # before any watcher saw `gone` stale
    lost = tracker.create_experiment("lost", 1, capture=False, heartbeat=utcnow() - dt.timedelta(minutes=30))
    with watcher(tracker, hook.url, stale_after=600) as watching:
        assert sorted(alert.key for alert in watching.check()) == sorted([f"stale:{lost}", f"stale:{gone}"])
        tracker.mark_stale_failed(older_than=600)  # now `lost` is failed too: the same stale alert
        assert watching.check() == [] and watching.drain(30)
    details = {payload["experiment"]["id"]: payload["details"] for payload in hook.payloads}
    assert details[gone]["marked_failed"] is True and details[lost]["marked_failed"] is False


def test_a_pass_looks_back_one_horizon_only(tracker: Tracker, receiver: Callable[..., Receiver]) -> None:
    hook = receiver()
    watched_since(tracker, 3600)
    old, new = (tracker.create_experiment(name, 1, capture=False) for name in ("old", "new"))
    tracker.update_experiment_status(old, "failed", end_time=utcnow() - dt.timedelta(minutes=10))
    tracker.update_experiment_status(new, "failed")
    with Watcher(tracker, [Webhook(hook.url)], horizon=60) as watching:
        assert [alert.key for alert in watching.check()] == [f"failed:{new}"]
        assert watching.drain(30)
    with pytest.raises(InvalidArgument, match="horizon"):
        Watcher(tracker, [Webhook(hook.url)], horizon=0)
    with pytest.raises(InvalidArgument, match="nothing to send"):
        Watcher(tracker, [])
    with pytest.raises(InvalidArgument, match="twice"):
        Watcher(tracker, [Webhook(hook.url), Webhook(hook.url)])
