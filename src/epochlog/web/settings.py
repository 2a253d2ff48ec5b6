"""What every request of one dashboard shares: the tracker, the token rules, and a short-lived cache."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import Request

from ..tracker import Tracker
from .slots import StreamSlots

T = TypeVar("T")
CACHE_SECONDS = 15.0  # how long filter choices (challenges, tags) may lag behind new experiments


@dataclass
class Settings:
    tracker: Tracker
    token: str | None = None
    stale_after: float = 300.0  # seconds without a heartbeat before a running experiment is marked stale
    alerting: list[str] = field(default_factory=list)  # the labels of what `ui --watch` alerts
    streams: StreamSlots = field(default_factory=StreamSlots)  # the live-update streams open
    _cache: dict[str, tuple[float, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def editable(self) -> bool:
        """Notes and tags can be edited only behind a token."""
        return self.token is not None

    def cached(self, key: str, compute: Callable[[], T]) -> T:
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
            return hit[1]  # type: ignore[no-any-return]
        value = compute()
        with self._lock:
            self._cache[key] = (time.monotonic(), value)
        return value

    def forget(self, key: str) -> None:
        with self._lock:
            self._cache.pop(key, None)


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings
