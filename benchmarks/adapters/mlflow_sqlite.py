"""MLflow's tracking client on its SQLite backend store, used the way its docs show.

Config values become params with dotted names (`optimizer.name`), each epoch is one `log_batch` of its four
metrics, and a batch of step values is one `log_batch` of 1,000 metrics (MLflow's per-call maximum).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..data import RunData
from ..scale import EPOCH_METRICS
from .base import Adapter, AdapterSpec

EXPERIMENT = "bench"


class MLflowSQLite(Adapter):
    name = "mlflow-sqlite"

    def __init__(self, spec: AdapterSpec) -> None:
        super().__init__(spec)
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # no network calls in a benchmark
        os.environ.setdefault("DO_NOT_TRACK", "true")
        for noisy in ("mlflow", "alembic"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        from mlflow.tracking import MlflowClient

        workdir = Path(spec.workdir)
        self.client = MlflowClient(tracking_uri=f"sqlite:///{workdir / f'mlflow-{spec.label}.db'}")
        experiment = self.client.get_experiment_by_name(EXPERIMENT)
        if experiment is None:
            self.experiment_id = self.client.create_experiment(
                EXPERIMENT, artifact_location=(workdir / f"mlflow-artifacts-{spec.label}").as_uri())
        else:
            self.experiment_id = experiment.experiment_id

    def create_run(self, run: RunData) -> str:
        from mlflow.entities import Param

        created = self.client.create_run(self.experiment_id, run_name=run.name,
                                         tags={"challenge": str(run.challenge), "tags": ",".join(run.tags)})
        run_id = created.info.run_id
        self.client.log_batch(run_id, params=[Param(key, str(value)) for key, value in _flatten(run.config)])
        return run_id

    def log_epoch(self, handle: str, epoch: int, metrics: dict[str, float]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.client.log_batch(handle, metrics=[Metric(key, value, now, epoch) for key, value in metrics.items()])

    def complete_run(self, handle: str, summary: dict[str, float | int]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.client.log_batch(handle, metrics=[Metric(key, float(value), now, 0) for key, value in summary.items()])
        self.client.set_terminated(handle, "FINISHED")

    def log_batch(self, handle: str, names: Sequence[str], steps: np.ndarray, values: np.ndarray) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        step_list = steps.tolist()
        self.client.log_batch(handle, metrics=[Metric(name, value, now, step) for name, row in zip(names, values)
                                               for step, value in zip(step_list, row.tolist())])

    def best_models(self, n: int) -> list[Any]:
        return list(self.client.search_runs([self.experiment_id], "attributes.status = 'FINISHED'", max_results=n,
                                            order_by=["metrics.best_val_loss ASC", "attributes.start_time ASC"]))

    def search_config(self, path: Sequence[str], value: Any, limit: int) -> list[Any]:
        return list(self.client.search_runs([self.experiment_id], f"params.`{'.'.join(path)}` = '{value}'",
                                            max_results=limit))

    def history(self, handle: str) -> dict[str, Any]:
        return {"experiment": self.client.get_run(handle),
                "epochs": {key: self.client.get_metric_history(handle, key) for key in EPOCH_METRICS}}

    def metric_series(self, handle: str, name: str) -> tuple[np.ndarray, np.ndarray]:
        points = self.client.get_metric_history(handle, name)
        return (np.array([point.step for point in points], dtype=np.int64),
                np.array([point.value for point in points], dtype=np.float64))

    def versions(self) -> dict[str, str]:
        import sqlite3

        import mlflow
        import sqlalchemy

        return {"mlflow": mlflow.__version__, "sqlalchemy": sqlalchemy.__version__, "sqlite": sqlite3.sqlite_version}

    def close(self) -> None:
        pass  # the client holds no open resources of its own


def _flatten(config: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in config.items():
        if isinstance(value, Mapping):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value
