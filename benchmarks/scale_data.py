"""Experiments and epochs at the scale of a year of sweeps: 1,000 configurations run over many seeds.

Run `index` has configuration `index % 1000` (model, learning rate and batch size together name it) and seed
`index // 1000`, so grouping by those three config paths, or by the config except its seed, gives 1,000 groups
at any size from 1,000 runs up. Documents are written straight to the store in batches, shaped as the tracker
writes them (finished runs with their best metrics, 30 epochs each).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
from bson import ObjectId

from epochlog.documents import normalize_document
from epochlog.store import Put, Store

CONFIGURATIONS = 1_000
MODELS = ("EEGNeX", "EEGNetv4", "ShallowFBCSPNet", "Deep4Net")
LEARNING_RATES = tuple(float(f"{10 ** (-4 + 2 * step / 24):.3g}") for step in range(25))
BATCH_SIZES = (8, 16, 24, 32, 48, 64, 96, 128, 192, 256)
OPTIMIZERS = ("AdamW", "Adam", "SGD")
GROUP_BY = ["config.model", "config.learning_rate", "config.batch_size"]
BATCH = 2_000
_START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def configuration(index: int) -> dict[str, object]:
    grid = index % CONFIGURATIONS
    return {"model": MODELS[grid % 4], "learning_rate": LEARNING_RATES[grid // 4 % 25],
            "batch_size": BATCH_SIZES[grid // 100], "optimizer": OPTIMIZERS[grid % 3], "dropout": 0.5,
            "weight_decay": 1e-4, "seed": index // CONFIGURATIONS, "n_epochs": 30, "scheduler": "cosine",
            "window_seconds": 2.0, "sfreq": 100, "device": "cuda"}


def experiment(index: int, rng: np.random.Generator, epochs: np.ndarray) -> dict[str, object]:
    began = _START + dt.timedelta(minutes=index)
    best = int(np.argmin(epochs[:, 1]))
    return {
        "_id": ObjectId(), "experiment_name": f"sweep-{index:06d}", "challenge": 1 + index % 2,
        "status": "failed" if rng.random() < 0.05 else "completed", "start_time": began, "heartbeat": began,
        "end_time": began + dt.timedelta(hours=1), "config": configuration(index),
        "model": {"name": MODELS[index % 4], "parameters": int(rng.integers(20_000, 3_000_000)), "n_chans": 129},
        "dataset": {"releases": ["R1", "R2"], "train_windows": 90_000},
        "metrics": {"best_val_loss": float(epochs[best, 1]), "best_epoch": best, "last_epoch": len(epochs) - 1,
                    "best_val_acc": float(epochs[:, 2].max()), "final_train_loss": float(epochs[-1, 0])},
        "objective": {"metric": "val_loss", "mode": "min"},
        "tags": [MODELS[index % 4].lower(), f"challenge{1 + index % 2}", "sweep"], "notes": "",
        "created_by": "bench", "host": f"node{index % 16:02d}", "pid": 1000 + index % 30_000,
    }


def curves(rng: np.random.Generator, index: int, count: int) -> np.ndarray:
    """(count, 3) train loss, val loss, val accuracy: falling losses whose floor depends on the configuration."""
    floor = 0.4 + 0.3 * ((index % CONFIGURATIONS) / CONFIGURATIONS)
    t = np.arange(count, dtype=np.float64)
    train = floor + 0.6 * np.exp(-t / 6) + rng.normal(0, 0.01, count)
    val = train + 0.05 + rng.normal(0, 0.02, count)
    return np.column_stack([train, val, 1.1 - val])


def documents(start: int, stop: int, epochs: int) -> Iterator[list[Put]]:
    """Batches of writes for runs `start` to `stop`: each experiment, then its epochs."""
    writes: list[Put] = []
    for index in range(start, stop):
        rng = np.random.default_rng(index)
        table = curves(rng, index, epochs)
        run = normalize_document(experiment(index, rng, table))
        writes.append(Put("experiments", run))
        began = run["start_time"]
        for epoch, (train, val, acc) in enumerate(table.tolist()):
            writes.append(Put("epochs", normalize_document({
                "_id": ObjectId(), "experiment_id": run["_id"], "epoch": epoch,
                "metrics": {"train_loss": train, "val_loss": val, "val_acc": acc, "learning_rate": 1e-3},
                "timing": {"duration_s": 118.0}, "timestamp": began + dt.timedelta(minutes=2 * epoch)})))
        if len(writes) >= BATCH:
            yield writes
            writes = []
    if writes:
        yield writes


def fill(store: Store, start: int, stop: int, epochs: int = 30) -> None:
    for batch in documents(start, stop, epochs):
        store.write(batch)
