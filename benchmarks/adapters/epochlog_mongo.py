"""epochlog on a MongoDB-wire server, with its write-behind journal on or off.

The `-lag` variant reaches the same server through a proxy that adds latency to every round trip, to show
what the journal buys a training loop when the server is far away.
"""

from __future__ import annotations

from pathlib import Path

from epochlog.store import Store
from epochlog.store.journal import JournaledStore
from epochlog.store.mongo import MongoStore

from ._tracker import TrackerAdapter
from .base import AdapterSpec
from .monitor import CommandCounter, database_name, server_version


class EpochlogMongo(TrackerAdapter):
    name = "epochlog-mongo"
    journal = False
    # Without the journal every buffered flush waits for the server, so M would time FerretDB's upserts
    # (which scan the collection: docs/PERFORMANCE.md), not the training process's memory; TI's integrations
    # would wait for the same round trips W1 measures; J replays a journal, which it has not.
    unsupported = frozenset({"M", "TI", "J"})

    def open_store(self) -> Store:
        if not self.spec.mongodb_uri:
            raise RuntimeError(f"{self.name} needs --mongodb-uri (benchmarks/run starts a FerretDB for it)")
        self.counter = CommandCounter()
        self.mongo = MongoStore(self.spec.mongodb_uri, event_listeners=[self.counter],
                                database=database_name(self.name, self.spec.label, self.spec.options["token"]))
        if not self.journal:
            return self.mongo
        self.journaled = JournaledStore(self.mongo, Path(self.spec.workdir) / f"journal-{self.spec.label}")
        return self.journaled

    def drain(self) -> None:
        super().drain()
        if self.journal:
            self.journaled.flush(None)

    def round_trips(self) -> dict[str, int]:
        return self.counter.snapshot()

    def versions(self) -> dict[str, str]:
        import pymongo

        return {**super().versions(), "pymongo": pymongo.version,
                "server": server_version(self.spec.mongodb_uri or "")}


    @classmethod
    def discard(cls, spec: AdapterSpec) -> None:
        store = MongoStore(spec.mongodb_uri or "", database=database_name(cls.name, spec.label, spec.options["token"]))
        store.drop_database()
        store.close()


class EpochlogMongoJournal(EpochlogMongo):
    name = "epochlog-mongo-journal"
    journal = True
    unsupported = frozenset()


class EpochlogMongoJournalLag(EpochlogMongoJournal):
    """Same as epochlog-mongo-journal, through the latency proxy (`mongodb_uri` is the proxy's)."""

    name = "epochlog-mongo-journal-lag"
    unsupported = frozenset({"W2", "W3", "W4", "W5", "M", "TI", "J"})  # it answers one question: the loop's cost
