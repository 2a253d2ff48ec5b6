"""TI's training stacks: braindecode's EEGNeX fitted through skorch, the Hugging Face Trainer, Lightning and Keras.

Each module has one function, `prepare(windows, settings, kind, context)`, which builds the model, the data and
the trainer of its framework with the integration `kind` asks for (`none`, `epochlog` or `mlflow`) and returns
a `Prepared`: the fit to time, and the integration's objects whose hooks count as the integration's time. The
model, the data, the optimizer and what is logged are the same in every kind; only the integration differs.
Modules are imported only when their framework is benchmarked (each imports its framework at the top).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from epochlog import Tracker

FRAMEWORKS = ("skorch", "transformers", "lightning", "keras")
NONE, EPOCHLOG, MLFLOW = "none", "epochlog", "mlflow"
PEERS = (MLFLOW,)
CLASSES = 2


def callback_hooks(name: str) -> bool:
    """A framework callback's hooks: every `on_*` method."""
    return name.startswith("on_")


@dataclass(frozen=True)
class Windows:
    """Synthetic EEG-like windows (float32, (n, channels, samples)) and their class labels (int64)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_valid: np.ndarray
    y_valid: np.ndarray

    @property
    def channels(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def samples(self) -> int:
        return int(self.x_train.shape[2])


@dataclass(frozen=True)
class Settings:
    batch: int
    epochs: int
    learning_rate: float
    workdir: str  # where a framework writes its own files (HF's output_dir, Lightning's root)


@dataclass(frozen=True)
class Context:
    """Where the integrations record: epochlog's tracker, MLflow's tracking URI (set as the default too)."""

    tracker: Tracker | None
    mlflow_uri: str | None
    experiment_name: str


@dataclass
class Prepared:
    fit: Callable[[], Any]
    #: (object, which of its methods are hooks): the integration's objects, timed while the fit runs
    timed: list[tuple[Any, Callable[[str], bool]]] = field(default_factory=list)


def prepare(framework: str, windows: Windows, settings: Settings, kind: str, context: Context) -> Prepared:
    module = importlib.import_module(f"{__name__}.{framework}")
    return module.prepare(windows, settings, kind, context)  # type: ignore[no-any-return]


__all__ = ["CLASSES", "EPOCHLOG", "FRAMEWORKS", "MLFLOW", "NONE", "PEERS", "Context", "Prepared", "Settings",
           "Windows", "callback_hooks", "prepare"]
