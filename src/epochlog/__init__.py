"""epochlog: an experiment tracker for ML training, embedded (SQLite) or on MongoDB, with one query language."""

from .errors import (
    CacheError,
    Conflict,
    EpochlogError,
    InvalidArgument,
    InvalidDocument,
    MigrationError,
    NotFound,
    QueryError,
    StoreError,
    StoreUnavailable,
    Unauthorized,
)
from .groups import ConfigExcept, Group
from .run import Run
from .store import MetricSeries, Store, open_store
from .tracker import MongoExperimentTracker, Tracker, get_tracker

__version__ = "0.1.0"

__all__ = [
    "CacheError",
    "ConfigExcept",
    "Conflict",
    "EpochlogError",
    "Group",
    "InvalidArgument",
    "InvalidDocument",
    "MetricSeries",
    "MigrationError",
    "MongoExperimentTracker",
    "NotFound",
    "QueryError",
    "Run",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "Tracker",
    "Unauthorized",
    "get_tracker",
    "open_store",
]
