"""`push`: copy what one store holds into another, keeping every `_id`, writing only what the destination lacks.

Experiments are visited in batches (`plan.py` says which). For each batch the destination's versions are read,
compared with the source's, and only what differs is written, children first: the blobs (before any batch), then
per batch the step-series buckets, epochs, checkpoints, console chunks, the experiments and, last, their watermark
entries. A push killed
at any point leaves whole documents behind and a watermark that names only what is there, so the next push
finds the rest and completes the copy exactly (every write is a replacement by `_id` or natural key).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from copy import deepcopy
from pathlib import Path
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId

from ..context.blobs import blob_id
from ..documents import utcnow
from ..errors import InvalidArgument, InvalidDocument, NotFound
from ..schema import ALERTS, BLOBS, CHECKPOINTS, CONSOLE, EPOCHS, EXPERIMENTS, SERIES, SUBJECTS
from ..store import Store, embedded_path, is_mongodb_uri, open_store
from ..store.base import Put, Update, Upsert, Write
from ..store.sqlite import SQLiteStore
from ..json_codec import dumps
from ..types import Document, Filter
from .plan import experiment_filter, plan
from ..stored_equality import same
from .resolve import add_conflicts, conflict, digest, later, merge_documents, merge_experiment
from .summary import PushSummary
from .watermark import Watermark, store_key

BATCH = 200  # experiments compared and written per batch
_CHUNK = 16  # buckets or blobs (up to 1 MB each) read and written at once
StoreLike = Store | str | os.PathLike[str]
ProgressCallback = Callable[[int, int], None]


def push(source: StoreLike, destination: StoreLike, *, query: Filter | None = None,
         since: dt.datetime | dt.date | None = None, full: bool = False, dry_run: bool = False,
         progress: ProgressCallback | None = None) -> PushSummary:
    """Copy into `destination` what `source` holds and it lacks: every collection, `_id`s kept (see
    docs/MANY_MACHINES.md). `query` and `since` choose experiments (and with them their epochs, checkpoints,
    series, console and blobs; subjects and alerts go with unfiltered pushes only). `full` compares everything
    instead of trusting the watermark. URIs are opened without the write-behind journal and closed again."""
    with ExitStack() as stack:
        source_store = opened(source, stack, must_exist=True)
        missing = _missing_file(destination)
        if dry_run and missing is not None:  # a dry run creates no file: an empty store stands in for it
            dest_store: Store = stack.enter_context(SQLiteStore(":memory:"))
            name = f"sqlite:///{missing.resolve()}"
        else:
            dest_store, name = opened(destination, stack, must_exist=False), None
        return Push(source_store, dest_store, dry_run, progress, dest_name=name).run(query, since, full)


def opened(store: StoreLike, stack: ExitStack, *, must_exist: bool) -> Store:
    """`store` itself, or the store a URI names; a source file that does not exist is refused, not created."""
    if isinstance(store, Store):
        return store
    if not isinstance(store, (str, os.PathLike)):
        raise InvalidArgument(f"a store is a Store or a URI, got {store!r}")
    if must_exist and _missing_file(store) is not None:
        raise NotFound(f"no store at {os.fspath(store)!r}: the file does not exist")
    return stack.enter_context(open_store(os.fspath(store), journal=False))


def _missing_file(store: StoreLike) -> Path | None:
    """The path of an embedded store's file that does not exist yet (None for anything else)."""
    if isinstance(store, Store) or not isinstance(store, (str, os.PathLike)) or is_mongodb_uri(store):
        return None
    try:
        path = embedded_path(store)
    except InvalidArgument:
        return None  # open_store says what is wrong with it
    return None if path is None or path.exists() else path


class Push:
    """One push from `source` into `dest` (`run` does it)."""

    def __init__(self, source: Store, dest: Store, dry_run: bool, progress: ProgressCallback | None, *,
                 dest_name: str | None = None) -> None:
        self.source, self.dest = source, dest
        self.source_key, self.dest_key = store_key(source), dest_name or store_key(dest)
        if self.source_key == self.dest_key:
            raise InvalidArgument(f"the source and the destination are the same store ({self.source_key})")
        self.summary = PushSummary(self.source_key, self.dest_key, dry_run=dry_run)
        self.dry_run = dry_run
        self.progress = progress
        self.now = utcnow()

    def run(self, query: Filter | None, since: dt.datetime | dt.date | None, full: bool) -> PushSummary:
        self.full = full
        chosen = experiment_filter(query, since)
        self.forward = Watermark.load(self.dest, self.source_key)
        self.backward = Watermark.load(self.source, self.dest_key)  # what the destination pushed here, if it did
        visit = plan(self.source, self.forward, self.backward, chosen, full=full)
        self.digests = visit.digests
        self.summary.chosen, self.summary.visited = visit.chosen, len(visit.visit)
        self.summary.counts[EXPERIMENTS].unchanged += visit.chosen - len(visit.visit)
        self._write(self.forward.create(self.now))
        if visit.filtered:
            self._blobs(_blob_ids(visit.visit))
        else:
            self._blobs(None)
            self._subjects()
            self._alerts()
        total = len(visit.visit)
        for start in range(0, total, BATCH):
            self._batch(visit.visit[start:start + BATCH])
            if self.progress is not None:
                self.progress(min(start + BATCH, total), total)
        self._write([self.forward.finish(self.now, utcnow(), complete=not visit.filtered)])
        if not self.dry_run:
            self.summary.shipped = self.dest.flush(60.0)
        return self.summary

    # -- one batch of experiments ------------------------------------------------------------------

    def _batch(self, experiments: list[Document]) -> None:
        """Push a batch; when the destination refuses a value in it (a document of another program's making,
        say), push its experiments one by one, and report the ones refused with their reason."""
        tally = deepcopy((self.summary.counts, self.summary.merged, self.summary.conflicts))
        try:
            self._compare_and_write(experiments)
        except InvalidDocument as error:
            self.summary.counts, self.summary.merged, self.summary.conflicts = tally
            if len(experiments) > 1:
                for document in experiments:
                    self._batch([document])
            else:
                self.summary.refused.append({"document": f"experiments {experiments[0]['_id']}", "reason": str(error)})

    def _compare_and_write(self, experiments: list[Document]) -> None:
        held = {document["_id"]: document for document in
                self.dest.find(EXPERIMENTS, {"_id": {"$in": [document["_id"] for document in experiments]}})}
        if not self.full:  # one the destination had from this source and deleted since stays deleted
            gone = {document["_id"] for document in experiments
                    if document["_id"] not in held and self.forward.digests(document["_id"])}
            self.summary.counts[EXPERIMENTS].unchanged += len(gone)
            experiments = [document for document in experiments if document["_id"] not in gone]
        ids = [document["_id"] for document in experiments]
        self._series(ids)
        within = {"experiment_id": {"$in": ids}}
        lost: dict[Any, list[Document]] = {eid: [] for eid in ids}  # child versions that lost, per experiment
        writes: list[Write] = []
        writes += self._epochs(self.source.find(EPOCHS, within), self.dest.find(EPOCHS, within), lost)
        for collection in (CHECKPOINTS, CONSOLE):
            writes += self._by_id(collection, self.source.find(collection, within), self.dest.find(collection, within),
                                  lost)
        pairs: dict[ObjectId, tuple[str, str]] = {}
        for document in experiments:
            result = self._experiment(document, held.get(document["_id"]), lost[document["_id"]])
            if result is not None:
                writes.append(Put(EXPERIMENTS, result))
            pairs[document["_id"]] = (self.digests[document["_id"]],
                                      digest(result if result is not None else held[document["_id"]]))
        self._write(writes + self.forward.record(pairs))

    def _experiment(self, source: Document, held: Document | None, lost: list[Document]) -> Document | None:
        """The version of an experiment to write, or None to leave the destination's as it is."""
        eid = source["_id"]
        counts = self.summary.counts[EXPERIMENTS]
        forward, backward = self.forward.digests(eid), self.backward.digests(eid)
        known_source = forward[:1] + backward[1:2]
        # a fast-forward needs the destination to hold still what it received as a plain copy (never a merge)
        copied = [pair[0] for pair in (forward, backward) if len(pair) == 2 and pair[0] == pair[1]]
        result, write = source, True
        if held is None:
            counts.new += 1
        elif same(source, held):
            result, write = held, False
        elif self.digests[eid] in known_source:  # only the destination changed it since: it stays
            result, write = held, False
        elif digest(held) in copied:  # only the source changed it: a fast-forward
            counts.updated += 1
        else:
            result, added = merge_experiment(source, held, self.source_key, self.dest_key, self.now)
            self.summary.merged += 1
            self.summary.conflicts += added
            write = not same(result, held)
            counts.updated += write
        if lost:
            result = dict(result)
            added = add_conflicts(result, lost)
            self.summary.conflicts += added
            if added and not write:
                counts.updated += 1
                write = True
        if not write:
            counts.unchanged += 1
        return result if write else None

    def _epochs(self, source: list[Document], held: list[Document], lost: dict[Any, list[Document]]) -> list[Write]:
        """Epochs by their natural key (experiment, epoch); the destination keeps its `_id` for one it had."""
        there = {_epoch_key(document): document for document in held}
        writes: list[Write] = []
        counts = self.summary.counts[EPOCHS]
        for document in source:
            old = there.get(_epoch_key(document))
            if old is None:
                counts.new += 1
            elif same(_without_id(document), _without_id(old)):
                counts.unchanged += 1
                continue
            elif later(document, old):
                counts.updated += 1
                lost[document["experiment_id"]].append(conflict(f"epochs.{old.get('epoch')}", _without_id(old),
                                                                self.dest_key, self.now))
            else:
                counts.unchanged += 1
                lost[document["experiment_id"]].append(conflict(f"epochs.{document.get('epoch')}",
                                                                _without_id(document), self.source_key, self.now))
                continue
            writes.append(Upsert(EPOCHS, document))
        return writes

    def _by_id(self, collection: str, source: list[Document], held: list[Document],
               lost: dict[Any, list[Document]]) -> list[Write]:
        """Checkpoints and console chunks by `_id`; afterwards at most one checkpoint per experiment is best."""
        there = {document["_id"]: document for document in held}
        counts = self.summary.counts[collection]
        chosen: dict[Any, Document] = {}
        for document in source:
            old = there.get(document["_id"])
            if old is None:
                counts.new += 1
            elif same(document, old):
                counts.unchanged += 1
                continue
            elif _differ_in_best_only(document, old) or not later(document, old):
                counts.unchanged += 1
                if not _differ_in_best_only(document, old):
                    lost[document["experiment_id"]].append(conflict(f"{collection}.{document['_id']}", document,
                                                                    self.source_key, self.now))
                continue
            else:
                counts.updated += 1
                lost[document["experiment_id"]].append(conflict(f"{collection}.{old['_id']}", old, self.dest_key,
                                                                self.now))
            chosen[document["_id"]] = dict(document)
        writes: list[Write] = []
        if collection == CHECKPOINTS:
            writes += self._one_best({**there, **chosen}, chosen)
        return [*(Put(collection, document) for document in chosen.values()), *writes]

    def _one_best(self, merged: dict[Any, Document], chosen: dict[Any, Document]) -> list[Write]:
        """The latest best checkpoint of each experiment stays best, as after the tracker's own saves."""
        bests: dict[Any, list[Document]] = {}
        for document in merged.values():
            if document.get("is_best") is True:
                bests.setdefault(document.get("experiment_id"), []).append(document)
        writes: list[Write] = []
        for documents in bests.values():
            documents.sort(key=lambda document: (_later_key(document), str(document["_id"])))
            for document in documents[:-1]:
                if document["_id"] in chosen:
                    chosen[document["_id"]]["is_best"] = False
                else:
                    writes.append(Update(CHECKPOINTS, {"_id": document["_id"]}, {"is_best": False}))
                    self.summary.counts[CHECKPOINTS].updated += 1
        return writes

    def _series(self, ids: list[ObjectId]) -> None:
        """The buckets the destination lacks, a few at a time, written before anything that refers to them."""
        there = {bucket for bucket, _ in self.dest.series_bucket_ids(ids)}
        missing = [bucket for bucket, _ in self.source.series_bucket_ids(ids) if bucket not in there]
        counts = self.summary.counts[SERIES]
        counts.unchanged += len(there)
        counts.new += len(missing)
        if not self.dry_run:
            for chunk in _chunks(missing, _CHUNK):
                self._write(self.source.read_buckets(chunk))

    # -- what belongs to no experiment ---------------------------------------------------------------

    def _blobs(self, ids: list[ObjectId] | None) -> None:
        """Content-addressed blobs: one the destination has is the same content, so only missing ones go."""
        wanted = ids if ids is not None else [document["_id"] for document in
                                              self.source.find(BLOBS, projection={"_id": 1})]
        there = {document["_id"] for chunk in _chunks(wanted, 500)
                 for document in self.dest.find(BLOBS, {"_id": {"$in": chunk}}, projection={"_id": 1})}
        missing = [oid for oid in wanted if oid not in there]
        counts = self.summary.counts[BLOBS]
        counts.unchanged += len(wanted) - len(missing)
        for chunk in _chunks(missing, _CHUNK):
            found = self.source.find(BLOBS, {"_id": {"$in": chunk}})
            counts.new += len(found) - len(self._write_each([Put(BLOBS, document) for document in found]))

    def _subjects(self) -> None:
        """Subjects by `subject_id`; of one changed on both sides the pushed values win, the others are kept
        under its `conflicts`."""
        there = {document.get("subject_id"): document for document in self.dest.find(SUBJECTS)}
        counts = self.summary.counts[SUBJECTS]
        writes: list[Put | Upsert] = []
        for document in self.source.find(SUBJECTS, sort=[("_id", 1)]):
            old = there.get(document.get("subject_id"))
            if old is None:
                writes.append(Upsert(SUBJECTS, document))
                continue
            merged, added = merge_documents(_without_id(document), _without_id(old), self.dest_key, self.now)
            if same(merged, _without_id(old)):
                counts.unchanged += 1
                continue
            self.summary.conflicts += added
            writes.append(Upsert(SUBJECTS, {"_id": old["_id"], **merged}))
        refused = self._write_each(writes)
        for index, write in enumerate(writes):
            if index not in refused:
                if write.document.get("subject_id") in there:
                    counts.updated += 1
                else:
                    counts.new += 1

    def _alerts(self) -> None:
        """Alerts already sent: those the destination lacks (an alert is never rewritten)."""
        there = {document["_id"] for document in self.dest.find(ALERTS, projection={"_id": 1})}
        found = [document for document in self.source.find(ALERTS, sort=[("_id", 1)]) if document["_id"] not in there]
        self.summary.counts[ALERTS].unchanged += len(there)
        self.summary.counts[ALERTS].new += len(found) - len(self._write_each([Put(ALERTS, document)
                                                                               for document in found]))

    def _write(self, writes: Sequence[Write]) -> None:
        if writes and not self.dry_run:
            self.dest.write(writes)

    def _write_each(self, writes: list[Put | Upsert]) -> set[int]:
        """Documents of their own (blobs, subjects, alerts): at once, else one by one; returns the indexes of
        those the destination refused, which the summary reports with the reason."""
        try:
            self._write(writes)
            return set()
        except InvalidDocument:
            pass
        refused = set()
        for index, write in enumerate(writes):
            try:
                self._write([write])
            except InvalidDocument as error:
                name = write.document.get("subject_id", write.document.get("_id"))
                self.summary.refused.append({"document": f"{write.collection} {name}", "reason": str(error)})
                refused.add(index)
        return refused


def _later_key(document: Document) -> tuple[Any, ...]:
    timestamp = document.get("timestamp")
    epoch = document.get("epoch")
    return (timestamp.timestamp() if isinstance(timestamp, dt.datetime) else float("-inf"),
            epoch if isinstance(epoch, int) else -1)


def _differ_in_best_only(a: Document, b: Document) -> bool:
    return same({**a, "is_best": None}, {**b, "is_best": None})


def _epoch_key(document: Document) -> str:
    return dumps([document.get("experiment_id"), document.get("epoch")])


def _without_id(document: Document) -> Document:
    return {key: value for key, value in document.items() if key != "_id"}


def _blob_ids(experiments: Iterable[Document]) -> list[ObjectId]:
    """The blobs experiments refer to (`env.git.diff_sha256`, `env.packages_sha256`)."""
    found: dict[ObjectId, None] = {}
    for document in experiments:
        env = document.get("env")
        if not isinstance(env, dict):
            continue
        git = env.get("git")
        for sha in (git.get("diff_sha256") if isinstance(git, dict) else None, env.get("packages_sha256")):
            if isinstance(sha, str) and len(sha) >= 24:
                try:
                    found[blob_id(sha)] = None
                except InvalidId:  # not hex: written by other code, it names no blob of ours
                    continue
    return list(found)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
