"""A process SIGKILLed in the middle of copying a checkpoint into the artifact store, on every backend: the next
tracker on the same stores makes the copy, whole, and marks the checkpoint."""

from __future__ import annotations

import hashlib
import os
import signal
import textwrap
import time
from pathlib import Path

import pymongo

from epochlog import Tracker
from tests.integrations.children import start_child, wait

from .conftest import write

SIZES = {"sqlite": 64_000_000, "mongodb": 16_000_000}  # bytes: copied in about 0.1 s (then held), uploaded in 2 s
CHILD = textwrap.dedent("""
    import os, sys, time
    from epochlog import Tracker
    flush_to_disk = os.fsync
    def slow_fsync(fd):  # a directory copy stays half made (its temporary file) long enough to be seen and killed
        time.sleep(5)
        flush_to_disk(fd)
    os.fsync = slow_fsync
    tracker = Tracker(sys.argv[1], artifacts=True)
    run = tracker.create_experiment("child", 1, capture=False)
    tracker.save_checkpoint_info(run, 1, {"val_loss": 0.5}, {"path": "big.pt"}, is_best=True, store_file=True)
    time.sleep(600)
""")


def copying_now(uri: str, tmp_path: Path, sha: str) -> bool:
    """Whether a copy of `sha` is under way: a temporary file in the directory, or chunks without their file."""
    if uri.startswith("sqlite"):
        folder = tmp_path / "e.db.artifacts" / sha[:2]
        return folder.is_dir() and any(name.startswith(".incoming.") for name in os.listdir(folder))
    client: pymongo.MongoClient[dict] = pymongo.MongoClient(uri)
    try:
        database = client.get_default_database()
        return database["artifacts.chunks"].count_documents({"files_id": sha}, limit=1) > 0 and \
            database["artifacts.files"].count_documents({"_id": sha}) == 0
    finally:
        client.close()


def test_a_copy_killed_midway_is_made_by_the_next_tracker(backend_uri: str, tmp_path: Path) -> None:
    size = SIZES["sqlite" if backend_uri.startswith("sqlite") else "mongodb"]
    big = write(tmp_path / "big.pt", size)
    sha = hashlib.sha256(big.read_bytes()).hexdigest()
    child = start_child(CHILD, tmp_path, backend_uri)
    try:
        deadline = time.monotonic() + 120
        while not copying_now(backend_uri, tmp_path, sha):
            assert time.monotonic() < deadline and child.poll() is None, (tmp_path / "child.log").read_text()
            time.sleep(0.002)
    finally:  # killed midway, or not left sleeping when the copy was never seen
        child.send_signal(signal.SIGKILL)
        wait(child, tmp_path)

    tracker = Tracker(backend_uri, artifacts=True)  # finds the entry the child queued, and makes the copy
    try:
        assert tracker.copies is not None and tracker.copies.uploader.drain(120)
        assert tracker.sync(60)
        [run] = tracker.search_experiments({"experiment_name": "child"})
        [row] = tracker.verify_checkpoints(run["_id"])
        assert row["stored"] == "ok"
        big.unlink()
        fetched = tracker.fetch_checkpoint(run["_id"], to=tmp_path / "out")
        assert fetched.stat().st_size == size and hashlib.sha256(fetched.read_bytes()).hexdigest() == sha
        assert dict(tracker.copies.artifacts.sizes()) == {sha: size}
        # the child's partial copy: a temporary file in a directory (GridFS's chunks were replaced by the upload)
        assert tracker.copies.artifacts.sweep(older_than=0) == (1 if backend_uri.startswith("sqlite") else 0)
        assert tracker.copies.artifacts.sweep(older_than=0) == 0 and tracker.copies.artifacts.check(sha) == "ok"
    finally:
        tracker.close()
