"""Hit and byte counters of one FeatureCache in one process, as a JSON-safe dict."""

from __future__ import annotations

import threading


class CacheStats:
    """Thread-safe counters; `as_dict()` is what `FeatureCache.stats()` returns."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.hits = self.misses = self.bytes_read = self.bytes_written = 0
        self.errors = self.corrupt = 0

    def hit(self, nbytes: int) -> None:
        with self._lock:
            self.hits += 1
            self.bytes_read += nbytes

    def miss(self) -> None:
        with self._lock:
            self.misses += 1

    def wrote(self, nbytes: int) -> None:
        with self._lock:
            self.bytes_written += nbytes

    def error(self) -> None:
        with self._lock:
            self.errors += 1

    def found_corrupt(self) -> None:
        with self._lock:
            self.corrupt += 1

    def as_dict(self) -> dict[str, int | float]:
        """hits, misses, hit_rate (0.0 before any lookup), bytes_read, bytes_written, errors, corrupt."""
        with self._lock:
            lookups = self.hits + self.misses
            return {"hits": self.hits, "misses": self.misses, "hit_rate": self.hits / lookups if lookups else 0.0,
                    "bytes_read": self.bytes_read, "bytes_written": self.bytes_written, "errors": self.errors,
                    "corrupt": self.corrupt}
