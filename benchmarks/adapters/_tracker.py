"""What the epochlog adapters share: every operation goes through the public `Tracker` API, as a user's would."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..data import RunData
from .base import Adapter, AdapterSpec


class TrackerAdapter(Adapter):
    unsupported = frozenset({"J"})  # a journal's replay: the journaled adapter's

    def __init__(self, spec: AdapterSpec) -> None:
        super().__init__(spec)
        from epochlog import Tracker

        self.tracker = Tracker(store=self.open_store())

    def open_store(self) -> Any:
        raise NotImplementedError

    def create_run(self, run: RunData) -> str:
        # the raw peers record no environment: its capture is measured on its own (benchmarks/bench_capture.py)
        return self.tracker.create_experiment(run.name, run.challenge, config=run.config, tags=run.tags,
                                              capture=False)

    def log_epoch(self, handle: str, epoch: int, metrics: dict[str, float]) -> None:
        self.tracker.log_epoch(handle, epoch, metrics)

    def complete_run(self, handle: str, summary: dict[str, float | int]) -> None:
        self.tracker.update_experiment_status(handle, "completed", metrics=summary)

    def log_batch(self, handle: str, names: Sequence[str], steps: np.ndarray, values: np.ndarray) -> None:
        for name, row in zip(names, values):
            self.tracker.log_metric_series(handle, name, steps, row)

    def log_step(self, handle: str, metrics: dict[str, float], step: int) -> None:
        self.tracker.log_metrics(handle, metrics, step)

    def drain(self) -> None:
        self.tracker.flush()

    def best_models(self, n: int) -> list[Any]:
        return self.tracker.get_best_models(n=n)

    def search_config(self, path: Sequence[str], value: Any, limit: int) -> list[Any]:
        return self.tracker.search_experiments({"config." + ".".join(path): value}, limit=limit)

    def history(self, handle: str) -> Any:
        return self.tracker.get_experiment_history(handle)

    def metric_series(self, handle: str, name: str) -> tuple[np.ndarray, np.ndarray]:
        series = self.tracker.get_metric_series(handle, name)
        return series.steps, series.values

    def versions(self) -> dict[str, str]:
        import epochlog

        return {"epochlog": epochlog.__version__}

    def close(self) -> None:
        self.tracker.close()
