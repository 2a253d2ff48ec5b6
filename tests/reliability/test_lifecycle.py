"""Run lifecycle across processes: a killed writer is detected as stale, SIGTERM ends a run as stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from epochlog import Tracker

SRC = str(Path(__file__).parents[2] / "src")


def _child(code: str, path: Path) -> subprocess.Popen[str]:
    script = code.replace("DB_PATH", repr(str(path)))
    return subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": SRC})


def _wait_for_epochs(tracker: Tracker, count: int, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = tracker.search_experiments({"experiment_name": "child"})
        if runs and tracker.store.count("epochs", {"experiment_id": runs[0]["_id"]}) >= count:
            return str(runs[0]["_id"])
        time.sleep(0.05)
    raise AssertionError("the child process never logged")


CHILD_LOOP = textwrap.dedent("""
    import time
    from epochlog import Tracker
    tracker = Tracker("sqlite:///" + DB_PATH, heartbeat_interval=0.2)
    with tracker.start_run("child", 1) as run:
        for epoch in range(100_000):
            run.log_epoch(epoch, {"val_loss": 1.0})
            time.sleep(0.02)
""")


def test_a_killed_writer_is_detected_as_stale_and_marked_failed(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    tracker = Tracker(f"sqlite:///{path}")
    child = _child(CHILD_LOOP, path)
    exp_id = _wait_for_epochs(tracker, 5)
    assert tracker.get_stale_runs(older_than=1.0) == []
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=10)  # closes the pipes
    time.sleep(1.5)

    stale = tracker.get_stale_runs(older_than=1.0)
    assert [str(run["_id"]) for run in stale] == [exp_id]
    assert tracker.mark_stale_failed(older_than=1.0) == [exp_id]
    run = tracker.get_experiment(exp_id)
    assert run["status"] == "failed" and run["error"]["message"] == "heartbeat lost"
    assert tracker.get_stale_runs(older_than=1.0) == []
    tracker.close()


def test_a_live_run_that_logs_nothing_keeps_its_heartbeat(tmp_path: Path) -> None:
    tracker = Tracker(f"sqlite:///{tmp_path / 'live.db'}", heartbeat_interval=0.2)
    with tracker.start_run("quiet", 1) as run:
        time.sleep(1.5)  # a long epoch: only the heartbeat thread writes
        assert tracker.get_stale_runs(older_than=1.0) == []
    assert tracker.get_experiment(run.id)["status"] == "completed"
    tracker.close()


def test_sigterm_stops_the_run_and_calls_the_handler_installed_before(tmp_path: Path) -> None:
    path = tmp_path / "term.db"
    marker = tmp_path / "previous-handler-ran"
    handler = f"import signal\nsignal.signal(signal.SIGTERM, lambda *_: open({str(marker)!r}, 'w').close())\n"
    child = _child(handler + CHILD_LOOP, path)
    tracker = Tracker(f"sqlite:///{path}")
    exp_id = _wait_for_epochs(tracker, 3)
    child.send_signal(signal.SIGTERM)
    child.communicate(timeout=30)
    assert child.returncode == 128 + signal.SIGTERM
    run = tracker.get_experiment(exp_id)
    assert run["status"] == "stopped" and run["error"]["type"] == "Terminated"
    assert marker.exists()
    tracker.close()
