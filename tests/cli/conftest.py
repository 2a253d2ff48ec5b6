"""Each CLI test gets its own embedded store (`--uri sqlite:///<tmp>/e.db`) and a runner bound to it."""

from __future__ import annotations

from pathlib import Path

import pytest

from epochlog import Tracker
from epochlog.demo import run_demo

from .helpers import Cli


@pytest.fixture
def uri(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'e.db'}"


@pytest.fixture
def cli(uri: str, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.delenv("EPOCHLOG_URI", raising=False)
    monkeypatch.delenv("EPOCHLOG_UI_TOKEN", raising=False)
    return Cli(uri)


@pytest.fixture
def demo_ids(uri: str) -> list[str]:
    """A small simulated study in the test's store: 12 runs of 8 epochs (ids oldest first)."""
    with Tracker(uri) as tracker:
        return run_demo(tracker, seed=0, experiments=12, epochs=8)
