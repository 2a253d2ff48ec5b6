"""Storage backends and `open_store`, which picks one from a URI."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from ..errors import InvalidArgument
from .base import AppendSeries, Delete, MetricSeries, Put, Store, Update, Upsert, Write

DEFAULT_URI = "sqlite:///epochlog.db"
SEED_URI = "mongodb://localhost:27017/"
MONGODB_SCHEMES = ("mongodb://", "mongodb+srv://")
MEMORY = ":memory:"

__all__ = ["AppendSeries", "DEFAULT_URI", "Delete", "MetricSeries", "Put", "Store", "Update", "Upsert", "Write",
           "default_uri", "embedded_path", "is_mongodb_uri", "open_store", "seed_uri"]


def default_uri() -> str:
    """`EPOCHLOG_URI` if set, else the embedded store `./epochlog.db`."""
    return os.environ.get("EPOCHLOG_URI") or DEFAULT_URI


def seed_uri() -> str:
    """`MongoExperimentTracker()`'s server: `EPOCHLOG_URI` when it names a MongoDB server, else the seed's
    `MONGO_URI` (deprecated, with a warning), else `mongodb://localhost:27017/`."""
    configured = os.environ.get("EPOCHLOG_URI")
    if configured and is_mongodb_uri(configured):
        return configured
    legacy = os.environ.get("MONGO_URI")
    if legacy:
        warnings.warn("MONGO_URI is deprecated: set EPOCHLOG_URI, which every part of epochlog reads",
                      DeprecationWarning, stacklevel=3)
        return legacy
    return SEED_URI


def open_store(uri: str | os.PathLike[str] | None = None, *, database: str | None = None,
               journal: bool | None = None) -> Store:
    """Open the store a URI names: `sqlite:///path.db`, a plain path, or `mongodb://host/db`.

    A MongoDB store is wrapped in the write-behind journal unless `journal=False` (or `EPOCHLOG_JOURNAL=0`).
    """
    text = str(uri) if uri is not None else default_uri()
    if is_mongodb_uri(text):
        from .mongo import MongoStore

        store: Store = MongoStore(text, database=database)
        if journal is None:
            journal = os.environ.get("EPOCHLOG_JOURNAL", "1").lower() not in ("0", "false", "no", "off")
        if journal:
            from .journal import JournaledStore

            store = JournaledStore(store)
        return store
    from .sqlite import SQLiteStore

    return SQLiteStore(embedded_path(text) or MEMORY)


def is_mongodb_uri(uri: str | os.PathLike[str]) -> bool:
    return os.fspath(uri).startswith(MONGODB_SCHEMES)


def embedded_path(uri: str | os.PathLike[str]) -> Path | None:
    """The file an embedded store's URI (`sqlite:///path.db`, or a plain path) names, `~` expanded; None for
    `:memory:`. InvalidArgument for a MongoDB URI or any other scheme."""
    text = os.fspath(uri)
    if text.startswith("sqlite://"):
        path = text[len("sqlite://"):]
        if not path.startswith("/"):
            raise InvalidArgument(f"a sqlite URI is sqlite:///relative.db or sqlite:////absolute.db, got {text!r}")
        text = path[1:] or MEMORY
    elif "://" in text:
        raise InvalidArgument(f"unknown store URI scheme in {text!r}: use sqlite:///path.db or mongodb://host/db")
    return None if text == MEMORY else Path(text).expanduser()
