"""A tracker with an artifact store on each backend (a directory next to the embedded store, GridFS on MongoDB),
its upload queue in the test's own directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from epochlog import Tracker
from epochlog.store import Store


@pytest.fixture(autouse=True)
def uploads_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EPOCHLOG_UPLOADS_DIR", str(tmp_path / "uploads"))
    monkeypatch.delenv("EPOCHLOG_ARTIFACTS", raising=False)
    return tmp_path / "uploads"


@pytest.fixture
def copying(store: Store) -> Iterator[Tracker]:
    tracker = Tracker(store=store, artifacts=True)
    yield tracker
    assert tracker.copies is not None
    tracker.copies.close(10)
    tracker.flush()


def write(path: Path, size: int, seed: int = 0) -> Path:
    """A file of `size` pseudo-random bytes."""
    import random

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(random.Random(seed).randbytes(size))
    return path
