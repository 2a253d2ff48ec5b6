"""The watch loop: every `interval` seconds, read the rules' alerts from the store, log the new ones, and
hand them to one courier per destination.

    with Watcher(tracker, [Webhook(url)], leaderboards=[Leaderboard.parse("best_val_loss")]) as watcher:
        watcher.run(interval=30)  # or watcher.check() once, then watcher.drain()
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..documents import utcnow
from ..errors import InvalidArgument, StoreUnavailable
from ..tracker import Tracker
from . import rules
from .delivery import Courier, Retry
from .destinations import Destination
from .rules import Alert, Leaderboard
from .state import AlertLog

log = logging.getLogger("epochlog.alerts")
DEFAULT_RETRY = Retry()  # 6 attempts over about 30 s
STOP_TIMEOUT = 30.0  # seconds a stopping background watcher may take to finish its pass


@dataclass(frozen=True)
class WatchSettings:
    """What a watcher running inside another command (`epochlog ui --watch`) alerts, and how often it looks."""

    destinations: tuple[Destination, ...]
    interval: float = 30.0
    leaderboards: tuple[Leaderboard, ...] = ()

    def watcher(self, tracker: Tracker, stale_after: float) -> Watcher:
        return Watcher(tracker, self.destinations, stale_after=stale_after, leaderboards=self.leaderboards)


class Watcher:
    """Alerts on the runs of one tracker's store, to `destinations`. Nothing is read or started before the
    first `check` (or `start`). Each pass looks at the events of the last `horizon` seconds (a day), since the
    store was first watched: a watcher stopped for longer catches up on that last day only, and the passes of
    a watcher running for months stay as quick as its first."""

    def __init__(self, tracker: Tracker, destinations: Sequence[Destination], *, stale_after: float = 300.0,
                 leaderboards: Iterable[Leaderboard] = (), retry: Retry = DEFAULT_RETRY, capacity: int = 1000,
                 horizon: float = 86_400.0) -> None:
        if not destinations:
            raise InvalidArgument("nothing to send alerts to: give a webhook or an e-mail address")
        names = [destination.name for destination in destinations]
        if len(set(names)) != len(names):
            raise InvalidArgument("a destination is given twice")
        for name, value in (("stale_after", stale_after), ("horizon", horizon)):
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise InvalidArgument(f"{name} must be a positive number of seconds, got {value!r}")
        self.tracker, self.destinations = tracker, list(destinations)
        self.stale_after, self.leaderboards = float(stale_after), tuple(leaderboards)
        self.retry, self.capacity, self.horizon = retry, capacity, dt.timedelta(seconds=horizon)
        self.log = AlertLog(tracker.store)
        self.since: dt.datetime | None = None
        self._couriers: list[Courier] = []

    def start(self) -> dt.datetime:
        """Read (or record) when the store was first watched, start the couriers, and queue the alerts an
        earlier watcher logged but did not deliver; returns when the store was first watched."""
        if self.since is not None:
            return self.since
        since = self.log.since()
        pending = self.log.pending([destination.name for destination in self.destinations])
        self._couriers = [Courier(destination, self.log, self.retry, self.capacity)
                          for destination in self.destinations]
        self.since = since
        for alert in pending:
            for courier in self._couriers:
                if courier.destination.name in alert.destinations:
                    courier.submit(alert.key, alert.payload)
        return since

    def check(self) -> list[Alert]:
        """One pass: the alerts new since the last (by this or any earlier watcher), logged and queued."""
        since = max(self.start(), utcnow() - self.horizon)  # what is older was seen by earlier passes
        found = self.log.unsent(rules.check(self.tracker, since, self.stale_after, self.leaderboards))
        for alert in found:
            self.log.record(alert, [destination.name for destination in self.destinations])
            log.info("alert %s", alert.text)
            for courier in self._couriers:
                courier.submit(alert.key, alert.payload)
        return found

    def run(self, interval: float = 30.0, stop: threading.Event | None = None, *,
            on_alert: Callable[[Alert], None] | None = None) -> None:
        """`check` every `interval` seconds until `stop` is set; a store that cannot be reached is tried
        again at the next pass. `on_alert(alert)` is called for each new alert."""
        stop = stop or threading.Event()
        while True:
            try:
                for alert in self.check():
                    if on_alert is not None:
                        on_alert(alert)
            except StoreUnavailable as error:
                log.warning("the store cannot be read, trying again in %.0f s: %s", interval, error)
            if stop.wait(interval):
                return

    def in_background(self, interval: float = 30.0) -> Callable[[], None]:
        """`run` in a daemon thread (the dashboard's watcher); returns what stops it and its couriers."""
        stop = threading.Event()

        def work() -> None:
            try:
                self.run(interval, stop)
            except Exception:  # a thread's exception is seen by nobody: the log says why alerts stopped
                log.exception("the watcher stopped; no alerts are sent until the dashboard is restarted")

        thread = threading.Thread(target=work, daemon=True, name="epochlog-watch")
        thread.start()

        def halt() -> None:
            stop.set()
            thread.join(STOP_TIMEOUT)
            self.close()

        return halt

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every queued alert was delivered or given up; False if `timeout` passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        return all(courier.drain(None if deadline is None else max(0.0, deadline - time.monotonic()))
                   for courier in self._couriers)

    def close(self, timeout: float = 5.0) -> None:
        """Stop the couriers; what they have not delivered stays pending for the next watcher."""
        for courier in self._couriers:
            courier.close(timeout)
        self._couriers = []
        self.since = None

    def __enter__(self) -> Watcher:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


__all__ = ["WatchSettings", "Watcher"]
