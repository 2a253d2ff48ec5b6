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
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from bson import ObjectId

from .. import json_codec, schema
from ..groups import Members, Tally
from ..documents import array_paths, check_size, check_typed_fields
from ..errors import Conflict, InvalidDocument, QueryError, StoreError, StoreUnavailable
from ..object_ids import object_id
from ..query import compile_filter, compile_find, compile_projection, register_functions, typed_field_sql
from ..query.expr_filter import find_with_expr, has_expr
from ..query.sort_key import scalar_ref, sort_rank, sort_value
from ..types import Document, Filter, IndexSpec, Projection, SortSpec
from .base import AppendSeries, Delete, MetricSeries, Put, Store, Update, Upsert, Write, ordered_series
from .index_keys import IndexInfo, builtin, check_collection, check_droppable, missing_index
from .migrations import migrate
from .sqlite_group_stage import GroupStage
from .sqlite_groups import GroupQuery, TallyCache
from .updates import apply_update

T = TypeVar("T")
_ARRAY_PATHS_SQL = "SELECT path FROM array_paths WHERE collection = ? ORDER BY path"
_MAX_PLANS = 256
#: Seed indexes no query of epochlog's uses: left out here, where each costs every log_epoch a B-tree write.
_NOT_EMBEDDED = {(schema.EPOCHS, "timestamp_-1")}


def index_columns(collection: str, path: str) -> list[str]:
    """The SQL expressions an index has for a document field, as the compiled filters and sorts spell
    them: a typed field's value; another field's sort key (rank, value), which serves filters and
    sorts on it as long as no document holds an array there."""
    kind = schema.TYPED_FIELDS.get(collection, {}).get(path)
    if kind is not None:
        return [typed_field_sql(path, kind)]
    ref = scalar_ref(path.split("."))
    if ref is None:
        raise StoreError(f"cannot index {collection}.{path}: index paths are dotted identifiers")
    return [sort_rank(ref).text, sort_value(ref).text]


class SQLiteStore(Store):
    """Documents in `<collection>(id TEXT PRIMARY KEY, doc TEXT)`; step series in packed buckets.

    `array_paths` records, per collection, every dotted path at which a written document has held an
    array (rows are never removed). Queries read it in the same snapshot as the documents, so paths
    that never held one compile to plain, indexable comparisons (`query.sort_key.array_free`).
    """

    def __init__(self, path: str | Path, *, busy_timeout: float = 120.0) -> None:
        self.path = str(path)
        self.uri = "sqlite:///" + self.path
        self.busy_timeout = busy_timeout
        self._lock = threading.RLock()
        self._recorded: set[tuple[str, str]] = set()  # array paths known to be in array_paths
        self._plans: dict[Any, tuple[str, tuple[Any, ...]]] = {}  # compiled queries
        self._tallies = TallyCache()  # group_stats' answers while the file is unchanged
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, timeout=min(busy_timeout, 5.0), isolation_level=None,
                                       check_same_thread=False)
            try:
                self._retrying(self._open)
            except BaseException:  # a file of a newer epochlog, a busy one past the timeout: nothing kept open
                self._db.close()
                raise
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
        migrate(db, self.path, self._build)

    def _build(self, version: int) -> None:
        """What a file at schema `version` lacks (store.migrations): schema 1 is rebuilt; 0 (a new file) and
        2 to 5 lack only tables added since, created if missing."""
        if version == 1:
            self._upgrade_from_1()
        else:
            self._create_tables()

    def _create_tables(self) -> None:
        db = self._db
        for collection in schema.COLLECTIONS:
            if collection != schema.SERIES:
                db.execute(_table_sql(collection, collection))
        db.execute("""CREATE TABLE IF NOT EXISTS series (
            id TEXT PRIMARY KEY, experiment_id TEXT NOT NULL, name TEXT NOT NULL,
            first_step INTEGER NOT NULL, last_step INTEGER NOT NULL, count INTEGER NOT NULL,
            steps BLOB NOT NULL, "values" BLOB NOT NULL)""")
        db.execute("""CREATE TABLE IF NOT EXISTS array_paths (
            collection TEXT NOT NULL, path TEXT NOT NULL, PRIMARY KEY (collection, path)) WITHOUT ROWID""")
        db.execute("""CREATE TABLE IF NOT EXISTS user_indexes (
            collection TEXT NOT NULL, name TEXT NOT NULL, keys TEXT NOT NULL, PRIMARY KEY (collection, name))
            WITHOUT ROWID""")
        self._create_indexes()

    def _upgrade_from_1(self) -> None:
        """Schema 1 had no array_paths and indexed untyped fields by json_extract: record the arrays
        of every stored document and rebuild the indexes."""
        db = self._db
        indexes = db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
        names = [row[0] for row in indexes]
        for name in names:
            db.execute(f'DROP INDEX "{name}"')
        if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'epochs'").fetchone():
            db.execute(_table_sql(schema.EPOCHS, "epochs_rebuilt"))
            db.execute("INSERT INTO epochs_rebuilt SELECT id, doc FROM epochs")
            db.execute("DROP TABLE epochs")
            db.execute("ALTER TABLE epochs_rebuilt RENAME TO epochs")
        self._create_tables()
        for collection in schema.COLLECTIONS:
            if collection == schema.SERIES:
                continue
            for (text,) in db.execute(f"SELECT doc FROM {collection} WHERE instr(doc, '[')").fetchall():
                paths = array_paths(json_codec.loads(text))
                db.executemany("INSERT OR IGNORE INTO array_paths VALUES (?, ?)",
                               [(collection, path) for path in paths])

    def _create_indexes(self) -> None:
        for collection, specs in schema.INDEXES.items():
            for spec in specs:
                if (collection, spec.name) in _NOT_EMBEDDED:
                    continue
                if collection == schema.SERIES:
                    columns = ", ".join(field for field, _ in spec.keys)
                else:
                    columns = _index_sql(collection, spec)
                unique = "UNIQUE " if spec.unique else ""
                name = f"{collection}__{spec.name}".replace(".", "_").replace("-", "m")
                self._db.execute(f"CREATE {unique}INDEX IF NOT EXISTS {name} ON {collection} ({columns})")

    def ensure_indexes(self) -> None:
        with self._lock:
            self._retrying(self._create_indexes)

    def create_index(self, collection: str, spec: IndexSpec) -> str:
        check_collection(collection)
        if any(own.keys == spec.keys for own in builtin(collection)):
            return spec.name
        columns = _index_sql(collection, spec)  # refuses paths SQLite cannot index before anything is written

        def create(db: sqlite3.Connection) -> None:
            db.execute(f"CREATE INDEX IF NOT EXISTS {_user_index(collection, spec.name)} ON {collection} ({columns})")
            db.execute("INSERT OR REPLACE INTO user_indexes VALUES (?, ?, ?)",
                       (collection, spec.name, json_codec.dumps([list(key) for key in spec.keys])))
        with self._lock:
            self._check_open()
            self._retrying(self._transaction, [create], set())
        return spec.name

    def list_indexes(self, collection: str) -> list[IndexInfo]:
        check_collection(collection)
        own = [IndexInfo(spec.name, spec.keys, spec.unique, builtin=True) for spec in builtin(collection)
               if (collection, spec.name) not in _NOT_EMBEDDED]
        rows = self._read("SELECT name, keys FROM user_indexes WHERE collection = ? ORDER BY name", [collection])
        return own + [IndexInfo(name, tuple((path, direction) for path, direction in json_codec.loads(keys)))
                      for name, keys in rows]

    def drop_index(self, collection: str, name: str) -> None:
        check_droppable(collection, name)
        found: list[bool] = []

        def drop(db: sqlite3.Connection) -> None:
            found.append(db.execute("DELETE FROM user_indexes WHERE collection = ? AND name = ?",
                                    (collection, name)).rowcount > 0)
            db.execute(f"DROP INDEX IF EXISTS {_user_index(collection, name)}")
        with self._lock:
            self._check_open()
            self._retrying(self._transaction, [drop], set())
        if not found[0]:
            raise missing_index(collection, name)

    # -- writes ------------------------------------------------------------------------------------

    def write(self, writes: Sequence[Write]) -> None:
        arrays: set[tuple[str, str]] = set()  # (collection, path) of the arrays the batch writes
        if len(writes) == 1 and isinstance(writes[0], (Put, Upsert)):  # log_epoch's write
            sql, args = self._document_statement(writes[0], arrays)
            if arrays <= self._recorded:
                with self._lock:  # one statement is its own transaction
                    self._check_open()
                    self._retrying(self._db.execute, sql, args)
                return
            statements = [lambda db: db.execute(sql, args)]
        else:
            statements = [self._statements(write, arrays) for write in writes]  # encode (and refuse) before locking
        with self._lock:
            self._check_open()
            self._retrying(self._transaction, statements, arrays)

    def _transaction(self, statements: list[Callable[[sqlite3.Connection], object]],
                     arrays: set[tuple[str, str]]) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in statements:
                statement(db)
            new = arrays - self._recorded
            if new:
                db.executemany("INSERT OR IGNORE INTO array_paths VALUES (?, ?)", sorted(new))
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        self._recorded |= new

    def _statements(self, write: Write, arrays: set[tuple[str, str]]) -> Callable[[sqlite3.Connection], object]:
        if isinstance(write, AppendSeries):
            return self._append_series(write)
        if isinstance(write, (Put, Upsert)):
            sql, args = self._document_statement(write, arrays)
            return lambda db: db.execute(sql, args)
        if isinstance(write, Delete) and write.collection == schema.SERIES:
            return _delete_series(write.filter)
        table = _table(write.collection)
        where, params = self._where(table, write.filter)
        if isinstance(write, Delete):
            sql = f"DELETE FROM {table} WHERE {where}"
            return lambda db: db.execute(sql, params)
        if isinstance(write, Update):
            return lambda db: self._update(db, table, where, params, write, arrays)
        raise TypeError(f"not a write: {write!r}")

    def _document_statement(self, write: Put | Upsert, arrays: set[tuple[str, str]]) -> tuple[str, tuple[str, str]]:
        sql = _document_sql(type(write) is Upsert, write.collection)
        document = write.document
        check_typed_fields(write.collection, document)
        text = _encode_without_id(document)
        if "[" in text:
            arrays.update((write.collection, path) for path in array_paths(document))
        return sql, (str(document["_id"]), text)

    def _update(self, db: sqlite3.Connection, table: str, where: str, params: list[Any], write: Update,
                arrays: set[tuple[str, str]]) -> None:
        rows = db.execute(f"SELECT id, doc FROM {table} WHERE {where}", params).fetchall()
        changed = []
        for row_id, text in rows:
            document = json_codec.loads(text)
            apply_update(document, write.set, write.unset)
            if "_id" in document:
                raise InvalidDocument("the _id of a document cannot be changed", "_id")
            check_typed_fields(table, document)
            new_text = json_codec.dumps(document)
            check_size(document, len(new_text))
            if "[" in new_text:
                arrays.update((table, path) for path in array_paths(document))
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
        if skip < 0 or limit < 0:
            raise QueryError("skip and limit must not be negative")
        if has_expr(filter):
            return find_with_expr(lambda plain, order: self.find(collection, plain, sort=order), filter or {},
                                  projection, sort, skip, limit)
        project = compile_projection(projection, filter)

        def compile(arrays: frozenset[str]) -> tuple[str, tuple[Any, ...]]:
            sql, params = compile_find(table, filter, sort, skip, limit, schema.TYPED_FIELDS.get(table, {}), arrays)
            return sql, tuple(params)

        rows = self._query(table, ("find", filter, sort, skip, limit), compile)
        documents = []
        loads = json_codec.loads
        for row_id, text in rows:
            document = {"_id": object_id(row_id), **loads(text)}
            documents.append(project(document) if project else document)
        return documents

    def count(self, collection: str, filter: Filter | None = None, *, limit: int = 0) -> int:
        table = _table(collection)
        if limit < 0:
            raise QueryError("limit must not be negative")
        if has_expr(filter):
            return len(self.find(collection, filter, limit=limit))

        def compile(arrays: frozenset[str]) -> tuple[str, tuple[Any, ...]]:
            where, params = compile_filter(filter, schema.TYPED_FIELDS.get(table, {}), arrays)
            if limit:
                return f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {where} LIMIT {int(limit)})", tuple(params)
            return f"SELECT count(*) FROM {table} WHERE {where}", tuple(params)

        return int(self._query(table, ("count", filter, limit), compile)[0][0])

    def group_tallies(self, collection: str, filter: Filter | None, paths: Sequence[str], metric: str,
                      mode: str) -> tuple[list[Tally], Members] | None:
        table = _table(collection)
        if table != schema.EXPERIMENTS or has_expr(filter):
            return None
        index = self._index_holding(table, [*paths, metric])

        def run(db: sqlite3.Connection, arrays: tuple[str, ...]) -> tuple[list[Tally], Members] | None:
            query = GroupQuery(table, paths, metric, mode, frozenset(arrays), index)
            if not query.usable:
                return None
            where, params = compile_filter(filter, schema.TYPED_FIELDS[table], frozenset(arrays))
            question = (tuple(paths), metric, mode, index, arrays, where, tuple(params))
            version = self._tallies.version(db)
            tallies = self._tallies.get(question, version)
            if tallies is None:
                tallies = query.tallies(db, where, params)  # INDEXED BY a plain index always has a plan: a scan
                if tallies is None:
                    return None
                self._tallies.put(question, version, tallies)
            return tallies, Members(load=query.member_loader(self._read, where, params))

        return self._in_snapshot(table, run)

    def group_stage(self, collection: str, filter: Filter | None, spec: Mapping[str, Any]) -> list[Document] | None:
        table = _table(collection)
        if has_expr(filter):
            return None

        def run(db: sqlite3.Connection, arrays: tuple[str, ...]) -> list[Document] | None:
            stage = GroupStage(table, spec, frozenset(arrays))
            if not stage.usable:
                return None
            where, params = compile_filter(filter, schema.TYPED_FIELDS.get(table, {}), frozenset(arrays))
            return stage.run(db, where, params)

        return self._in_snapshot(table, run)

    def _index_holding(self, table: str, paths: list[str]) -> str | None:
        """The user's index on `table` with the fewest keys that holds all of `paths`, if there is one."""
        holding = [(len(keys), name) for name, keys in
                   ((info.name, {path for path, _ in info.keys}) for info in self.list_indexes(table)
                    if not info.builtin) if keys >= set(paths)]
        return _user_index(table, min(holding)[1]) if holding else None

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

    def series_bucket_ids(self, experiment_ids: Sequence[ObjectId] | None = None, *,
                          since: ObjectId | None = None) -> list[tuple[ObjectId, ObjectId]]:
        conditions, params = [], []
        if experiment_ids is not None:
            conditions.append("experiment_id IN (SELECT value FROM json_each(?))")
            params.append(json_codec.dumps([str(oid) for oid in experiment_ids]))
        if since is not None:
            conditions.append("id >= ?")  # 24 lower-case hex digits sort as the ObjectIds do
            params.append(str(since))
        where = " AND ".join(conditions) or "1"
        rows = self._read(f"SELECT id, experiment_id FROM series WHERE {where} ORDER BY id", params)
        return [(object_id(bucket), object_id(experiment)) for bucket, experiment in rows]

    def read_buckets(self, bucket_ids: Sequence[ObjectId]) -> list[AppendSeries]:
        rows = self._read('SELECT id, experiment_id, name, steps, "values" FROM series WHERE id IN '
                          "(SELECT value FROM json_each(?)) ORDER BY rowid",
                          [json_codec.dumps([str(oid) for oid in bucket_ids])])
        return [AppendSeries(object_id(experiment), name, np.frombuffer(steps, dtype="<i8").astype(np.int64),
                             np.frombuffer(values, dtype="<f8").astype(np.float64), object_id(bucket))
                for bucket, experiment, name, steps, values in rows]

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._db.close()

    # -- helpers -----------------------------------------------------------------------------------

    def _where(self, table: str, filter: Filter | None) -> tuple[str, list[Any]]:
        return compile_filter(filter, schema.TYPED_FIELDS.get(table, {}))

    def _query(self, table: str, question: Any, compile: Callable[[frozenset[str]], tuple[str, tuple[Any, ...]]],
               ) -> list[Any]:
        """Rows of the query `compile` builds, knowing the table's array paths as of the same snapshot.
        Compiled queries are remembered by `question` (which must determine the SQL) and array paths."""

        def run(db: sqlite3.Connection, arrays: tuple[str, ...]) -> list[Any]:
            sql, params = self._plan((table, question, arrays), lambda: compile(frozenset(arrays)))
            return db.execute(sql, params).fetchall()

        return self._in_snapshot(table, run)

    def _in_snapshot(self, table: str, action: Callable[[sqlite3.Connection, tuple[str, ...]], T]) -> T:
        """`action(connection, array paths of table)` in one read transaction, so that all it reads is of one
        snapshot."""
        def run() -> T:
            db = self._db
            db.execute("BEGIN")
            try:
                return action(db, tuple(row[0] for row in db.execute(_ARRAY_PATHS_SQL, (table,))))
            finally:
                if db.in_transaction:
                    db.execute("COMMIT")

        with self._lock:
            self._check_open()
            return self._retrying(run)

    def _plan(self, question: Any, compile: Callable[[], tuple[str, tuple[Any, ...]]]) -> tuple[str, tuple[Any, ...]]:
        try:
            key: Any = _freeze(question)
            plan = self._plans.get(key)
        except TypeError:  # an unhashable value in the filter: compile it every time
            key, plan = None, None
        if plan is None:
            plan = compile()
            if key is not None:
                if len(self._plans) >= _MAX_PLANS:
                    del self._plans[next(iter(self._plans))]
                self._plans[key] = plan
        return plan

    def _read(self, sql: str, params: list[Any]) -> list[Any]:
        with self._lock:
            self._check_open()
            return self._retrying(lambda: self._db.execute(sql, params).fetchall())

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"the store {self.uri} is closed")

    def _retrying(self, action: Callable[..., T], *args: Any) -> T:
        """Run `action(*args)`, waiting out a busy database; driver errors become ours."""
        deadline = None
        delay = 0.001
        while True:
            try:
                return action(*args)
            except sqlite3.IntegrityError as error:
                raise Conflict(str(error)) from error
            except sqlite3.OperationalError as error:
                message = str(error)
                if "locked" not in message and "busy" not in message:
                    raise StoreError(f"{self.path}: {message}") from error
                if deadline is None:
                    deadline = time.monotonic() + self.busy_timeout
                elif time.monotonic() > deadline:
                    raise StoreUnavailable(f"{self.path} stayed locked for {self.busy_timeout:.0f} s") from error
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 0.1)
            except sqlite3.DatabaseError as error:
                raise StoreError(f"{self.path}: {error}") from error


def _index_sql(collection: str, spec: IndexSpec) -> str:
    return ", ".join(column + (" DESC" if direction < 0 else "")
                     for field, direction in spec.keys for column in index_columns(collection, field))


def _user_index(collection: str, name: str) -> str:
    """A user's index as SQLite names it: quoted, so that any MongoDB index name is spelled exactly."""
    return '"' + f"{collection}:{name}".replace('"', '""') + '"'


def _table_sql(collection: str, name: str) -> str:
    """A collection's table. Epochs, written one per call and small, live in their primary key's B-tree
    (`WITHOUT ROWID`): a log_epoch then writes two B-trees (id, natural key) instead of three."""
    without_rowid = " WITHOUT ROWID" if collection == schema.EPOCHS else ""
    return f"CREATE TABLE IF NOT EXISTS {name} (id TEXT PRIMARY KEY, doc TEXT NOT NULL){without_rowid}"


def _delete_series(filter: Filter) -> Callable[[sqlite3.Connection], object]:
    """The deletion of the step series of experiments: `{"experiment_id": id or {"$in": [ids]}}` only (their
    buckets are rows of the series table, not documents a filter could match)."""
    chosen = filter.get("experiment_id") if isinstance(filter, Mapping) and len(filter) == 1 else None
    ids = chosen.get("$in") if isinstance(chosen, Mapping) and len(chosen) == 1 else [chosen]
    if not isinstance(ids, (list, tuple)) or not all(isinstance(oid, ObjectId) for oid in ids):
        raise QueryError(f"step series are deleted by experiment_id (an ObjectId or $in of them), not {filter!r}")
    texts = [str(oid) for oid in ids]
    sql = f"DELETE FROM series WHERE experiment_id IN ({', '.join('?' * len(texts))})"
    return lambda db: db.execute(sql, texts) if texts else None


def _freeze(value: Any) -> Any:
    """A hashable stand-in for a filter or sort that tells apart values Python calls equal (1, 1.0, True)."""
    if isinstance(value, Mapping):
        return dict, tuple((key, _freeze(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return list, tuple(_freeze(item) for item in value)
    return type(value), value


@functools.lru_cache(maxsize=None)
def _document_sql(upsert: bool, collection: str) -> str:
    """The statement writing a whole document: a Put replaces by `_id`, an Upsert by the natural key
    (built once per collection: it never changes)."""
    table = _table(collection)
    if not upsert:
        return f"INSERT INTO {table}(id, doc) VALUES(?, ?) ON CONFLICT(id) DO UPDATE SET doc=excluded.doc"
    keys = schema.NATURAL_KEYS.get(table)
    if not keys:
        raise StoreError(f"collection {table!r} has no natural key to upsert on")
    target = ", ".join(column for key in keys for column in index_columns(table, key))
    return f"INSERT INTO {table}(id, doc) VALUES(?, ?) ON CONFLICT({target}) DO UPDATE SET doc=excluded.doc"


def _table(collection: str) -> str:
    if collection not in schema.COLLECTIONS or collection == schema.SERIES:
        raise StoreError(f"unknown collection {collection!r}")
    return collection


def _encode_without_id(document: Document) -> str:
    body = dict(document)
    del body["_id"]
    text = json_codec.dumps(body)
    check_size(document, len(text))
    return text
