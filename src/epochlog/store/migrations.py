"""The embedded store's schema versions, and how a file of an older one is brought up to date.

A file's version is its `PRAGMA user_version` (0: a file epochlog has not set up yet). Opening the store
applies what is `pending` in one `BEGIN IMMEDIATE` transaction (`migrate`), so that of several processes
opening an old file at once one upgrades it and the others find it done. `pending(path)` only reads: it
says what opening the file would change (as sqlite-utils' `migrations.pending()`), for `epochlog doctor`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from ..errors import StoreError


@dataclass(frozen=True)
class Migration:
    """One step of the schema: the version a file has after it, and what it changes."""

    version: int
    change: str


MIGRATIONS = (
    Migration(2, "array paths recorded; untyped fields indexed by their sort key; epochs WITHOUT ROWID"),
    Migration(3, "the blobs table (environment snapshots)"),
    Migration(4, "the console and alerts tables"),
    Migration(5, "the transfers table (push and merge watermarks)"),
    Migration(6, "the user_indexes table (epochlog index add)"),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


def file_version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def pending_from(version: int, path: str) -> list[Migration]:
    """The migrations a file at `version` lacks; a StoreError for a file of a newer epochlog."""
    if version > SCHEMA_VERSION:
        raise StoreError(f"{path} was written by a newer epochlog (schema {version})")
    return [migration for migration in MIGRATIONS if migration.version > version]


def pending(path: str | Path) -> list[Migration]:
    """What opening the embedded store at `path` would change, read without changing anything (a missing
    file is created with the whole schema: every migration)."""
    if not Path(path).exists():
        return list(MIGRATIONS)
    db = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
    try:
        return pending_from(file_version(db), str(path))
    finally:
        db.close()


def migrate(db: sqlite3.Connection, path: str, build: Callable[[int], None]) -> None:
    """Bring the file `db` has open up to `SCHEMA_VERSION`: `build(version)` creates what a file at `version`
    lacks (the store's tables and indexes), in one transaction with the new version number."""
    if not pending_from(file_version(db), path):
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        version = file_version(db)  # another process may have migrated it meanwhile
        if pending_from(version, path):
            build(version)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
