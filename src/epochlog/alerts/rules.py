"""The four events `epochlog watch` alerts on, read from the store: a run failed, a run lost its heartbeat,
a run logged NaN or ±inf in its objective metric, a run took first place on a leaderboard.

Each rule returns the alerts it sees now, each with a stable key (`failed:<id>`, `stale:<id>`, `nan:<id>`,
`leader:<board>:<id>`) by which the alert log (`state.py`) sends it once. Events before `since` (when the
store was first watched) are history and give no alert. Because the rules read the store, a run killed with
SIGKILL or lost with its machine is seen as well: it stops beating.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bson import ObjectId

from ..archive import VISIBLE
from ..documents import utcnow
from ..errors import InvalidArgument
from ..iso_dates import iso
from ..liveness import beats, last_seen, latest_epoch_times, stale_filter
from ..objective import MODES, Objective
from ..schema import EPOCHS
from ..tracker import Tracker
from ..types import Document

EVENTS = ("failed", "stale", "nan", "leader")
NON_FINITE = [math.nan, math.inf, -math.inf]
_FIELDS = dict.fromkeys(("experiment_name", "challenge", "status", "host", "start_time", "end_time", "heartbeat",
                         "objective", "metrics", "error"), 1)


@dataclass(frozen=True)
class Alert:
    """One event to report: `payload` is the JSON document every destination receives."""

    key: str
    event: str
    experiment_id: ObjectId
    payload: dict[str, Any]

    @property
    def text(self) -> str:
        return str(self.payload["text"])


@dataclass(frozen=True)
class Leaderboard:
    """A leaderboard of completed runs by a summary field (`metrics.best_val_loss`) and a mode, as `epochlog
    best` ranks them."""

    field: str
    mode: str = "min"

    @classmethod
    def parse(cls, text: str) -> Leaderboard:
        """`best_val_loss`, `best_acc:max` (under `metrics.`) or a dotted path `metrics.f1:max`;
        InvalidArgument naming the text otherwise."""
        name, _, mode = text.strip().partition(":")
        mode = mode.strip().lower() or "min"
        name = name.strip()
        if not name or mode not in MODES or any(not part or part.startswith("$") for part in name.split(".")):
            raise InvalidArgument(f"--leaderboard takes METRIC, METRIC:min or METRIC:max, got {text!r}")
        return cls(name if "." in name else f"metrics.{name}", mode)

    @property
    def name(self) -> str:
        """The board in alert keys and payloads: `best_val_loss:min`."""
        return f"{self.field.removeprefix('metrics.')}:{self.mode}"


def failed_runs(tracker: Tracker, since: dt.datetime) -> list[Alert]:
    """Runs (not archived, as for every rule) that ended `failed` since `since`. One failed for a lost
    heartbeat (`mark_stale_failed`) is the stale event, under the stale key, so a run that went stale and was
    then marked failed alerts once."""
    alerts = []
    for document in tracker.search_experiments({"status": "failed", "end_time": {"$gte": since}, **VISIBLE},
                                               projection=_FIELDS, sort=[("end_time", 1)]):
        error = document.get("error")
        error = error if isinstance(error, Mapping) else {}
        if error.get("type") == "HeartbeatLost":
            alerts.append(_alert("stale", document, f"run {_name(document)} lost its heartbeat and was marked failed",
                                 {"last_seen": _json(error.get("last_heartbeat")), "marked_failed": True}))
            continue
        reason = ": ".join(str(error[part]) for part in ("type", "message") if error.get(part))
        alerts.append(_alert("failed", document, f"run {_name(document)} failed" + (f": {reason}" if reason else ""),
                             {"error": {"type": _json(error.get("type")), "message": _json(error.get("message"))},
                              "end_time": _json(document.get("end_time"))}))
    return alerts


def stale_runs(tracker: Tracker, since: dt.datetime, stale_after: float) -> list[Alert]:
    """Running runs unseen for more than `stale_after` seconds (killed, their machine lost) that were not
    stale yet at `since`."""
    now = utcnow()
    lost = stale_filter(tracker.store, now - dt.timedelta(seconds=stale_after))
    documents = tracker.search_experiments({"$and": [lost, VISIBLE]}, projection=_FIELDS, sort=[("start_time", 1)])
    epochs = latest_epoch_times(tracker.store, [document["_id"] for document in documents if not beats(document)])
    alerts = []
    for document in documents:
        seen = last_seen(document, epochs.get(document["_id"]))
        if seen is None or seen + dt.timedelta(seconds=stale_after) < since:
            continue  # stale before the store was watched
        silent = (now - seen).total_seconds()
        text = f"run {_name(document)} lost its heartbeat: last seen {silent:.0f} s ago"
        details = {"last_seen": _json(seen), "stale_after": stale_after, "marked_failed": False}
        alerts.append(_alert("stale", document, text, details))
    return alerts


def non_finite_objectives(tracker: Tracker, since: dt.datetime) -> list[Alert]:
    """Runs that logged NaN or ±inf in their objective's metric in an epoch since `since` (the first such
    epoch is reported). Only runs still running or ended since then can have."""
    candidates = tracker.search_experiments({"$or": [{"status": "running"}, {"end_time": {"$gte": since}}], **VISIBLE},
                                            projection=_FIELDS)
    by_metric: dict[str, list[Document]] = {}
    for document in candidates:
        by_metric.setdefault(Objective.stored(document.get("objective")).metric, []).append(document)
    alerts = []
    for metric, documents in by_metric.items():
        path = f"metrics.{metric}"
        first: dict[Any, Document] = {}
        for epoch in tracker.store.find(EPOCHS, {"experiment_id": {"$in": [document["_id"] for document in documents]},
                                                 path: {"$in": NON_FINITE}, "timestamp": {"$gte": since}},
                                        projection={"experiment_id": 1, "epoch": 1, path: 1}, sort=[("epoch", 1)]):
            first.setdefault(epoch.get("experiment_id"), epoch)
        for document in documents:
            found = first.get(document["_id"])
            if found is None:
                continue
            value = _json(_get(found, path))
            alerts.append(_alert("nan", document, f"run {_name(document)} logged {value} in its objective {metric} "
                                 f"at epoch {found.get('epoch')}",
                                 {"metric": metric, "value": value, "epoch": _json(found.get("epoch"))}))
    return alerts


def new_leader(tracker: Tracker, since: dt.datetime, board: Leaderboard) -> list[Alert]:
    """The first place of a leaderboard of completed runs (`Tracker.get_best_models`), when that run
    completed since `since`."""
    top = tracker.get_best_models(n=2, metric=board.field, mode=board.mode, projection=_FIELDS)
    if not top or not isinstance(top[0].get("end_time"), dt.datetime) or top[0]["end_time"] < since:
        return []
    leader = top[0]
    runner_up = ({"id": str(top[1]["_id"]), "name": _json(top[1].get("experiment_name")),
                  "value": _json(_get(top[1], board.field))} if len(top) > 1 else None)
    value = _json(_get(leader, board.field))
    return [_alert("leader", leader, f"run {_name(leader)} takes first place on {board.name} with {value}",
                   {"board": board.name, "metric": board.field, "mode": board.mode, "value": value,
                    "runner_up": runner_up}, key=f"leader:{board.name}:{leader['_id']}")]


def check(tracker: Tracker, since: dt.datetime, stale_after: float, leaderboards: tuple[Leaderboard, ...] = ()
          ) -> list[Alert]:
    """Every alert the rules see now, one per key (a stale run marked failed is reported once)."""
    found = [*failed_runs(tracker, since), *stale_runs(tracker, since, stale_after),
             *non_finite_objectives(tracker, since)]
    for board in leaderboards:
        found.extend(new_leader(tracker, since, board))
    unique: dict[str, Alert] = {}
    for alert in found:
        unique.setdefault(alert.key, alert)
    return list(unique.values())


def _alert(event: str, document: Mapping[str, Any], text: str, details: dict[str, Any], *,
           key: str | None = None) -> Alert:
    eid = document["_id"]
    key = key or f"{event}:{eid}"
    payload = {"source": "epochlog", "event": event, "key": key, "text": text, "at": _json(utcnow()),
               "experiment": {"id": str(eid), "name": _json(document.get("experiment_name")),
                              "status": _json(document.get("status")), "challenge": _json(document.get("challenge")),
                              "host": _json(document.get("host"))},
               "details": details}
    return Alert(key, event, eid, payload)


def _name(document: Mapping[str, Any]) -> str:
    name = document.get("experiment_name")
    return f"{name} ({document['_id']})" if isinstance(name, str) and name else str(document["_id"])


def _get(document: Any, path: str) -> Any:
    for part in path.split("."):
        document = document.get(part) if isinstance(document, Mapping) else None
    return document


def _json(value: Any) -> Any:
    """A stored value as plain JSON: dates in ISO 8601 (UTC, `Z`), NaN and ±inf as "NaN", "Infinity" and
    "-Infinity", anything else that is not JSON as its text."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, dt.datetime):
        return iso(value)
    return str(value)


__all__ = ["EVENTS", "Alert", "Leaderboard", "check", "failed_runs", "new_leader", "non_finite_objectives",
           "stale_runs"]
