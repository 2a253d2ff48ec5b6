"""How big each workload is. `full` is what the targets are stated for; the others divide its counts."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Scale:
    name: str
    runs: int  # W1: runs, each `epochs` epochs
    epochs: int
    extra_experiments: int  # W3: experiments added to W1's
    points: int  # W2: step values of one metric (and, over ten metrics, in the variant)
    history_epochs: int  # W4: epochs of the experiment whose history is read
    memory_points: int  # M: points logged one step at a time while RSS is watched
    processes: int  # W5
    training_steps: int  # T: steps of the example training loop, with and without epochlog
    integration_windows: int  # TI: training windows of each fit (and a quarter as many to validate)
    integration_epochs: int  # TI: epochs of each fit
    integration_repeats: int  # TI: fits of each kind (none, epochlog, MLflow) per framework
    replay_epochs: int  # J: epochs of the run whose journal backlog is shipped after an outage

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# The shape of the work (4 metrics an epoch, batches of 1,000, n=5, limit 100) never changes with the
# scale: only the counts do, so a quick run exercises exactly the code paths a full one does.
EPOCH_METRICS = ("train_loss", "val_loss", "val_acc", "learning_rate")
BATCH = 1_000
SERIES_METRICS = 10  # the W2 variant's metric count (and M's)
BEST_N = 5
SEARCH_LIMIT = 100

SCALES = {
    "full": Scale("full", runs=200, epochs=30, extra_experiments=10_000, points=1_000_000, history_epochs=1_000,
                  memory_points=10_000_000, processes=4, training_steps=3_000,
                  integration_windows=64, integration_epochs=2, integration_repeats=3, replay_epochs=3_000),
    "quick": Scale("quick", runs=10, epochs=30, extra_experiments=500, points=50_000, history_epochs=50,
                   memory_points=500_000, processes=4, training_steps=300,
                   integration_windows=32, integration_epochs=2, integration_repeats=2, replay_epochs=500),
    "tiny": Scale("tiny", runs=3, epochs=30, extra_experiments=40, points=5_000, history_epochs=20,
                  memory_points=20_000, processes=2, training_steps=40,
                  integration_windows=8, integration_epochs=1, integration_repeats=1, replay_epochs=20),
}
