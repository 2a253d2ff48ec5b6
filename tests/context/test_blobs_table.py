"""The embedded store gains the `blobs` table when a file of schema 2 (before it) is opened."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from epochlog.context.blobs import PACKAGES, packages_blob, read_blob
from epochlog.schema import BLOBS
from epochlog.store.base import Put
from epochlog.store.migrations import SCHEMA_VERSION
from epochlog.store.sqlite import SQLiteStore


def test_a_schema_2_file_gains_the_blobs_table_and_keeps_its_experiments(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    SQLiteStore(path).close()
    db = sqlite3.connect(path)
    db.execute("DROP TABLE blobs")
    db.execute("INSERT INTO experiments VALUES ('65a000000000000000000001', '{\"status\": \"completed\"}')")
    db.execute("PRAGMA user_version=2")
    db.commit()
    db.close()

    store = SQLiteStore(path)
    blob = packages_blob({"numpy": "2.0.0"})
    store.write([Put(BLOBS, blob)])
    assert read_blob(store, blob["sha256"], PACKAGES) == {"numpy": "2.0.0"}
    assert store.count("experiments", {"status": "completed"}) == 1
    store.close()
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    check.close()
