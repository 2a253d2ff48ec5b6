"""The alert log: what `epochlog watch` has sent, kept in the store's `alerts` collection, so that a restarted
watcher (another process, another machine on the same store) sends nothing twice.

One document per alert key, its `_id` derived from the key, so that `epochlog push` merges two logs of one
alert into one::

    {"_id", "key", "event", "experiment_id", "payload", "created_at",
     "pending": {<destination>: true}, "delivered": {<destination>: {"at", "attempts"}},
     "failed": {<destination>: {"at", "attempts", "error"}}}

An alert is written before it is sent (an outbox): a watcher killed in between sends it on its next start to
the destinations still pending, so a destination can receive it twice only if the watcher died after the
destination answered and before that was recorded. One more document, key `watch`, holds `since`: when the
store was first watched. Events before it are history, and not alerted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bson import ObjectId

from ..documents import utcnow
from ..schema import ALERTS
from ..store import Store
from ..store.base import Put, Update
from .rules import Alert

WATCH_KEY = "watch"


def alert_id(key: str) -> ObjectId:
    """The `_id` of an alert key's document: the first 12 bytes of the key's sha256."""
    return ObjectId(hashlib.sha256(key.encode()).digest()[:12])


@dataclass(frozen=True)
class Pending:
    """An alert recorded but not yet delivered to `destinations` (by a watcher that stopped)."""

    key: str
    payload: dict[str, Any]
    destinations: tuple[str, ...]


class AlertLog:
    """The sent-once log of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def since(self) -> dt.datetime:
        """When the store was first watched; recorded as now by the first watcher."""
        found = self.store.find_one(ALERTS, {"_id": alert_id(WATCH_KEY)})
        if found is not None and isinstance(found.get("since"), dt.datetime):
            return found["since"]
        now = utcnow()
        self.store.write([Put(ALERTS, {"_id": alert_id(WATCH_KEY), "key": WATCH_KEY, "since": now})])
        return now

    def unsent(self, alerts: Sequence[Alert]) -> list[Alert]:
        """Those of `alerts` the log does not hold yet."""
        if not alerts:
            return []
        ids = [alert_id(alert.key) for alert in alerts]
        known = {document["_id"] for document in self.store.find(ALERTS, {"_id": {"$in": ids}}, projection={"_id": 1})}
        return [alert for alert, oid in zip(alerts, ids) if oid not in known]

    def record(self, alert: Alert, destinations: Iterable[str]) -> None:
        """Log an alert as to be sent to `destinations` (before sending it)."""
        self.store.write([Put(ALERTS, {
            "_id": alert_id(alert.key), "key": alert.key, "event": alert.event, "experiment_id": alert.experiment_id,
            "payload": alert.payload, "created_at": utcnow(), "pending": dict.fromkeys(destinations, True)})])

    def pending(self, destinations: Sequence[str]) -> list[Pending]:
        """The alerts still to be sent to any of `destinations`, oldest first."""
        if not destinations:
            return []
        found = self.store.find(ALERTS, {"$or": [{f"pending.{name}": True} for name in destinations]},
                                projection={"key": 1, "payload": 1, "pending": 1}, sort=[("created_at", 1)])
        return [Pending(document["key"], document["payload"],
                        tuple(name for name in destinations if document.get("pending", {}).get(name) is True))
                for document in found]

    def delivered(self, key: str, destination: str, attempts: int) -> None:
        self.store.write([Update(ALERTS, {"_id": alert_id(key)}, {f"delivered.{destination}": {
            "at": utcnow(), "attempts": attempts}}, (f"pending.{destination}",))])

    def gave_up(self, key: str, destination: str, attempts: int, error: str) -> None:
        self.store.write([Update(ALERTS, {"_id": alert_id(key)}, {f"failed.{destination}": {
            "at": utcnow(), "attempts": attempts, "error": error}}, (f"pending.{destination}",))])


__all__ = ["WATCH_KEY", "AlertLog", "Pending", "alert_id"]
