"""The floor on the server: hand-written pymongo, one document per run, per epoch and per step point."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pymongo
from bson import ObjectId

from ..data import RunData
from .base import Adapter, AdapterSpec
from .monitor import CommandCounter, database_name, server_version


class RawPymongo(Adapter):
    name = "raw-pymongo"

    def __init__(self, spec: AdapterSpec) -> None:
        super().__init__(spec)
        if not spec.mongodb_uri:
            raise RuntimeError(f"{self.name} needs --mongodb-uri (benchmarks/run starts a FerretDB for it)")
        self.counter = CommandCounter()
        self.client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
            spec.mongodb_uri, tz_aware=True, event_listeners=[self.counter])
        self.db = self.client[database_name(self.name, spec.label, spec.options["token"])]
        self.db.runs.create_index([("status", 1), ("metrics.best_val_loss", 1)])
        self.db.epochs.create_index([("run_id", 1), ("epoch", 1)], unique=True)
        self.db.points.create_index([("run_id", 1), ("name", 1), ("step", 1)])

    def create_run(self, run: RunData) -> ObjectId:
        run_id = ObjectId()
        document = {"_id": run_id, "name": run.name, "challenge": run.challenge, "status": "running",
                    "start_time": _now(), "end_time": None, "tags": run.tags, "config": run.config, "metrics": {}}
        self.db.runs.insert_one(document)
        return run_id

    def log_epoch(self, handle: ObjectId, epoch: int, metrics: dict[str, float]) -> None:
        self.db.epochs.replace_one({"run_id": handle, "epoch": epoch},
                                   {"run_id": handle, "epoch": epoch, "timestamp": _now(), "metrics": metrics},
                                   upsert=True)

    def complete_run(self, handle: ObjectId, summary: dict[str, float | int]) -> None:
        self.db.runs.update_one({"_id": handle}, {"$set": {"status": "completed", "end_time": _now(),
                                                            **{f"metrics.{k}": v for k, v in summary.items()}}})

    def log_batch(self, handle: ObjectId, names: Sequence[str], steps: np.ndarray, values: np.ndarray) -> None:
        step_list = steps.tolist()
        self.db.points.insert_many([{"run_id": handle, "name": name, "step": step, "value": value}
                                    for name, row in zip(names, values)
                                    for step, value in zip(step_list, row.tolist())], ordered=False)

    def best_models(self, n: int) -> list[dict[str, Any]]:
        return list(self.db.runs.find({"status": "completed", "metrics.best_val_loss": {"$exists": True}},
                                      sort=[("metrics.best_val_loss", 1), ("start_time", 1)], limit=n))

    def search_config(self, path: Sequence[str], value: Any, limit: int) -> list[dict[str, Any]]:
        return list(self.db.runs.find({"config." + ".".join(path): value}, limit=limit))

    def history(self, handle: ObjectId) -> dict[str, Any]:
        return {"experiment": self.db.runs.find_one({"_id": handle}),
                "epochs": list(self.db.epochs.find({"run_id": handle}, sort=[("epoch", 1)]))}

    def metric_series(self, handle: ObjectId, name: str) -> tuple[np.ndarray, np.ndarray]:
        cursor = self.db.points.find({"run_id": handle, "name": name}, {"_id": 0, "step": 1, "value": 1},
                                     sort=[("step", 1)], batch_size=10_000)
        steps, values = [], []
        for point in cursor:
            steps.append(point["step"])
            values.append(point["value"])
        return np.array(steps, dtype=np.int64), np.array(values, dtype=np.float64)

    def round_trips(self) -> dict[str, int]:
        return self.counter.snapshot()

    def versions(self) -> dict[str, str]:
        return {"pymongo": pymongo.version, "server": server_version(self.spec.mongodb_uri or "")}

    def close(self) -> None:
        self.client.close()

    @classmethod
    def discard(cls, spec: AdapterSpec) -> None:
        client: pymongo.MongoClient[dict[str, Any]]
        with pymongo.MongoClient(spec.mongodb_uri) as client:
            client.drop_database(database_name(cls.name, spec.label, spec.options["token"]))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
