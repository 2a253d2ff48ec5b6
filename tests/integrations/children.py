"""Training scripts run as child processes, as a user's job runs: started, watched, signalled, waited for."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

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
