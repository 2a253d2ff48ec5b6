"""Runs the seed's code left `running` have no heartbeat: they are judged stale by their latest sign of life
(their newest epoch, else their start), on every backend."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bson import ObjectId

from epochlog import Tracker
from epochlog.schema import EPOCHS, EXPERIMENTS
from epochlog.store.base import Put

NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
HOURS_AGO = NOW - dt.timedelta(hours=2)


def _run(tracker: Tracker, name: str, *, epochs: tuple[dt.datetime, ...] = (), **fields: Any) -> str:
    """A run as other code wrote it: no heartbeat unless given, epochs at the times given."""
    document = {"_id": ObjectId(), "experiment_name": name, "challenge": 1, "status": "running", **fields}
    document = {key: value for key, value in document.items() if value is not ...}
    writes = [Put(EXPERIMENTS, document)]
    writes += [Put(EPOCHS, {"_id": ObjectId(), "experiment_id": document["_id"], "epoch": number,
                            "metrics": {"val_loss": 1.0}, "timestamp": when}) for number, when in enumerate(epochs)]
    tracker.store.write(writes)
    return str(document["_id"])


def test_runs_without_a_heartbeat_are_judged_by_their_latest_sign_of_life(tracker: Tracker) -> None:
    stale = {
        _run(tracker, "started-long-ago", start_time=HOURS_AGO),
        _run(tracker, "last-epoch-long-ago", start_time=HOURS_AGO,
             epochs=(HOURS_AGO, NOW - dt.timedelta(hours=1))),
        _run(tracker, "no-sign-of-life-at-all"),
        _run(tracker, "heartbeat-null", start_time=HOURS_AGO, heartbeat=None),
        _run(tracker, "heartbeat-old", start_time=HOURS_AGO, heartbeat=HOURS_AGO),
    }
    alive = {
        _run(tracker, "epoch-a-minute-ago", start_time=HOURS_AGO, epochs=(HOURS_AGO, NOW - dt.timedelta(minutes=1))),
        _run(tracker, "just-started", start_time=NOW),
        _run(tracker, "heartbeat-fresh", start_time=HOURS_AGO, heartbeat=NOW),
        _run(tracker, "old-epochs-but-fresh-heartbeat", start_time=HOURS_AGO, heartbeat=NOW, epochs=(HOURS_AGO,)),
    }
    _run(tracker, "completed-without-heartbeat", status="completed", start_time=HOURS_AGO)
    tracker.sync()

    found = {str(document["_id"]) for document in tracker.get_stale_runs(older_than=600)}
    assert found == stale, sorted(tracker.get_experiment(i)["experiment_name"] for i in found ^ stale)
    assert not found & alive

    assert set(tracker.mark_stale_failed(older_than=600)) == stale
    tracker.sync()
    for experiment_id in stale:
        document = tracker.get_experiment(experiment_id)
        assert document["status"] == "failed" and document["error"]["type"] == "HeartbeatLost"
        assert isinstance(document["end_time"], dt.datetime)
    assert {str(d["_id"]) for d in tracker.search_experiments({"status": "running"})} == alive
    assert tracker.get_stale_runs(older_than=600) == []


def test_nothing_silent_is_nothing_stale(tracker: Tracker) -> None:
    """Without runs lacking a heartbeat, the query is the heartbeat's alone (and finds nothing here)."""
    _run(tracker, "heartbeat-fresh", start_time=NOW, heartbeat=NOW)
    tracker.sync()
    assert tracker.get_stale_runs(older_than=600) == []
