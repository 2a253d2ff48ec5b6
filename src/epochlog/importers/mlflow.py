"""Runs from MLflow, read with MLflow's own client: a SQLite/PostgreSQL backend store, a `mlruns` directory
or a tracking server.

Each MLflow run becomes an experiment: params (text in MLflow) as `config`, parsed back into numbers and
booleans and nested at dots; the run's tags under `mlflow.tags`, its MLflow experiment's name as a tag;
status and times; each metric's history as a step series, and the latest values as `metrics`. Where the run
logged an `epoch` metric (Lightning and Keras autologging do), the other metrics logged at the same steps
become its epochs; `steps_are_epochs=True` takes every step as the epoch. Artifacts are not copied.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InvalidArgument
from ..redaction import redact
from .records import ImportedRun, ImportReport, load, nested, parse_value

if TYPE_CHECKING:
    from ..tracker import Tracker

STATUSES = {"FINISHED": "completed", "FAILED": "failed", "KILLED": "stopped", "RUNNING": "running",
            "SCHEDULED": "running"}
PAGE = 1000


def import_mlflow(tracker: Tracker, tracking_uri: str, *, experiment_names: list[str] | None = None,
                  steps_are_epochs: bool = False) -> ImportReport:
    """Import every run (of the named MLflow experiments, or of all) into `tracker`; again: only changes."""
    client = _client(tracking_uri)
    source = redact(tracking_uri)
    report = ImportReport(f"mlflow {source}")
    return load(tracker, _runs(client, source, experiment_names, steps_are_epochs, report), report)


def _client(tracking_uri: str) -> Any:
    try:
        from mlflow.tracking import MlflowClient
    except ImportError as error:
        raise InvalidArgument("importing from MLflow needs mlflow: pip install mlflow") from error
    uri = tracking_uri
    if "://" not in uri and not uri.startswith("file:"):
        path = Path(uri).expanduser()
        if not path.is_dir():
            raise InvalidArgument(f"{tracking_uri!r} is neither a tracking URI nor an mlruns directory")
        uri = path.resolve().as_uri()
    if uri.startswith("file:"):  # MLflow 3 reads its file store only when told that it may (we only read)
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    return MlflowClient(tracking_uri=uri)


def _runs(client: Any, source: str, names: list[str] | None, steps_are_epochs: bool,
          report: ImportReport) -> Iterator[ImportedRun]:
    experiments = {e.experiment_id: e for e in client.search_experiments()}
    if names:
        unknown = sorted(set(names) - {e.name for e in experiments.values()})
        if unknown:
            raise InvalidArgument(f"no MLflow experiment named {', '.join(map(repr, unknown))} in {source}")
        experiments = {key: e for key, e in experiments.items() if e.name in names}
    for experiment_id, experiment in experiments.items():
        token = None
        while True:
            page = client.search_runs([experiment_id], max_results=PAGE, page_token=token)
            for run in page:
                yield _run(client, source, experiment, run, steps_are_epochs, report)
            token = page.token
            if not token:
                break


def _run(client: Any, source: str, experiment: Any, run: Any, steps_are_epochs: bool,
         report: ImportReport) -> ImportedRun:
    info, data = run.info, run.data
    label = info.run_name or info.run_id
    tags = dict(data.tags)
    document: dict[str, Any] = {
        "experiment_name": label,
        "status": STATUSES.get(info.status, "stopped"),
        "start_time": _time(info.start_time),
        "config": nested({key: parse_value(value) for key, value in data.params.items()}, label, report),
        "metrics": nested(dict(data.metrics), label, report),
        "tags": [experiment.name],
        "mlflow": {"tracking_uri": source, "experiment_id": experiment.experiment_id,
                   "experiment_name": experiment.name, "run_id": info.run_id,
                   "tags": nested(tags, label, report)},
    }
    if info.end_time:
        document["end_time"] = _time(info.end_time)
    if info.status not in STATUSES:
        report.unmapped.append(f"{label}: MLflow status {info.status!r} imported as stopped")
    if info.artifact_uri:
        document["mlflow"]["artifact_uri"] = redact(info.artifact_uri)
    series = {}
    for name in data.metrics:
        history = sorted(client.get_metric_history(info.run_id, name), key=lambda m: (m.step, m.timestamp))
        series[name] = (np.array([m.step for m in history], dtype=np.int64),
                        np.array([m.value for m in history], dtype=np.float64))
    seconds = (info.start_time or 0) // 1000
    return ImportedRun(f"mlflow:{info.run_id}", seconds, document, series, steps_are_epochs)


def _time(millis: int | None) -> dt.datetime | None:
    return None if millis is None else dt.datetime.fromtimestamp(millis / 1000, dt.timezone.utc)
