"""The disk backend: LRU eviction, atomic writes, crashed writers, corrupt files."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from epochlog.cache import DiskBackend, FeatureCache
from epochlog.cache.keys import locate


def files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.elc"))


def test_lru_eviction_keeps_recently_used(tmp_path: Path) -> None:
    entry = 10_000
    probe = DiskBackend(tmp_path / "probe")
    FeatureCache(probe).put("n/x", np.zeros(entry, dtype=np.uint8))
    size = files(tmp_path / "probe")[0].stat().st_size

    backend = DiskBackend(tmp_path / "c", max_bytes=5 * size + size // 2)
    cache = FeatureCache(backend)
    for i in range(5):
        cache.put(f"n/{i}", np.full(entry, i, dtype=np.uint8))
    assert cache.get("n/0") is not None  # now the most recently used
    cache.put("n/5", np.full(entry, 5, dtype=np.uint8))  # 6 entries > limit: evict to 90%

    kept = {i for i in range(6) if backend.path(locate(f"n/{i}")).exists()}
    assert kept == {0, 3, 4, 5}
    assert sum(p.stat().st_size for p in files(tmp_path / "c")) <= backend.max_bytes
    for i in range(6, 20):
        cache.put(f"n/{i}", np.full(entry, i, dtype=np.uint8))
        assert sum(p.stat().st_size for p in files(tmp_path / "c")) <= backend.max_bytes
    assert cache.get("n/19") is not None


def test_eviction_counts_what_other_processes_wrote(tmp_path: Path) -> None:
    other = FeatureCache(DiskBackend(tmp_path, max_bytes=10**9))
    for i in range(10):
        other.put(f"o/{i}", np.zeros(10_000, dtype=np.uint8))
    limited = DiskBackend(tmp_path, max_bytes=50_000)
    FeatureCache(limited).put("o/new", b"x")  # the first write of a process sweeps
    assert sum(p.stat().st_size for p in files(tmp_path)) <= 50_000


def _crash_before_rename(root: str) -> None:
    import epochlog.cache.disk as disk

    disk.os.replace = lambda *args: os._exit(3)  # type: ignore[assignment]  # die mid-put
    FeatureCache(DiskBackend(root)).put("w/k", np.ones(100_000))


def test_a_writer_dying_mid_write_leaves_no_entry(tmp_path: Path) -> None:
    cache = FeatureCache(DiskBackend(tmp_path))
    cache.put("w/k", b"old value")
    process = multiprocessing.get_context("spawn").Process(target=_crash_before_rename, args=(str(tmp_path),))
    process.start()
    process.join(60)
    assert process.exitcode == 3
    (tmp,) = [p for p in (tmp_path / "w").iterdir() if p.name.endswith(".tmp")]
    assert tmp.stat().st_size > 100_000  # the data was written, never published
    assert cache.get("w/k") == b"old value"
    assert cache.stats()["corrupt"] == 0

    stale = time.time() - 2 * 3600
    os.utime(tmp, (stale, stale))
    FeatureCache(DiskBackend(tmp_path)).put("w/other", b"y")  # a sweep removes stale temp files
    assert not tmp.exists()


def _flip_payload_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-7])


def _flip_header_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[20] ^= 0x20
    path.write_bytes(bytes(data))


CORRUPTIONS = {
    "flipped payload": _flip_payload_byte,
    "truncated": _truncate,
    "flipped header": _flip_header_byte,
    "empty": lambda p: p.write_bytes(b""),
    "garbage": lambda p: p.write_bytes(os.urandom(300)),
    "half written": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
}


@pytest.mark.parametrize("size", [100, 200_000], ids=["read", "mmap"])
@pytest.mark.parametrize("damage", CORRUPTIONS, ids=str)
def test_corrupt_files_are_detected_and_recomputed(
    tmp_path: Path, damage: str, size: int, caplog: pytest.LogCaptureFixture
) -> None:
    backend = DiskBackend(tmp_path)
    cache = FeatureCache(backend)
    want = np.arange(size, dtype=np.float32)
    cache.put("c/k", want)
    CORRUPTIONS[damage](backend.path(locate("c/k")))

    calls: list[int] = []

    def compute() -> np.ndarray[Any, Any]:
        calls.append(1)
        return want

    assert np.array_equal(cache.get_or_compute("c/k", compute), want)
    assert calls == [1]
    assert cache.stats()["corrupt"] == 1 and cache.stats()["misses"] == 1
    assert any("corrupt" in r.getMessage() for r in caplog.records)
    got = cache.get("c/k")  # rewritten intact
    assert isinstance(got, np.ndarray) and np.array_equal(got, want)
    assert cache.stats()["hits"] == 1
