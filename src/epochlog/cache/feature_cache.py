"""FeatureCache: get, put, get_or_compute and memoize over a disk or Redis backend.

An unreachable or failing store never fails the caller's loop: a lookup that cannot reach it is a miss and a
write that cannot be made is dropped. The first failure logs one warning on the `epochlog.cache` logger; then
the backend is left alone for `retry_after` seconds before the next try, and the first success logs (at INFO)
that it is back. A corrupt entry is logged, deleted and counted as a miss. A value the cache cannot represent
(an object array, non-JSON metadata) raises CacheError: that is a bug to fix, not an outage.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import time
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, cast

from ..errors import CacheError
from .backend import Backend, open_backend
from .codec import Value, decode, encode
from .keys import Slot, cache_key, locate
from .stats import CacheStats

log = logging.getLogger("epochlog.cache")

P = ParamSpec("P")
V = TypeVar("V", bound=Value)
R = TypeVar("R")


class FeatureCache:
    """A cache of preprocessed data, keyed by what produced it (see `cache_key`).

    `uri` is `file:///dir`, a path, `redis://host:port/db`, a backend instance, or None for the per-user dir
    (`default_cache_uri()`). Arrays come back read-only (from disk they are views of a memory map); copy one
    to modify it. A FeatureCache pickles, e.g. into DataLoader workers: each copy gets its own connection and
    fresh stats.
    """

    def __init__(self, uri: str | os.PathLike[str] | Backend | None = None, *, retry_after: float = 30.0) -> None:
        self.backend: Backend = open_backend(uri) if uri is None or isinstance(uri, (str, os.PathLike)) else uri
        self.retry_after = retry_after
        self._stats = CacheStats()
        self._down = False  # warned about an outage that has not ended yet
        self._skip_until = 0.0  # time.monotonic() before which the backend is not tried

    def __repr__(self) -> str:
        return f"FeatureCache({self.uri!r})"

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_stats"}  # counts are per process

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _stats=CacheStats())

    def __enter__(self) -> FeatureCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def uri(self) -> str:
        """Where the entries are (passwords masked)."""
        return self.backend.uri

    def get(self, key: str) -> Value | None:
        """The value cached under `key`, or None on a miss (including an unreachable store)."""
        slot = locate(key)
        blob = self._attempt(self.backend.get, slot)
        if blob is None:
            self._stats.miss()
            return None
        try:
            value, expires_at = decode(blob)
        except CacheError as error:
            log.warning("deleting corrupt cache entry %r in %s: %s", key, self.uri, error)
            self._stats.found_corrupt()
            self._drop(slot)
            return None
        if expires_at is not None and expires_at <= time.time():
            self._drop(slot)
            return None
        self._stats.hit(len(blob))
        return value

    def put(self, key: str, value: Value | bytearray | memoryview, ttl: float | None = None) -> None:
        """Cache `value` under `key`, for `ttl` seconds (None: the backend's default).

        Raises CacheError for a value the cache cannot store; an unreachable store is skipped.
        """
        slot = locate(key)
        if ttl is not None and not ttl > 0:
            raise CacheError(f"ttl must be a positive number of seconds, not {ttl!r}")
        parts = encode(value, None if ttl is None else time.time() + ttl)
        if self._attempt(self.backend.put, slot, parts, ttl):
            self._stats.wrote(sum(len(part) for part in parts))

    def get_or_compute(self, key: str, compute: Callable[[], V], ttl: float | None = None) -> V:
        """The cached value of `key`, or `compute()` cached and returned (as is, not read back)."""
        cached = self.get(key)
        if cached is not None:
            return cast(V, cached)
        value = compute()
        self.put(key, value, ttl)
        return value

    def memoize(self, namespace: str, *, version: str | int = 0,
                ttl: float | None = None) -> Callable[[Callable[P, V]], Callable[P, V]]:
        """Decorate a preprocessing function so its results are cached under `namespace`.

        The key covers the function's qualified name, `version` (bump it when the code changes its output) and
        its arguments, bound to the signature with defaults filled in; so the arguments must be JSON-like
        descriptions of the data (ids, parameters), not the data.
        """

        def decorate(function: Callable[P, V]) -> Callable[P, V]:
            signature = inspect.signature(function)
            name = f"{function.__module__}.{function.__qualname__}"

            @functools.wraps(function)
            def memoized(*args: P.args, **kwargs: P.kwargs) -> V:
                bound = signature.bind(*args, **kwargs)
                bound.apply_defaults()
                params = {"function": name, "version": version, "arguments": bound.arguments}
                key = cache_key(namespace, params=params)
                return self.get_or_compute(key, lambda: function(*args, **kwargs), ttl)

            return memoized

        return decorate

    def delete(self, key: str) -> bool:
        """Remove `key`; True if it was cached. Raises CacheError if the store is unreachable."""
        return self.backend.delete(locate(key))

    def clear(self, namespace: str | None = None) -> int:
        """Remove every entry of `namespace` (all if None); how many. CacheError if unreachable."""
        return self.backend.clear(namespace)

    def stats(self) -> dict[str, int | float]:
        """This process's counters as plain JSON-safe numbers, for `tracker.log_cache_stats`.

        hits, misses, hit_rate (hits / lookups, 0.0 before any), bytes_read and bytes_written (blob sizes),
        errors (failed store operations), corrupt (entries found damaged; each also counts as a miss).
        """
        return self._stats.as_dict()

    def close(self) -> None:
        """Release the backend's connections."""
        self.backend.close()

    def _drop(self, slot: Slot) -> None:
        """Delete an unusable entry and count the lookup as a miss."""
        self._attempt(self.backend.delete, slot)
        self._stats.miss()

    def _attempt(self, op: Callable[..., R], *args: Any) -> R | None:
        """op(*args), or None if the backend fails now or failed less than retry_after ago."""
        if time.monotonic() < self._skip_until:
            return None
        try:
            result = op(*args)
        except CacheError as error:
            self._stats.error()
            self._skip_until = time.monotonic() + self.retry_after
            if not self._down:
                self._down = True
                log.warning("feature cache %s unavailable, computing instead (next try in %gs): %s", self.uri,
                            self.retry_after, error)
            return None
        if self._down:
            self._down = False
            log.info("feature cache %s is available again", self.uri)
        return result
