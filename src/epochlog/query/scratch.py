"""Private in-memory SQLite databases, one per thread, for running compiled SQL outside a store.

The compiler prepares long filters on one (EXPLAIN only) to refuse what SQLite cannot parse, and
evaluate.py and projections match decoded documents on one. Each is closed when its thread ends (the
thread-local holder is collected) or at interpreter exit, whichever comes first.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref

from .functions import register_functions


class _Holder:
    __slots__ = ("__weakref__", "db")

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db


_local = threading.local()


def scratch_connection() -> sqlite3.Connection:
    """This thread's scratch database: epochlog's SQL functions and an empty table `t (id, doc)`."""
    holder: _Holder | None = getattr(_local, "holder", None)
    if holder is None:
        # any thread may close it: the finalizer runs where the holder is collected, or at exit
        db = sqlite3.connect(":memory:", check_same_thread=False)
        register_functions(db)
        db.execute("CREATE TABLE t (id TEXT PRIMARY KEY, doc TEXT NOT NULL)")
        holder = _local.holder = _Holder(db)
        weakref.finalize(holder, db.close)
    return holder.db
