"""J: the backlog a long outage leaves in the journal, shipped once the server is back.

A training process logs one run's epochs while its server is unreachable (a port where nothing listens): every
call goes to the journal, and the process ends with the rows still there, as after a weekend outage. A fresh
process then ships them to the server with what `epochlog sync` calls (`epochlog.store.journal.sync`), and is
timed until every epoch is on the server. The peers ship the same epochs with plain pymongo into the same
server: a `replace_one` upsert by `(experiment_id, epoch)` per epoch (the obvious idempotent replay), an
`insert_one` per epoch, and one `insert_many` (the floor). `epochlog-upsert` replays the same journal with every
epoch sent as the `ReplaceOne` upsert MongoStore sent before it sent them as inserts first on FerretDB.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pymongo
from pymongo.collection import Collection
from bson import ObjectId
from epochlog import Tracker
from epochlog.store.journal import JournaledStore, journal_directory, sync
from epochlog.store.mongo import MongoStore

from . import data
from .adapters import AdapterSpec
from .adapters.monitor import database_name
from .measure import Result
from .scale import Scale
from .workers import spawn

#: who ships the backlog (in the order they run and are reported), and how
SHIPPERS = {
    "epochlog": "epochlog: `epochlog sync` of the journal",
    "epochlog-upsert": "epochlog, every epoch a ReplaceOne upsert (before)",
    "pymongo-replace_one": "pymongo: replace_one upsert per epoch",
    "pymongo-insert_one": "pymongo: insert_one per epoch",
    "pymongo-insert_many": "pymongo: one insert_many (the floor)",
}


class _UpsertEveryEpoch(MongoStore):
    """MongoStore with the upsert path it had before: every epoch a `ReplaceOne` upsert, also on FerretDB."""

    def _create_indexes(self) -> None:
        super()._create_indexes()
        self._inserts_first = set()


def _unreachable_uri() -> str:
    """A MongoDB URI on a loopback port where nothing listens (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"mongodb://127.0.0.1:{port}/"


def _write_backlog(uri: str, database: str, journal_root: str, epochs: int, queue: Any) -> None:
    """The training process during the outage: one run's epochs, all journaled; the rows stay when it exits."""
    try:
        logging.getLogger("epochlog.journal").setLevel(logging.ERROR)  # "kept in the journal": what we want
        run = data.make_run(0, epochs, prefix="j")
        # The journal of `uri`'s server, written through a URI that cannot reach it: the outage
        directory = Path(journal_root) / journal_directory(uri, database).name
        store = JournaledStore(MongoStore(_unreachable_uri(), database=database), directory, flush_timeout=0.0)
        tracker = Tracker(store=store)
        start = time.perf_counter()
        handle = tracker.create_experiment(run.name, run.challenge, config=run.config, tags=run.tags)
        for epoch in range(epochs):
            tracker.log_epoch(handle, epoch, run.epoch_metrics(epoch))
        tracker.update_experiment_status(handle, "completed", metrics=run.summary())
        loop = time.perf_counter() - start
        rows = store.pending
        tracker.close()  # the rows stay in the journal: nothing could be sent
        queue.put({"experiment_id": handle, "rows": rows, "loop_s": loop})
    except BaseException:
        queue.put({"error": traceback.format_exc()})


def _ship_backlog(uri: str, database: str, journal_root: str, upsert_only: bool, queue: Any) -> None:
    """A fresh process once the server is back: ship every orphaned journal of the target, as `epochlog sync`."""
    try:
        os.environ["EPOCHLOG_JOURNAL_DIR"] = journal_root  # where `sync` looks, as the CLI would
        store = _UpsertEveryEpoch(uri, database=database) if upsert_only else MongoStore(uri, database=database)
        start = time.perf_counter()
        report = sync(store)
        seconds = time.perf_counter() - start
        queue.put({"seconds": seconds, "report": report})
    except BaseException:
        queue.put({"error": traceback.format_exc()})


def _epochlog(spec: AdapterSpec, scale: Scale, database: str, upsert_only: bool) -> dict[str, Any]:
    uri = spec.mongodb_uri or ""
    journal_root = str(Path(spec.workdir) / f"journals-{database}")
    schema = MongoStore(uri, database=database)
    schema.ensure_indexes()  # the team's database existed before the outage: `sync` finds its indexes
    schema.close()
    (written,) = spawn(_write_backlog, [(uri, database, journal_root, scale.replay_epochs)])
    (shipped,) = spawn(_ship_backlog, [(uri, database, journal_root, upsert_only)])
    report = shipped["report"]
    client: pymongo.MongoClient[dict[str, Any]]
    with pymongo.MongoClient(uri) as client:
        on_server = client[database].epochs.count_documents({"experiment_id": ObjectId(written["experiment_id"])})
    if not report["drained"] or report["sent"] != written["rows"] or on_server != scale.replay_epochs:
        raise AssertionError(f"{written['rows']} journal rows, {report} shipped, {on_server} epochs on the server")
    return {"seconds": shipped["seconds"], "journal_rows": written["rows"], "sent": report["sent"],
            "backlog_loop_s": written["loop_s"]}


def _pymongo(spec: AdapterSpec, scale: Scale, database: str, how: str) -> dict[str, Any]:
    run = data.make_run(0, scale.replay_epochs, prefix="j")
    experiment_id = ObjectId()
    documents: list[dict[str, Any]] = [{"_id": ObjectId(), "experiment_id": experiment_id, "epoch": epoch,
                                        "metrics": run.epoch_metrics(epoch),
                                        "timestamp": dt.datetime.now(dt.timezone.utc)}
                                       for epoch in range(scale.replay_epochs)]
    client: pymongo.MongoClient[dict[str, Any]]
    with pymongo.MongoClient(spec.mongodb_uri, tz_aware=True) as client:
        epochs: Collection[dict[str, Any]] = client[database].epochs
        epochs.create_index([("experiment_id", 1), ("epoch", 1)], unique=True)
        ship: Callable[[], Any] = {
            "replace_one": lambda: [epochs.replace_one({"experiment_id": experiment_id, "epoch": document["epoch"]},
                                                       document, upsert=True) for document in documents],
            "insert_one": lambda: [epochs.insert_one(document) for document in documents],
            "insert_many": lambda: epochs.insert_many(documents),
        }[how]
        start = time.perf_counter()
        ship()
        seconds = time.perf_counter() - start
        on_server = epochs.count_documents({"experiment_id": experiment_id})
    if on_server != scale.replay_epochs:
        raise AssertionError(f"{on_server} epochs on the server, {scale.replay_epochs} shipped")
    return {"seconds": seconds}


def replay(spec: AdapterSpec, scale: Scale) -> Iterator[Result]:
    """J: each shipper's seconds and epochs/s for the same backlog, each into a database of its own."""
    for shipper in SHIPPERS:
        database = database_name("j", shipper, spec.options["token"])
        try:
            if shipper.startswith("epochlog"):
                measured = _epochlog(spec, scale, database, upsert_only=shipper == "epochlog-upsert")
            else:
                measured = _pymongo(spec, scale, database, shipper.partition("-")[2])
        finally:
            _drop(spec, database)
        extra = {"shipper": shipper, "epochs": scale.replay_epochs, **measured}
        yield Result("J", f"{shipper}_s", measured["seconds"], "s", extra)
        yield Result("J", f"{shipper}_epochs_per_s", scale.replay_epochs / measured["seconds"], "epochs/s", extra)


def _drop(spec: AdapterSpec, database: str) -> None:
    client: pymongo.MongoClient[dict[str, Any]]
    with pymongo.MongoClient(spec.mongodb_uri) as client:
        client.drop_database(database)
