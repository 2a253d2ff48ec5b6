"""FeatureCache's API on every backend: get_or_compute, memoize, delete, clear, ttl, stats."""

from __future__ import annotations

import json
import logging
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import epochlog.cache
import epochlog.cache.feature_cache as feature_cache_module
from epochlog.cache import (
    DiskBackend,
    FeatureCache,
    RecordingId,
    RedisBackend,
    cache_key,
    default_cache_uri,
    open_backend,
)
from epochlog.errors import CacheError

REC = RecordingId("sub-01", "R5", "RestingState")


def test_all_is_sorted_and_exported() -> None:
    assert epochlog.cache.__all__ == sorted(epochlog.cache.__all__)
    for name in epochlog.cache.__all__:
        assert hasattr(epochlog.cache, name)


def test_get_or_compute_computes_once(cache: FeatureCache) -> None:
    calls = []

    def compute() -> np.ndarray[Any, Any]:
        calls.append(1)
        return np.arange(5.0)

    key = cache_key("windows", REC, {"l_freq": 1.0})
    first = cache.get_or_compute(key, compute)
    second = cache.get_or_compute(key, compute)
    assert len(calls) == 1
    assert np.array_equal(first, second)
    assert cache.stats()["hits"] == 1 and cache.stats()["misses"] == 1


def test_memoize_keys_on_arguments_and_version(cache: FeatureCache) -> None:
    calls: list[tuple[Any, ...]] = []

    @cache.memoize(namespace="bandpass")
    def bandpass(recording: RecordingId, l_freq: float, h_freq: float = 40.0) -> np.ndarray[Any, Any]:
        """Docstring kept."""
        calls.append((recording, l_freq, h_freq))
        return np.full(3, l_freq + h_freq)

    a = bandpass(REC, 1.0)
    assert np.array_equal(bandpass(REC, 1, h_freq=40), a)  # same call, spelled differently
    assert np.array_equal(bandpass(recording=REC, l_freq=1.0, h_freq=40.0), a)
    assert len(calls) == 1
    bandpass(REC, 0.5)
    bandpass(REC._replace(subject="sub-02"), 1.0)
    assert len(calls) == 3
    assert bandpass.__name__ == "bandpass" and bandpass.__doc__ == "Docstring kept."

    @cache.memoize(namespace="bandpass", version=2)
    def bandpass_v2(recording: RecordingId, l_freq: float, h_freq: float = 40.0) -> np.ndarray[Any, Any]:
        calls.append((recording, l_freq, h_freq))
        return np.zeros(1)

    bandpass_v2(REC, 1.0)
    assert len(calls) == 4


def test_memoize_refuses_data_as_argument(cache: FeatureCache) -> None:
    @cache.memoize(namespace="f")
    def scale(data: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        return data * 2

    with pytest.raises(CacheError, match="describe the data"):
        scale(np.ones(3))


def test_delete_and_clear(cache: FeatureCache) -> None:
    for i in range(3):
        cache.put(f"a/{i}", np.full(20_000, i))
        cache.put(f"b/{i}", b"x")
    assert cache.delete("a/0") is True
    assert cache.delete("a/0") is False
    assert cache.get("a/0") is None
    assert cache.clear("a") == 2
    assert cache.get("a/1") is None and cache.get("b/1") == b"x"
    assert cache.clear() == 3
    assert cache.get("b/1") is None
    assert cache.clear("never-used") == 0


def test_ttl_expires_the_entry(cache: FeatureCache, monkeypatch: pytest.MonkeyPatch) -> None:
    cache.put("ttl/short", b"v", ttl=50)
    cache.put("ttl/none", b"w")
    assert cache.get("ttl/short") == b"v"
    now = feature_cache_module.time.time()
    monkeypatch.setattr(feature_cache_module.time, "time", lambda: now + 60)
    assert cache.get("ttl/short") is None  # expired by its header even if the store still holds it
    assert cache.get("ttl/none") == b"w"
    with pytest.raises(CacheError, match="ttl"):
        cache.put("ttl/bad", b"v", ttl=0)


def test_stats_are_plain_json(cache: FeatureCache) -> None:
    assert cache.stats() == {
        "hits": 0, "misses": 0, "hit_rate": 0.0, "bytes_read": 0, "bytes_written": 0,
        "errors": 0, "corrupt": 0,
    }  # fmt: skip
    cache.put("s/a", np.zeros(100, dtype=np.uint8))
    cache.get("s/a")
    cache.get("s/a")
    cache.get("s/missing")
    stats = cache.stats()
    assert json.loads(json.dumps(stats)) == stats
    assert all(type(v) in (int, float) for v in stats.values())
    assert stats["hits"] == 2 and stats["misses"] == 1 and stats["hit_rate"] == pytest.approx(2 / 3)
    assert stats["bytes_written"] > 100 and stats["bytes_read"] == 2 * stats["bytes_written"]


def test_cache_pickles_into_a_working_copy(cache: FeatureCache) -> None:
    cache.put("p/k", b"shared")
    copy = pickle.loads(pickle.dumps(cache))
    assert copy.get("p/k") == b"shared"
    assert copy.stats()["hits"] == 1
    copy.close()


def test_uris(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_uri() == (tmp_path / "xdg" / "epochlog" / "features").as_uri()
    default = FeatureCache()
    assert isinstance(default.backend, DiskBackend) and default.uri == default_cache_uri()
    spaced = tmp_path / "with space"
    assert FeatureCache(spaced.as_uri()).uri == spaced.as_uri()
    assert isinstance(open_backend(tmp_path), DiskBackend)
    remote = open_backend("redis://:secret@127.0.0.1:1/0")
    assert isinstance(remote, RedisBackend) and "secret" not in remote.uri
    for bad in ["s3://bucket/x", "file://host/x", "relative/path", "file:///x?max_bytes=3"]:
        with pytest.raises(CacheError, match="URI"):
            open_backend(bad)


def test_import_works_without_redis(tmp_path: Path) -> None:
    code = f"""
import sys
sys.modules["redis"] = None  # as if the extra were not installed
from epochlog.cache import FeatureCache, RedisBackend
from epochlog.errors import CacheError
cache = FeatureCache({tmp_path.as_uri()!r})
cache.put("k/v", b"ok")
assert cache.get("k/v") == b"ok"
try:
    RedisBackend("redis://127.0.0.1:1/0")
except CacheError as exc:
    print(exc)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'epochlog[redis]'" in out.stdout


def test_a_value_larger_than_the_disk_limit_is_computed_not_cached(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = FeatureCache(DiskBackend(tmp_path, max_bytes=1000))
    value = cache.get_or_compute("big/v", lambda: np.zeros(1000))
    assert value.shape == (1000,)
    assert cache.get("big/v") is None
    assert cache.stats()["bytes_written"] == 0 and cache.stats()["errors"] == 0
    assert any("max_bytes" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
