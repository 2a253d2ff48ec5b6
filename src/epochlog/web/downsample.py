"""Reducing a step series to what a chart can show: min/max per bucket, vectorized with numpy.

A chart a few hundred pixels wide cannot show a million points; it can show, for each of ~1,000 slices
of the x range, the lowest and the highest value, which keeps every spike and every dip visible. NaN
points are kept out of a bucket's min/max unless the whole bucket is NaN, which then stays NaN (a gap).
"""

from __future__ import annotations

import numpy as np

DEFAULT_POINTS = 2000
MAX_POINTS = 10_000


def window(steps: np.ndarray, values: np.ndarray, start: int | None = None,
           end: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The points with `start <= step <= end` of a series in step order."""
    lo = 0 if start is None else int(np.searchsorted(steps, start, side="left"))
    hi = len(steps) if end is None else int(np.searchsorted(steps, end, side="right"))
    return steps[lo:hi], values[lo:hi]


def min_max(steps: np.ndarray, values: np.ndarray, points: int = DEFAULT_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most `points` points (and never fewer than 4 asked): each bucket's min and max, in step order.

    The first and last points are always kept, so the x range of the view does not shrink.
    """
    n = len(steps)
    points = max(4, int(points))
    if n <= points:
        return steps, values
    buckets = (points - 2) // 2
    inner = n - 2  # first and last points are kept as they are
    size = -(-inner // buckets)  # ceil
    padded = size * buckets
    body = values[1:n - 1]
    if padded > inner:  # edge padding repeats the last value: it changes no bucket's min or max
        body = np.concatenate([body, np.full(padded - inner, body[-1])])
    grid = body.reshape(buckets, size)
    nan = np.isnan(grid)
    low = np.argmin(np.where(nan, np.inf, grid), axis=1)
    high = np.argmax(np.where(nan, -np.inf, grid), axis=1)
    base = np.arange(buckets) * size + 1
    picks = np.concatenate([[0], np.minimum(base + low, n - 2), np.minimum(base + high, n - 2), [n - 1]])
    picks = np.unique(picks)  # sorted, and a bucket whose min and max coincide gives one point
    return steps[picks], values[picks]


def to_json_values(values: np.ndarray) -> list[float | None]:
    """Floats for JSON: NaN and ±inf become null (a gap in the chart)."""
    cleaned = np.where(np.isfinite(values), values, np.nan)
    return [None if value != value else value for value in cleaned.tolist()]
