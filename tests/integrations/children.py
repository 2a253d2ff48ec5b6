"""Training scripts run as child processes, as a user's job runs: started, watched, signalled, waited for."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from epochlog import Tracker

ROOT = Path(__file__).resolve().parents[2]
CHILD_ENV_PATH = os.pathsep.join([str(ROOT / "src"), str(ROOT)])


def start_child(code: str, tmp_path: Path, *args: str, python_options: tuple[str, ...] = ()) -> subprocess.Popen[bytes]:
    """`python -c code args...` in `tmp_path`, its output in `tmp_path/child.log`."""
    with open(tmp_path / "child.log", "wb") as log:  # a pipe nobody reads could fill up and block the child
        return subprocess.Popen([sys.executable, *python_options, "-c", code, *args], stdout=log,
                                stderr=subprocess.STDOUT, cwd=str(tmp_path),
                                env={**os.environ, "PYTHONPATH": CHILD_ENV_PATH})


def child_experiment(tracker: Tracker, child: subprocess.Popen[bytes], tmp_path: Path, *, epochs: int = 0,
                     checkpoints: int = 0) -> str:
    """The id of the child's experiment (named `child`) once it has logged `epochs` epochs and `checkpoints`
    checkpoints."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and child.poll() is None:
        runs = tracker.search_experiments({"experiment_name": "child"})
        if runs and tracker.store.count("epochs", {"experiment_id": runs[0]["_id"]}) >= epochs and \
                tracker.store.count("checkpoints", {"experiment_id": runs[0]["_id"]}) >= checkpoints:
            return str(runs[0]["_id"])
        time.sleep(0.05)
    child.kill()
    raise AssertionError("the child never logged its epochs:\n" + (tmp_path / "child.log").read_text())


def wait(child: subprocess.Popen[bytes], tmp_path: Path) -> int:
    """The child's exit code (a child that does not end within a minute fails the test, with its log)."""
    try:
        return child.wait(timeout=60)
    except subprocess.TimeoutExpired:
        child.kill()
        raise AssertionError("the child did not end:\n" + (tmp_path / "child.log").read_text()) from None


def run_example(script: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python examples/<script> args...` as a user runs it, in `tmp_path`."""
    return subprocess.run([sys.executable, str(ROOT / "examples" / script), *args], cwd=str(tmp_path),
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "src")})


def sigkilled_keeps_its_best(tracker: Tracker, child: subprocess.Popen[bytes], tmp_path: Path,
                             metric: str) -> tuple[str, dict[str, Any]]:
    """SIGKILL the child once it logged 3 epochs, find its run as stale, and check that the experiment holds
    the best of the epochs it logged by `metric` (lower is better) and its last epoch; the experiment's id
    and history."""
    experiment_id = child_experiment(tracker, child, tmp_path, epochs=3)
    child.send_signal(signal.SIGKILL)
    wait(child, tmp_path)
    assert tracker.get_experiment(experiment_id)["status"] == "running"  # nobody could end it
    time.sleep(0.3)
    assert tracker.mark_stale_failed(older_than=0.2) == [experiment_id]  # what finds a dead run
    found = tracker.get_experiment_history(experiment_id)
    run = found["experiment"]
    losses = {epoch["epoch"]: epoch["metrics"][metric] for epoch in found["epochs"]}
    best = min(losses, key=losses.__getitem__)
    assert run["status"] == "failed" and run["error"]["message"] == "heartbeat lost"
    assert (run["metrics"]["best_epoch"], run["metrics"][f"best_{metric}"]) == (best, losses[best])
    assert run["metrics"]["last_epoch"] == max(losses)
    return experiment_id, found
