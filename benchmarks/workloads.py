"""The workloads W1-W5 and M, run against one adapter. Every adapter is fed the same data (see data.py).

W1 seed loop     runs created with a nested config, epochs logged one call each, then completed
W2 step stream   step values of one metric (and of ten) logged in batches of 1,000 points
W3 leaderboard   W1 plus many more completed experiments; best-5 and a search on a nested config value
W4 history       the history of a long experiment; W2's whole series read back
W5 concurrency   several processes running W1 at once against one store (workers.py)
M  memory        10 metrics logged one step at a time while the process's RSS is watched (workers.py)
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from . import data
from .adapters import Adapter
from .measure import Result, median_of, percentiles_ms
from .scale import BATCH, BEST_N, SEARCH_LIMIT, SERIES_METRICS, Scale

SERIES_NAME = "loss"


class Session:
    """One adapter's store through W1-W4, which build on each other (W3 extends W1's runs, W4 reads W2's
    series); a workload run alone first builds, untimed, what it needs."""

    def __init__(self, adapter: Adapter, scale: Scale) -> None:
        self.adapter = adapter
        self.scale = scale
        self.w1_done = False
        self.series_handle: Any = None

    def ensure_w1(self) -> None:
        if not self.w1_done:
            seed_loop(self.adapter, list(data.runs(self.scale.runs, self.scale.epochs)))
            self.adapter.drain()
            self.w1_done = True

    def ensure_series(self) -> Any:
        if self.series_handle is None:
            self.series_handle = stream(self.adapter, self.scale.points, 1)[0]
        return self.series_handle


def seed_loop(adapter: Adapter, runs: list[data.RunData]) -> tuple[list[int], float]:
    """The seed's training loop: per-call latencies of log_epoch (ns) and the loop's seconds."""
    latencies: list[int] = []
    clock = time.perf_counter_ns
    start = time.perf_counter()
    for run in runs:
        handle = adapter.create_run(run)
        for epoch in range(len(run.epochs)):
            metrics = run.epoch_metrics(epoch)
            before = clock()
            adapter.log_epoch(handle, epoch, metrics)
            latencies.append(clock() - before)
        adapter.complete_run(handle, run.summary())
    return latencies, time.perf_counter() - start


def w1(session: Session) -> Iterator[Result]:
    adapter, scale = session.adapter, session.scale
    runs = list(data.runs(scale.runs, scale.epochs))
    trips_before = adapter.round_trips()
    latencies, elapsed = seed_loop(adapter, runs)
    start = time.perf_counter()
    adapter.drain()
    drain = time.perf_counter() - start
    session.w1_done = True
    stats = percentiles_ms(latencies)
    counts = {"runs": len(runs), "epochs": len(latencies), "drain_s": drain}
    yield Result("W1", "log_epoch_p50", stats["p50"], "ms", {**counts, **stats})
    yield Result("W1", "log_epoch_p99", stats["p99"], "ms", counts)
    yield Result("W1", "runs_per_s", len(runs) / elapsed, "runs/s", counts)
    trips_after = adapter.round_trips()
    if trips_before is not None and trips_after is not None:
        by_command = {name: trips_after[name] - trips_before.get(name, 0) for name in trips_after
                      if trips_after[name] != trips_before.get(name, 0)}
        total = sum(by_command.values())
        yield Result("W1", "round_trips_per_1000_epochs", total / len(latencies) * 1000, "round trips",
                     {**counts, "by_command": by_command, "total": total})


def stream(adapter: Adapter, points: int, metrics: int) -> tuple[Any, float, float]:
    """`points` step values over `metrics` metrics in batches of 1,000 points; (handle, loop s, drain s)."""
    handle = adapter.create_run(data.make_run(metrics, 0, prefix=f"w2-{metrics}"))
    steps_total = points // metrics
    names = [SERIES_NAME] if metrics == 1 else [f"metric_{index}" for index in range(metrics)]
    values = np.stack([data.series_values(steps_total, seed=index) for index in range(metrics)])
    steps = np.arange(steps_total, dtype=np.int64)
    per_batch = BATCH // metrics
    start = time.perf_counter()
    for first in range(0, steps_total, per_batch):
        adapter.log_batch(handle, names, steps[first:first + per_batch], values[:, first:first + per_batch])
    loop = time.perf_counter() - start
    adapter.drain()
    return handle, loop, time.perf_counter() - start - loop


def w2(session: Session) -> Iterator[Result]:
    adapter, scale = session.adapter, session.scale
    for metrics in (1, SERIES_METRICS):
        handle, loop, drain = stream(adapter, scale.points, metrics)
        if metrics == 1:
            session.series_handle = handle
        points = scale.points // metrics * metrics
        yield Result("W2", f"points_per_s_{metrics}_metric{'s' if metrics > 1 else ''}", points / (loop + drain),
                     "points/s", {"points": points, "metrics": metrics, "batch": BATCH, "loop_s": loop,
                                  "drain_s": drain, "calls_points_per_s": points / loop})


def w3(session: Session) -> Iterator[Result]:
    adapter, scale = session.adapter, session.scale
    session.ensure_w1()
    for run in data.runs(scale.extra_experiments, 0, prefix="w3", start=scale.runs):
        adapter.complete_run(adapter.create_run(run), run.summary())
    adapter.drain()
    experiments = scale.runs + scale.extra_experiments
    seconds, reps, best = median_of(lambda: adapter.best_models(BEST_N))
    yield Result("W3", "best5_median", seconds * 1000, "ms",
                 {"experiments": experiments, "reps": reps, "answer": run_names(best)})
    seconds, reps, found = median_of(lambda: adapter.search_config(data.SEARCH_PATH, data.SEARCH_VALUE, SEARCH_LIMIT))
    yield Result("W3", "search_median", seconds * 1000, "ms",
                 {"experiments": experiments, "reps": reps, "returned": len(found),
                  "query": {"config." + ".".join(data.SEARCH_PATH): data.SEARCH_VALUE}, "limit": SEARCH_LIMIT})


def w4(session: Session) -> Iterator[Result]:
    adapter, scale = session.adapter, session.scale
    run = data.make_run(10**6, scale.history_epochs, prefix="w4")
    handle = adapter.create_run(run)
    for epoch in range(scale.history_epochs):
        adapter.log_epoch(handle, epoch, run.epoch_metrics(epoch))
    adapter.complete_run(handle, run.summary())
    adapter.drain()
    seconds, reps, _ = median_of(lambda: adapter.history(handle))
    yield Result("W4", "history_median", seconds * 1000, "ms", {"epochs": scale.history_epochs, "reps": reps})
    series = session.ensure_series()
    seconds, reps, (steps, values) = median_of(lambda: adapter.metric_series(series, SERIES_NAME))
    if len(steps) != scale.points or len(values) != scale.points:
        raise AssertionError(f"read {len(steps)} points of {scale.points}")
    yield Result("W4", "series_median", seconds * 1000, "ms", {"points": scale.points, "reps": reps})


def run_names(found: list[Any]) -> list[str]:
    """The run names in an answer, whatever form the adapter returns runs in (to check every peer agrees)."""
    names: list[str] = []
    for item in found:
        if isinstance(item, dict):
            names.append(str(item.get("experiment_name") or item.get("name")))
        else:
            names.append(item.info.run_name)  # an MLflow Run
    return names


IN_PROCESS = {"W1": w1, "W2": w2, "W3": w3, "W4": w4}
