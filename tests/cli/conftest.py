"""The CLI tests' simulated study (each test's store and runner, `uri` and `cli`, come from tests/conftest.py)."""

from __future__ import annotations

import pytest

from epochlog import Tracker
from epochlog.demo import run_demo


@pytest.fixture
def demo_ids(uri: str) -> list[str]:
    """A small simulated study in the test's store: 12 runs of 8 epochs (ids oldest first)."""
    with Tracker(uri) as tracker:
        return run_demo(tracker, seed=0, experiments=12, epochs=8)
