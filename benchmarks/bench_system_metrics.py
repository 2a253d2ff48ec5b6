"""System-metrics benchmark: what sampling costs a run (issue 14), next to MLflow's monitors in this process.

    python benchmarks/bench_system_metrics.py [--samples 2000] [--interval 10] [--run-seconds 3]

- one sample: `SystemSampler.sample()` (CPU, RSS, memory, disk and network rates), median and p99 in µs, and
  MLflow's `CPUMonitor`, `DiskMonitor` and `NetworkMonitor` `collect_metrics()` on the same machine (ratio);
- its share of a run: a sample's cost over `--interval` (the default 10 s), the target being below 0.1%;
- a real run: `start_run` with sampling every 10 ms (1,000x the default rate) around a numpy training loop for
  `--run-seconds`, checking that every sample was stored, and the CPU time the sampling thread spent per sample.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

TARGET_PERCENT = 0.1


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--run-seconds", type=float, default=3.0)
    args = parser.parse_args(argv)
    from epochlog.context.system_metrics import SystemSampler

    sampler = SystemSampler()
    sampler.prime()
    ours = timings(lambda: sampler.sample(), args.samples)
    sampler.close()
    peer = mlflow_collect()
    theirs = timings(peer, args.samples) if peer is not None else None
    print(f"{'':44} {'median µs':>10} {'p99 µs':>8}")
    print(f"{'epochlog SystemSampler.sample()':44} {median(ours):10.0f} {p99(ours):8.0f}")
    if theirs is not None:
        print(f"{'mlflow CPU+Disk+Network collect_metrics()':44} {median(theirs):10.0f} {p99(theirs):8.0f}")
        print(f"epochlog / mlflow: {median(ours) / median(theirs):.2f}x")
    share = median(ours) / (args.interval * 1e6) * 100
    print(f"share of a run sampled every {args.interval:g} s: {share:.5f}% "
          f"({'PASS' if share < TARGET_PERCENT else 'MISS'}: target < {TARGET_PERCENT}%)")
    per_sample, count = real_run(args.run_seconds)
    print(f"a real run sampled every 10 ms for {args.run_seconds:g} s: {count} samples stored, "
          f"{per_sample:.0f} µs of the sampling thread's CPU per sample (beat and writes included)")


def timings(call: Callable[[], object], count: int) -> list[float]:
    """µs of each of `count` calls (after 20 unmeasured ones)."""
    for _ in range(20):
        call()
    found = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        found.append((time.perf_counter() - start) * 1e6)
    return found


def mlflow_collect() -> Callable[[], None] | None:
    """One sample of MLflow's host monitors, as its SystemMetricsMonitor takes them; None without MLflow."""
    try:
        from mlflow.system_metrics.metrics.cpu_monitor import CPUMonitor
        from mlflow.system_metrics.metrics.disk_monitor import DiskMonitor
        from mlflow.system_metrics.metrics.network_monitor import NetworkMonitor
    except ImportError:
        return None
    monitors = [CPUMonitor(), DiskMonitor(), NetworkMonitor()]

    def collect() -> None:
        for monitor in monitors:
            monitor.collect_metrics()
        for monitor in monitors:
            monitor.clear_metrics()
    return collect


def real_run(seconds: float) -> tuple[float, int]:
    """(CPU µs of the run's background thread per sample, samples stored) for a run sampled every 10 ms."""
    from epochlog import Tracker
    from epochlog.run import Run

    thread_cpu: list[float] = []
    beat = Run._beat

    def measured_beat(run: Run) -> None:
        start = time.thread_time()
        beat(run)
        thread_cpu.append(time.thread_time() - start)

    Run._beat = measured_beat  # type: ignore[method-assign]
    try:
        with tempfile.TemporaryDirectory() as scratch:
            with Tracker(f"sqlite:///{Path(scratch) / 'b.db'}", system_interval=0.01) as tracker:
                weights = np.zeros((64, 64))
                with tracker.start_run("bench", 1, capture=["system_metrics"]) as run:
                    end = time.monotonic() + seconds
                    step = 0
                    while time.monotonic() < end:
                        batch = np.random.default_rng(step).random((64, 64))
                        weights -= 0.001 * batch.T @ (batch @ weights - batch)
                        step += 1
                count = len(tracker.get_metric_series(run.id, "system/rss_mb").steps)
    finally:
        Run._beat = beat  # type: ignore[method-assign]
    if not count or threading.active_count() > 1 and not thread_cpu:
        raise SystemExit("the run stored no system metrics")
    return sum(thread_cpu) * 1e6 / count, count


def median(values: list[float]) -> float:
    return statistics.median(values)


def p99(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.99)]


if __name__ == "__main__":
    main()
