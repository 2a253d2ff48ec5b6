"""The write-behind journal: every write is committed to a local SQLite file first, then shipped.

A `JournaledStore` wraps any store (MongoDB in practice). `write` returns as soon as the batch is in
the journal (durable against a crash of the process), and a background sender ships batches to the
wrapped store in order, retrying with capped exponential backoff and jitter while it is unreachable
and logging one warning per outage. Replays are idempotent (every write is), so a batch shipped twice
changes nothing. Reads first wait briefly for the journal to drain, so a process reads its own writes.

Each process has its own journal file in a directory per target (server and database, however the URI
spells them); a file whose owner died (no lock held) is adopted and shipped by the next tracker on that
target, or by `epochlog sync`.

The sender never dies: any error is logged once and retried with a capped backoff
(`EPOCHLOG_JOURNAL_MAX_BACKOFF` seconds, 30 by default), and a write finding it dead starts a new one. A row
the target refuses, or that cannot be decoded, is moved to the journal's `refused` table with its reason, so
the rows after it ship; `flush` reports False while any refused row is kept, and `epochlog sync
--retry-refused` sends them again once the cause is fixed.
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import logging
import math
import os
import random
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any, TypeVar

from bson import ObjectId

from ..errors import EpochlogError, InvalidArgument, StoreUnavailable
from ..groups import Members, Tally
from ..redaction import redact
from ..types import Document, Filter, IndexSpec, Projection, SortSpec
from . import journal_codec
from .base import AppendSeries, MetricSeries, Store, Write
from .index_keys import IndexInfo

log = logging.getLogger("epochlog.journal")
T = TypeVar("T")

SHIP_BATCHES = 200  # journal rows (tracker calls) shipped in one write to the wrapped store
MAX_BACKOFF_ENV = "EPOCHLOG_JOURNAL_MAX_BACKOFF"
DEFAULT_MAX_BACKOFF = 30.0
_FIRST_DELAY = 0.05
_open_journals: weakref.WeakSet[JournaledStore] = weakref.WeakSet()


def journal_directory(uri: str, database: str | None = None) -> Path:
    """Where journals for one target store live: `$EPOCHLOG_JOURNAL_DIR` or the user's state directory,
    then a directory named for the target's servers and database (`target_key`)."""
    base = os.environ.get("EPOCHLOG_JOURNAL_DIR")
    if base:
        root = Path(base)
    else:
        state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
        root = Path(state) / "epochlog" / "journal"
    return root / hashlib.sha256(target_key(uri, database).encode()).hexdigest()[:16]


def target_key(uri: str, database: str | None = None) -> str:
    """The servers and database a URI writes to, whatever its spelling: `mongodb://h:1/` and
    `mongodb://h:1/eeg2025?w=1` are one target. Credentials and options are left out, so a changed password
    finds the writes still pending under the old one."""
    from pymongo.uri_parser import parse_uri

    from .mongo import DEFAULT_DATABASE

    try:
        parsed = parse_uri(uri, connect_timeout=0.001) if uri.startswith("mongodb+srv://") else parse_uri(uri)
        hosts = sorted(f"{host.lower()}:{port}" for host, port in parsed["nodelist"])
        name = database or parsed.get("database") or DEFAULT_DATABASE
    except Exception:  # an SRV record we cannot resolve, or a URI pymongo refuses: its text, as before
        return f"{redact(uri, keep_user=False)}|{database or ''}"
    return f"mongodb://{','.join(hosts)}/{name}"


class JournalClosed(Exception):
    """The journal file was closed while the sender still ran (the process is shutting down)."""


class JournalFile:
    """One process's journal: rows of JSON batches in order, and the rows the target refused."""

    def __init__(self, path: Path, lock: IO[bytes]) -> None:
        self.path = path
        self.closed = False
        self._lock_handle = lock
        self._guard = threading.Lock()
        with ExitStack() as undo:  # a file that cannot be opened as a journal leaves nothing open
            undo.callback(lock.close)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
            undo.callback(self._db.close)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS pending (seq INTEGER PRIMARY KEY, batch TEXT NOT NULL)")
            self._db.execute("CREATE TABLE IF NOT EXISTS refused (seq INTEGER PRIMARY KEY, batch TEXT NOT NULL, "
                             "error TEXT NOT NULL, at REAL NOT NULL)")
            undo.pop_all()

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
            # past every seq either table holds: a refused row keeps its seq, which a reused one would overwrite
            self._db.execute("INSERT INTO pending(seq, batch) VALUES((SELECT max(coalesce((SELECT max(seq) FROM "
                             "pending), 0), coalesce((SELECT max(seq) FROM refused), 0)) + 1), ?)", (batch,))

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

    def refused_rows(self) -> list[tuple[int, str, float]]:
        """(seq, reason, time) of each refused row, oldest first."""
        with self._open():
            rows = self._db.execute("SELECT seq, error, at FROM refused ORDER BY seq").fetchall()
        return [(int(seq), str(error), float(at)) for seq, error, at in rows]

    def retry_refused(self) -> int:
        """Move the refused rows back to the end of the pending ones, in their order; return how many."""
        with self._open():
            self._db.execute("BEGIN IMMEDIATE")
            moved = self._db.execute("INSERT INTO pending(batch) SELECT batch FROM refused ORDER BY seq").rowcount
            self._db.execute("DELETE FROM refused")
            self._db.execute("COMMIT")
        return int(moved)

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
                 read_wait: float = 5.0, max_backoff: float | None = None) -> None:
        self.inner = inner
        self.uri = inner.uri
        self.database_name = inner.database_name
        self.directory = directory or journal_directory(inner.uri, inner.database_name)
        self.flush_timeout = flush_timeout
        self.read_wait = read_wait
        self.max_backoff = max_backoff if max_backoff is not None else max_backoff_from_env()
        self._own = JournalFile.create(self.directory)
        self._journals: list[JournalFile] = [self._own]
        self._wake = threading.Event()  # something was written
        self._urgent = threading.Event()  # someone waits for the journal to drain: retry now
        self._drained = threading.Condition()
        self._stopping = False
        self._outage_since: float | None = None
        self._sender_lock = threading.Lock()
        self._sender = threading.Thread(target=self._run, name="epochlog-journal", daemon=True)
        self._adopt_orphans()
        self.adopted = self.pending  # rows left by earlier processes, shipped first
        self._sender.start()
        _open_journals.add(self)

    # -- the contract ------------------------------------------------------------------------------

    def write(self, writes: Sequence[Write]) -> None:
        if not writes:
            return
        entry = journal_codec.dumps_batch(writes)
        self.inner.check_writes(writes, len(entry))  # refuse bad values here, in the caller, not in the sender
        self._own.append(entry)
        self._ensure_sender()
        self._wake.set()

    @property
    def unreachable(self) -> bool:
        """Whether the sender's last attempt found the target unreachable (an outage is going on)."""
        return self._outage_since is not None

    def find(self, collection: str, filter: Filter | None = None, *, projection: Projection | None = None,
             sort: SortSpec | None = None, skip: int = 0, limit: int = 0) -> list[Document]:
        self.flush(self.read_wait)
        return self.inner.find(collection, filter, projection=projection, sort=sort, skip=skip, limit=limit)

    def count(self, collection: str, filter: Filter | None = None, *, limit: int = 0) -> int:
        self.flush(self.read_wait)
        return self.inner.count(collection, filter, limit=limit)

    def aggregate(self, collection: str, pipeline: Sequence[Mapping[str, Any]]) -> list[Document]:
        self.flush(self.read_wait)
        return self.inner.aggregate(collection, pipeline)

    def group_tallies(self, collection: str, filter: Filter | None, paths: Sequence[str], metric: str,
                      mode: str) -> tuple[list[Tally], Members] | None:
        self.flush(self.read_wait)
        return self.inner.group_tallies(collection, filter, paths, metric, mode)

    def read_series(self, experiment_id: ObjectId, name: str) -> MetricSeries:
        self.flush(self.read_wait)
        return self.inner.read_series(experiment_id, name)

    def series_names(self, experiment_id: ObjectId) -> list[str]:
        self.flush(self.read_wait)
        return self.inner.series_names(experiment_id)

    def series_bucket_ids(self, experiment_ids: Sequence[ObjectId] | None = None, *,
                          since: ObjectId | None = None) -> list[tuple[ObjectId, ObjectId]]:
        self.flush(self.read_wait)
        return self.inner.series_bucket_ids(experiment_ids, since=since)

    def read_buckets(self, bucket_ids: Sequence[ObjectId]) -> list[AppendSeries]:
        self.flush(self.read_wait)
        return self.inner.read_buckets(bucket_ids)

    def ensure_indexes(self) -> None:
        self.inner.ensure_indexes()

    def create_index(self, collection: str, spec: IndexSpec) -> str:
        self.flush(self.read_wait)
        return self.inner.create_index(collection, spec)

    def list_indexes(self, collection: str) -> list[IndexInfo]:
        self.flush(self.read_wait)
        return self.inner.list_indexes(collection)

    def drop_index(self, collection: str, name: str) -> None:
        self.flush(self.read_wait)
        self.inner.drop_index(collection, name)

    @property
    def index_problems(self) -> dict[str, str]:
        return self.inner.index_problems

    def close(self) -> None:
        """Ship for up to `flush_timeout` seconds; what is left stays in the journal, and we say so."""
        if self._stopping:
            return
        self.flush(self.flush_timeout)
        self._stopping = True
        self._wake.set()
        self._urgent.set()
        self._sender.join(timeout=self.flush_timeout)
        pending, refused = self._counts()
        if pending:
            log.warning("%d tracker write(s) could not be sent to %s yet; they are kept in %s and will be sent "
                        "by `epochlog sync` or the next tracker on this store", pending, redact(self.uri),
                        self.directory)
        if refused:
            reasons = sorted({reason for _, reason, _ in self.refused_rows()})
            log.error("%d tracker write(s) were refused by %s and are kept in %s; once the cause is fixed, "
                      "`epochlog sync --retry-refused` sends them. Reasons: %s", refused, redact(self.uri),
                      self.directory, "; ".join(reasons[:5]) + (f"; and {len(reasons) - 5} more"
                                                                if len(reasons) > 5 else ""))
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

    def refused_rows(self) -> list[tuple[int, str, float]]:
        """(seq, reason, time) of every refused row in the journals this store holds."""
        rows = []
        for journal in list(self._journals):
            try:
                rows.extend(journal.refused_rows())
            except JournalClosed:
                continue
        return rows

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every journaled write is shipped (or `timeout` seconds pass). True only when all of
        them reached the target: False on a timeout, and while any refused row is kept."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self._ensure_sender()
        self._wake.set()
        self._urgent.set()
        with self._drained:
            while self.pending:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._drained.wait(0.05 if remaining is None else min(remaining, 0.05))
        return not self.refused

    def _ensure_sender(self) -> None:
        """The watchdog: start a new sender if the last one died (it should not; this is the safety net)."""
        if self._sender.is_alive() or self._stopping:
            return
        with self._sender_lock:
            if not self._sender.is_alive() and not self._stopping:
                log.error("the epochlog journal sender had stopped; starting a new one")
                self._sender = threading.Thread(target=self._run, name="epochlog-journal", daemon=True)
                self._sender.start()

    def _adopt_orphans(self) -> None:
        for path in sorted(self.directory.glob("*.journal")):
            if path == self._own.path:
                continue
            journal = JournalFile.adopt(path)
            if journal is not None:
                self._journals.append(journal)

    def _run(self) -> None:
        attempt = 0
        last_failure = ""  # an unexpected error is logged once, not at every retry
        while True:
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            self._urgent.clear()
            try:
                shipped = self._ship_all()
            except JournalClosed:
                return
            except Exception as error:  # never let the sender die: note it, back off, try again
                if self._stopping:
                    return
                attempt += 1
                if isinstance(error, StoreUnavailable):
                    self._note_outage(error)
                elif repr(error) != last_failure:
                    last_failure = repr(error)
                    log.exception("the epochlog journal sender failed; retrying")
                self._urgent.wait(timeout=backoff_delay(attempt, self.max_backoff))  # a flush cuts it short
                self._wake.set()  # the rows are still there: try again at once, not at the next write
                continue
            attempt, last_failure = 0, ""
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
        decoded = []
        for seq, batch in rows:
            try:
                decoded.append((seq, batch, journal_codec.loads_batch(batch)))
            except Exception as error:  # a damaged row must not hold back the rows after it
                self._refuse(journal, seq, batch, f"undecodable journal row: {type(error).__name__}: {error}")
        try:
            self.inner.write([write for _, _, writes in decoded for write in writes])
        except StoreUnavailable:
            raise
        except EpochlogError:
            # Something in these rows is refused by the target: find which, keep it aside, send the rest.
            for seq, batch, writes in decoded:
                try:
                    self.inner.write(writes)
                except StoreUnavailable:
                    raise
                except EpochlogError as error:
                    self._refuse(journal, seq, batch, str(error))
                else:
                    journal.remove_through(seq)
            return
        journal.remove_through(rows[-1][0])

    def _refuse(self, journal: JournalFile, seq: int, batch: str, reason: str) -> None:
        journal.refuse(seq, batch, reason)
        log.error("%s: a journaled write was refused (kept in %s, table refused): %s", redact(self.uri),
                  journal.path, reason)

    def _note_outage(self, error: Exception) -> None:
        if self._outage_since is None:
            self._outage_since = time.monotonic()
            log.warning("%s is unreachable (%s); tracker writes are kept in %s and sent when it is back",
                        redact(self.uri), str(error).split(",")[0], self._own.path)


def backoff_delay(attempt: int, cap: float) -> float:
    """Seconds to wait before retry `attempt` (1, 2, ...): doubling from 50 ms up to `cap`, with jitter;
    any attempt count is safe (the exponent is bounded before it is raised)."""
    return min(cap, _FIRST_DELAY * 2.0 ** min(attempt, 64)) * (0.5 + random.random() / 2)


def max_backoff_from_env() -> float:
    """`EPOCHLOG_JOURNAL_MAX_BACKOFF` as seconds (default 30); InvalidArgument naming it when malformed."""
    text = os.environ.get(MAX_BACKOFF_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_BACKOFF
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise InvalidArgument(f"{MAX_BACKOFF_ENV} must be a positive number of seconds, got {text!r}")
    return value


def sync(inner: Store, directory: Path | None = None, timeout: float | None = None, *,
         retry_refused: bool = False) -> dict[str, Any]:
    """Ship what earlier processes left in the journals of `inner`'s target (and, with `retry_refused`, the
    rows the target refused before); report what happened, with the reasons of what is still refused.
    Journals held by live processes are theirs to ship, and are left alone."""
    directory = directory or journal_directory(inner.uri, inner.database_name)
    retried = sum(_each_orphan(directory, JournalFile.retry_refused)) if retry_refused else 0
    refused_before = len([row for rows in _each_orphan(directory, JournalFile.refused_rows) for row in rows])
    store = JournaledStore(inner, directory, flush_timeout=timeout or 60.0)
    files = len(store._journals) - 1
    store.flush(timeout)
    left = store.pending
    store.close()
    refused = [{"seq": seq, "reason": reason, "at": at}
               for rows in _each_orphan(directory, JournalFile.refused_rows) for seq, reason, at in rows]
    return {"journals": files, "sent": store.adopted - left - (len(refused) - refused_before), "retried": retried,
            "left": left, "refused": len(refused), "refused_reasons": refused, "drained": not left and not refused}


def _each_orphan(directory: Path, action: Callable[[JournalFile], T]) -> list[T]:
    """`action` on each journal in `directory` that no live process holds."""
    results = []
    for path in sorted(directory.glob("*.journal")):
        journal = JournalFile.adopt(path)
        if journal is not None:
            try:
                results.append(action(journal))
            finally:
                journal.close()
    return results


@atexit.register
def _close_open_journals() -> None:
    for store in list(_open_journals):
        try:
            store.close()
        except Exception:  # at exit, one failing store must not keep the others from flushing
            log.exception("closing the epochlog journal at exit failed")
