"""The Redis backend: chunking, TTLs, corrupt values, and a server that dies and comes back."""

from __future__ import annotations

import functools
import logging
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from epochlog.cache import FeatureCache, RedisBackend
from epochlog.cache.keys import locate
from epochlog.cache.redis_backend import PREFIX

pytestmark = pytest.mark.redis


@pytest.fixture
def backend(redis_url: str) -> Iterator[RedisBackend]:
    made = RedisBackend(redis_url, chunk_bytes=10_000)
    made.clear(None)
    yield made
    made.close()


def keys_of(backend: RedisBackend, key: str) -> list[bytes]:
    slot = locate(key)
    return sorted(backend.client.scan_iter(match=f"{PREFIX}{slot.namespace}:{slot.digest}*"))


def test_large_values_are_chunked_and_old_chunks_dropped(backend: RedisBackend) -> None:
    cache = FeatureCache(backend)
    want = np.arange(10_000, dtype=np.int64)  # 80 kB: 9 chunks of 10 kB
    cache.put("ch/k", want)
    assert len(keys_of(backend, "ch/k")) == 1 + 9
    assert np.array_equal(cache.get("ch/k"), want)  # type: ignore[arg-type]
    cache.put("ch/k", want[:5000])
    assert len(keys_of(backend, "ch/k")) == 1 + 5
    cache.put("ch/k", b"small")
    assert len(keys_of(backend, "ch/k")) == 1
    cache.put("ch/k", want)
    assert cache.delete("ch/k") is True
    assert keys_of(backend, "ch/k") == []


def test_a_missing_chunk_is_a_miss_not_a_partial_value(backend: RedisBackend) -> None:
    cache = FeatureCache(backend)
    cache.put("ch/m", np.ones(5000))
    backend.client.delete(keys_of(backend, "ch/m")[3])
    assert cache.get("ch/m") is None
    assert cache.stats()["corrupt"] == 0 and cache.stats()["misses"] == 1


def test_ttls_are_set_on_entries_and_outlived_by_chunks(redis_url: str) -> None:
    backend = RedisBackend(redis_url, chunk_bytes=1000, default_ttl=3600)
    cache = FeatureCache(backend)
    cache.put("ttl/k", np.zeros(1000), ttl=100)
    main, *chunks = sorted(keys_of(backend, "ttl/k"), key=len)
    assert 0 < backend.client.pttl(main) <= 100_000
    assert all(backend.client.pttl(c) > 100_000 for c in chunks)
    cache.put("ttl/default", b"x")
    assert 3_500_000 < backend.client.pttl(keys_of(backend, "ttl/default")[0]) <= 3_600_000
    forever = RedisBackend(redis_url, default_ttl=None)
    FeatureCache(forever).put("ttl/forever", b"x")
    assert backend.client.pttl(keys_of(backend, "ttl/forever")[0]) == -1
    forever.close()
    backend.close()


@pytest.mark.parametrize("chunked", [False, True])
def test_corrupt_values_are_detected_and_recomputed(backend: RedisBackend, chunked: bool) -> None:
    cache = FeatureCache(backend)
    want = np.arange(5000 if chunked else 50, dtype=np.float64)
    cache.put("c/k", want)
    victim = keys_of(backend, "c/k")[-1]  # the last chunk, or the only key
    data = bytearray(backend.client.get(victim))
    data[-1] ^= 0xFF
    backend.client.set(victim, bytes(data))
    got = cache.get_or_compute("c/k", lambda: want)
    assert np.array_equal(got, want)
    assert cache.stats()["corrupt"] == 1
    assert np.array_equal(cache.get("c/k"), want)  # type: ignore[arg-type]


def test_garbage_under_a_key_is_corrupt(backend: RedisBackend) -> None:
    cache = FeatureCache(backend)
    slot = locate("c/g")
    for garbage in [b"", b"ELC1", b"ELM1{not json", os.urandom(100)]:
        backend.client.set(f"{PREFIX}{slot.namespace}:{slot.digest}", garbage)
        assert cache.get("c/g") is None
    assert cache.stats()["corrupt"] == 4
    assert keys_of(backend, "c/g") == []


def _wait_until_refused(url: str) -> None:
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except ConnectionRefusedError:
            return
        time.sleep(0.02)
    raise AssertionError(f"Redis on port {port} still accepts connections after SIGKILL")


def cache_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "epochlog.cache" and r.levelno >= logging.WARNING]


def test_redis_killed_mid_training_degrades_then_recovers(
    tmp_path: Path, redis_control: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="epochlog.cache")
    directory = tmp_path / "redis"
    url = redis_control.start(directory)
    try:
        cache = FeatureCache(RedisBackend(url, chunk_bytes=10_000), retry_after=0)

        def windows(i: int) -> np.ndarray[Any, Any]:
            return np.full(5000, i)

        for i in range(3):
            cache.get_or_compute(f"ep/{i}", functools.partial(windows, i))
        assert cache.stats()["misses"] == 3

        os.kill(redis_control.pid(directory), signal.SIGKILL)
        _wait_until_refused(url)
        for epoch in range(2):
            for i in range(5):
                got = cache.get_or_compute(f"ep/{i}", functools.partial(windows, i))
                assert np.array_equal(got, windows(i)), (epoch, i)
        assert len(cache_warnings(caplog)) == 1
        assert "unavailable" in cache_warnings(caplog)[0].getMessage()
        assert cache.stats()["errors"] >= 10 and cache.stats()["hits"] == 0

        assert redis_control.start(directory) == url  # same port: the same cache reconnects
        caplog.clear()
        assert cache.get("ep/1") is None  # no persistence: an empty server
        cache.get_or_compute("ep/1", functools.partial(windows, 1))
        back = cache.get("ep/1")
        assert isinstance(back, np.ndarray) and np.array_equal(back, windows(1))
        assert cache_warnings(caplog) == []
        assert any("available again" in r.getMessage() for r in caplog.records)
    finally:
        redis_control.stop(directory)


def test_an_unreachable_server_is_tried_again_only_after_retry_after(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cache = FeatureCache(f"redis://127.0.0.1:{port}/0", retry_after=3600)
    calls: list[int] = []

    def compute() -> bytes:
        calls.append(1)
        return b"computed"

    assert [cache.get_or_compute("u/k", compute) for _ in range(4)] == [b"computed"] * 4
    assert len(calls) == 4
    assert cache.stats()["errors"] == 1  # later calls skip the dead server
    assert len(cache_warnings(caplog)) == 1


def test_passwords_are_masked(redis_url: str) -> None:
    assert RedisBackend("redis://user:hunter2@127.0.0.1:1/0").uri == "redis://user:***@127.0.0.1:1/0"
    assert RedisBackend(redis_url).uri == redis_url
