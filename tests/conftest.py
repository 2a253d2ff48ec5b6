"""Fixtures shared by every test: a `store` over every backend, a `tracker` on it, and the test servers."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from epochlog import Tracker
from epochlog.store import Store
from epochlog.store.sqlite import SQLiteStore
from tests import fuzzing  # noqa: F401  (loads the Hypothesis profile before any test is collected)
from tests.cli.helpers import Cli

ROOT = Path(__file__).resolve().parent.parent
# the MongoDB backends are marked `mongo`, so `-m "not mongo"` runs the suite without the test server
BACKENDS = ["sqlite", pytest.param("mongo", marks=pytest.mark.mongo),
            pytest.param("mongo-journal", marks=pytest.mark.mongo)]


def start_service(script: str, data_dir: Path) -> str:
    """Start a test server through the project's own script; its URI is the last line it prints."""
    result = subprocess.run([str(ROOT / "scripts" / script), "start", str(data_dir)], capture_output=True,
                            text=True, timeout=900)
    if result.returncode != 0 or not result.stdout.strip():
        pytest.fail(f"scripts/{script} start failed (run scripts/test, which installs what it needs):\n"
                    f"{result.stdout}\n{result.stderr}", pytrace=False)
    return result.stdout.strip().splitlines()[-1]


def stop_service(script: str, data_dir: Path) -> None:
    subprocess.run([str(ROOT / "scripts" / script), "stop", str(data_dir)], capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`MONGODB_URI` when set (a real MongoDB), else a FerretDB started by scripts/ferretdb."""
    if os.environ.get("MONGODB_URI"):
        yield os.environ["MONGODB_URI"]
        return
    data_dir = tmp_path_factory.mktemp("ferretdb")
    uri = start_service("ferretdb", data_dir)
    yield uri
    stop_service("ferretdb", data_dir)


def open_test_store(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """A fresh store of one backend; a MongoDB one gets a database of its own, dropped afterwards."""
    if backend == "sqlite":
        return SQLiteStore(tmp_path / "epochlog.db")
    from epochlog.store.mongo import MongoStore

    uri = request.getfixturevalue("mongo_uri")
    name = f"test_{uuid.uuid4().hex[:12]}"
    request.addfinalizer(lambda: _drop_database(uri, name))
    mongo = MongoStore(uri, database=name)
    if backend == "mongo-journal":
        from epochlog.store.journal import JournaledStore

        return JournaledStore(mongo, tmp_path / "journal")
    return mongo


def _drop_database(uri: str, name: str) -> None:
    from epochlog.store.mongo import MongoStore

    store = MongoStore(uri, database=name)
    store.drop_database()
    store.close()


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh, empty store of each backend in turn."""
    store = open_test_store(request.param, request, tmp_path)
    yield store
    store.close()


@pytest.fixture
def tracker(store: Store) -> Iterator[Tracker]:
    """A tracker on a fresh store of each backend."""
    tracker = Tracker(store=store)
    yield tracker
    tracker.flush()


@pytest.fixture
def uri(tmp_path: Path) -> str:
    """An embedded store of the test's own, as a URI."""
    return f"sqlite:///{tmp_path / 'e.db'}"


@pytest.fixture
def cli(uri: str, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """The `epochlog` command line bound to `uri`, with no store or token from the environment."""
    monkeypatch.delenv("EPOCHLOG_URI", raising=False)
    monkeypatch.delenv("EPOCHLOG_UI_TOKEN", raising=False)
    return Cli(uri)


@pytest.fixture(params=BACKENDS)
def backend_uri(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh store of each backend as a URI (with `EPOCHLOG_JOURNAL` set to match), for child processes."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'e.db'}"
        return
    mongo_uri = request.getfixturevalue("mongo_uri")
    name = f"test_{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("EPOCHLOG_JOURNAL", "1" if request.param == "mongo-journal" else "0")
    monkeypatch.setenv("EPOCHLOG_JOURNAL_DIR", str(tmp_path / "journal"))
    yield _with_database(mongo_uri, name)
    _drop_database(mongo_uri, name)


def _with_database(uri: str, name: str) -> str:
    """`uri` naming database `name` (its options kept)."""
    head, _, options = uri.partition("?")
    scheme, _, rest = head.partition("://")
    hosts = rest.split("/", 1)[0]
    return f"{scheme}://{hosts}/{name}" + (f"?{options}" if options else "")
