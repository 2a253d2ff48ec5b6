"""Several processes writing one embedded file at once lose nothing, duplicate nothing, never see 'locked'."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from epochlog import Tracker
from epochlog.schema import EPOCHS, EXPERIMENTS

PROCESSES = 4
EPOCHS_PER_WRITER = 60


def _writer(path: str, shared_id: str, index: int, errors: multiprocessing.Queue) -> None:
    try:
        tracker = Tracker(f"sqlite:///{path}")
        own = tracker.create_experiment(experiment_name=f"writer-{index}", challenge=1)
        for epoch in range(EPOCHS_PER_WRITER):
            tracker.log_epoch(own, epoch, metrics={"val_loss": 1.0 / (epoch + 1)})
            tracker.log_epoch(shared_id, index * EPOCHS_PER_WRITER + epoch, metrics={"writer": index})
            tracker.log_epoch(shared_id, 10_000 + epoch, metrics={"writer": index})  # all writers, same epochs
            tracker.log_metrics(own, {"loss": float(epoch)}, step=epoch)
        tracker.update_experiment_status(own, "completed")
        tracker.close()
    except BaseException as error:  # reported to the parent, which fails the test
        errors.put(f"writer {index}: {type(error).__name__}: {error}")


def test_processes_writing_one_file_at_once(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    tracker = Tracker(f"sqlite:///{path}")
    shared = tracker.create_experiment(experiment_name="shared", challenge=1)
    context = multiprocessing.get_context("spawn")
    errors = context.Queue()
    writers = [context.Process(target=_writer, args=(str(path), shared, index, errors)) for index in range(PROCESSES)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(timeout=240)
    failures = [errors.get() for _ in range(errors.qsize())] if not errors.empty() else []
    assert failures == []
    assert [process.exitcode for process in writers] == [0] * PROCESSES

    store = tracker.store
    assert store.count(EXPERIMENTS, {"status": "completed"}) == PROCESSES
    shared_oid = tracker.get_experiment(shared)["_id"]
    assert store.count(EPOCHS, {"experiment_id": shared_oid}) == PROCESSES * EPOCHS_PER_WRITER + EPOCHS_PER_WRITER
    assert store.count(EPOCHS) == 2 * PROCESSES * EPOCHS_PER_WRITER + EPOCHS_PER_WRITER
    for document in tracker.search_experiments({"experiment_name": {"$regex": "^writer-"}}):
        assert tracker.get_metric_series(document["_id"], "loss").steps.tolist() == list(range(EPOCHS_PER_WRITER))
    tracker.close()
