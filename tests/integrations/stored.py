"""What a training left in the store, read back as the integration tests check it."""

from __future__ import annotations

from typing import Any

from epochlog import Tracker


def history(tracker: Tracker, experiment_id: str | None) -> dict[str, Any]:
    """The experiment's history once everything journaled reached the store."""
    assert experiment_id is not None
    tracker.sync()
    return tracker.get_experiment_history(experiment_id)


def epochs_of(found: dict[str, Any]) -> list[int]:
    """The epoch numbers of a history, in order."""
    return [epoch["epoch"] for epoch in found["epochs"]]
