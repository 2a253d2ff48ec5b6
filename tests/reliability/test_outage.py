"""The write-behind journal against a real outage: the server is SIGKILLed mid-run and comes back."""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path

import pytest

from epochlog import Tracker
from epochlog.store.mongo import MongoStore
from tests.conftest import start_service, stop_service

EPOCHS = 240
OUTAGE = 6.0  # seconds the killed server stays down
SLOW_CALL = 0.25  # a call that waited for the server would take seconds (server selection times out at 5 s)


@pytest.fixture
def own_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    if os.environ.get("MONGODB_URI"):
        pytest.fail("this test kills its own test server; run it without MONGODB_URI", pytrace=False)
    monkeypatch.setenv("EPOCHLOG_JOURNAL_DIR", str(tmp_path / "journal"))
    data_dir = tmp_path / "ferretdb"
    uri = start_service("ferretdb", data_dir)
    yield data_dir, uri
    stop_service("ferretdb", data_dir)


def _kill(data_dir: Path) -> None:
    os.kill(int((data_dir / "ferretdb.pid").read_text()), signal.SIGKILL)
    time.sleep(0.2)


def _training_loop(tracker: Tracker, exp_id: str, on_epoch) -> list[float]:
    latencies = []

    def timed(call, *args, **kwargs) -> None:
        start = time.perf_counter()
        call(*args, **kwargs)
        latencies.append(time.perf_counter() - start)

    for epoch in range(EPOCHS):
        on_epoch(epoch)
        for step in range(epoch * 10, epoch * 10 + 10):
            timed(tracker.log_metrics, exp_id, {"batch_loss": 1.0 / (step + 1)}, step=step)
        timed(tracker.log_epoch, exp_id, epoch, metrics={"val_loss": 1.0 / (epoch + 1)})
        if epoch % 40 == 0:
            timed(tracker.save_checkpoint_info, exp_id, epoch, {"val_loss": 0.1}, {"path": f"{epoch}.pt"},
                  is_best=True)
        time.sleep(0.004)
    return latencies


def _assert_everything_arrived_once(uri: str, exp_id: str) -> None:
    tracker = Tracker(uri, database="outage", journal=False)
    history = tracker.get_experiment_history(exp_id)
    assert [e["epoch"] for e in history["epochs"]] == list(range(EPOCHS))
    assert [c["epoch"] for c in history["checkpoints"]] == list(range(0, EPOCHS, 40))
    assert [c["epoch"] for c in history["checkpoints"] if c["is_best"]] == [200]
    assert tracker.get_metric_series(exp_id, "batch_loss").steps.tolist() == list(range(EPOCHS * 10))
    assert history["experiment"]["status"] == "completed"
    tracker.close()


def test_server_killed_mid_run_and_restarted(own_server, caplog: pytest.LogCaptureFixture) -> None:
    data_dir, uri = own_server
    caplog.set_level(logging.WARNING, logger="epochlog.journal")
    tracker = Tracker(uri, database="outage")
    exp_id = tracker.create_experiment("outage", 1)

    killed_at = 0.0

    def chaos(epoch: int) -> None:
        nonlocal killed_at
        if epoch == 60:
            _kill(data_dir)
            killed_at = time.monotonic()
        if epoch == 170:
            # down for longer than the driver waits for a server (5 s): shorter, a write waiting in server
            # selection would just succeed once it is back, and the outage would never be seen
            time.sleep(max(0.0, killed_at + OUTAGE - time.monotonic()))
            assert start_service("ferretdb", data_dir) == uri  # same data dir, same port

    latencies = _training_loop(tracker, exp_id, chaos)
    tracker.update_experiment_status(exp_id, "completed")
    tracker.close()

    assert max(latencies) < SLOW_CALL, f"slowest tracker call took {max(latencies) * 1000:.1f} ms"
    outages = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(outages) == 1, [r.getMessage() for r in caplog.records]
    _assert_everything_arrived_once(uri, exp_id)


def test_server_down_from_the_start(own_server) -> None:
    data_dir, uri = own_server
    stop_service("ferretdb", data_dir)
    tracker = Tracker(uri, database="outage")
    exp_id = tracker.create_experiment("outage", 1)

    def comes_back(epoch: int) -> None:
        if epoch == 120:
            start_service("ferretdb", data_dir)

    latencies = _training_loop(tracker, exp_id, comes_back)
    tracker.update_experiment_status(exp_id, "completed")
    tracker.close()
    assert max(latencies) < SLOW_CALL, f"slowest tracker call took {max(latencies) * 1000:.1f} ms"
    _assert_everything_arrived_once(uri, exp_id)


def test_what_a_crashed_process_left_is_shipped_by_the_next_one(own_server, tmp_path: Path) -> None:
    import subprocess
    import sys
    import textwrap

    data_dir, uri = own_server
    stop_service("ferretdb", data_dir)
    child = textwrap.dedent(f"""
        import os
        from epochlog import Tracker
        tracker = Tracker({uri!r}, database="outage")
        exp_id = tracker.create_experiment("crashed", 1)
        for epoch in range(50):
            tracker.log_epoch(exp_id, epoch, metrics={{"val_loss": 0.5}})
        print(exp_id, flush=True)
        os._exit(9)  # dies without closing: the journal is all that is left
    """)
    result = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")})
    exp_id = result.stdout.strip()
    assert result.returncode == 9 and exp_id, result.stderr
    journals = list((tmp_path / "journal").rglob("*.journal"))
    assert len(journals) == 1

    start_service("ferretdb", data_dir)
    from epochlog.store.journal import sync

    report = sync(MongoStore(uri, database="outage"), journals[0].parent, timeout=60)
    assert report["sent"] == 51 and report["left"] == 0 and report["refused"] == 0
    assert not list((tmp_path / "journal").rglob("*.journal"))
    tracker = Tracker(uri, database="outage", journal=False)
    assert len(tracker.get_experiment_history(exp_id)["epochs"]) == 50
    tracker.close()


def test_console_printed_while_the_server_is_down_arrives_once_in_order(own_server, capsys) -> None:
    data_dir, uri = own_server
    tracker = Tracker(uri, database="outage")
    printed = []
    with tracker.start_run("console outage", 1, console=True) as run:
        started = time.monotonic()
        killed_at = None
        for index in range(400):
            if index == 100:
                _kill(data_dir)
                killed_at = time.monotonic()
            if index == 300:  # down longer than the driver waits for a server
                time.sleep(max(0.0, killed_at + OUTAGE - time.monotonic()))
                assert start_service("ferretdb", data_dir) == uri
            line = f"step {index} loss {1 / (index + 1):.5f}"
            print(line)
            printed.append(line)
            time.sleep(0.01)
        assert time.monotonic() - started > OUTAGE  # the run's thread flushed its chunks during the outage
    tracker.close()
    assert capsys.readouterr().out.splitlines() == printed  # the terminal saw every line as it was printed
    reader = Tracker(uri, database="outage", journal=False)
    assert [line.text for line in reader.get_console(run.id).lines] == printed
    assert reader.get_experiment(run.id)["console"]["lines"] == 400
    reader.close()


def test_a_checkpoint_copy_waits_for_the_server_and_is_made_when_it_is_back(own_server, tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib

    data_dir, uri = own_server
    monkeypatch.setenv("EPOCHLOG_UPLOADS_DIR", str(tmp_path / "uploads"))
    stop_service("ferretdb", data_dir)
    model = tmp_path / "model.pt"
    model.write_bytes(os.urandom(2_000_000))
    tracker = Tracker(uri, database="outage", artifacts=True)
    exp_id = tracker.create_experiment("upload outage", 1, capture=False)
    started = time.perf_counter()
    tracker.save_checkpoint_info(exp_id, 1, {"val_loss": 0.5}, {"path": model}, is_best=True, store_file=True)
    assert time.perf_counter() - started < SLOW_CALL  # the copy waits in the background, not in the loop
    assert tracker.copies is not None and not tracker.copies.uploader.drain(OUTAGE)  # nothing to copy into yet
    start_service("ferretdb", data_dir)
    assert tracker.copies.uploader.drain(120) and tracker.sync(60)
    [row] = tracker.verify_checkpoints(exp_id)
    assert row["stored"] == "ok"
    fetched = tracker.fetch_checkpoint(exp_id, to=tmp_path / "out")
    assert hashlib.sha256(fetched.read_bytes()).digest() == hashlib.sha256(model.read_bytes()).digest()
    tracker.close()
