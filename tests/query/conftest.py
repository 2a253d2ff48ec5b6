"""An in-memory SQLite table laid out exactly as the embedded store's, and `find` as the store compiles it."""

from __future__ import annotations

import sqlite3
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest
from bson import ObjectId

from epochlog.documents import array_paths, normalize_document
from epochlog.query import compile_filter, compile_find, compile_projection, register_functions
from epochlog import json_codec

# When a Hypothesis test fails, its pytest plugin imports libcst to suggest a patch, and libcst's
# import-time DeprecationWarnings are errors under `filterwarnings = error`, which turns a readable
# failure into an INTERNALERROR. Importing it here, quietly, keeps failures readable.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import hypothesis.extra._patching  # noqa: F401
    except ImportError:
        pass


class Table:
    """One collection: `id TEXT PRIMARY KEY` (the ObjectId's hex) and `doc` (json_codec, without `_id`)."""

    def __init__(self, db: sqlite3.Connection, typed: Mapping[str, str] | None = None) -> None:
        self.db = db
        self.typed = dict(typed or {})
        self.arrays: set[str] = set()  # as the store's array_paths: where inserted documents hold arrays
        self.know_arrays = True  # False: compile as if any path might hold an array
        db.execute("CREATE TABLE t (id TEXT PRIMARY KEY, doc TEXT NOT NULL)")

    def insert(self, *documents: Mapping[str, Any]) -> list[ObjectId]:
        ids = []
        for document in documents:
            document = normalize_document({"_id": ObjectId(), **document})
            body = {key: value for key, value in document.items() if key != "_id"}
            self.arrays |= array_paths(body)
            self.db.execute("INSERT INTO t VALUES (?, ?)", (str(document["_id"]), json_codec.dumps(body)))
            ids.append(document["_id"])
        return ids

    def known_arrays(self) -> set[str] | None:
        return self.arrays if self.know_arrays else None

    def where(self, filter: Any) -> tuple[str, list[Any]]:
        return compile_filter(filter, self.typed, self.known_arrays())  # type: ignore[arg-type]

    def find(self, filter: Any = None, projection: Any = None, sort: Sequence[tuple[str, int]] | None = None,
             skip: int = 0, limit: int = 0) -> list[dict[str, Any]]:
        sql, params = compile_find("t", filter, sort, skip, limit, self.typed, self.known_arrays())  # type: ignore[arg-type]
        project = compile_projection(projection)
        documents = []
        for row_id, text in self.db.execute(sql, params):
            document = {"_id": ObjectId(row_id), **json_codec.loads(text)}
            documents.append(project(document) if project else document)
        return documents

    def ids(self, filter: Any = None, sort: Sequence[tuple[str, int]] | None = None) -> list[ObjectId]:
        return [document["_id"] for document in self.find(filter, sort=sort)]

    def null_rows(self, filter: Any) -> int:
        """Rows for which the compiled expression is NULL (allowed, but worth knowing)."""
        where, params = self.where(filter)
        return self.db.execute(f"SELECT count(*) FROM t WHERE ({where}) IS NULL", params).fetchone()[0]


def new_table(typed: Mapping[str, str] | None = None) -> Table:
    """A fresh table on its own in-memory database (close it with `table.db.close()`)."""
    db = sqlite3.connect(":memory:")
    register_functions(db)
    return Table(db, typed)


@pytest.fixture
def table() -> Iterator[Table]:
    table = new_table()
    yield table
    table.db.close()


@pytest.fixture
def make_table() -> Iterator[Any]:
    connections = []

    def make(typed: Mapping[str, str] | None = None) -> Table:
        table = new_table(typed)
        connections.append(table.db)
        return table

    yield make
    for db in connections:
        db.close()
