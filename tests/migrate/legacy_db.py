"""Builders of legacy tracker files (tests/fixtures/legacy_schema.sql) with the messes real ones contain."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = Path(__file__).resolve().parent.parent / "fixtures" / "legacy_schema.sql"


class LegacyDB:
    """A legacy SQLite file written row by row, the way the old helpers did."""

    def __init__(self, path: Path, schema: str | None = None) -> None:
        self.path = path
        self.db = sqlite3.connect(path)
        self.db.executescript(schema if schema is not None else SCHEMA.read_text())

    def run(self, challenge: Any = 1, model: Any = "EEGNeX", config: Any = '{"lr": 0.001}', status: Any = "completed",
            start: Any = "2023-05-01 10:00:00", end: Any = "2023-05-01 12:00:00", best_val_loss: Any = None,
            best_epoch: Any = None, total_epochs: Any = None, notes: Any = None, run_id: int | None = None) -> int:
        cursor = self.db.execute(
            "INSERT INTO training_runs(run_id, challenge, model_name, config, status, start_time, end_time,"
            " best_val_loss, best_epoch, total_epochs, notes) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (run_id, challenge, model, config, status, start, end, best_val_loss, best_epoch, total_epochs, notes))
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def epoch(self, run_id: Any, epoch: Any, train_loss: Any = 1.0, val_loss: Any = 1.0, learning_rate: Any = 1e-3,
              duration: Any = 60.0, timestamp: Any = "2023-05-01 10:05:00") -> None:
        self.db.execute("INSERT INTO epoch_history(run_id, epoch, train_loss, val_loss, learning_rate,"
                        " duration_seconds, timestamp) VALUES (?,?,?,?,?,?,?)",
                        (run_id, epoch, train_loss, val_loss, learning_rate, duration, timestamp))

    def checkpoint(self, run_id: Any, epoch: Any, val_loss: Any, file_path: Any, is_best: Any = 0,
                   size_mb: Any = 0.01, timestamp: Any = "2023-05-01 10:30:00") -> None:
        self.db.execute("INSERT INTO model_checkpoints(run_id, epoch, val_loss, file_path, file_size_mb, is_best,"
                        " timestamp) VALUES (?,?,?,?,?,?,?)",
                        (run_id, epoch, val_loss, str(file_path), size_mb, is_best, timestamp))

    def close(self) -> None:
        self.db.commit()
        self.db.close()


@dataclass
class Messy:
    """A messy legacy file and what a correct migration makes of it."""

    path: Path
    runs: int = 7
    epochs: int = 0  # distinct (run, epoch) pairs of existing runs
    duplicates: int = 2
    orphan_epochs: int = 2
    orphan_checkpoints: int = 1
    checkpoints: int = 0
    missing_files: int = 0


def build_messy(folder: Path) -> Messy:
    """Seven runs with every mess the legacy schema's notes list, plus orphans.

    1 clean: JSON config, 5 epochs, a best checkpoint whose file exists
    2 resumed: epochs 3 and 4 logged twice (the later rows say val_loss 0.30/0.25); Python-repr config with
      a tuple, nan and np.float64; ISO timestamps with 'T' and 'Z'
    3 crashed: status 'running' forever, no end_time, config NULL
    4 losses NULL / 'inf' text / real inf / 'nan' text; config '{}'; best_val_loss NULL (derived from epochs);
      three checkpoints marked best (0.5, 0.4, NULL: 0.4 wins), one of them missing on disk
    5 failed: config not parseable, start_time NULL, best_val_loss inf (kept, never ranks)
    6 status 'done' (read as completed), challenge stored as text '2'
    7 completed with no epochs at all
    orphans: two epoch rows of run 99, one checkpoint of run 98
    """
    files = folder / "checkpoints"
    files.mkdir(parents=True, exist_ok=True)
    path = folder / "legacy.db"
    legacy = LegacyDB(path)
    messy = Messy(path)

    r1 = legacy.run(config='{"lr": 0.001, "batch_size": 32, "optimizer": "AdamW"}', best_val_loss=0.42,
                    best_epoch=3, total_epochs=5, notes="clean run")
    for epoch, loss in enumerate([0.9, 0.6, 0.5, 0.42, 0.45]):
        legacy.epoch(r1, epoch, train_loss=loss - 0.05, val_loss=loss, timestamp=f"2023-05-01 10:0{epoch}:00")
    (files / "r1_best.pt").write_bytes(b"weights of run 1")
    legacy.checkpoint(r1, 3, 0.42, files / "r1_best.pt", is_best=1)
    legacy.checkpoint(r1, 1, 0.6, files / "r1_e1.pt")  # gone from disk
    messy.epochs += 5
    messy.checkpoints += 2
    messy.missing_files += 1

    r2 = legacy.run(challenge=2, model="EEGNetv4",
                    config="{'lr': 0.002, 'betas': (0.9, 0.999), 'wd': nan, 'dropout': np.float64(0.25)}",
                    start="2023-06-02T08:00:00Z", end="2023-06-02T09:30:00.123456+00:00", best_val_loss=0.25,
                    best_epoch=4, total_epochs=5)
    for epoch in range(5):
        legacy.epoch(r2, epoch, val_loss=1.0 - 0.1 * epoch, timestamp=f"2023-06-02T08:0{epoch}:00")
    legacy.epoch(r2, 3, val_loss=0.30, timestamp="2023-06-02T09:03:00")  # resumed: these rows win
    legacy.epoch(r2, 4, val_loss=0.25, timestamp="2023-06-02T09:04:00")
    messy.epochs += 5

    r3 = legacy.run(model="ShallowFBCSPNet", config=None, status="running", start="2022-01-01 00:00:00", end=None)
    for epoch in range(3):
        legacy.epoch(r3, epoch, timestamp=f"2022-01-01 00:0{epoch}:00")
    messy.epochs += 3

    r4 = legacy.run(model="Deep4Net", config="{}", best_val_loss=None, total_epochs=None)
    legacy.epoch(r4, 0, val_loss=None)
    legacy.epoch(r4, 1, val_loss="inf", train_loss="nan")
    legacy.epoch(r4, 2, val_loss=float("inf"))
    legacy.epoch(r4, 3, val_loss=0.7)
    legacy.epoch(r4, 4, val_loss="garbage")
    (files / "r4_a.pt").write_bytes(b"a")
    (files / "r4_c.pt").write_bytes(b"c")
    legacy.checkpoint(r4, 1, 0.5, files / "r4_a.pt", is_best=1)
    legacy.checkpoint(r4, 3, 0.4, files / "r4_b.pt", is_best=1)  # the best, but its file is missing
    legacy.checkpoint(r4, 2, None, files / "r4_c.pt", is_best=1)
    messy.epochs += 5
    messy.checkpoints += 3
    messy.missing_files += 1

    r5 = legacy.run(model="EEGNeX", config="lr=0.001 batch=32", status="failed", start=None,
                    end="2023-07-01 00:00:00", best_val_loss=float("inf"), total_epochs=0)
    assert r5 == 5
    r6 = legacy.run(challenge="2", model="EEGNeX", status="done", best_val_loss=0.5, best_epoch=0, total_epochs=1)
    legacy.epoch(r6, 0, val_loss=0.5)
    messy.epochs += 1
    legacy.run(model="EEGNetv4", best_val_loss=0.8, best_epoch=0, total_epochs=0)

    legacy.epoch(99, 0)
    legacy.epoch(99, 1)
    legacy.checkpoint(98, 0, 0.1, files / "orphan.pt")
    legacy.close()
    return messy


def build_big(path: Path, runs: int, epochs: int) -> None:
    """A large, clean legacy file: `runs` runs of `epochs` epochs each."""
    legacy = LegacyDB(path)
    rows = []
    for run in range(1, runs + 1):
        legacy.run(run_id=run, best_val_loss=0.5, best_epoch=epochs - 1, total_epochs=epochs)
        rows.extend((run, epoch, 1.0, 1.0 / (epoch + 1), 1e-3, 10.0, "2023-05-01 10:00:00") for epoch in range(epochs))
    legacy.db.executemany("INSERT INTO epoch_history(run_id, epoch, train_loss, val_loss, learning_rate,"
                          " duration_seconds, timestamp) VALUES (?,?,?,?,?,?,?)", rows)
    legacy.close()
