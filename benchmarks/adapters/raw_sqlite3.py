"""The floor: hand-written sqlite3 with the obvious schema, WAL, synchronous=NORMAL, one transaction per batch.

It stores what epochlog stores for the workloads: the run's name, challenge, status, times, tags and JSON
config; each epoch's four metrics as JSON with a timestamp; one row per step point.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..data import RunData
from .base import Adapter

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, name TEXT NOT NULL, challenge INTEGER, status TEXT NOT NULL,
    start_time REAL NOT NULL, end_time REAL, tags TEXT NOT NULL, config TEXT NOT NULL, best_val_loss REAL,
    best_epoch INTEGER);
CREATE INDEX IF NOT EXISTS runs_leaderboard ON runs(status, best_val_loss);
CREATE TABLE IF NOT EXISTS epochs (run_id INTEGER NOT NULL, epoch INTEGER NOT NULL, timestamp REAL NOT NULL,
    metrics TEXT NOT NULL, PRIMARY KEY (run_id, epoch)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS points (run_id INTEGER NOT NULL, name TEXT NOT NULL, step INTEGER NOT NULL,
    value REAL NOT NULL, PRIMARY KEY (run_id, name, step)) WITHOUT ROWID;
"""
RUN_COLUMNS = ("id", "name", "challenge", "status", "start_time", "end_time", "tags", "config", "best_val_loss",
               "best_epoch")


class RawSQLite3(Adapter):
    name = "raw-sqlite3"

    def __init__(self, spec: Any) -> None:
        super().__init__(spec)
        self.db = sqlite3.connect(Path(spec.workdir) / f"raw-{spec.label}.db", isolation_level=None, timeout=120)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript("BEGIN IMMEDIATE;" + SCHEMA + "COMMIT;")  # W5's processes may race to create it

    def create_run(self, run: RunData) -> int:
        cursor = self.db.execute(
            "INSERT INTO runs(name, challenge, status, start_time, tags, config) VALUES(?, ?, 'running', ?, ?, ?)",
            (run.name, run.challenge, time.time(), json.dumps(run.tags), json.dumps(run.config)))
        return int(cursor.lastrowid or 0)

    def log_epoch(self, handle: int, epoch: int, metrics: dict[str, float]) -> None:
        self.db.execute("INSERT OR REPLACE INTO epochs VALUES(?, ?, ?, ?)",
                        (handle, epoch, time.time(), json.dumps(metrics)))

    def complete_run(self, handle: int, summary: dict[str, float | int]) -> None:
        self.db.execute("UPDATE runs SET status='completed', end_time=?, best_val_loss=?, best_epoch=? WHERE id=?",
                        (time.time(), summary["best_val_loss"], summary["best_epoch"], handle))

    def log_batch(self, handle: int, names: Sequence[str], steps: np.ndarray, values: np.ndarray) -> None:
        step_list = steps.tolist()
        rows = [(handle, name, step, value) for name, row in zip(names, values)
                for step, value in zip(step_list, row.tolist())]
        self.db.execute("BEGIN IMMEDIATE")
        self.db.executemany("INSERT OR REPLACE INTO points VALUES(?, ?, ?, ?)", rows)
        self.db.execute("COMMIT")

    def best_models(self, n: int) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT * FROM runs WHERE status='completed' AND best_val_loss IS NOT NULL "
                               "ORDER BY best_val_loss, start_time LIMIT ?", (n,)).fetchall()
        return [_run(row) for row in rows]

    def search_config(self, path: Sequence[str], value: Any, limit: int) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT * FROM runs WHERE json_extract(config, ?) = ? LIMIT ?",
                               ("$." + ".".join(path), value, limit)).fetchall()
        return [_run(row) for row in rows]

    def history(self, handle: int) -> dict[str, Any]:
        run = _run(self.db.execute("SELECT * FROM runs WHERE id=?", (handle,)).fetchone())
        epochs = [{"epoch": epoch, "timestamp": timestamp, "metrics": json.loads(metrics)}
                  for epoch, timestamp, metrics in
                  self.db.execute("SELECT epoch, timestamp, metrics FROM epochs WHERE run_id=? ORDER BY epoch",
                                  (handle,))]
        return {"experiment": run, "epochs": epochs}

    def metric_series(self, handle: int, name: str) -> tuple[np.ndarray, np.ndarray]:
        rows = self.db.execute("SELECT step, value FROM points WHERE run_id=? AND name=? ORDER BY step",
                               (handle, name)).fetchall()
        table = np.array(rows, dtype=np.float64).reshape(-1, 2)
        return table[:, 0].astype(np.int64), table[:, 1]

    def versions(self) -> dict[str, str]:
        return {"sqlite": sqlite3.sqlite_version}

    def close(self) -> None:
        self.db.close()


def _run(row: tuple[Any, ...]) -> dict[str, Any]:
    run = dict(zip(RUN_COLUMNS, row))
    run["tags"] = json.loads(run["tags"])
    run["config"] = json.loads(run["config"])
    return run
