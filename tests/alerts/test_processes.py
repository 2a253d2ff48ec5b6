"""Across processes, on every backend: `epochlog watch --once` started again sends nothing twice, and a run
SIGKILLed in a child process is reported stale once it has been silent for --stale-after."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

from epochlog import Tracker
from tests.alerts.helpers import check_payload, watcher
from tests.alerts.receivers import Receiver
from tests.integrations.children import (
    CHILD_ENV_PATH,
    child_experiment,
    start_child,
    wait,
)

CHILD = textwrap.dedent("""
    import sys, time
    from epochlog import Tracker
    tracker = Tracker(sys.argv[1], heartbeat_interval=0.1)
    with tracker.start_run("child", 1, capture=False) as run:
        for epoch in range(1000):
            run.log_epoch(epoch, {"val_loss": 1.0 / (epoch + 1)})
            time.sleep(0.05)
""")


def watch_once(uri: str, url: str, tmp_path: Path) -> str:
    """`python -m epochlog watch --once` in a process of its own; its output."""
    done = subprocess.run([sys.executable, "-m", "epochlog", "watch", "--once", "--webhook", url, "--uri", uri],
                          check=False, capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": CHILD_ENV_PATH, "EPOCHLOG_WEBHOOKS": ""})
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_watcher_started_again_sends_nothing_twice(backend_uri: str, tmp_path: Path,
                                                     receiver: Callable[..., Receiver]) -> None:
    hook = receiver()
    assert watch_once(backend_uri, hook.url, tmp_path) == ""  # the first watch: when the store was first watched
    with Tracker(backend_uri) as tracker:
        run = tracker.create_experiment("broken", 1, capture=False)
        tracker.update_experiment_status(run, "failed")
        assert tracker.sync(60)
    assert f"failed: run broken ({run})" in watch_once(backend_uri, hook.url, tmp_path)
    assert watch_once(backend_uri, hook.url, tmp_path) == ""
    assert [payload["key"] for payload in hook.payloads] == [f"failed:{run}"]


def test_a_sigkilled_run_is_reported_stale(backend_uri: str, tmp_path: Path, receiver: Callable[..., Receiver]) -> None:
    hook = receiver()
    with Tracker(backend_uri) as tracker, watcher(tracker, hook.url, stale_after=3.0) as watching:
        assert watching.check() == []
        child = start_child(CHILD, tmp_path, backend_uri)
        run = child_experiment(tracker, child, tmp_path, epochs=3)
        assert watching.check() == []  # alive: it beats
        child.send_signal(signal.SIGKILL)
        wait(child, tmp_path)
        deadline = time.monotonic() + 60
        found = []
        while not found and time.monotonic() < deadline:
            time.sleep(0.2)
            found = watching.check()
        assert [alert.key for alert in found] == [f"stale:{run}"]
        assert watching.drain(30)
        assert watching.check() == []
    [payload] = hook.payloads
    details = check_payload(payload, "stale", run)
    assert details["stale_after"] == 3.0 and payload["experiment"]["status"] == "running"
