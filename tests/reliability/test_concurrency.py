"""Eight writers at once, on the embedded file (one of them killed mid-write) and on the MongoDB server."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from contextlib import closing
from pathlib import Path

from epochlog import Tracker

WRITERS = 8
EPOCHS = 40
SRC = str(Path(__file__).parents[2] / "src")


def _writer(uri: str, database: str | None, shared_id: str, index: int, errors: multiprocessing.Queue) -> None:
    try:
        tracker = Tracker(uri, database=database)
        own = tracker.create_experiment(experiment_name=f"writer-{index}", challenge=1)
        for epoch in range(EPOCHS):
            tracker.log_epoch(own, epoch, metrics={"val_loss": 1.0 / (epoch + 1)})
            tracker.log_epoch(shared_id, index * EPOCHS + epoch, metrics={"writer": index})
            tracker.log_epoch(shared_id, 100_000 + epoch, metrics={"writer": index})  # every writer, same epochs
        tracker.save_checkpoint_info(own, EPOCHS - 1, {"val_loss": 0.1}, {"path": "w.pt"}, is_best=True)
        tracker.update_experiment_status(own, "completed")
        if not tracker.sync(timeout=240):
            raise AssertionError("the journal did not drain")
        tracker.close()
    except BaseException as error:  # reported to the parent, which fails the test
        errors.put(f"writer {index}: {type(error).__name__}: {error}")


def _run_writers(uri: str, database: str | None, shared: str) -> None:
    context = multiprocessing.get_context("spawn")
    errors = context.Queue()
    writers = [context.Process(target=_writer, args=(uri, database, shared, index, errors))
               for index in range(WRITERS)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(timeout=300)
    failures = []
    while not errors.empty():
        failures.append(errors.get())
    assert failures == []
    assert [process.exitcode for process in writers] == [0] * WRITERS


def _assert_exact_counts(tracker: Tracker, shared: str) -> None:
    store = tracker.store
    shared_oid = tracker.get_experiment(shared)["_id"]
    assert store.count("experiments", {"status": "completed"}) == WRITERS
    assert store.count("epochs", {"experiment_id": shared_oid}) == WRITERS * EPOCHS + EPOCHS
    assert store.count("epochs") == 2 * WRITERS * EPOCHS + EPOCHS
    assert store.count("checkpoints", {"is_best": True}) == WRITERS
    for document in tracker.search_experiments({"experiment_name": {"$regex": "^writer-"}}):
        epochs = tracker.get_experiment_history(document["_id"])["epochs"]
        assert [e["epoch"] for e in epochs] == list(range(EPOCHS))


def test_eight_processes_on_the_mongodb_server(mongo_uri: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("EPOCHLOG_JOURNAL_DIR", str(tmp_path / "journal"))
    database = f"concurrency_{os.getpid()}"
    tracker = Tracker(mongo_uri, database=database)
    shared = tracker.create_experiment(experiment_name="shared", challenge=1)
    assert tracker.sync(timeout=60)
    _run_writers(mongo_uri, database, shared)
    _assert_exact_counts(tracker, shared)
    tracker.store.inner.drop_database()
    tracker.close()


def test_eight_processes_on_one_file_with_one_killed_mid_write(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    tracker = Tracker(f"sqlite:///{path}")
    shared = tracker.create_experiment(experiment_name="shared", challenge=1)
    victim = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        from epochlog import Tracker
        tracker = Tracker("sqlite:///" + {str(path)!r})
        own = tracker.create_experiment(experiment_name="victim", challenge=1)
        for epoch in range(1_000_000):
            tracker.log_epoch(own, epoch, metrics={{"blob": "x" * 2000}})
            print(epoch, flush=True)  # printed only once the call returned: committed
    """)], stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": SRC})
    assert victim.stdout is not None
    first = int(victim.stdout.readline())
    context = multiprocessing.get_context("spawn")
    errors = context.Queue()
    writers = [context.Process(target=_writer, args=(f"sqlite:///{path}", None, shared, index, errors))
               for index in range(WRITERS - 1)]
    for process in writers:
        process.start()
    time.sleep(1.0)
    victim.send_signal(signal.SIGKILL)
    rest, _ = victim.communicate(timeout=10)
    committed = [first] + [int(line) for line in rest.split()]
    for process in writers:
        process.join(timeout=300)
    assert errors.empty(), errors.get()
    assert [process.exitcode for process in writers] == [0] * (WRITERS - 1)

    with closing(sqlite3.connect(path)) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    [victim_run] = tracker.search_experiments({"experiment_name": "victim"})
    logged = {e["epoch"] for e in tracker.get_experiment_history(victim_run["_id"])["epochs"]}
    assert set(range(max(committed, default=-1) + 1)) <= logged
    assert tracker.store.count("experiments", {"status": "completed"}) == WRITERS - 1
    shared_oid = tracker.get_experiment(shared)["_id"]
    assert tracker.store.count("epochs", {"experiment_id": shared_oid}) == (WRITERS - 1) * EPOCHS + EPOCHS
    tracker.close()
