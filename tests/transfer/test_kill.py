"""A push SIGKILLed partway, into every backend: the next push completes it exactly, with no duplicate."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from epochlog import Tracker
from epochlog.schema import CHECKPOINTS, EPOCHS, EXPERIMENTS
from epochlog.store import open_store
from epochlog.store.mongo import MongoStore
from epochlog.store.sqlite import SQLiteStore
from epochlog.transfer import push

from .stores import content, fill

RUNS, EPOCHS_EACH = 120, 4
CHILD = textwrap.dedent("""
    import sys, time
    import epochlog.transfer.copier as module
    from epochlog.store import open_store
    module.BATCH = 4  # many small batches, so the kill lands inside the push
    with open_store(sys.argv[2]) as dest:
        module.push(sys.argv[1], dest, progress=lambda done, total: time.sleep(0.03))
""")


def landed(uri: str) -> int:
    """Experiments the destination holds, read directly (not through a journal)."""
    store = MongoStore(uri) if uri.startswith("mongodb://") else SQLiteStore(uri[len("sqlite:///"):])
    try:
        return store.count(EXPERIMENTS)
    finally:
        store.close()


def test_a_push_killed_partway_is_completed_by_the_next(backend_uri: str, tmp_path: Path) -> None:
    source = f"sqlite:///{tmp_path / 'node.db'}"
    with Tracker(source) as tracker:
        fill(tracker, runs=RUNS, epochs=EPOCHS_EACH)
    child = subprocess.Popen([sys.executable, "-c", CHILD, source, backend_uri], env=os.environ.copy())
    deadline = time.monotonic() + 120
    while landed(backend_uri) < 8 and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    assert child.wait(30) == -signal.SIGKILL, "the push ended before it could be killed"
    assert 0 < landed(backend_uri) < RUNS

    with open_store(backend_uri) as dest:  # a journaled one first ships what the killed push left in its journal
        summary = push(source, dest)
        assert summary.changed > 0
        with open_store(source) as node:
            assert content(dest) == content(node)
        assert dest.count(EXPERIMENTS) == RUNS and dest.count(EPOCHS) == RUNS * EPOCHS_EACH
        assert dest.count(CHECKPOINTS) == RUNS * 2 and len(dest.series_bucket_ids()) == RUNS
        assert push(source, dest).changed == 0
