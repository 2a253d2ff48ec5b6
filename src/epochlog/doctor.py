"""`epochlog doctor`: what in a store breaks epochlog's assumptions, and the repairs that are safe.

It finds duplicates of a natural key (two epochs 3 of one experiment, left by insert-style logging after a
resume), the indexes the store could not create, and documents whose typed fields (`schema.TYPED_FIELDS`) hold
another type. Diagnosis only reads. The repair keeps, of each set of duplicates, the newest (by `timestamp`,
else by the time in its ObjectId), writes the others to a JSON-lines backup before deleting them, and creates
the missing indexes; it changes no document whose type is wrong (that needs a person), it lists them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bson import ObjectId, json_util

from . import schema
from .documents import check_typed_fields
from .errors import InvalidDocument
from .store.base import Delete, Store
from .types import Document

_OLDEST = dt.datetime.min.replace(tzinfo=dt.timezone.utc)
_BACKUP_JSON = json_util.RELAXED_JSON_OPTIONS.with_options(tz_aware=True)


@dataclass
class Duplicate:
    """Documents sharing one natural key; `keep` is the one the repair keeps."""

    collection: str
    key: dict[str, Any]
    keep: ObjectId
    others: list[ObjectId]


@dataclass
class Diagnosis:
    duplicates: list[Duplicate] = field(default_factory=list)
    index_problems: dict[str, str] = field(default_factory=dict)
    bad_documents: list[dict[str, Any]] = field(default_factory=list)  # collection, _id, field, problem

    @property
    def healthy(self) -> bool:
        return not (self.duplicates or self.index_problems or self.bad_documents)


def diagnose(store: Store) -> Diagnosis:
    """Read the whole store once and say what is wrong with it."""
    diagnosis = Diagnosis(index_problems=dict(store.index_problems))
    for collection, keys in schema.NATURAL_KEYS.items():
        diagnosis.duplicates.extend(_duplicates(store, collection, keys))
    for collection, typed in schema.TYPED_FIELDS.items():
        if collection == schema.SERIES:
            continue
        projection = dict.fromkeys((name for name in typed if name != "_id"), 1)
        for document in store.find(collection, {}, projection=projection):
            for name in projection:
                try:
                    check_typed_fields(collection, {name: document[name]} if name in document else {})
                except InvalidDocument as error:
                    diagnosis.bad_documents.append({"collection": collection, "_id": document["_id"],
                                                    "field": name, "problem": str(error)})
    return diagnosis


def repair(store: Store, diagnosis: Diagnosis, backup: Path) -> dict[str, int]:
    """Delete the duplicates the diagnosis found (after writing them to `backup`), then create the missing
    indexes; return what was done."""
    removed = 0
    if diagnosis.duplicates:
        backup.parent.mkdir(parents=True, exist_ok=True)
        with backup.open("a", encoding="utf-8") as handle:
            for duplicate in diagnosis.duplicates:
                for document in store.find(duplicate.collection, {"_id": {"$in": duplicate.others}}):
                    handle.write(json.dumps({"collection": duplicate.collection, "document": json.loads(
                        json_util.dumps(document, json_options=_BACKUP_JSON))}) + "\n")
            handle.flush()
        for duplicate in diagnosis.duplicates:
            store.write([Delete(duplicate.collection, {"_id": {"$in": duplicate.others}})])
            removed += len(duplicate.others)
    store.ensure_indexes()
    return {"duplicates_removed": removed, "index_problems_left": len(store.index_problems)}


def _duplicates(store: Store, collection: str, keys: tuple[str, ...]) -> Iterator[Duplicate]:
    groups: dict[tuple[Any, ...], list[Document]] = defaultdict(list)
    projection = dict.fromkeys((*keys, "timestamp"), 1)
    for document in store.find(collection, {}, projection=projection):
        if all(key in document for key in keys):
            groups[tuple(_hashable(document[key]) for key in keys)].append(document)
    for documents in groups.values():
        if len(documents) > 1:
            documents.sort(key=_newness, reverse=True)
            yield Duplicate(collection, {key: documents[0][key] for key in keys}, documents[0]["_id"],
                            [document["_id"] for document in documents[1:]])


def _newness(document: Document) -> tuple[dt.datetime, dt.datetime]:
    stamp = document.get("timestamp")
    written = document["_id"].generation_time if isinstance(document["_id"], ObjectId) else _OLDEST
    return (stamp if isinstance(stamp, dt.datetime) else _OLDEST), written


def _hashable(value: Any) -> Any:
    return json_util.dumps(value) if isinstance(value, (dict, list)) else value
