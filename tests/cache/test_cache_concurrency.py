"""Four processes hammer the same keys: no reader ever sees a partial or mixed value.

Every value is self-describing (all elements equal a stamp that encodes the length), so a torn
read would show; a read caught by the checksum would count as corrupt, and must not happen either.
"""

from __future__ import annotations

import multiprocessing
import random
import time
from pathlib import Path
from queue import Empty
from typing import Any

import numpy as np
import pytest

from epochlog.cache import Backend, DiskBackend, FeatureCache, RedisBackend

PROCESSES = 4
ROUNDS = 300
KEYS = 6


def hammer(backend: Backend, worker: int, start: Any, results: Any) -> None:
    cache = FeatureCache(backend, retry_after=0)
    start.wait(60)  # all four begin together, so their reads and writes overlap
    rng = random.Random(worker)
    torn = checked = 0
    for i in range(ROUNDS):
        key = f"hammer/{rng.randrange(KEYS)}"
        if rng.random() < 0.5:
            length = rng.randrange(1, 30_000)  # up to 240 kB: many chunks, mmap-sized files
            stamp = (worker * ROUNDS + i) * 10**6 + length
            cache.put(key, np.full(length, stamp, dtype=np.int64))
        else:
            value = cache.get(key)
            if isinstance(value, np.ndarray):
                checked += 1
                stamp = int(value[0])
                torn += int(value.size != stamp % 10**6 or not (value == stamp).all())
    results.put({"torn": torn, "checked": checked, **cache.stats()})


@pytest.mark.parametrize("kind", ["disk", "disk-evicting", pytest.param("redis", marks=pytest.mark.redis)])
def test_four_processes_never_see_partial_values(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    backend: Backend
    if kind == "redis":
        backend = RedisBackend(request.getfixturevalue("redis_url"), chunk_bytes=16_384)
        backend.clear("hammer")
    else:
        # 600 kB holds about 5 of the values: the processes evict each other's entries as they go.
        backend = DiskBackend(tmp_path, max_bytes=600_000 if kind == "disk-evicting" else 10**9)
    context = multiprocessing.get_context("spawn")
    start, queue = context.Barrier(PROCESSES), context.Queue()
    workers = [
        context.Process(target=hammer, args=(backend, worker, start, queue)) for worker in range(PROCESSES)
    ]
    for process in workers:
        process.start()
    results: list[dict[str, Any]] = []
    deadline = time.monotonic() + 120
    while len(results) < PROCESSES and time.monotonic() < deadline:
        try:
            results.append(queue.get(timeout=0.5))
        except Empty:  # a worker that died (e.g. SIGBUS from a truncated mmap) sends nothing
            assert all(p.exitcode in (None, 0) for p in workers), [p.exitcode for p in workers]
    for process in workers:
        process.join(60)
    assert [p.exitcode for p in workers] == [0] * PROCESSES

    assert [r["torn"] for r in results] == [0] * PROCESSES
    assert [r["corrupt"] for r in results] == [0] * PROCESSES
    assert [r["errors"] for r in results] == [0] * PROCESSES
    assert sum(r["checked"] for r in results) > 0
    cache = FeatureCache(backend)
    for k in range(KEYS):  # what is left is whole
        value = cache.get(f"hammer/{k}")
        if value is not None:
            assert isinstance(value, np.ndarray) and (value == value[0]).all()
            assert value.size == int(value[0]) % 10**6
    assert cache.stats()["corrupt"] == 0
    cache.close()
