"""The MongoDB backend (pymongo). Also runs on MongoDB-wire servers such as FerretDB, probed at first use."""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import numpy as np
import pymongo
import pymongo.errors as mongo_errors
from bson import ObjectId
from bson.errors import InvalidDocument as BsonInvalidDocument
from bson.regex import Regex
from pymongo import DeleteMany, InsertOne, ReplaceOne, UpdateMany
from pymongo.uri_parser import parse_uri

from .. import schema
from ..errors import Conflict, InvalidDocument, QueryError, StoreError, StoreUnavailable, Unauthorized
from ..query.aggregate import check_pipeline, run_pipeline
from ..query.evaluate import matching
from ..query.expr_filter import find_with_expr, has_expr, split_filter
from ..query.parse import Node, parse_filter
from ..query.projection import compile_projection
from ..query.regex import option_letters
from ..redaction import redact
from ..types import Document, Filter, IndexSpec, Projection, SortSpec
from . import fallback_form
from .base import AppendSeries, Delete, MetricSeries, Put, Store, Update, Upsert, Write, ordered_series
from .index_keys import IndexInfo, builtin, check_collection, check_droppable, missing_index
from .fallback_filter import fallback_filter

DEFAULT_DATABASE = "eeg2025"
log = logging.getLogger("epochlog.mongo")
_QUERY_ERROR_CODES = {2, 9, 17287, 31253, 31254, 51024, 51091}  # BadValue, FailedToParse, projection errors
_RACE_RETRIES = 5
_IMMUTABLE_FIELD = 66  # "would modify the immutable field '_id'"
_UNAUTHORIZED = 13  # the account lacks the privilege (a read-only user writing)
SOCKET_TIMEOUT_MS = 60_000
_NOT_AUTHORIZED = "the account may not create indexes"


class MongoStore(Store):
    """Collections of one database on a MongoDB server; write concern and read preference come from the URI."""

    def __init__(self, uri: str, *, database: str | None = None, server_selection_timeout_ms: int = 5000,
                 **client_options: Any) -> None:
        self.uri = uri
        try:
            parsed = parse_uri(uri)
        except (mongo_errors.InvalidURI, mongo_errors.ConfigurationError, ValueError) as error:
            raise StoreError(f"invalid MongoDB URI {redact(uri)!r}: {error}") from None
        self.database_name: str = database or parsed.get("database") or DEFAULT_DATABASE
        options = {key.lower() for key in parsed.get("options", {})}
        if "serverselectiontimeoutms" not in options:  # the URI's own settings win
            client_options.setdefault("serverSelectionTimeoutMS", server_selection_timeout_ms)
        if "sockettimeoutms" not in options:  # a server that hangs is an outage to retry, not a hang
            client_options.setdefault("socketTimeoutMS", SOCKET_TIMEOUT_MS)
        self._client: pymongo.MongoClient[Document] = pymongo.MongoClient(
            uri, tz_aware=True, tzinfo=dt.timezone.utc, connect=False, **client_options)
        self._db = self._client[self.database_name]
        self._ready = False
        self._indexed = False  # whether the indexes were looked at and the missing ones tried (first write)
        self._ready_lock = threading.Lock()
        self.uses_fallback_form = False  # True on servers that refuse NaN/inf and nested arrays
        self._index_problems: dict[str, str] = {}
        self._inserts_first: set[str] = set()  # collections whose upserts are tried as inserts first
        self.bulk_size = 0  # most operations per bulk write; 0: no limit

    # -- setup -------------------------------------------------------------------------------------

    def _prepare(self) -> None:
        """At first use: learn what the server refuses. The indexes wait for the first write
        (`_prepare_writes`): a reader, such as a dashboard on a read-only account, never asks to create one."""
        if self._ready:
            return
        with self._ready_lock:
            if self._ready:
                return
            with _translated():
                info = self._client.admin.command("buildInfo")
                self.uses_fallback_form = "ferretdb" in info or "ferretdbVersion" in info
                # FerretDB 1.x deadlocks when several clients send multi-operation upsert bulks at once.
                self.bulk_size = 1 if self.uses_fallback_form else 0
            self._ready = True

    def _prepare_writes(self) -> None:
        """Before the first write: create the missing indexes (the unique ones keep upserts from duplicating)."""
        self._prepare()
        if self._indexed:
            return
        with self._ready_lock:
            if not self._indexed:
                with _translated():
                    self._create_indexes()

    def _create_indexes(self) -> None:
        """Create the indexes of `schema.INDEXES` that are missing. An index already there under another name
        with the same keys is accepted; one that cannot be built (duplicates in an older database, an account
        that may not create indexes: asked once, not once an index) is reported once in `index_problems` and
        the log, and stops nothing else."""
        problems: dict[str, str] = {}
        unique: set[tuple[str, tuple[tuple[str, int], ...]]] = set()
        for collection, specs in schema.INDEXES.items():
            existing = self._existing_indexes(collection)
            for spec in specs:
                keys = tuple(spec.keys)
                if _satisfied(existing, spec):
                    unique.update([(collection, keys)] if existing[keys] else [])
                    continue
                if _NOT_AUTHORIZED in problems.values():  # one refusal says it for all: ask no more
                    problems[f"{collection}.{spec.name}"] = _NOT_AUTHORIZED
                    continue
                try:
                    self._db[collection].create_index(list(spec.keys), unique=spec.unique, name=spec.name)
                except (mongo_errors.OperationFailure, mongo_errors.DuplicateKeyError) as error:
                    problems[f"{collection}.{spec.name}"] = _index_problem(error)
                else:
                    unique.update([(collection, keys)] if spec.unique else [])
        new = {name: reason for name, reason in problems.items() if self._index_problems.get(name) != reason}
        for reason in dict.fromkeys(new.values()):  # one line a reason
            log.warning("MongoDB indexes missing and not created (%s): %s; `epochlog doctor` explains and repairs "
                        "them", reason, ", ".join(name for name in new if new[name] == reason))
        self._index_problems = problems
        self._indexed = True
        # FerretDB 1.x answers an upsert by scanning the collection (125 ms an epoch at 2,000 epochs), an insert
        # from its unique index (3 ms): where that index holds, an upsert is tried as an insert first
        self._inserts_first = {collection for collection, keys in schema.NATURAL_KEYS.items()
                               if self.uses_fallback_form and (collection, tuple((key, 1) for key in keys)) in unique}

    @property
    def index_problems(self) -> dict[str, str]:
        """Once this store has written (or `ensure_indexes` ran), the indexes it could not create and why;
        before, the ones a look at the server finds missing: looking creates nothing, so `epochlog doctor`
        stays read-only."""
        self._prepare()
        if self._indexed:
            return dict(self._index_problems)
        problems: dict[str, str] = {}
        with _translated():
            for collection, specs in schema.INDEXES.items():
                existing = self._existing_indexes(collection)
                for spec in specs:
                    if not _satisfied(existing, spec):
                        problems[f"{collection}.{spec.name}"] = (
                            "an index on these keys exists but is not unique" if tuple(spec.keys) in existing
                            else "not created yet (the first write, `epochlog init` or `epochlog doctor --fix` "
                                 "creates it)")
        return problems

    def _existing_indexes(self, collection: str) -> dict[tuple[tuple[str, int], ...], bool]:
        """The keys of each index of `collection`, and whether it is unique."""
        try:
            indexes = list(self._db[collection].list_indexes())
        except mongo_errors.OperationFailure:  # no right to list them: try to create each
            return {}
        return {tuple((key, int(direction)) for key, direction in index["key"].items()): bool(index.get("unique"))
                for index in indexes}

    def ensure_indexes(self) -> None:
        self._prepare()
        with self._ready_lock, _translated():
            self._create_indexes()

    def create_index(self, collection: str, spec: IndexSpec) -> str:
        check_collection(collection)
        self._prepare_writes()  # epochlog's own first: a user's index on the same keys is then theirs
        existing = {tuple(info.keys): info.name for info in self.list_indexes(collection)}
        if spec.keys in existing:
            return existing[spec.keys]
        with _translated():
            return str(self._db[collection].create_index(list(spec.keys), name=spec.name))

    def list_indexes(self, collection: str) -> list[IndexInfo]:
        check_collection(collection)
        self._prepare()
        own = {spec.keys for spec in builtin(collection)}
        with _translated():
            found = list(self._db[collection].list_indexes())
        indexes = []
        for index in found:
            keys = tuple((str(key), int(direction)) for key, direction in index["key"].items())
            indexes.append(IndexInfo(str(index["name"]), keys, bool(index.get("unique")),
                                     builtin=index["name"] == "_id_" or keys in own))
        return sorted(indexes, key=lambda info: not info.builtin)

    def drop_index(self, collection: str, name: str) -> None:
        check_droppable(collection, name)
        if name not in {info.name for info in self.list_indexes(collection) if not info.builtin}:
            raise missing_index(collection, name)
        with _translated():
            self._db[collection].drop_index(name)

    # -- writes ------------------------------------------------------------------------------------

    def write(self, writes: Sequence[Write]) -> None:
        self.check_writes(writes)
        self._prepare_writes()
        batches: list[tuple[str, list[Any]]] = []
        for write in writes:
            if isinstance(write, (Update, Delete)) and self.uses_fallback_form and \
                    not fallback_filter(parse_filter(write.filter))[1]:
                # the server cannot select these documents itself: the earlier writes go first, then the
                # documents the filter selects now are named by `_id`
                self._send(batches)
                batches = []
                ids = [document["_id"] for document in self.find(write.collection, write.filter)]
                write = replace(write, filter={"_id": {"$in": ids}})
            collection, operation = self._operation(write)
            if batches and batches[-1][0] == collection:
                batches[-1][1].append(operation)
            else:
                batches.append((collection, [operation]))
        self._send(batches)

    def _send(self, batches: list[tuple[str, list[Any]]]) -> None:
        for collection, operations in batches:
            size = self.bulk_size or len(operations)
            with _translated():
                for start in range(0, len(operations), size):
                    self._bulk_write(collection, operations[start:start + size])

    def _bulk_write(self, collection: str, operations: list[Any]) -> None:
        """One ordered bulk write; a lost race between two upserts of one natural key is retried.

        MongoDB reports that race as a duplicate key error; FerretDB 1.x as an InternalError naming the
        UNIQUE constraint, or a reply pymongo cannot read (KeyError 'nModified'). An upsert carries the
        caller's `_id`, so a new document gets it; when the document exists under another `_id` the server
        refuses to change it (code 66) and the upsert is sent again without it, keeping the stored one.
        """
        if collection == schema.SERIES:
            self._insert_buckets(operations)
            return
        races = 0
        while True:
            try:
                self._db[collection].bulk_write(operations, ordered=True)
                return
            except mongo_errors.BulkWriteError as error:
                errors = (error.details or {}).get("writeErrors") or [{}]
                index = errors[0].get("index", 0)
                if errors[0].get("code") == _IMMUTABLE_FIELD and _keeps_id(operations[index]):
                    operations = [_without_id(operations[index]), *operations[index + 1:]]  # the rest is unsent
                    continue
                if errors[0].get("code") == 11000 and isinstance(operations[index], _InsertOrReplace):
                    operations = [operations[index].replacement, *operations[index + 1:]]  # the key exists
                    continue
                races += 1
                if not _only_duplicate_keys(error) or races == _RACE_RETRIES:
                    raise
            except mongo_errors.OperationFailure as error:
                races += 1
                if "UNIQUE constraint failed" not in str(error):
                    raise
                if races == _RACE_RETRIES:
                    raise Conflict(str(error)) from error
            except KeyError as error:
                if error.args != ("nModified",):
                    raise
                refusals = self._refusals(collection, operations)
                if any(code == _IMMUTABLE_FIELD for code, _ in refusals) and _keeps_id(operations[0]):
                    operations = [_without_id(operations[0])]
                    continue
                reasons = [f"{message} (code {code})" for code, message in refusals
                           if code != 11000 and "UNIQUE constraint failed" not in message]
                if reasons:
                    raise StoreError(f"MongoDB refused a write: {'; '.join(reasons)}") from error
                races += 1
                if races == _RACE_RETRIES:
                    raise Conflict("a unique index refused the write") from error

    def _refusals(self, collection: str, operations: list[Any]) -> list[tuple[int | None, str]]:
        """The server's own (code, reason) for refusing a lone operation whose reply pymongo could not read
        (FerretDB 1.x leaves out the counts when a write fails), asked again as a plain command."""
        command = _as_command(operations[0]) if len(operations) == 1 else None
        if command is None:
            return []
        name, arguments = command
        errors = self._db.command(name, collection, **arguments).get("writeErrors") or []
        return [(item.get("code"), str(item.get("errmsg"))) for item in errors]

    def _insert_buckets(self, operations: list[Any]) -> None:
        """Buckets never change once written, so a bucket already there is this very append replayed.

        Inserting rather than upserting by `_id` matters on FerretDB 1.x, whose upserts scan the whole
        collection (1 ms into an empty one, 60 ms with 200 buckets, 300 ms with 400).
        """
        try:
            self._db[schema.SERIES].bulk_write(operations, ordered=False)
        except mongo_errors.BulkWriteError as error:
            if not _only_duplicate_keys(error):
                raise
        except mongo_errors.OperationFailure as error:  # FerretDB 1.x names the SQLite constraint instead
            if "UNIQUE constraint failed" not in str(error):
                raise

    def _operation(self, write: Write) -> tuple[str, Any]:
        if isinstance(write, AppendSeries):
            steps = np.asarray(write.steps, dtype=np.int64)
            values = np.asarray(write.values, dtype=np.float64)
            if len(steps) != len(values):
                raise InvalidDocument(f"{len(steps)} steps but {len(values)} values", write.name)
            document = {"_id": write.bucket_id, "experiment_id": write.experiment_id, "name": write.name,
                        "first_step": int(steps.min()) if len(steps) else 0,
                        "last_step": int(steps.max()) if len(steps) else 0, "count": len(steps),
                        "steps": steps.tolist(), "values": self._encode(values.tolist())}
            return schema.SERIES, InsertOne(document)
        if isinstance(write, Put):
            document = self._encode(write.document)
            return write.collection, ReplaceOne({"_id": document["_id"]}, document, upsert=True)
        if isinstance(write, Upsert):
            keys = schema.NATURAL_KEYS.get(write.collection)
            if not keys:
                raise StoreError(f"collection {write.collection!r} has no natural key to upsert on")
            body = self._encode(write.document)
            upsert = ReplaceOne({key: body.get(key) for key in keys}, body, upsert=True)
            if write.collection in self._inserts_first:
                return write.collection, _InsertOrReplace(body, upsert)
            return write.collection, upsert
        if isinstance(write, Update):
            update: dict[str, Any] = {}
            if write.set:
                update["$set"] = {key: self._encode(value) for key, value in write.set.items()}
            if write.unset:
                update["$unset"] = dict.fromkeys(write.unset, "")
            return write.collection, UpdateMany(self._filter(write.filter), update)
        if isinstance(write, Delete):
            return write.collection, DeleteMany(self._filter(write.filter))
        raise TypeError(f"not a write: {write!r}")

    def _encode(self, value: Any) -> Any:
        return fallback_form.encode(value) if self.uses_fallback_form else value

    def _filter(self, filter: Filter | None) -> dict[str, Any]:
        """A filter as the server takes it: compiled patterns as BSON regexes; on a server holding the fallback
        form, rewritten for it (the write path resolves the filters that cannot be, see `write`)."""
        if self.uses_fallback_form:
            return fallback_filter(parse_filter(filter))[0]
        return _regexes(dict(filter or {}))

    def _decode(self, value: Any) -> Any:
        return fallback_form.decode(value) if self.uses_fallback_form else value

    # -- reads -------------------------------------------------------------------------------------

    def find(self, collection: str, filter: Filter | None = None, *, projection: Projection | None = None,
             sort: SortSpec | None = None, skip: int = 0, limit: int = 0) -> list[Document]:
        self._prepare()
        if skip < 0 or limit < 0:
            raise QueryError("skip and limit must not be negative")
        if self.uses_fallback_form and has_expr(filter):  # the server would compare the stored forms (and lacks $expr)
            return find_with_expr(lambda plain, order: self.find(collection, plain, sort=order), filter or {},
                                  projection, sort, skip, limit)
        node = parse_filter(split_filter(filter, supported=False)[0])  # MongoDB itself evaluates $expr
        project = compile_projection(projection, node)  # refuses what we refuse on every backend
        order = list(sort or [])
        if not any(field == "_id" for field, _ in order):
            order.append(("_id", 1))  # ties in insertion order, as the embedded store does
        if not self.uses_fallback_form:
            with _translated():
                cursor = self._db[collection].find(_regexes(dict(filter or {})),
                                                   dict(projection) if projection else None,
                                                   sort=order, skip=skip, limit=limit)
                return list(cursor)
        # The fallback form: the projection is applied here, to decoded values, from the fields it reads.
        fields = project.fields if project else None
        documents = self._fallback_find(collection, node, dict.fromkeys(fields, 1) if fields else None, order,
                                        skip, limit)
        return [project(document) for document in documents] if project else documents

    def _fallback_find(self, collection: str, node: Node, fields: dict[str, int] | None,
                       order: list[tuple[str, int]], skip: int, limit: int) -> list[Document]:
        """Decoded documents matching `node` on a server holding the fallback form: the server selects
        them where its answer is exact (fallback_filter.py), else a superset that `matching` decides."""
        server_filter, exact = fallback_filter(node)
        with _translated():
            cursor = self._db[collection].find(server_filter, fields if exact else None, sort=order,
                                               skip=skip if exact else 0, limit=limit if exact else 0)
            documents = [fallback_form.decode(document) for document in cursor]
        if exact:
            return documents
        documents = [documents[index] for index in matching(node, documents)][skip:]
        return documents[:limit] if limit else documents

    def count(self, collection: str, filter: Filter | None = None, *, limit: int = 0) -> int:
        self._prepare()
        if limit < 0:
            raise QueryError("limit must not be negative")
        if self.uses_fallback_form and has_expr(filter):
            return len(self.find(collection, filter, limit=limit))
        node = parse_filter(split_filter(filter, supported=False)[0])
        if self.uses_fallback_form and not fallback_filter(node)[1]:
            return len(self._fallback_find(collection, node, None, [("_id", 1)], 0, limit))
        with _translated():
            if limit:
                return int(self._db[collection].count_documents(self._filter(filter), limit=limit))
            return int(self._db[collection].count_documents(self._filter(filter)))

    def aggregate(self, collection: str, pipeline: Sequence[Mapping[str, Any]]) -> list[Document]:
        """On MongoDB, the server runs the pipeline as it is (after `check_pipeline`'s refusals). A server
        holding the fallback form (FerretDB) would aggregate the stored forms of NaN, infinities and nested
        arrays, not the values, so there the pipeline runs in Python over this store's own find."""
        self._prepare()
        if self.uses_fallback_form:
            return run_pipeline(self, collection, pipeline, sort_in_find=False)  # tagged NaN sorts as a document
        return self._server_aggregate(collection, pipeline)

    def _server_aggregate(self, collection: str, pipeline: Sequence[Mapping[str, Any]]) -> list[Document]:
        """The server's answer; what it refuses is a QueryError carrying its message (which names the stage
        or operator)."""
        check_pipeline(pipeline)
        try:
            with _translated():
                return [self._decode(document) for document in
                        self._db[collection].aggregate([_regexes(dict(stage)) for stage in pipeline])]
        except StoreError as error:
            cause = error.__cause__
            if isinstance(cause, mongo_errors.OperationFailure) and cause.code != _UNAUTHORIZED:
                reason = (cause.details or {}).get("errmsg") or str(cause)
                raise QueryError(f"MongoDB refused the pipeline: {reason} (code {cause.code})") from cause
            raise

    def read_series(self, experiment_id: ObjectId, name: str) -> MetricSeries:
        self._prepare()
        steps: list[int] = []
        values: list[float] = []
        with _translated():
            for bucket in self._db[schema.SERIES].find({"experiment_id": experiment_id, "name": name},
                                                       {"steps": 1, "values": 1},
                                                       sort=[("first_step", 1), ("_id", 1)]):
                steps.extend(bucket["steps"])
                values.extend(self._decode(bucket["values"]))
        return ordered_series(name, np.array(steps, dtype=np.int64), np.array(values, dtype=np.float64))

    def series_names(self, experiment_id: ObjectId) -> list[str]:
        self._prepare()
        with _translated():
            return sorted(self._db[schema.SERIES].distinct("name", {"experiment_id": experiment_id}))

    def close(self) -> None:
        self._client.close()

    def drop_database(self) -> None:
        """Delete the whole database (tests and `epochlog` maintenance only)."""
        with _translated():
            self._client.drop_database(self._db)


def _satisfied(existing: dict[tuple[tuple[str, int], ...], bool], spec: IndexSpec) -> bool:
    """Whether an index of `existing` (see `_existing_indexes`) serves `spec`, whatever its name."""
    keys = tuple(spec.keys)
    return keys in existing and (existing[keys] or not spec.unique)


def _index_problem(error: mongo_errors.PyMongoError) -> str:
    code = getattr(error, "code", None)
    if code == 11000 or "duplicate" in str(error).lower() or "UNIQUE constraint" in str(error):
        return "duplicate keys in the collection"
    if code in (13, 8000) or "not authorized" in str(error).lower():
        return _NOT_AUTHORIZED
    if code in (85, 86):
        return f"an index with this name but other keys or options exists ({error})"
    return str(error)


class _InsertOrReplace(InsertOne[Document]):
    """An upsert sent as an insert, and as `replacement` once the unique natural key refused the insert."""

    def __init__(self, document: Document, replacement: ReplaceOne[Document]) -> None:
        super().__init__(document)
        self.replacement = replacement


def _keeps_id(operation: Any) -> bool:
    """An upsert by natural key that carries the caller's `_id` (see `_bulk_write`)."""
    return isinstance(operation, ReplaceOne) and "_id" in (getattr(operation, "_doc", None) or {}) \
        and "_id" not in (getattr(operation, "_filter", None) or {})


def _without_id(operation: Any) -> Any:
    body = {key: value for key, value in operation._doc.items() if key != "_id"}
    return ReplaceOne(operation._filter, body, upsert=True)


def _as_command(operation: Any) -> tuple[str, dict[str, Any]] | None:
    """A pymongo bulk operation as the write command it stands for (None for other kinds)."""
    spec = getattr(operation, "_filter", None), getattr(operation, "_doc", None), bool(getattr(operation, "_upsert", False))
    if isinstance(operation, InsertOne):
        return "insert", {"documents": [spec[1]]}
    if isinstance(operation, (ReplaceOne, UpdateMany)):
        return "update", {"updates": [{"q": spec[0], "u": spec[1], "upsert": spec[2],
                                       "multi": isinstance(operation, UpdateMany)}]}
    if isinstance(operation, DeleteMany):
        return "delete", {"deletes": [{"q": spec[0], "limit": 0}]}
    return None


def _only_duplicate_keys(error: mongo_errors.BulkWriteError) -> bool:
    details = error.details or {}
    write_errors = details.get("writeErrors", [])
    return bool(write_errors) and all(item.get("code") == 11000 for item in write_errors) and \
        not details.get("writeConcernErrors")


def _regexes(value: Any) -> Any:
    """`re.compile(...)` values as BSON regexes with only the flags MongoDB knows (pymongo would add 'u')."""
    if isinstance(value, re.Pattern):
        return Regex(value.pattern, option_letters(value.flags))
    if isinstance(value, dict):
        return {key: _regexes(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_regexes(item) for item in value]
    return value


@contextmanager
def _translated() -> Iterator[None]:
    """pymongo's and bson's exceptions as ours."""
    try:
        yield
    except (mongo_errors.ServerSelectionTimeoutError, mongo_errors.AutoReconnect, mongo_errors.ConnectionFailure,
            mongo_errors.NetworkTimeout, mongo_errors.ExecutionTimeout, mongo_errors.WTimeoutError) as error:
        raise StoreUnavailable(f"MongoDB is unreachable: {error}") from error
    except mongo_errors.DuplicateKeyError as error:
        raise Conflict(str(error)) from error
    except mongo_errors.BulkWriteError as error:
        if (error.details or {}).get("writeConcernErrors") and not (error.details or {}).get("writeErrors"):
            raise StoreUnavailable(f"MongoDB did not confirm the write concern: {error.details}") from error
        codes = {item.get("code") for item in (error.details or {}).get("writeErrors", [])}
        if codes == {11000}:
            raise Conflict(str(error.details)) from error
        if codes == {_UNAUTHORIZED}:
            raise Unauthorized(f"MongoDB refused a write: {error.details}") from error
        raise StoreError(f"MongoDB refused a write: {error.details}") from error
    except (mongo_errors.DocumentTooLarge, BsonInvalidDocument) as error:
        raise InvalidDocument(str(error)) from error
    except mongo_errors.OperationFailure as error:
        if error.code in _QUERY_ERROR_CODES:
            raise QueryError(str(error)) from error
        if error.code == _UNAUTHORIZED:
            raise Unauthorized(f"MongoDB: {error}") from error
        raise StoreError(f"MongoDB: {error}") from error
    except mongo_errors.PyMongoError as error:
        raise StoreError(f"MongoDB: {error}") from error
