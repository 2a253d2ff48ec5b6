"""The experiment page's run context: the console panel following a live run, the environment tabs (git,
packages, diff) and the system metrics' charts; in headless Chromium and through the API, odd documents included."""

from __future__ import annotations

import importlib.metadata
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from fastapi.testclient import TestClient

from epochlog import Tracker
from epochlog.schema import BLOBS, CONSOLE, EXPERIMENTS
from epochlog.web import create_app
from epochlog.context.blobs import blob_id, packages_blob
from epochlog.store.base import Put, Update
from tests.context.conftest import first_commit, git
from tests.seed_era import raw_insert

from .conftest import LiveServer

WAIT = 15_000  # ms


@pytest.fixture
def dirty_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository with one commit and an uncommitted change, as the working directory."""
    path = first_commit(tmp_path / "repo")
    (path / "train.py").write_text("lr = 0.1\nepochs = 30  # changed\n")
    monkeypatch.chdir(path)
    return path


def wait_for(condition: Any, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def line_texts(page: Any) -> list[str]:
    return page.eval_on_selector_all("#console-lines .line", "els => els.map(e => e.textContent.trimEnd())")


@pytest.mark.browser
def test_the_page_follows_the_console_and_shows_environment_and_system_metrics(
        dirty_repo: Path, tmp_path: Path, browser: Any) -> None:
    tracker = Tracker(tmp_path / "context.db", system_interval=0.2)
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    with LiveServer(create_app(tracker)) as server:
        with tracker.start_run("context", 1, console=True) as run:
            print("epoch 1 loss 0.50")
            print("\x1b[31mwarning\x1b[0m: slow loader", file=sys.stderr)
            wait_for(lambda: len(tracker.get_console(run.id).lines) == 2)
            page.goto(f"{server.url}/experiments/{run.id}")
            page.wait_for_function("() => document.querySelectorAll('#console-lines .line').length === 2",
                                   timeout=WAIT)
            assert line_texts(page) == ["epoch 1 loss 0.50", "warning: slow loader"]
            assert page.eval_on_selector_all("#console-lines .line", "els => els.map(e => e.classList.contains('stderr'))") \
                == [False, True]
            print("epoch 2 loss 0.40")  # followed live, without a reload
            page.wait_for_function("() => document.querySelectorAll('#console-lines .line').length === 3",
                                   timeout=WAIT)
            assert line_texts(page)[-1] == "epoch 2 loss 0.40"
            time.sleep(0.5)  # a few system samples
        page.check("#console-times")
        stamp = page.eval_on_selector("#console-lines .line", "e => getComputedStyle(e, '::before').content")
        assert str(tracker.get_console(run.id).lines[0].time.year) in stamp

        commit = git(dirty_repo, "rev-parse", "HEAD")
        assert page.text_content("#env-commit") == commit
        assert page.text_content("#env-summary .badge") == "dirty"
        page.click("#env-tab-packages")
        page.wait_for_selector("#package-table tbody tr", timeout=WAIT)
        page.fill("#package-filter", "numpy")
        rows = page.eval_on_selector_all("#package-table tbody tr",
                                         "els => els.map(r => Array.from(r.cells, c => c.textContent))")
        assert ["numpy", importlib.metadata.version("numpy")] in rows
        assert all("numpy" in name for name, _ in rows)
        page.click("#env-tab-diff")
        page.wait_for_selector("#diff-text", timeout=WAIT)
        added = page.eval_on_selector_all("#diff-text .add", "els => els.map(e => e.textContent.trimEnd())")
        assert added == ["+epochs = 30  # changed"]
        assert page.is_hidden("#env-packages") and page.is_hidden("#env-summary")

        page.reload()  # the run has ended: its system samples are stored
        page.wait_for_function("() => document.querySelectorAll('#system-charts .chart').length > 0", timeout=WAIT)
        names = page.eval_on_selector_all("#system-charts .chart", "els => els.map(e => e.dataset.key)")
        assert names and all(name.startswith("system/") for name in names)
        assert set(names) == {name for name in tracker.get_metric_names(run.id) if name.startswith("system/")}
        assert page.is_hidden("#series-card")  # no step series of the user's own
        page.wait_for_function("() => Array.from(document.querySelectorAll('#system-charts .chart'))"
                               ".every(e => Number(e.dataset.points) > 0)", timeout=WAIT)
        page.close()
    tracker.close()
    assert not errors


def test_the_console_api_gives_the_tail_and_what_came_after(tracker: Tracker) -> None:
    with tracker.start_run("printing", 1, console=True) as run:
        for index in range(5):
            print(f"line {index}")
    with TestClient(create_app(tracker), base_url="http://127.0.0.1") as client:
        body = client.get(f"/api/experiments/{run.id}/console", params={"tail": 2}).json()
        assert [line["text"] for line in body["lines"]] == ["line 3", "line 4"]
        assert body["lines"][0]["stream"] == "stdout" and body["lines"][0]["time"].endswith("Z")
        assert client.get(f"/api/experiments/{run.id}/console", params={"after": body["last_seq"]}).json()["lines"] == []
        assert client.get(f"/api/experiments/{run.id}/console", params={"tail": 0}).status_code == 422
        assert client.get("/api/experiments/0123456789abcdef01234567/console").status_code == 404


def test_packages_and_diff_of_a_run_without_them_are_null(tracker: Tracker) -> None:
    eid = tracker.create_experiment("bare", 1, capture=False)
    with TestClient(create_app(tracker), base_url="http://127.0.0.1") as client:
        assert client.get(f"/api/experiments/{eid}/packages").json() == {"packages": None}
        assert client.get(f"/api/experiments/{eid}/diff").json() == {"diff": None}
        assert client.get(f"/api/experiments/{eid}/console").json()["lines"] == []


@pytest.mark.browser
def test_odd_environment_and_console_documents_are_shown_not_a_page_error(tmp_path: Path, page: Any) -> None:
    tracker = Tracker(tmp_path / "odd.db")
    odd_env, string_env = ObjectId(), ObjectId()
    raw_insert(tracker.store, EXPERIMENTS, {
        "_id": odd_env, "experiment_name": "odd env", "status": "completed", "env": {
            "git": "abc123", "argv": "train.py --fast", "python": 3.11, "cpu": {"model": None, "cores": "8"},
            "gpus": ["A100", {"name": 7}], "versions": ["torch"], "packages_sha256": "f" * 64, "extra": {"x": 1}}},
        {"_id": string_env, "experiment_name": "string env", "env": "laptop"})
    raw_insert(tracker.store, BLOBS, {"_id": blob_id("f" * 64), "sha256": "f" * 64, "kind": "packages", "content": "junk"})
    raw_insert(tracker.store, CONSOLE,
               {"_id": ObjectId(), "experiment_id": odd_env, "seq": 1, "text": "no offsets\nsecond", "offsets_ms": "x"},
               {"_id": ObjectId(), "experiment_id": odd_env, "seq": "2", "text": 5},
               {"_id": ObjectId(), "experiment_id": odd_env, "seq": 3})
    with LiveServer(create_app(tracker)) as server:
        page.goto(f"{server.url}/experiments/{odd_env}")
        page.wait_for_selector("#env-summary dl", timeout=WAIT)
        summary = page.text_content("#env-summary")
        assert "abc123" in summary and "train.py --fast" in summary and "A100" in summary and "env.extra" in summary
        page.wait_for_function("() => document.querySelectorAll('#console-lines .line').length > 0", timeout=WAIT)
        assert line_texts(page)[:2] == ["no offsets", "second"]
        page.click("#env-tab-packages")
        page.wait_for_selector("#env-packages p", timeout=WAIT)
        page.goto(f"{server.url}/experiments/{string_env}")
        page.wait_for_selector("#environment p", timeout=WAIT)
        assert "laptop" in page.text_content("#environment")
        page.wait_for_selector("#no-console", timeout=WAIT)
    tracker.close()
    assert not page.js_errors


@pytest.mark.browser
def test_compare_shows_the_differing_commits_and_packages_first(dirty_repo: Path, tmp_path: Path, page: Any) -> None:
    tracker = Tracker(tmp_path / "compare.db", system_interval=0)
    before = tracker.create_experiment("dirty", 1, config={"lr": 0.1})
    git(dirty_repo, "commit", "-q", "-am", "thirty epochs")
    after = tracker.create_experiment("committed", 1, config={"lr": 0.2})
    packages = dict(tracker.get_packages(before) or {})
    packages["numpy"] = "0.0.1"
    blob = packages_blob(packages)
    tracker.store.write([Put(BLOBS, blob),
                         Update(EXPERIMENTS, {"_id": ObjectId(after)}, {"env.packages_sha256": blob["sha256"]})])
    with LiveServer(create_app(tracker)) as server:
        page.goto(f"{server.url}/compare?ids={before},{after}")
        page.wait_for_selector("#environment tbody tr.differs", timeout=WAIT)
        rows = page.eval_on_selector_all("#environment tbody tr",
                                         "els => els.map(r => Array.from(r.cells, c => c.textContent))")
        assert "config.lr" in page.text_content("#config")  # the configuration comes after
    assert [row[0] for row in rows] == ["env.git.commit", "env.git.dirty", "env.git.diff_sha256", "env.packages.numpy"]
    assert rows[0][1:] == [git(dirty_repo, "rev-parse", "HEAD~1"), git(dirty_repo, "rev-parse", "HEAD")]
    assert rows[1][1:] == ["true", "false"]
    assert rows[3][1:] == [importlib.metadata.version("numpy"), "0.0.1"]
    tracker.close()
    assert not page.js_errors
