"""A bounded buffer of single step points, flushed to the store as one bucket per metric."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
from bson import ObjectId

from .object_ids import new_object_id
from .store.base import AppendSeries

MAX_POINTS = 1000  # points held in memory before a flush, across all metrics
MAX_AGE = 2.0  # seconds a point may wait for a flush when logging continues


@dataclass
class _Pending:
    steps: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)


class SeriesBuffer:
    """Collects `log_metrics` points; `flush` hands the pending buckets to `emit` in one batch."""

    def __init__(self, emit: Callable[[list[AppendSeries]], None]) -> None:
        self._emit = emit
        self._pending: dict[tuple[ObjectId, str], _Pending] = {}
        self._count = 0
        self._oldest = 0.0

    def add(self, experiment_id: ObjectId, points: Iterable[tuple[str, float]], step: int) -> None:
        if not self._count:
            self._oldest = time.monotonic()
        for name, value in points:
            pending = self._pending.get((experiment_id, name))
            if pending is None:
                pending = self._pending[(experiment_id, name)] = _Pending()
            pending.steps.append(step)
            pending.values.append(value)
            self._count += 1
        if self._count >= MAX_POINTS or time.monotonic() - self._oldest > MAX_AGE:
            self.flush()

    def flush(self, experiment_id: ObjectId | None = None) -> None:
        """Write what is pending (for one experiment, or all)."""
        if not self._pending:
            return
        keys = [key for key in self._pending if experiment_id is None or key[0] == experiment_id]
        if not keys:
            return
        writes = []
        for key in keys:
            pending = self._pending.pop(key)
            self._count -= len(pending.steps)
            writes.append(AppendSeries(key[0], key[1], np.array(pending.steps, dtype=np.int64),
                                       np.array(pending.values, dtype=np.float64), new_object_id()))
        self._emit(writes)
