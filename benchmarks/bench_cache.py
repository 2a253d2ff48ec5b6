"""Feature cache benchmark: cached vs recomputed EEG windows, and the raw read limits.

    python benchmarks/bench_cache.py [--recordings 8] [--seconds 120] [--big-mb 256]
                                     [--redis-url redis://127.0.0.1:PORT/0]

Part 1 times one preprocessing step per synthetic 64-channel recording (4th-order Butterworth
band-pass 1-40 Hz, zero-phase with scipy's sosfiltfilt, then 2-s windows with 50% overlap) against
reading its windows back from the disk and Redis caches. Recomputing here starts from raw data
already in memory, so it understates what a real pipeline (which also reads the recording) saves.

Part 2 reads one large array to find the throughput ceiling, next to peers in the same run:
``np.load`` of the same array from a .npy file, and a bare redis-py GET of the same bytes.

Without --redis-url a throwaway server is started with scripts/redis (needs redis-server).
Needs scipy and redis: ``pip install 'epochlog[bench,redis]'``.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from scipy import signal

from epochlog.cache import DiskBackend, FeatureCache, RecordingId, RedisBackend, cache_key

ROOT = Path(__file__).resolve().parents[1]
CHANNELS = 64
PARAMS = {"l_freq": 1.0, "h_freq": 40.0, "order": 4, "window_s": 2.0, "overlap": 0.5}


def preprocess(raw: np.ndarray[Any, Any], sfreq: float) -> np.ndarray[Any, Any]:
    """Band-pass and cut into windows: (n_windows, channels, samples) float32."""
    sos = signal.butter(
        PARAMS["order"], [PARAMS["l_freq"], PARAMS["h_freq"]], "bandpass", fs=sfreq, output="sos"
    )
    filtered = signal.sosfiltfilt(sos, raw, axis=-1).astype(np.float32)
    size = int(PARAMS["window_s"] * sfreq)
    step = int(size * (1 - PARAMS["overlap"]))
    windows = np.lib.stride_tricks.sliding_window_view(filtered, size, axis=-1)[:, ::step]
    return np.ascontiguousarray(windows.transpose(1, 0, 2))


def best_and_median(run: Callable[[], object], repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


@contextmanager
def redis_server(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    with tempfile.TemporaryDirectory() as directory:
        script = str(ROOT / "scripts" / "redis")
        out = subprocess.run([script, "start", directory], capture_output=True, text=True, check=True)
        try:
            yield out.stdout.strip().splitlines()[-1]
        finally:
            subprocess.run([script, "stop", directory], check=True)


def touch(value: object) -> None:
    """Read every byte (a disk hit is a lazy memory map until used)."""
    if isinstance(value, np.ndarray):
        np.add.reduce(value.reshape(-1).view(np.uint8), dtype=np.uint64)


def part1(
    caches: dict[str, FeatureCache], recordings: int, seconds: float, sfreq: float, repeat: int
) -> None:
    rng = np.random.default_rng(0)
    raws = {
        RecordingId(f"sub-{i:02d}", "R1", "rest"): rng.standard_normal((CHANNELS, int(seconds * sfreq)))
        for i in range(recordings)
    }
    print(
        f"\n1. {recordings} recordings of {CHANNELS} ch x {seconds:g} s at {sfreq:g} Hz "
        f"(raw {next(iter(raws.values())).nbytes / 1e6:.1f} MB float64 each)"
    )
    keys = {rec: cache_key("bench-windows", rec, PARAMS) for rec in raws}

    def recompute() -> None:
        for raw in raws.values():
            preprocess(raw, sfreq)

    windows_mb = sum(preprocess(raw, sfreq).nbytes for raw in list(raws.values())[:1]) / 1e6
    rows = [("recompute (filter + window)", *best_and_median(recompute, repeat))]
    for name, cache in caches.items():
        cache.clear("bench-windows")
        for rec, raw in raws.items():
            cache.put(keys[rec], preprocess(raw, sfreq))

        def read(cache: FeatureCache = cache) -> None:
            for rec in raws:
                touch(cache.get(keys[rec]))

        rows.append((f"{name} cache hit", *best_and_median(read, repeat)))
        assert cache.stats()["misses"] == 0
    base = rows[0][2]
    print(
        f"   windows: {windows_mb:.1f} MB float32 per recording; times per recording, best / median "
        f"of {repeat}"
    )
    for name, best, median in rows:
        print(
            f"   {name:<30} {best / recordings * 1e3:9.2f} ms {median / recordings * 1e3:9.2f} ms"
            f"   x{base / median:7.1f} vs recompute"
        )


def read_big(cache: FeatureCache) -> None:
    touch(cache.get("bench-raw/big"))


def part2(caches: dict[str, FeatureCache], redis: RedisBackend, big_mb: int, repeat: int, tmp: Path) -> None:
    value = np.random.default_rng(1).standard_normal(big_mb * 2**20 // 8)
    print(f"\n2. raw read limit: one {value.nbytes / 2**20:.0f} MiB float64 array (page cache warm)")
    npy = tmp / "peer.npy"
    np.save(npy, value)
    raw_key = "bench-raw-peer"
    redis.client.set(raw_key, value.tobytes())
    rows: list[tuple[str, Callable[[], None]]] = [
        ("peer: np.load(.npy)", lambda: touch(np.load(npy))),
        ("peer: np.load(mmap_mode='r')", lambda: touch(np.load(npy, mmap_mode="r"))),
        ("peer: redis-py GET, no codec", lambda: touch(np.frombuffer(redis.client.get(raw_key), np.float64))),
    ]
    for name, cache in caches.items():
        cache.put("bench-raw/big", value)
        rows.append((f"{name} cache get", functools.partial(read_big, cache)))
    for name, run in rows:
        best, median = best_and_median(run, repeat)
        mib = value.nbytes / 2**20
        print(f"   {name:<30} {mib / median:8.0f} MiB/s (median)  {mib / best:8.0f} MiB/s (best)")
    redis.client.delete(raw_key)
    for cache in caches.values():
        cache.clear("bench-raw")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--sfreq", type=float, default=250.0)
    parser.add_argument("--big-mb", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--redis-url", help="an existing server (default: start one via scripts/redis)")
    args = parser.parse_args()
    with redis_server(args.redis_url) as url, tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        redis = RedisBackend(url, default_ttl=3600)
        caches = {
            "disk": FeatureCache(DiskBackend(tmp / "cache", max_bytes=8 * 2**30)),
            "redis": FeatureCache(redis),
        }
        print(f"feature cache benchmark: disk {caches['disk'].uri}, redis {url}")
        part1(caches, args.recordings, args.seconds, args.sfreq, args.repeat)
        part2(caches, redis, args.big_mb, args.repeat, tmp)
        for cache in caches.values():
            cache.close()


if __name__ == "__main__":
    main()
