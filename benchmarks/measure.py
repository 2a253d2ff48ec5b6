"""Timing helpers: per-call latencies, medians of repeated reads, results as records."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Result:
    """One measured number of one workload on one adapter."""

    workload: str
    metric: str
    value: float | None
    unit: str
    extra: dict[str, Any] = field(default_factory=dict)


def percentiles_ms(latencies_ns: list[int]) -> dict[str, float]:
    array = np.asarray(latencies_ns, dtype=np.float64) / 1e6
    return {"p50": float(np.percentile(array, 50)), "p99": float(np.percentile(array, 99)),
            "mean": float(array.mean()), "max": float(array.max())}


def median_of(call: Callable[[], Any], *, budget_s: float = 3.0, max_reps: int = 51) -> tuple[float, int, Any]:
    """Median seconds of repeated calls, after one warm-up call, within a time budget.

    A call slower than the whole budget is measured once (its warm-up is its measurement): MLflow's
    million-point read takes tens of seconds, and its median would not differ.
    """
    start = time.perf_counter()
    answer = call()
    first = time.perf_counter() - start
    if first > budget_s:
        return first, 1, answer
    samples: list[float] = []
    deadline = time.perf_counter() + budget_s
    while len(samples) < max_reps and (len(samples) < 5 or time.perf_counter() < deadline):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), len(samples), answer
