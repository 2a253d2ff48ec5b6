"""The embedded store: one SQLite file (WAL) holding JSON documents, queried with compiled MongoDB filters.

Many processes may write the same file: every batch is one `BEGIN IMMEDIATE` transaction, and a busy
database is waited for (then retried) rather than reported, up to `busy_timeout` seconds in all.
"""

from __future__ import annotations

import functools
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from bson import ObjectId

from .. import schema
from ..documents import check_size
from ..errors import Conflict, InvalidDocument, QueryError, StoreError, StoreUnavailable
from ..query import compile_filter, compile_projection, compile_sort, register_functions, typed_field_sql
from ..types import Document, Filter, Projection, SortSpec
from . import json_codec
from .base import AppendSeries, Delete, MetricSeries, Put, Store, Update, Upsert, Write, ordered_series
from .updates import apply_update

SCHEMA_VERSION = 1
T = TypeVar("T")


def index_expression(collection: str, path: str) -> str:
    """The SQL expression an index (and the compiled filters) use for a document field."""
    kind = schema.TYPED_FIELDS.get(collection, {}).get(path)
    if kind is not None:
        return typed_field_sql(path, kind)
    return "json_extract(doc, '$." + ".".join(f'"{part}"' for part in path.split(".")) + "')"


class SQLiteStore(Store):
    """Documents in `<collection>(id TEXT PRIMARY KEY, doc TEXT)`; step series in packed buckets."""

    def __init__(self, path: str | Path, *, busy_timeout: float = 120.0) -> None:
        self.path = str(path)
        self.uri = "sqlite:///" + self.path
        self.busy_timeout = busy_timeout
        self._lock = threading.RLock()
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, timeout=min(busy_timeout, 5.0), isolation_level=None,
                                       check_same_thread=False)
            self._retrying(self._open)
        except sqlite3.DatabaseError as error:
            raise StoreUnavailable(f"cannot open {self.path}: {error}") from error
        self._closed = False

    # -- setup -------------------------------------------------------------------------------------

    def _open(self) -> None:
        db = self._db
        register_functions(db)
        if self.path != ":memory:":
            db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.path} was written by a newer epochlog (schema {version})")
        if version < SCHEMA_VERSION:
            db.execute("BEGIN IMMEDIATE")
            try:
                for collection in schema.COLLECTIONS:
                    if collection != schema.SERIES:
                        db.execute(f"CREATE TABLE IF NOT EXISTS {collection} (id TEXT PRIMARY KEY, doc TEXT NOT NULL)")
                db.execute("""CREATE TABLE IF NOT EXISTS series (
                    id TEXT PRIMARY KEY, experiment_id TEXT NOT NULL, name TEXT NOT NULL,
                    first_step INTEGER NOT NULL, last_step INTEGER NOT NULL, count INTEGER NOT NULL,
                    steps BLOB NOT NULL, "values" BLOB NOT NULL)""")
                self._create_indexes()
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def _create_indexes(self) -> None:
        for collection, specs in schema.INDEXES.items():
            for spec in specs:
                if collection == schema.SERIES:
                    columns = ", ".join(field for field, _ in spec.keys)
                else:
                    columns = ", ".join(index_expression(collection, field) + (" DESC" if direction < 0 else "")
                                        for field, direction in spec.keys)
                unique = "UNIQUE " if spec.unique else ""
                name = f"{collection}__{spec.name}".replace(".", "_").replace("-", "m")
                self._db.execute(f"CREATE {unique}INDEX IF NOT EXISTS {name} ON {collection} ({columns})")

    def ensure_indexes(self) -> None:
        with self._lock:
            self._retrying(self._create_indexes)

    # -- writes ------------------------------------------------------------------------------------

    def write(self, writes: Sequence[Write]) -> None:
        statements = [self._statements(write) for write in writes]  # encode (and refuse) before locking
        with self._lock:
            self._check_open()
            self._retrying(lambda: self._transaction(statements))

    def _transaction(self, statements: list[Callable[[sqlite3.Connection], object]]) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in statements:
                statement(db)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _statements(self, write: Write) -> Callable[[sqlite3.Connection], object]:
        if isinstance(write, AppendSeries):
            return self._append_series(write)
        table = _table(write.collection)
        if isinstance(write, Put):
            document = write.document
            text = _encode_without_id(document)
            sql = f"INSERT INTO {table}(id, doc) VALUES(?, ?) ON CONFLICT(id) DO UPDATE SET doc=excluded.doc"
            args = (str(document["_id"]), text)
            return lambda db: db.execute(sql, args)
        if isinstance(write, Upsert):
            sql = _upsert_sql(table)
            args = (str(write.document["_id"]), _encode_without_id(write.document))
            return lambda db: db.execute(sql, args)
        where, params = self._where(table, write.filter)
        if isinstance(write, Delete):
            sql = f"DELETE FROM {table} WHERE {where}"
            return lambda db: db.execute(sql, params)
        if isinstance(write, Update):
            return lambda db: self._update(db, table, where, params, write)
        raise TypeError(f"not a write: {write!r}")

    def _update(self, db: sqlite3.Connection, table: str, where: str, params: list[Any], write: Update) -> None:
        rows = db.execute(f"SELECT id, doc FROM {table} WHERE {where}", params).fetchall()
        changed = []
        for row_id, text in rows:
            document = json_codec.loads(text)
            apply_update(document, write.set, write.unset)
            if "_id" in document:
                raise InvalidDocument("the _id of a document cannot be changed", "_id")
            new_text = json_codec.dumps(document)
            check_size(document, len(new_text))
            changed.append((new_text, row_id))
        db.executemany(f"UPDATE {table} SET doc=? WHERE id=?", changed)

    def _append_series(self, write: AppendSeries) -> Callable[[sqlite3.Connection], object]:
        steps = np.ascontiguousarray(write.steps, dtype="<i8")
        values = np.ascontiguousarray(write.values, dtype="<f8")
        if len(steps) != len(values):
            raise InvalidDocument(f"{len(steps)} steps but {len(values)} values", write.name)
        if not len(steps):
            return lambda db: None
        args = (str(write.bucket_id), str(write.experiment_id), write.name, int(steps.min()), int(steps.max()),
                len(steps), steps.tobytes(), values.tobytes())
        sql = "INSERT OR REPLACE INTO series VALUES(?, ?, ?, ?, ?, ?, ?, ?)"
        return lambda db: db.execute(sql, args)

    # -- reads -------------------------------------------------------------------------------------

    def find(self, collection: str, filter: Filter | None = None, *, projection: Projection | None = None,
             sort: SortSpec | None = None, skip: int = 0, limit: int = 0) -> list[Document]:
        table = _table(collection)
        where, params = self._where(table, filter)
        order, order_params = compile_sort(sort, schema.TYPED_FIELDS.get(table, {}))
        project = compile_projection(projection)
        if skip < 0 or limit < 0:
            raise QueryError("skip and limit must not be negative")
        sql = f"SELECT id, doc FROM {table} WHERE {where} ORDER BY {order + ', ' if order else ''}id"
        if limit or skip:
            sql += f" LIMIT {int(limit) if limit else -1} OFFSET {int(skip)}"
        rows = self._read(sql, params + order_params)
        documents = []
        loads = json_codec.loads
        for row_id, text in rows:
            document = {"_id": ObjectId(row_id)}
            document.update(loads(text))
            documents.append(project(document) if project else document)
        return documents

    def count(self, collection: str, filter: Filter | None = None) -> int:
        table = _table(collection)
        where, params = self._where(table, filter)
        return int(self._read(f"SELECT count(*) FROM {table} WHERE {where}", params)[0][0])

    def read_series(self, experiment_id: ObjectId, name: str) -> MetricSeries:
        rows = self._read('SELECT steps, "values" FROM series WHERE experiment_id=? AND name=? '
                          "ORDER BY first_step, rowid", [str(experiment_id), name])
        if not rows:
            return MetricSeries(name, np.empty(0, np.int64), np.empty(0, np.float64))
        steps = np.frombuffer(b"".join(row[0] for row in rows), dtype="<i8")
        values = np.frombuffer(b"".join(row[1] for row in rows), dtype="<f8")
        return ordered_series(name, steps, values)

    def series_names(self, experiment_id: ObjectId) -> list[str]:
        rows = self._read("SELECT DISTINCT name FROM series WHERE experiment_id=? ORDER BY name",
                          [str(experiment_id)])
        return [row[0] for row in rows]

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._db.close()

    # -- helpers -----------------------------------------------------------------------------------

    def _where(self, table: str, filter: Filter | None) -> tuple[str, list[Any]]:
        return compile_filter(filter, schema.TYPED_FIELDS.get(table, {}))

    def _read(self, sql: str, params: list[Any]) -> list[Any]:
        with self._lock:
            self._check_open()
            return self._retrying(lambda: self._db.execute(sql, params).fetchall())

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"the store {self.uri} is closed")

    def _retrying(self, action: Callable[[], T]) -> T:
        """Run `action`, waiting out a busy database; driver errors become ours."""
        deadline = time.monotonic() + self.busy_timeout
        delay = 0.001
        while True:
            try:
                return action()
            except sqlite3.IntegrityError as error:
                raise Conflict(str(error)) from error
            except sqlite3.OperationalError as error:
                message = str(error)
                if "locked" not in message and "busy" not in message:
                    raise StoreError(f"{self.path}: {message}") from error
                if time.monotonic() > deadline:
                    raise StoreUnavailable(f"{self.path} stayed locked for {self.busy_timeout:.0f} s") from error
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 0.1)
            except sqlite3.DatabaseError as error:
                raise StoreError(f"{self.path}: {error}") from error


@functools.lru_cache(maxsize=None)
def _upsert_sql(table: str) -> str:
    """The statement replacing a document by its natural key (built once per table: it never changes)."""
    keys = schema.NATURAL_KEYS.get(table)
    if not keys:
        raise StoreError(f"collection {table!r} has no natural key to upsert on")
    target = ", ".join(index_expression(table, key) for key in keys)
    return f"INSERT INTO {table}(id, doc) VALUES(?, ?) ON CONFLICT({target}) DO UPDATE SET doc=excluded.doc"


def _table(collection: str) -> str:
    if collection not in schema.COLLECTIONS or collection == schema.SERIES:
        raise StoreError(f"unknown collection {collection!r}")
    return collection


def _encode_without_id(document: Document) -> str:
    body = {key: value for key, value in document.items() if key != "_id"}
    text = json_codec.dumps(body)
    check_size(document, len(text))
    return text
