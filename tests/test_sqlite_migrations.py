"""The embedded store's migrations: `pending` says what opening a file would change without changing it; opening
applies exactly that; a file of a newer epochlog is refused by name."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from epochlog.errors import StoreError
from epochlog.store.migrations import MIGRATIONS, SCHEMA_VERSION, pending
from epochlog.store.sqlite import SQLiteStore


def _file_at(path: Path, version: int) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE experiments (id TEXT PRIMARY KEY, doc TEXT NOT NULL)")
    db.execute(f"PRAGMA user_version={version}")
    db.commit()
    db.close()


def _tables(path: Path) -> set[str]:
    db = sqlite3.connect(path)
    try:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        db.close()


def test_pending_reads_what_opening_would_do_and_opening_does_it(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _file_at(path, 4)
    before = path.read_bytes()
    steps = pending(path)
    assert [step.version for step in steps] == [5, 6] and "transfers" in steps[0].change
    assert path.read_bytes() == before and "transfers" not in _tables(path)  # only read
    SQLiteStore(path).close()
    assert pending(path) == [] and {"transfers", "user_indexes"} <= _tables(path)
    assert versions_are_consecutive()


def versions_are_consecutive() -> bool:
    return [step.version for step in MIGRATIONS] == list(range(2, SCHEMA_VERSION + 1))


def test_a_missing_file_is_created_with_the_whole_schema(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    assert pending(path) == list(MIGRATIONS) and not path.exists()
    SQLiteStore(path).close()
    assert pending(path) == []


def test_a_file_of_a_newer_epochlog_is_refused_by_pending_and_by_opening(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    _file_at(path, SCHEMA_VERSION + 1)
    with pytest.raises(StoreError, match=f"newer epochlog \\(schema {SCHEMA_VERSION + 1}\\)"):
        pending(path)
    with pytest.raises(StoreError, match="newer epochlog"):
        SQLiteStore(path)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1  # left as it was
    db.close()
