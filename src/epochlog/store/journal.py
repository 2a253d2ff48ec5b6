"""The write-behind journal: every write is committed to a local SQLite file first, then shipped.

A `JournaledStore` wraps any store (MongoDB in practice). `write` returns as soon as the batch is in
the journal (durable against a crash of the process), and a background sender ships batches to the
wrapped store in order, retrying with capped exponential backoff and jitter while it is unreachable
and logging one warning per outage. Replays are idempotent (every write is), so a batch shipped twice
changes nothing. Reads first wait briefly for the journal to drain, so a process reads its own writes.

Each process has its own journal file in a directory per target store; a file whose owner died (no
lock held) is adopted and shipped by the next tracker on that target, or by `epochlog sync`.
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import logging
import os
import random
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from bson import ObjectId

from ..errors import EpochlogError, StoreUnavailable
from ..types import Document, Filter, Projection, SortSpec
from . import journal_codec
from .base import MetricSeries, Store, Write

log = logging.getLogger("epochlog.journal")

SHIP_BATCHES = 200  # journal rows (tracker calls) shipped in one write to the wrapped store
_open_journals: weakref.WeakSet[JournaledStore] = weakref.WeakSet()


def journal_directory(uri: str, database: str | None = None) -> Path:
    """Where journals for one target store live: `$EPOCHLOG_JOURNAL_DIR` or the user's state directory."""
    base = os.environ.get("EPOCHLOG_JOURNAL_DIR")
    if base:
        root = Path(base)
    else:
        state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
        root = Path(state) / "epochlog" / "journal"
    # Keyed without credentials, so a changed password finds the writes still pending under the old one.
    return root / hashlib.sha256(f"{redact(uri, keep_user=False)}|{database or ''}".encode()).hexdigest()[:16]


class JournalClosed(Exception):
    """The journal file was closed while the sender still ran (the process is shutting down)."""


class JournalFile:
    """One process's journal: rows of JSON batches in order, and the rows the target refused."""

    def __init__(self, path: Path, lock: IO[bytes]) -> None:
        self.path = path
        self.closed = False
        self._lock_handle = lock
        self._guard = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS pending (seq INTEGER PRIMARY KEY, batch TEXT NOT NULL)")
        self._db.execute("CREATE TABLE IF NOT EXISTS refused (seq INTEGER PRIMARY KEY, batch TEXT NOT NULL, "
                         "error TEXT NOT NULL, at REAL NOT NULL)")

    @classmethod
    def create(cls, directory: Path) -> JournalFile:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{os.getpid()}-{ObjectId()}.journal"
        return cls(path, _locked(path))

    @classmethod
    def adopt(cls, path: Path) -> JournalFile | None:
        """Take over a journal whose owner is gone; None if a live process holds it."""
        handle = open(str(path) + ".lock", "a+b")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return None
        return cls(path, handle)

    def append(self, batch: str) -> None:
        with self._open():
            self._db.execute("INSERT INTO pending(batch) VALUES(?)", (batch,))

    def oldest(self, limit: int) -> list[tuple[int, str]]:
        with self._open():
            return self._db.execute("SELECT seq, batch FROM pending ORDER BY seq LIMIT ?", (limit,)).fetchall()

    def remove_through(self, seq: int) -> None:
        with self._open():
            self._db.execute("DELETE FROM pending WHERE seq <= ?", (seq,))

    def refuse(self, seq: int, batch: str, error: str) -> None:
        with self._open():
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("INSERT OR REPLACE INTO refused VALUES(?, ?, ?, ?)", (seq, batch, error, time.time()))
            self._db.execute("DELETE FROM pending WHERE seq = ?", (seq,))
            self._db.execute("COMMIT")

    def counts(self) -> tuple[int, int]:
        """(pending, refused) rows."""
        with self._open():
            pending = self._db.execute("SELECT count(*) FROM pending").fetchone()[0]
            refused = self._db.execute("SELECT count(*) FROM refused").fetchone()[0]
        return int(pending), int(refused)

    @contextmanager
    def _open(self) -> Iterator[None]:
        with self._guard:
            if self.closed:
                raise JournalClosed(str(self.path))
            yield

    def close(self) -> None:
        """Close; delete the file when nothing is left in it."""
        if self.closed:
            return
        pending, refused = self.counts()
        with self._guard:
            self.closed = True
            self._db.close()
        if not pending and not refused:
            for suffix in ("", "-wal", "-shm", ".lock"):
                Path(str(self.path) + suffix).unlink(missing_ok=True)
        self._lock_handle.close()


def _locked(path: Path) -> IO[bytes]:
    handle = open(str(path) + ".lock", "a+b")
    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return handle


class JournaledStore(Store):
    """A store whose writes go through a local journal and a background sender (see the module doc)."""

    def __init__(self, inner: Store, directory: Path | None = None, *, flush_timeout: float = 10.0,
                 read_wait: float = 5.0, max_backoff: float = 30.0) -> None:
        self.inner = inner
        self.uri = inner.uri
        self.directory = directory or journal_directory(inner.uri, getattr(inner, "database_name", None))
        self.flush_timeout = flush_timeout
        self.read_wait = read_wait
        self.max_backoff = max_backoff
        self._own = JournalFile.create(self.directory)
        self._journals: list[JournalFile] = [self._own]
        self._wake = threading.Event()  # something was written
        self._urgent = threading.Event()  # someone waits for the journal to drain: retry now
        self._drained = threading.Condition()
        self._stopping = False
        self._outage_since: float | None = None
        self._sender = threading.Thread(target=self._run, name="epochlog-journal", daemon=True)
        self._adopt_orphans()
        self.adopted = self.pending  # writes left by earlier processes, shipped first
        self._sender.start()
        _open_journals.add(self)

    # -- the contract ------------------------------------------------------------------------------

    def write(self, writes: Sequence[Write]) -> None:
        if not writes:
            return
        entry = journal_codec.dumps_batch(writes)
        self.inner.check_writes(writes, len(entry))  # refuse bad values here, in the caller, not in the sender
        self._own.append(entry)
        self._wake.set()

    def find(self, collection: str, filter: Filter | None = None, *, projection: Projection | None = None,
             sort: SortSpec | None = None, skip: int = 0, limit: int = 0) -> list[Document]:
        self.flush(self.read_wait)
        return self.inner.find(collection, filter, projection=projection, sort=sort, skip=skip, limit=limit)

    def count(self, collection: str, filter: Filter | None = None) -> int:
        self.flush(self.read_wait)
        return self.inner.count(collection, filter)

    def read_series(self, experiment_id: ObjectId, name: str) -> MetricSeries:
        self.flush(self.read_wait)
        return self.inner.read_series(experiment_id, name)

    def series_names(self, experiment_id: ObjectId) -> list[str]:
        self.flush(self.read_wait)
        return self.inner.series_names(experiment_id)

    def ensure_indexes(self) -> None:
        self.inner.ensure_indexes()

    def close(self) -> None:
        """Ship for up to `flush_timeout` seconds; what is left stays in the journal, and we say so."""
        if self._stopping:
            return
        drained = self.flush(self.flush_timeout)
        self._stopping = True
        self._wake.set()
        self._urgent.set()
        self._sender.join(timeout=self.flush_timeout)
        if not drained:
            pending = self.pending
            log.warning("%d tracker write(s) could not be sent to %s yet; they are kept in %s and will be sent "
                        "by `epochlog sync` or the next tracker on this store", pending, redact(self.uri),
                        self.directory)
        for journal in self._journals:
            journal.close()
        _open_journals.discard(self)
        self.inner.close()

    # -- shipping ----------------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Tracker calls written to the journal and not yet shipped."""
        return self._counts()[0]

    @property
    def refused(self) -> int:
        """Tracker calls the target refused, kept in the journals' `refused` tables."""
        return self._counts()[1]

    def _counts(self) -> tuple[int, int]:
        pending = refused = 0
        for journal in list(self._journals):
            try:
                journal_pending, journal_refused = journal.counts()
            except JournalClosed:  # an adopted journal the sender has just emptied and closed
                continue
            pending += journal_pending
            refused += journal_refused
        return pending, refused

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every journaled write is shipped (or `timeout` seconds pass); True if drained."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self._wake.set()
        self._urgent.set()
        with self._drained:
            while self.pending:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._drained.wait(0.05 if remaining is None else min(remaining, 0.05))
        return True

    def _adopt_orphans(self) -> None:
        for path in sorted(self.directory.glob("*.journal")):
            if path == self._own.path:
                continue
            journal = JournalFile.adopt(path)
            if journal is not None:
                self._journals.append(journal)

    def _run(self) -> None:
        attempt = 0
        while True:
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            self._urgent.clear()
            try:
                shipped = self._ship_all()
            except JournalClosed:
                return
            except StoreUnavailable as error:
                self._note_outage(error)
                attempt += 1
                delay = min(self.max_backoff, 0.05 * 2 ** attempt) * (0.5 + random.random() / 2)
                if self._stopping:
                    return
                self._urgent.wait(timeout=delay)  # new writes do not cut a backoff short; a flush does
                continue
            except Exception:  # never let the sender die: log it, back off, try again
                log.exception("the epochlog journal sender failed; retrying")
                self._wake.wait(timeout=self.max_backoff)
                continue
            attempt = 0
            if self._outage_since is not None:
                log.warning("%s is reachable again after %.1f s; journaled writes sent", redact(self.uri),
                            time.monotonic() - self._outage_since)
                self._outage_since = None
            with self._drained:
                self._drained.notify_all()
            if self._stopping and not shipped:
                return

    def _ship_all(self) -> int:
        """Ship every pending row of every journal, in order; return how many rows were shipped."""
        shipped = 0
        for journal in list(self._journals):
            while rows := journal.oldest(SHIP_BATCHES):
                self._ship(journal, rows)
                shipped += len(rows)
            if journal is not self._own:
                self._journals.remove(journal)
                journal.close()
        return shipped

    def _ship(self, journal: JournalFile, rows: list[tuple[int, str]]) -> None:
        writes = [write for _, batch in rows for write in journal_codec.loads_batch(batch)]
        try:
            self.inner.write(writes)
        except StoreUnavailable:
            raise
        except EpochlogError:
            # Something in these rows is refused by the target: find which, keep it aside, send the rest.
            for seq, batch in rows:
                try:
                    self.inner.write(journal_codec.loads_batch(batch))
                except StoreUnavailable:
                    raise
                except EpochlogError as error:
                    journal.refuse(seq, batch, str(error))
                    log.error("%s refused a journaled write (kept in %s, table refused): %s",
                              redact(self.uri), journal.path, error)
                else:
                    journal.remove_through(seq)
            return
        journal.remove_through(rows[-1][0])

    def _note_outage(self, error: Exception) -> None:
        if self._outage_since is None:
            self._outage_since = time.monotonic()
            log.warning("%s is unreachable (%s); tracker writes are kept in %s and sent when it is back",
                        redact(self.uri), str(error).split(",")[0], self._own.path)


def redact(uri: str, *, keep_user: bool = True) -> str:
    """A URI without its password (and, unless `keep_user`, without its user), fit for a log line."""
    scheme, separator, rest = uri.partition("://")
    authority, slash, path = rest.partition("/")
    if not separator or "@" not in authority:
        return uri
    credentials, host = authority.rsplit("@", 1)
    user = f"{credentials.split(':', 1)[0]}:***@" if keep_user else ""
    return f"{scheme}://{user}{host}{slash}{path}"


def sync(inner: Store, directory: Path | None = None, timeout: float | None = None) -> dict[str, Any]:
    """Ship what earlier processes left in the journals of `inner`'s target; report what happened."""
    store = JournaledStore(inner, directory, flush_timeout=timeout or 60.0)
    files = len(store._journals) - 1
    drained = store.flush(timeout)
    left, refused = store._counts()
    store.close()
    return {"journals": files, "sent": store.adopted - left - refused, "left": left, "refused": refused,
            "drained": drained}


@atexit.register
def _close_open_journals() -> None:
    for store in list(_open_journals):
        try:
            store.close()
        except Exception:  # at exit, one failing store must not keep the others from flushing
            log.exception("closing the epochlog journal at exit failed")
