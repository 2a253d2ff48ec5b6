"""The benchmarked stores, by name. Each module is imported only when its adapter is used."""

from __future__ import annotations

import importlib

from .base import Adapter, AdapterSpec

ADAPTERS = {
    "epochlog-embedded": "epochlog_embedded:EpochlogEmbedded",
    "epochlog-mongo": "epochlog_mongo:EpochlogMongo",
    "epochlog-mongo-journal": "epochlog_mongo:EpochlogMongoJournal",
    "epochlog-mongo-journal-lag": "epochlog_mongo:EpochlogMongoJournalLag",
    "mlflow-sqlite": "mlflow_sqlite:MLflowSQLite",
    "raw-sqlite3": "raw_sqlite3:RawSQLite3",
    "raw-pymongo": "raw_pymongo:RawPymongo",
}
NEEDS_SERVER = frozenset({"epochlog-mongo", "epochlog-mongo-journal", "epochlog-mongo-journal-lag", "raw-pymongo"})


def adapter_class(name: str) -> type[Adapter]:
    module, _, cls = ADAPTERS[name].partition(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)  # type: ignore[no-any-return]


def open_adapter(spec: AdapterSpec) -> Adapter:
    return adapter_class(spec.name)(spec)


__all__ = ["ADAPTERS", "NEEDS_SERVER", "Adapter", "AdapterSpec", "adapter_class", "open_adapter"]
