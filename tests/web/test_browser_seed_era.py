"""The dashboard in headless Chromium on documents the seed's code could have written: every page renders them
with no page error (no exception thrown by a page script), shows the odd values as text, and says what a
duration is when a run has no end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from epochlog import Tracker
from epochlog.store.sqlite import SQLiteStore
from epochlog.web import create_app
from tests.seed_era import write_seed_era

from .conftest import LiveServer

pytestmark = pytest.mark.browser
WAIT = 15_000
LOADED = "#checkpoint-table, #checkpoints p:not(:has-text('Loading'))"  # the last part of an experiment page to load


def _settled(page: Any, url: str, selector: str) -> None:
    page.goto(url)
    page.wait_for_selector(selector, timeout=WAIT)
    page.wait_for_load_state("networkidle", timeout=WAIT)


def test_every_page_renders_seed_era_documents_without_a_page_error(tmp_path: Path, page: Any) -> None:
    store = SQLiteStore(tmp_path / "epochlog.db")
    ids = write_seed_era(store)
    tracker = Tracker(store=store)
    with LiveServer(create_app(tracker)) as server:
        _settled(page, server.url + "/", "#experiments tbody tr")
        assert page.locator("#experiments tbody tr").count() == len(ids)
        table = page.inner_text("#experiments")
        assert "seed,eegnex" in table and "— (no end time)" in table and "running for" in table

        texts: dict[str, str] = {}
        for name, oid in ids.items():
            _settled(page, f"{server.url}/experiments/{oid}", LOADED)
            texts[name] = page.inner_text("main")
            assert not page.js_errors, (name, page.js_errors)
        assert "— (no end time)" in texts["no-end-time"] and "running for" in texts["running-without-heartbeat"]
        assert "CUDA out of memory" in texts["error-a-string"]  # an error stored as a sentence is still shown
        assert "seed,eegnex" in texts["tags-one-string"] and "7" in texts["tags-a-number"]
        assert "/tmp/seed/epoch1.pt" in texts["tags-with-a-number"]

        every = [str(oid) for oid in ids.values()]
        for start in range(0, len(every), 10):
            _settled(page, f"{server.url}/compare?ids={','.join(every[start:start + 10])}", "#legend .chip")
        for status in ("completed", "any"):
            _settled(page, f"{server.url}/leaderboard?status={status}", "#boards")
    tracker.close()
    assert not page.js_errors
