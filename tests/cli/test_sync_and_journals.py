"""`epochlog sync` lists what the server refused and exits non-zero; read-only commands never open a journal."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from epochlog import Tracker
from epochlog.store.base import Update
from epochlog.store.journal import JournalFile, journal_directory
from tests.cli.helpers import Cli
from tests.conftest import _drop_database

pytestmark = pytest.mark.mongo


@pytest.fixture
def mongo_target(mongo_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    name = f"test_{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("EPOCHLOG_JOURNAL_DIR", str(tmp_path / "journal"))
    monkeypatch.delenv("EPOCHLOG_URI", raising=False)
    yield mongo_uri, name
    _drop_database(mongo_uri, name)


def _with_refused_write(uri: str, name: str) -> str:
    """A journal left by a dead process holding one write the server refuses (an update of a scalar path)."""
    tracker = Tracker(uri, database=name)
    exp_id = tracker.create_experiment("refusing", 1, notes="a string")
    assert tracker.sync(30.0)
    tracker.store.write([Update("experiments", {"experiment_name": "refusing"}, {"notes.inner": 1})])  # through a string
    assert tracker.sync(30.0) is False
    tracker.close()
    return exp_id


def test_sync_lists_refused_writes_exits_non_zero_and_retries_them(mongo_target: tuple[str, str]) -> None:
    uri, name = mongo_target
    _with_refused_write(uri, name)
    cli = Cli(uri)
    result = cli("sync", "--database", name)
    assert result.exit_code == 1
    assert "1 refused by the server" in result.stdout and "refused ×1" in result.stdout
    assert "inner" in result.stdout and "unique index" not in result.stdout  # the server's own reason
    assert "--retry-refused" in result.stderr
    result = cli("sync", "--database", name, "--retry-refused")  # the cause is not fixed: refused again
    assert result.exit_code == 1 and "1 refused before, retried" in result.stdout
    assert "-" not in result.stdout.split("write(s) sent")[0].split(":")[-1]  # never a negative count


def test_the_journal_of_a_tracker_opened_with_database_is_synced_by_the_cli(mongo_target: tuple[str, str]) -> None:
    uri, name = mongo_target
    directory = journal_directory(uri, name)
    journal = JournalFile.create(directory)  # what a crashed process with database=name left
    journal.append('[{"op": "put", "collection": "subjects", "document": '
                   '{"_id": {"$oid": "0123456789abcdef01234567"}, "subject_id": "sub-1"}}]')
    journal._lock_handle.close()  # the process is gone: its lock is released
    journal._db.close()
    assert journal_directory(f"{uri.rstrip('/')}/{name}?w=1") == directory  # any spelling finds it
    result = Cli(uri).ok("sync", "--database", name)
    assert "1 write(s) sent from 1 journal(s)" in result.stdout
    tracker = Tracker(uri, database=name, journal=False)
    try:
        assert tracker.get_subjects()[0]["subject_id"] == "sub-1"
    finally:
        tracker.close()


@pytest.mark.parametrize("command", [["ls"], ["best"], ["show", "0123456789abcdef01234567"], ["export"]])
def test_read_only_commands_never_open_a_journal(mongo_target: tuple[str, str], tmp_path: Path,
                                                 command: list[str]) -> None:
    uri, name = mongo_target
    target = f"{uri.rstrip('/')}/{name}"
    Cli(target)(*command)
    assert not (tmp_path / "journal").exists()
