"""Feature cache for preprocessed data: local disk by default, Redis for shared machines.

    from epochlog.cache import FeatureCache, RecordingId, cache_key

    cache = FeatureCache()                                   # per-user dir; or "redis://host:6380/0"
    key = cache_key("windows", RecordingId("sub-01", "R5", "rest"), {"l_freq": 1.0, "h_freq": 40})
    windows = cache.get_or_compute(key, lambda: make_windows(...))

See docs/CACHE.md.
"""

from __future__ import annotations

from .backend import Backend, default_cache_uri, open_backend
from .codec import Value
from .disk import DiskBackend
from .feature_cache import FeatureCache
from .keys import RecordingId, cache_key
from .redis_backend import RedisBackend

__all__ = ["Backend", "DiskBackend", "FeatureCache", "RecordingId", "RedisBackend", "Value", "cache_key",
           "default_cache_uri", "open_backend"]
