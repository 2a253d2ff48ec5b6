"""A run SIGKILLed mid-training keeps the best of the epochs it logged, on every backend (journal included)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from epochlog import Tracker
from epochlog.objective import LAST_EPOCH_INTERVAL

SRC = str(Path(__file__).parents[2] / "src")
LOSSES = [1.0 / (1 + epoch) + 0.3 * ((epoch * 7919) % 13) / 13 for epoch in range(81)]

CHILD = textwrap.dedent("""
    import sys, time
    from epochlog import Tracker
    tracker = Tracker(sys.argv[1], heartbeat_interval=3600)
    run = tracker.start_run("killed", 1).__enter__()
    for epoch, loss in enumerate(LOSSES):
        time.sleep(PAUSE)
        run.log_epoch(epoch, {"val_loss": loss, "train_loss": 2 * loss})
    print(run.id, flush=True)
    time.sleep(600)
""")


def _killed_run(uri: str, losses: list[float], pause: float) -> str:
    code = CHILD.replace("LOSSES", repr(losses)).replace("PAUSE", repr(pause))
    with subprocess.Popen([sys.executable, "-c", code, uri], stdout=subprocess.PIPE, text=True,
                          env={**os.environ, "PYTHONPATH": SRC}) as child:
        assert child.stdout is not None
        exp_id = child.stdout.readline().strip()
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert exp_id, "the child logged nothing"
    return exp_id


def test_epochs_slower_than_a_second_leave_the_best_on_the_document(backend_uri: str) -> None:
    losses = [0.9, 0.4, 0.6]
    exp_id = _killed_run(backend_uri, losses, LAST_EPOCH_INTERVAL + 0.1)
    tracker = Tracker(backend_uri)  # on MongoDB this process adopts and ships the dead one's journal
    assert tracker.sync(60.0)
    experiment = tracker.get_experiment(exp_id)
    assert experiment["status"] == "running"  # nobody ended it, nobody recomputed anything
    assert experiment["metrics"] == {"best_val_loss": 0.4, "best_epoch": 1, "last_epoch": 2}
    assert [str(doc["_id"]) for doc in tracker.get_best_models(n=1, status="any")] == [exp_id]
    tracker.close()


def test_sigkill_at_epoch_80_of_a_fast_loop_keeps_the_best_of_epochs_0_to_80(backend_uri: str) -> None:
    exp_id = _killed_run(backend_uri, LOSSES, 0.0)
    tracker = Tracker(backend_uri)
    assert tracker.sync(60.0)
    assert tracker.store.count("epochs", {"experiment_id": tracker.get_experiment(exp_id)["_id"]}) == 81
    time.sleep(0.3)
    assert tracker.mark_stale_failed(older_than=0.2) == [exp_id]  # what finds a killed run completes its best
    assert tracker.sync(60.0)
    experiment = tracker.get_experiment(exp_id)
    best = min(LOSSES)
    assert experiment["status"] == "failed"
    assert experiment["metrics"] == {"best_val_loss": best, "best_epoch": LOSSES.index(best), "last_epoch": 80}
    ranked = tracker.get_best_models(n=1, status="any")
    assert [str(doc["_id"]) for doc in ranked] == [exp_id]
    tracker.close()


def test_resuming_a_killed_run_continues_from_its_stored_epochs(backend_uri: str) -> None:
    exp_id = _killed_run(backend_uri, LOSSES[:10], 0.0)
    tracker = Tracker(backend_uri)
    with tracker.resume_run(exp_id) as run:
        run.log_epoch(10, {"val_loss": 5.0})  # worse than the best of epochs 0..9: the best stays
    assert tracker.sync(60.0)
    metrics = tracker.get_experiment(exp_id)["metrics"]
    best = min(LOSSES[:10])
    assert metrics == {"best_val_loss": best, "best_epoch": LOSSES.index(best), "last_epoch": 10}
    tracker.close()
