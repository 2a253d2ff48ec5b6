"""A bound on the dashboard's long-lived responses (live-update streams), and the switch that ends them."""

from __future__ import annotations

import threading

DEFAULT_MAX_STREAMS = 32


class StreamSlots:
    """At most `limit` streams open at once; `close()` (at server shutdown) asks every open one to end."""

    def __init__(self, limit: int = DEFAULT_MAX_STREAMS) -> None:
        self.limit = limit
        self.open = 0
        self._lock = threading.Lock()
        self._closing = threading.Event()

    def take(self) -> bool:
        """Claim a slot; False when all are taken or the server is shutting down."""
        with self._lock:
            if self.open >= self.limit or self._closing.is_set():
                return False
            self.open += 1
            return True

    def give_back(self) -> None:
        with self._lock:
            self.open -= 1

    @property
    def closing(self) -> bool:
        return self._closing.is_set()

    def close(self) -> None:
        self._closing.set()
