"""Console capture on every backend: what a run prints is stored in order, with its stream and time, while the
terminal sees exactly what it saw; the per-run limit keeps the head and the tail; a SIGKILLed run keeps all but its
last second; the server being away loses nothing."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from bson import ObjectId

from epochlog import Tracker
from epochlog.errors import InvalidArgument
from epochlog.schema import CONSOLE

SRC = str(Path(__file__).parents[2] / "src")


def test_printed_lines_come_back_in_order_with_their_stream(tracker: Tracker,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    with tracker.start_run("printing", 1, console=True) as run:
        print("epoch 0 loss 0.9")
        print("\x1b[33mwarning\x1b[0m: slow loader", file=sys.stderr)
        for percent in (10, 50, 100):
            sys.stdout.write(f"\r{percent}%")
        print()
        print("epoch 1 loss 0.5")
    seen = capsys.readouterr()
    assert seen.out == "epoch 0 loss 0.9\n\r10%\r50%\r100%\nepoch 1 loss 0.5\n"  # the terminal's view, unchanged
    assert seen.err == "\x1b[33mwarning\x1b[0m: slow loader\n"
    log = tracker.get_console(run.id)
    assert [(line.stream, line.text) for line in log.lines] == [
        ("stdout", "epoch 0 loss 0.9"), ("stderr", "warning: slow loader"), ("stdout", "100%"),
        ("stdout", "epoch 1 loss 0.5")]
    assert log.lines[0].time <= log.lines[-1].time
    assert tracker.get_experiment(run.id)["console"] == {
        "lines": 4, "bytes": sum(len(line.text) + 1 for line in log.lines), "dropped_lines": 0, "dropped_bytes": 0}
    assert [line.text for line in tracker.get_console(run.id, tail=2).lines] == ["100%", "epoch 1 loss 0.5"]
    assert sys.stdout is not None and type(sys.stdout).__name__ != "_TeeStream"  # the streams are back


def test_a_live_run_is_followed_from_the_last_read(tracker: Tracker) -> None:
    with tracker.start_run("live", 1, console=True) as run:
        print("first")
        deadline = time.monotonic() + 10
        while not (first := tracker.get_console(run.id)).lines and time.monotonic() < deadline:
            time.sleep(0.1)  # the run's thread writes every second
        assert [line.text for line in first.lines] == ["first"]
        print("second")
    rest = tracker.get_console(run.id, after=first.last_seq)
    assert [line.text for line in rest.lines] == ["second"]
    assert tracker.get_console(run.id, after=rest.last_seq).lines == []


def test_over_its_limit_a_run_keeps_its_first_and_its_last_lines(tracker: Tracker) -> None:
    tracker.console_limit = 4_000
    with tracker.start_run("chatty", 1, console=True) as run:
        for line in range(2_000):
            print(f"line {line:05d}")  # 11 bytes each, 22,000 in all
            if line % 50 == 49:
                run._console.flush()  # type: ignore[union-attr]  # as the run's thread does every second
    log = tracker.get_console(run.id)
    texts = [line.text for line in log.lines]
    assert texts[0] == "line 00000" and texts[-1] == "line 01999"
    summary = tracker.get_experiment(run.id)["console"]
    assert summary["lines"] == 2_000 and summary["dropped_lines"] == 2_000 - len(texts) > 0
    assert log.dropped_lines == summary["dropped_lines"]
    head = texts[:log.dropped_at]
    assert head == [f"line {n:05d}" for n in range(len(head))] and len(head) == 2_000 // 11
    kept = sum(len(text) + 1 for text in texts)
    assert kept <= 4_000 + 11 * 50  # the tail is trimmed a chunk at a time
    # the gap is marked only above the oldest tail chunk kept, whichever chunks a read starts from
    assert tracker.get_console(run.id, tail=50).dropped_at is None
    assert tracker.get_console(run.id, tail=len(texts) - len(head)).dropped_at == 0
    chunks = tracker.store.find(CONSOLE, {"experiment_id": ObjectId(run.id)}, sort=[("seq", 1)])
    last_head, oldest_tail = (next(c for c in chunks[::-1] if c["part"] == "head"),
                              next(c for c in chunks if c["part"] == "tail"))
    after_head = tracker.get_console(run.id, after=last_head["seq"])
    assert after_head.dropped_at == 0 and after_head.lines == log.lines[len(head):]
    after_oldest = tracker.get_console(run.id, after=oldest_tail["seq"])  # later tail chunks: no gap above them
    assert after_oldest.lines and after_oldest.dropped_at is None


def test_console_is_off_unless_asked_and_when_capture_leaves_it_out(tracker: Tracker) -> None:
    with tracker.start_run("quiet", 1) as run:
        print("not kept")
    assert tracker.get_console(run.id).lines == [] and "console" not in tracker.get_experiment(run.id)
    with tracker.start_run("private", 1, console=True, capture={"console": False}) as run:
        print("not kept either")
    assert tracker.get_console(run.id).lines == []
    with pytest.raises(InvalidArgument, match="console must be"):
        tracker.start_run("bad", 1, console="yes")
    assert tracker.count_experiments({"experiment_name": "bad"}) == 0


CHILD = textwrap.dedent("""
    import os, sys, time
    from epochlog import Tracker
    tracker = Tracker(sys.argv[1], heartbeat_interval=3600)
    run = tracker.start_run("killed", 1, console=sys.argv[2]).__enter__()
    print(run.id, flush=True)
    for line in range(300):
        print(f"python line {line}", flush=True)
    os.system("echo from a subprocess")
    os.write(2, b"straight to fd 2\\n")
    time.sleep(2.5)  # past the run's next write
    print("READY", flush=True)
    time.sleep(600)
""")


@pytest.mark.parametrize("mode", ["streams", "fds"])
def test_a_sigkilled_run_keeps_what_it_printed_before_its_last_second(backend_uri: str, mode: str) -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD, backend_uri, mode], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": SRC})
    assert child.stdout is not None
    run_id = child.stdout.readline().strip()
    lines = [child.stdout.readline() for _ in range(302)]
    child.send_signal(signal.SIGKILL)
    _, stderr = child.communicate(timeout=30)  # closes the pipes
    assert lines[-1] == "READY\n" and lines[0] == "python line 0\n"  # the terminal saw everything
    tracker = Tracker(backend_uri)  # on MongoDB this process ships the dead one's journal
    assert tracker.sync(60.0)
    kept = tracker.get_console(run_id).lines
    tracker.close()
    texts = [line.text for line in kept]
    # in fds mode each descriptor has its pipe and its copying thread: lines keep their order within a stream,
    # and the two streams interleave as their threads read them (docs/CONTEXT.md)
    printed = [line.text for line in kept if line.stream == "stdout"]
    assert printed[:301] == [run_id, *(f"python line {line}" for line in range(300))]
    if mode == "fds":  # what the process wrote past Python, and what it ran, were caught too
        assert "from a subprocess" in printed and "straight to fd 2" in texts
        assert [line.text for line in kept if line.stream == "stderr"] == ["straight to fd 2"]
        assert "straight to fd 2" in stderr
    else:
        assert "from a subprocess" not in texts


def test_lines_a_write_could_not_store_are_written_by_the_next_flush(tracker: Tracker) -> None:
    from bson import ObjectId

    from epochlog.console import ConsoleRecorder
    from epochlog.errors import StoreUnavailable

    run_id = tracker.create_experiment("outage", 1)
    refusals = [StoreUnavailable("server away"), StoreUnavailable("server still away")]

    def write(writes: object) -> None:  # the store refuses twice, as a server being restarted does
        if refusals:
            raise refusals.pop(0)
        tracker.store.write(writes)  # type: ignore[arg-type]

    recorder = ConsoleRecorder(ObjectId(run_id), write)
    recorder.sink((time.time(), "stdout", "before the outage\n"))
    recorder.flush()
    recorder.sink((time.time(), "stderr", "during it\n"))
    recorder.flush()
    assert tracker.get_console(run_id).lines == []
    recorder.sink((time.time(), "stdout", "after it\n"))
    recorder.flush()
    assert [(line.stream, line.text) for line in tracker.get_console(run_id).lines] == [
        ("stdout", "before the outage"), ("stderr", "during it"), ("stdout", "after it")]


def test_chunks_other_code_wrote_with_odd_fields_are_read_as_far_as_they_go(tracker: Tracker) -> None:
    from tests.seed_era import raw_insert

    eid = tracker.create_experiment("odd console", 1, capture=False)
    oid = ObjectId(eid)
    t0 = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    raw_insert(tracker.store, CONSOLE,
               {"_id": ObjectId(), "experiment_id": oid, "seq": 1, "time": t0, "text": "a\nb",
                "offsets_ms": [None, "5"], "stderr": "1"},
               {"_id": ObjectId(), "experiment_id": oid, "seq": 2, "text": 42, "stderr": [0, "x", True]},
               {"_id": ObjectId(), "experiment_id": oid, "seq": 3, "time": "yesterday", "offsets_ms": [1e12]})
    log = tracker.get_console(eid)
    assert [(line.stream, line.text) for line in log.lines] == [
        ("stdout", "a"), ("stdout", "b"), ("stderr", "42"), ("stdout", "")]
    assert [line.time for line in log.lines[:2]] == [t0, t0]  # null and "5" are no offsets
    assert log.lines[3].time == dt.datetime.min.replace(tzinfo=dt.timezone.utc) and log.last_seq == 3
    assert [line.text for line in tracker.get_console(eid, tail=1).lines] == [""]
