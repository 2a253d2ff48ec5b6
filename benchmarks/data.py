"""The data every adapter is fed: generated once from fixed seeds, so each peer stores exactly the same."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .scale import EPOCH_METRICS

MODELS = ("EEGNeX", "ShallowConvNet", "EEGNetv4", "Deep4Net")
OPTIMIZERS = ("Adamax", "AdamW", "SGD", "RMSprop")  # W3 searches for one in four
SEARCH_PATH = ("optimizer", "name")
SEARCH_VALUE = "Adamax"


@dataclass(frozen=True)
class RunData:
    """One run as the seed creates it: a name, a challenge, tags and a nested config of 16 values."""

    name: str
    challenge: int
    tags: list[str]
    config: dict[str, Any]
    epochs: np.ndarray  # (epochs, 4) float64, columns in EPOCH_METRICS order; empty for W3's extra runs
    best_val_loss: float
    best_epoch: int

    def epoch_metrics(self, epoch: int) -> dict[str, float]:
        row = self.epochs[epoch]
        return {name: float(row[index]) for index, name in enumerate(EPOCH_METRICS)}

    def summary(self) -> dict[str, float | int]:
        return {"best_val_loss": self.best_val_loss, "best_epoch": self.best_epoch}


def make_run(index: int, epochs: int, prefix: str = "w1") -> RunData:
    """Run number `index`, the same every time it is asked for."""
    rng = np.random.default_rng(index)
    config: dict[str, Any] = {
        "model": {"name": MODELS[index % len(MODELS)], "parameters": int(rng.integers(10_000, 3_000_000)),
                  "dropout": round(float(rng.uniform(0, 0.5)), 3), "depth": int(rng.integers(2, 8))},
        "optimizer": {"name": OPTIMIZERS[(index // 4) % len(OPTIMIZERS)],
                      "lr": float(10 ** rng.uniform(-4, -2)), "weight_decay": float(10 ** rng.uniform(-6, -3)),
                      "betas": [0.9, 0.999]},
        "data": {"releases": ["R1", "R2"], "window_s": 2.0, "sfreq": 100, "batch_size": int(rng.choice([16, 32, 64]))},
        "scheduler": {"name": "cosine", "warmup_epochs": int(rng.integers(0, 5))},
        "seed": index,
        "device": "cpu",
    }
    if epochs:
        table = epoch_table(rng, epochs, config["optimizer"]["lr"])
        best = int(np.argmin(table[:, 1]))
        best_loss = float(table[best, 1])
    else:
        table = np.empty((0, len(EPOCH_METRICS)))
        best, best_loss = int(rng.integers(0, 30)), float(rng.uniform(0.04, 0.4))
    return RunData(name=f"{prefix}-{index:06d}", challenge=1 + index % 2, tags=["bench", f"sweep{index % 5}"],
                   config=config, epochs=table, best_val_loss=best_loss, best_epoch=best)


def epoch_table(rng: np.random.Generator, epochs: int, lr: float) -> np.ndarray:
    """Plausible training curves: losses that fall with noise, an accuracy that rises, a cosine LR."""
    t = np.arange(epochs, dtype=np.float64)
    train = 0.05 + 0.5 * np.exp(-t / max(epochs / 4, 1)) + rng.normal(0, 0.005, epochs)
    val = train + 0.02 + rng.normal(0, 0.01, epochs)
    acc = 1 - val + rng.normal(0, 0.01, epochs)
    rate = lr * 0.5 * (1 + np.cos(np.pi * t / max(epochs, 1)))
    return np.column_stack([train, val, acc, rate])


def runs(count: int, epochs: int, prefix: str = "w1", start: int = 0) -> Iterator[RunData]:
    for index in range(start, start + count):
        yield make_run(index, epochs, prefix)


def series_values(count: int, seed: int = 7) -> np.ndarray:
    """A step series' values: a noisy decaying loss."""
    rng = np.random.default_rng(seed)
    steps = np.arange(count, dtype=np.float64)
    return 0.05 + np.exp(-steps / max(count / 5, 1)) + rng.normal(0, 0.01, count)
