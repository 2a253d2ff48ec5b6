"""Fixtures for the dashboard: a demo database, ASGI clients, a live server and headless Chromium."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

with warnings.catch_warnings():  # Starlette >= 1.10 prefers httpx2 and warns when it falls back to httpx
    warnings.filterwarnings("ignore", message=".*`httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient

from epochlog import Tracker
from epochlog.demo import run_demo
from epochlog.store.sqlite import SQLiteStore
from epochlog.web import create_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
TOKEN = "s3cret-token"


@dataclass
class Demo:
    """A demo study in an embedded database, and facts about it the tests look for."""

    path: Path
    tracker: Tracker
    ids: list[str]
    running: str
    diverged: str
    failed: str
    completed: list[str]


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The demo study (24 experiments, 30 epochs), shared by tests that only read it."""
    folder = tmp_path_factory.mktemp("demo")
    tracker = Tracker(store=SQLiteStore(folder / "epochlog.db"))
    ids = run_demo(tracker, seed=0, experiments=24, epochs=30, checkpoint_dir=folder / "checkpoints")
    documents = {str(d["_id"]): d for d in tracker.search_experiments({})}
    running = next(i for i in ids if documents[i]["status"] == "running")
    diverged = next(i for i in ids if documents[i]["status"] == "completed"
                    and documents[i]["metrics"].get("best_val_loss") != documents[i]["metrics"].get("best_val_loss"))
    failed = next(i for i in ids if documents[i]["status"] == "failed")
    completed = [i for i in ids if documents[i]["status"] == "completed" and i != diverged]
    yield Demo(folder / "epochlog.db", tracker, ids, running, diverged, failed, completed)
    tracker.close()


@pytest.fixture(scope="session")
def client(demo: Demo) -> Iterator[TestClient]:
    """A read-only client on the demo (no token), addressed to 127.0.0.1 as a local browser would be."""
    with TestClient(create_app(demo.tracker), base_url="http://127.0.0.1") as test_client:
        yield test_client


@pytest.fixture
def tracker(tmp_path: Path) -> Iterator[Tracker]:
    """A fresh, empty embedded store for tests that write."""
    tracker = Tracker(store=SQLiteStore(tmp_path / "epochlog.db"))
    yield tracker
    tracker.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """The dashboard's uvicorn (`serve`'s) serving an app in a background thread on a free loopback port."""

    def __init__(self, app: FastAPI) -> None:
        from epochlog.web.server import DashboardServer

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = DashboardServer(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the dashboard server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def stop(self) -> None:
        """What SIGTERM does to `epochlog ui`: open live streams end, then the server."""
        self.server.handle_exit(signal.SIGTERM, None)
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(demo: Demo) -> Iterator[LiveServer]:
    """The dashboard on the demo database, over real HTTP, for the browser tests."""
    with LiveServer(create_app(demo.tracker)) as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium driven by Playwright (never a downloaded browser)."""
    if not os.path.exists(CHROMIUM) or shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: run scripts/test, which installs Debian's chromium package",
                    pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser page; on failure its screenshot is saved and its path printed."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.js_errors = errors
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{request.node.name.replace('/', '_')}.png"
        try:
            page.screenshot(path=str(path), full_page=True)
            message = f"screenshot of the failed browser test: {path}"
        except Exception as error:  # the page may be gone; the test's own failure is what matters
            message = f"no screenshot of the failed browser test ({error})"
        report.sections.append(("screenshot", message))  # printed with the failure
    context.close()
