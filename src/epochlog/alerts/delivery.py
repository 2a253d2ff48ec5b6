"""Sending alerts to one destination in a thread of its own, retried with backoff, so that a destination that
fails or hangs never delays the others.

Each `Courier` holds a bounded queue. An alert it cannot take (the queue is full) or has not sent when the
watcher stops stays pending in the alert log, and the next watcher sends it. One that still fails after
`Retry.attempts` tries is recorded as failed for that destination and not tried again.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import EpochlogError, InvalidArgument
from .destinations import DeliveryError, Destination
from .state import AlertLog

log = logging.getLogger("epochlog.alerts")


@dataclass(frozen=True)
class Retry:
    """How often and how patiently a delivery is tried: `first` seconds after the first failure, then
    `factor` times longer each time, at most `cap` seconds."""

    attempts: int = 6
    first: float = 1.0
    factor: float = 2.0
    cap: float = 60.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.first < 0 or self.factor < 1 or self.cap < 0:
            raise InvalidArgument(f"a retry needs attempts >= 1, first >= 0, factor >= 1 and cap >= 0; got {self}")

    def delay(self, failures: int) -> float:
        """The wait after the `failures`-th failed attempt (1, 2, ...)."""
        return float(min(self.cap, self.first * self.factor ** (failures - 1)))


class Courier:
    """Delivers the alerts given to `submit` to one destination, in order, and records each outcome."""

    def __init__(self, destination: Destination, alert_log: AlertLog, retry: Retry, capacity: int = 1000) -> None:
        self.destination, self.alert_log, self.retry, self.capacity = destination, alert_log, retry, capacity
        self._queue: collections.deque[tuple[str, Mapping[str, Any]]] = collections.deque()
        self._changed = threading.Condition()
        self._busy = False
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._work, name=f"epochlog-alerts-{destination.name}", daemon=True)
        self._thread.start()

    def submit(self, key: str, payload: Mapping[str, Any]) -> bool:
        """Queue an alert; False when the queue is full (the alert stays pending in the log)."""
        with self._changed:
            if len(self._queue) >= self.capacity or self._stopping.is_set():
                log.warning("%s: %d alerts queued already; %s is left for the next watcher", self.destination.label,
                            len(self._queue), key)
                return False
            self._queue.append((key, payload))
            self._changed.notify_all()
        return True

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every queued alert was delivered or given up; False if `timeout` passed first."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._queue and not self._busy, timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Stop after the delivery under way (a backoff wait ends at once); what is queued stays pending."""
        self._stopping.set()
        with self._changed:
            self._changed.notify_all()
        self._thread.join(timeout)

    def _work(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: bool(self._queue) or self._stopping.is_set())
                if self._stopping.is_set():
                    return
                key, payload = self._queue.popleft()
                self._busy = True
            try:
                self._deliver(key, payload)
            finally:
                with self._changed:
                    self._busy = False
                    self._changed.notify_all()

    def _deliver(self, key: str, payload: Mapping[str, Any]) -> None:
        name, label = self.destination.name, self.destination.label
        for attempt in range(1, self.retry.attempts + 1):
            try:
                self.destination.send(payload)
            except DeliveryError as error:
                if attempt == self.retry.attempts:
                    log.warning("%s: gave up on %s after %d attempts: %s", label, key, attempt, error)
                    self._record(self.alert_log.gave_up, key, name, attempt, str(error))
                    return
                delay = self.retry.delay(attempt)
                log.info("%s: %s not delivered (%s); again in %.1f s", label, key, error, delay)
                if self._stopping.wait(delay):
                    return  # stays pending: the next watcher sends it
            except Exception as error:  # a bug in a destination must not end its thread silently
                log.exception("%s: %s not delivered", label, key)
                self._record(self.alert_log.gave_up, key, name, attempt, f"{type(error).__name__}: {error}")
                return
            else:
                log.info("%s: delivered %s", label, key)
                self._record(self.alert_log.delivered, key, name, attempt)
                return

    @staticmethod
    def _record(method: Callable[..., None], *args: Any) -> None:
        try:
            method(*args)
        except EpochlogError as error:  # the store went away: the alert stays pending and may be sent again
            log.warning("the outcome of alert %s could not be recorded: %s", args[0], error)


__all__ = ["Courier", "Retry"]
