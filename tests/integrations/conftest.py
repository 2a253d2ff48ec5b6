"""Fixtures of the framework integration tests: every framework is the real one from PyPI, on CPU.

`tracker` (tests/conftest.py) runs each test on the embedded store, the MongoDB-wire server and the MongoDB
store behind the journal; `backend_uri` (tests/conftest.py) gives the same three as a URI for child processes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")  # before anything imports keras

from epochlog import Tracker  # noqa: E402


@pytest.fixture
def sqlite_tracker(tmp_path: Path) -> Iterator[Tracker]:
    """A tracker on an embedded store of the test's own, for the tests that need no other backend."""
    with Tracker(f"sqlite:///{tmp_path / 'e.db'}") as tracker:
        yield tracker
