"""Live updates by server-sent events: what changed, `end`, the stream limit, disconnects, shutdown, the token."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from bson import ObjectId

from epochlog import Tracker
from epochlog.errors import StoreUnavailable
from epochlog.schema import CONSOLE
from epochlog.store import Put
from epochlog.web import create_app, live

from .conftest import TOKEN, LiveServer

@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live, "CHECK_SECONDS", 0.05)


def events(response: httpx.Response) -> Iterator[tuple[str, Any]]:
    """(event name, data) for each event of a stream, and ("comment", text) for each comment."""
    name, data = "message", None
    for line in response.iter_lines():
        if line.startswith(":"):
            yield "comment", line[1:].strip()
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data = json.loads(line[5:])
        elif line == "" and data is not None:
            yield name, data
            name, data = "message", None


def later(seconds: float, action: Any) -> threading.Thread:
    def run() -> None:
        time.sleep(seconds)
        action()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_finished_run_gets_end_at_once_and_an_unknown_one_404(tracker: Tracker) -> None:
    eid = tracker.create_experiment("done", 1)
    tracker.update_experiment_status(eid, "completed")
    with LiveServer(create_app(tracker)) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        with client.stream("GET", f"/api/experiments/{eid}/events") as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert [name for name, _ in events(response) if name != "comment"] == ["end"]
        missing = client.get("/api/experiments/0123456789ab0123456789ab/events")
        assert missing.status_code == 404 and "no experiment" in missing.json()["error"]
        assert client.get("/api/experiments/nope/events").status_code == 400
        assert client.get(f"/api/events?ids={','.join([eid] + ['0123456789ab0123456789a' + str(i) for i in range(10)])}")\
            .status_code == 400  # more than the compare page's 10


def test_the_stream_names_what_changed_then_ends(tracker: Tracker, tmp_path: Path) -> None:
    eid = tracker.create_experiment("running", 1)
    other = tracker.create_experiment("other", 1)
    writer = Tracker(tmp_path / "epochlog.db")  # a training process's own connection
    chunk = {"_id": ObjectId(), "experiment_id": ObjectId(eid), "seq": 1, "part": "head",
             "time": dt.datetime.now(dt.timezone.utc), "offsets_ms": [0], "stderr": [], "count": 1, "text": "hi"}
    steps = [lambda: writer.log_epoch(eid, 0, {"val_loss": 0.5}),
             lambda: writer.log_metric_series(eid, "batch_loss", [0, 1], [0.9, 0.8]),
             lambda: writer.store.write([Put(CONSOLE, chunk)]),
             lambda: writer.update_experiment_status(eid, "completed"),
             lambda: writer.update_experiment_status(other, "stopped")]

    def train() -> None:
        for step in steps:
            time.sleep(0.3)
            step()

    with LiveServer(create_app(tracker)) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        with client.stream("GET", f"/api/events?ids={eid},{other}") as response:
            later(0.0, train)
            received = [(name, data) for name, data in events(response) if name != "comment"]
    writer.close()
    assert received == [("status", {"id": eid}), ("epochs", {"id": eid}),  # an epoch is also a heartbeat
                        ("series", {"id": eid}), ("console", {"id": eid}),
                        ("status", {"id": eid}), ("status", {"id": other}), ("end", {})]


def test_keepalive_comments_while_nothing_changes(tracker: Tracker, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live, "KEEPALIVE_SECONDS", 0.2)
    eid = tracker.create_experiment("quiet", 1)
    with LiveServer(create_app(tracker)) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        with client.stream("GET", f"/api/experiments/{eid}/events") as response:
            later(1.0, lambda: tracker.update_experiment_status(eid, "completed"))
            received = list(events(response))
    assert ("comment", "keepalive") in received
    assert received[-1] == ("end", {})


def test_beyond_the_limit_503_with_retry_after_and_a_closed_stream_frees_its_slot(tracker: Tracker) -> None:
    eid = tracker.create_experiment("running", 1)
    with LiveServer(create_app(tracker, max_streams=1)) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        with client.stream("GET", f"/api/experiments/{eid}/events") as first:
            assert first.status_code == 200
            refused = client.get(f"/api/experiments/{eid}/events")
            assert refused.status_code == 503
            assert refused.headers["retry-after"].isdigit()
            assert "too many live streams" in refused.json()["error"]
        deadline = time.monotonic() + 5  # the server notices the disconnect at its next check
        while True:
            with client.stream("GET", f"/api/experiments/{eid}/events") as again:
                if again.status_code == 200:
                    break
            assert time.monotonic() < deadline, "the slot of a closed stream was never given back"
            time.sleep(0.1)
    with LiveServer(create_app(tracker, max_streams=0)) as server:
        assert httpx.get(f"{server.url}/api/experiments/{eid}/events", timeout=10).status_code == 503


def test_shutdown_ends_open_streams_without_end(tracker: Tracker) -> None:
    eid = tracker.create_experiment("running", 1)
    server = LiveServer(create_app(tracker)).__enter__()
    with httpx.Client(base_url=server.url, timeout=10) as client:
        with client.stream("GET", f"/api/experiments/{eid}/events") as response:
            stopping = later(0.3, server.stop)
            started = time.monotonic()
            received = list(events(response))
    assert time.monotonic() - started < 5  # uvicorn alone would wait for the stream for ever
    stopping.join(10)
    assert not server.thread.is_alive()
    assert ("end", {}) not in received  # the run did not end: the page falls back to polling


def test_the_token_gate_applies_and_the_cookie_opens_it(tracker: Tracker) -> None:
    eid = tracker.create_experiment("done", 1)
    tracker.update_experiment_status(eid, "completed")
    with LiveServer(create_app(tracker, token=TOKEN)) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        assert client.get(f"/api/experiments/{eid}/events").status_code == 401
        signed_in = client.get(f"/experiments/{eid}?token={TOKEN}", follow_redirects=False)
        assert signed_in.status_code == 303 and "epochlog_token" in client.cookies
        with client.stream("GET", f"/api/experiments/{eid}/events") as response:  # as EventSource does: the cookie
            assert response.status_code == 200
            assert [name for name, _ in events(response) if name != "comment"] == ["end"]


def test_an_unreachable_store_closes_the_stream_without_end(tracker: Tracker, monkeypatch: pytest.MonkeyPatch) -> None:
    eid = tracker.create_experiment("running", 1)
    reads = []
    real = live.snapshots

    def failing(*args: Any) -> Any:
        reads.append(1)
        if len(reads) > 2:
            raise StoreUnavailable("the database is down")
        return real(*args)

    monkeypatch.setattr(live, "snapshots", failing)
    with LiveServer(create_app(tracker)) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        with client.stream("GET", f"/api/experiments/{eid}/events") as response:
            received = [name for name, _ in events(response)]
        assert received == ["comment"]  # no `end`: the page falls back to polling
        assert client.get("/api/status").status_code == 200
