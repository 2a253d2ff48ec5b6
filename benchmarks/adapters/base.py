"""The small interface every benchmarked store implements, and the spec that recreates one in a subprocess."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..data import RunData


@dataclass(frozen=True)
class AdapterSpec:
    """Everything needed to open an adapter, picklable so W5's worker processes can open the same store."""

    name: str
    workdir: str  # a directory of its own: database files, journals, artifacts
    label: str = "main"  # distinguishes the stores of one adapter (one per workload that needs a fresh one)
    mongodb_uri: str | None = None
    options: dict[str, Any] = field(default_factory=dict)


class Adapter(ABC):
    """One store under test. Handles returned by `create_run` are opaque to the workloads."""

    name: ClassVar[str]
    #: Workloads this adapter has no way to run (logging one step at a time is epochlog's buffered API; TI runs
    #: epochlog's framework integrations, with MLflow's as peers in the same process; J replays epochlog's journal,
    #: with raw pymongo's as peers in the same run).
    unsupported: ClassVar[frozenset[str]] = frozenset({"M", "T", "TI", "J"})

    def __init__(self, spec: AdapterSpec) -> None:
        self.spec = spec

    # -- writes ------------------------------------------------------------------------------------

    @abstractmethod
    def create_run(self, run: RunData) -> Any:
        """Create a running experiment with the run's name, challenge, tags and nested config."""

    @abstractmethod
    def log_epoch(self, handle: Any, epoch: int, metrics: dict[str, float]) -> None:
        """One call per epoch, as the seed's training loop makes it."""

    @abstractmethod
    def complete_run(self, handle: Any, summary: dict[str, float | int]) -> None:
        """Mark the run completed with its summary metrics (best_val_loss, best_epoch)."""

    @abstractmethod
    def log_batch(self, handle: Any, names: Sequence[str], steps: np.ndarray, values: np.ndarray) -> None:
        """One batch of step values: `values[i]` holds metric `names[i]` at `steps`."""

    def log_step(self, handle: Any, metrics: dict[str, float], step: int) -> None:
        """One training step's values (buffered by the adapter); only epochlog has this."""
        raise TypeError(f"{self.name} has no per-step API")

    def drain(self) -> None:
        """Wait until everything written so far is in the target store (journals shipped)."""

    # -- reads -------------------------------------------------------------------------------------

    @abstractmethod
    def best_models(self, n: int) -> list[Any]:
        """The `n` completed runs with the lowest best_val_loss."""

    @abstractmethod
    def search_config(self, path: Sequence[str], value: Any, limit: int) -> list[Any]:
        """Runs whose nested config value at `path` equals `value`, at most `limit`."""

    @abstractmethod
    def history(self, handle: Any) -> Any:
        """The run with all its epochs' metrics, in epoch order."""

    @abstractmethod
    def metric_series(self, handle: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
        """All (steps, values) of one step series."""

    # -- bookkeeping -------------------------------------------------------------------------------

    def round_trips(self) -> dict[str, int] | None:
        """Commands sent to a server so far, by command name; None for embedded stores."""
        return None

    @abstractmethod
    def versions(self) -> dict[str, str]:
        """Versions of what this adapter runs on (library, database engine, server)."""

    @abstractmethod
    def close(self) -> None:
        """Flush and release everything."""

    @classmethod
    def discard(cls, spec: AdapterSpec) -> None:
        """Delete what a spec's store holds on a server (embedded files go with the work directory)."""
