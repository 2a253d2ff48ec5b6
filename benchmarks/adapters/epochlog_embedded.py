"""epochlog on its embedded store: one SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from epochlog.store.sqlite import SQLiteStore

from ._tracker import TrackerAdapter


class EpochlogEmbedded(TrackerAdapter):
    name = "epochlog-embedded"

    def open_store(self) -> SQLiteStore:
        return SQLiteStore(Path(self.spec.workdir) / f"epochlog-{self.spec.label}.db")

    def versions(self) -> dict[str, str]:
        return {**super().versions(), "sqlite": sqlite3.sqlite_version}
