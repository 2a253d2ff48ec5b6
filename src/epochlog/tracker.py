"""The tracker: the seed's `MongoExperimentTracker` API on any store, plus runs, series and subjects."""

from __future__ import annotations

import datetime as dt
import getpass
import math
import os
import socket
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from bson import ObjectId

from .artifacts import ArtifactSpec, CheckpointCopies, Collection, carry, open_artifacts
from .checkpoints import CheckpointState, VerifiedFiles, file_facts, file_signature, verify_file
from .console import DEFAULT_LIMIT as CONSOLE_LIMIT, ConsoleLog, ConsoleSpec, console_mode, read_console
from .context import GIT_DIFF, PACKAGES, CaptureSpec, capture_environment, capture_groups, environment_diff, read_blob
from .dotted import differing_keys, get_path
from .documents import check_key, normalize_document, normalize_field, normalize_value, to_object_id, utcnow
from .errors import InvalidArgument, NotFound, QueryError, StoreUnavailable
from .experiment_filter import all_of, check_challenge, check_status, experiment_filter
from .finite_numbers import finite_filter, is_finite_number
from .liveness import stale_filter
from .object_ids import new_object_id
from .objective import Objective, Progress
from .schema import BLOBS, CHECKPOINTS, EPOCHS, EXPERIMENTS, STATUSES, SUBJECTS
from .series_buffer import SeriesBuffer
from .store import Store, open_store, seed_uri
from .store.index_keys import IndexInfo, index_spec
from .store.base import AppendSeries, MetricSeries, Put, Update, Upsert, Write
from .types import Document, Filter, IdLike, Projection, SortSpec

if TYPE_CHECKING:
    from .archive import Purge
    from .groups import Group, GroupCurve, Grouping
    from .run import Run
    from .transfer import PushSummary

BEST_MODEL_FIELDS = ("experiment_name", "challenge", "status", "model", "metrics", "config", "tags",
                     "start_time", "end_time")
COMPARE_FIELDS = ("experiment_name", "challenge", "status", "model", "config", "dataset", "metrics", "tags",
                  "start_time", "end_time", "env")
SERIES_BUCKET = 65_536  # most points one stored bucket holds
_EPOCH_FIELDS = frozenset({"_id", "experiment_id", "epoch", "metrics", "timestamp", "timing"})
_CHECKPOINT_FIELDS = frozenset({"_id", "experiment_id", "timestamp"})
#: what create_experiment's keyword fields may not set; start_time and heartbeat may be given (imports, backfills)
_OWNED_EXPERIMENT_FIELDS = frozenset({"_id", "status", "end_time", "created_by", "host", "pid"})


class Tracker:
    """Logs training runs to a store (the embedded SQLite file unless the URI says otherwise).

    Every method that takes an `experiment_id` accepts an ObjectId or its 24-hex string, and raises
    `NotFound` for an experiment that does not exist.
    """

    def __init__(self, uri: str | os.PathLike[str] | None = None, *, database: str | None = None,
                 store: Store | None = None, journal: bool | None = None, heartbeat_interval: float = 30.0,
                 system_interval: float = 10.0, console_limit: int = CONSOLE_LIMIT,
                 artifacts: ArtifactSpec = None) -> None:
        self.store = store if store is not None else open_store(uri, database=database, journal=journal)
        try:
            found = open_artifacts(artifacts, self.store)
        except BaseException:
            if store is None:  # the store it opened is not left open
                self.store.close()
            raise
        #: the artifact store checkpoint files are copied into (`save_checkpoint_info(store_file=True)`), or None
        self.copies = CheckpointCopies(found, self.store, self._write) if found is not None else None
        self.heartbeat_interval = heartbeat_interval
        self.system_interval = system_interval  # seconds between a run's system-metric samples; 0 turns them off
        self.console_limit = console_limit  # bytes of console text a run keeps (its first and last halves)
        self._series = SeriesBuffer(self._write)
        # experiments known to exist, under their ObjectId and the id strings callers passed (parsed once)
        self._known: dict[ObjectId | str, ObjectId] = {}
        self._progress: dict[ObjectId, Progress] = {}  # each known experiment's objective, best and last epoch
        self._last_beat: dict[ObjectId, float] = {}
        self._verified = VerifiedFiles()  # best_checkpoint_states hashes a file again only once it changed
        self._blobs: set[ObjectId] = set()  # the content-addressed blobs (diffs, package sets) already written

    # -- the seed's API ----------------------------------------------------------------------------

    def create_experiment(self, experiment_name: str | None = None, challenge: int | None = None, *,
                          model: Mapping[str, Any] | None = None, config: Mapping[str, Any] | None = None,
                          dataset: Mapping[str, Any] | None = None, tags: Iterable[str] | None = None,
                          notes: str = "", objective: Mapping[str, Any] | None = None, capture: CaptureSpec = None,
                          **fields: Any) -> str:
        """Start recording a run (status `running`) and return its id as a 24-hex string.

        `objective` (`{"metric": "val_loss", "mode": "min"}` unless given) names the epoch metric whose best
        value `log_epoch` keeps on the experiment as `metrics.best_<metric>` and `metrics.best_epoch`.
        The environment (git, argv, python, machine, packages, GPUs) is recorded under `env`, but for the
        groups `capture` (else `EPOCHLOG_CAPTURE`) turns off, and unless `env=` is given: docs/CONTEXT.md.
        """
        groups = capture_groups(capture)
        check_challenge(challenge)
        goal = Objective.of(objective)
        now = utcnow()
        document: dict[str, Any] = {
            "_id": new_object_id(),
            "experiment_name": experiment_name or f"run-{now:%Y%m%d-%H%M%S}-{os.urandom(2).hex()}",
            "challenge": challenge,
            "status": "running",
            "start_time": now,
            "end_time": None,
            "heartbeat": now,
            "model": dict(model or {}),
            "config": dict(config or {}),
            "dataset": dict(dataset or {}),
            "metrics": {},
            "objective": {"metric": goal.metric, "mode": goal.mode},
            "tags": _tags(tags),
            "notes": notes,
            "created_by": _user(),
            "host": socket.gethostname(),
            "pid": os.getpid(),
        }
        if not isinstance(document["experiment_name"], str):
            raise InvalidArgument(f"experiment_name must be a string, got {experiment_name!r}")
        for key, value in fields.items():
            if key in _OWNED_EXPERIMENT_FIELDS:
                raise InvalidArgument(f"an experiment's {key!r} is set by epochlog itself"
                                      + (" (use update_experiment_status)" if key in ("status", "end_time") else ""))
            document[key] = value
        check_status(document["status"])
        blobs = []
        if "env" not in fields:
            environment = capture_environment(groups)
            if environment.document:
                document["env"] = environment.document
            blobs = [blob for blob in environment.blobs if blob["_id"] not in self._blobs]
        document = normalize_document(document)
        self._write([*(Put(BLOBS, blob) for blob in blobs), Put(EXPERIMENTS, document)])
        self._blobs.update(blob["_id"] for blob in blobs)
        self._known[document["_id"]] = document["_id"]
        self._progress[document["_id"]] = Progress(goal, now=time.monotonic())
        self._last_beat[document["_id"]] = time.monotonic()
        return str(document["_id"])

    def log_epoch(self, experiment_id: IdLike, epoch: int, metrics: Mapping[str, Any] | None = None,
                  timing: Mapping[str, Any] | None = None, **fields: Any) -> None:
        """Record one epoch's metrics; logging the same epoch again replaces it (a resumed run).

        In the same write, the experiment's `metrics.best_<objective>`, `metrics.best_epoch` and
        `metrics.last_epoch` follow the epoch when it is a new best; `last_epoch` alone is written at most
        once a second (and by the heartbeat, and when the run ends).
        """
        eid = self._experiment(experiment_id)
        _check_epoch(epoch)
        # only what the caller gave needs converting
        document: dict[str, Any] = {"_id": new_object_id(), "experiment_id": eid, "epoch": int(epoch),
                                    "metrics": normalize_field("metrics", metrics if metrics is not None else {}),
                                    "timestamp": utcnow()}
        if timing:
            document["timing"] = normalize_field("timing", timing)
        for key, value in fields.items():
            if key in _EPOCH_FIELDS:
                raise InvalidArgument(f"{key!r} is set by log_epoch itself")
            document[key] = normalize_field(key, value)
        self._series.flush(eid)
        now = time.monotonic()
        changes = self._progress_of(eid).after_epoch(document["epoch"], document["metrics"], now)
        self._write([Upsert(EPOCHS, document), *self._heartbeat(eid, changes, now=now)])

    def log_epochs(self, experiment_id: IdLike, epochs: Iterable[Mapping[str, Any]]) -> int:
        """Record many epochs in one write: each `{"epoch": n, "metrics": {...}}`, with optional `timing`,
        `timestamp` (when it happened, for an import or a backfill; now if not given) and other epoch fields.
        An epoch logged again is replaced, and the experiment's best and last epoch follow as with `log_epoch`;
        an invalid row is refused, naming its position, before anything is written. Returns how many."""
        eid = self._experiment(experiment_id)
        progress, now = self._progress_of(eid), time.monotonic()
        documents: list[Document] = []
        for position, row in enumerate(epochs):
            if not isinstance(row, Mapping) or "epoch" not in row:
                raise InvalidArgument(f"epochs[{position}] must be a mapping with an epoch, got {row!r}")
            extra = set(row) & {"_id", "experiment_id"}
            if extra:
                raise InvalidArgument(f"epochs[{position}]: {sorted(extra)[0]!r} is set by log_epochs itself")
            _check_epoch(row["epoch"])
            if not isinstance(row.get("metrics") or {}, Mapping):
                raise InvalidArgument(f"epochs[{position}]: metrics must be a mapping, got {row['metrics']!r}")
            document = normalize_document({**row, "metrics": row.get("metrics") or {},
                                           "timestamp": row.get("timestamp") or utcnow(), "_id": new_object_id(),
                                           "experiment_id": eid, "epoch": int(row["epoch"])})
            if not isinstance(document["timestamp"], dt.datetime):
                raise InvalidArgument(f"epochs[{position}]: timestamp must be a datetime, got {row['timestamp']!r}")
            documents.append(document)
        for document in documents:
            progress.after_epoch(document["epoch"], document["metrics"], now)
        if documents:
            self._series.flush(eid)
            changes = progress.take_pending(now) if progress.pending else {}
            self._write([*(Upsert(EPOCHS, document) for document in documents),
                         *self._heartbeat(eid, changes, now=now)])
        return len(documents)

    def save_checkpoint_info(self, experiment_id: IdLike, epoch: int, metrics: Mapping[str, Any] | None = None,
                             file: Mapping[str, Any] | None = None, is_best: bool = False,
                             store_file: bool = False, **fields: Any) -> str:
        """Register a checkpoint; fills `file.size_mb` and `file.checksum` when the file exists.

        Only one checkpoint per experiment is `is_best` after any sequence of calls. With `store_file`, the
        file (or directory) is also copied into the tracker's artifact store, in the background; the
        checkpoint's `file.stored` says when it is there (docs/MANY_MACHINES.md).
        """
        eid = self._experiment(experiment_id)
        _check_epoch(epoch)
        for key in fields:
            if key in _CHECKPOINT_FIELDS:
                raise InvalidArgument(f"{key!r} is set by save_checkpoint_info itself")
        file_info = dict(file or {})
        hashed = None
        if "path" in file_info:
            file_info["path"] = os.fspath(file_info["path"])
            hashed = file_signature(file_info["path"]) if store_file else None  # taken before it is hashed
            facts = file_facts(file_info["path"])
            if facts is not None:
                file_info.update(facts)
        if store_file:
            self._check_storable(file_info)
        document = normalize_document({"_id": new_object_id(), "experiment_id": eid, "epoch": int(epoch),
                                       "metrics": metrics or {}, "file": file_info, "is_best": bool(is_best),
                                       "timestamp": utcnow(), **fields})
        writes: list[Write] = []
        if is_best:
            writes.append(Update(CHECKPOINTS, {"experiment_id": eid, "is_best": True}, {"is_best": False}))
        writes.append(Put(CHECKPOINTS, document))
        self._write(writes + self._heartbeat(eid))
        if store_file:
            assert self.copies is not None
            self.copies.queue(document["_id"], file_info["path"], file_info["checksum"], hashed)
        return str(document["_id"])

    def _check_storable(self, file_info: Mapping[str, Any]) -> None:
        if self.copies is None:
            raise InvalidArgument("store_file=True needs an artifact store: Tracker(artifacts=True | 'gridfs' | "
                                  "a directory), or $EPOCHLOG_ARTIFACTS")
        if "checksum" not in file_info:
            raise InvalidArgument(f"store_file=True: no file at {file_info.get('path')!r} to copy")

    def fetch_checkpoint(self, experiment_id: IdLike, epoch: int | None = None, *,
                         to: str | os.PathLike[str] = ".") -> Path:
        """Write the stored copy of the experiment's best checkpoint (or of the one at `epoch`) into the
        directory `to`, verified against its sha256; its path."""
        if self.copies is None:
            raise InvalidArgument("no artifact store to fetch from: Tracker(artifacts=...) or $EPOCHLOG_ARTIFACTS")
        eid = self._experiment(experiment_id)
        condition: Document = {"experiment_id": eid, "is_best": True} if epoch is None else \
            {"experiment_id": eid, "epoch": epoch}
        found = self.store.find(CHECKPOINTS, condition, sort=[("epoch", -1), ("timestamp", -1)], limit=1)
        if not found:
            raise NotFound(f"experiment {eid} has no {'best checkpoint' if epoch is None else f'checkpoint at epoch {epoch}'}")
        return self.copies.fetch(found[0], to)

    def collect_artifacts(self, *, keep_best: bool = False, keep_last: int | None = None,
                          dry_run: bool = True) -> Collection:
        """Free the artifact store of the copies no kept checkpoint needs: each experiment's best
        (`keep_best`) and last `keep_last` checkpoints are kept, and every copy of a running experiment.
        A dry run (the default) only says what would go."""
        if self.copies is None:
            raise InvalidArgument("no artifact store to collect: Tracker(artifacts=...) or $EPOCHLOG_ARTIFACTS")
        return self.copies.collect(keep_best=keep_best, keep_last=keep_last, dry_run=dry_run)

    def update_experiment_status(self, experiment_id: IdLike, status: str, **fields: Any) -> None:
        """Set the status (running, completed, failed, stopped) and any other fields.

        `metrics=` is merged into the experiment's metrics rather than replacing them; a final status
        sets `end_time`.
        """
        eid = self._experiment(experiment_id)
        check_status(status)
        changes: dict[str, Any] = {"status": status}
        progress = self._progress.get(eid)
        if progress is not None and progress.pending:
            changes.update(progress.take_pending(time.monotonic()))
        unset: tuple[str, ...] = ()
        if status == "running":
            unset = ("end_time",)
            changes["heartbeat"] = utcnow()
        else:
            changes["end_time"] = utcnow()
        for key, value in fields.items():
            check_key(key, "")
            if key == "_id":
                raise InvalidArgument("an experiment's _id cannot change")
            if key == "metrics" and isinstance(value, Mapping):
                changes.update(_merged("metrics", value))
            else:
                changes[key] = normalize_value(value, key)
        self._series.flush(eid)
        self._write([Update(EXPERIMENTS, {"_id": eid}, changes, unset)])

    def merge_experiment(self, experiment_id: IdLike, **sections: Mapping[str, Any]) -> None:
        """Merge keys into sub-documents of the experiment (`metrics=`, `config=`, `model=`, `dataset=`, any
        other), leaving their other keys as they are; the fields epochlog sets itself are refused."""
        eid = self._experiment(experiment_id)
        changes: dict[str, Any] = {}
        for section, values in sections.items():
            check_key(section, "")
            if section in _OWNED_EXPERIMENT_FIELDS or not isinstance(values, Mapping):
                raise InvalidArgument(f"merge_experiment takes sub-documents of the experiment's own fields; "
                                      f"got {section}={values!r}")
            changes.update(_merged(section, values))
        if changes:
            self._write([Update(EXPERIMENTS, {"_id": eid}, changes)])

    def get_best_models(self, challenge: int | None = None, n: int = 10, *, metric: str = "metrics.best_val_loss",
                        mode: str = "min", filter: Filter | None = None, projection: Projection | None = None,
                        status: str | Iterable[str] = "completed", archived: bool = False) -> list[Document]:
        """The `n` best experiments by `metric`; NaN, ±inf and missing values never rank.

        Only completed runs rank unless `status` says otherwise: a status, a list of them, or `"any"`
        (running, failed and stopped runs too, ranked by the best epoch they reached). Archived runs rank
        only with `archived=True`.
        """
        if mode not in ("min", "max"):
            raise InvalidArgument(f"mode must be 'min' or 'max', got {mode!r}")
        if type(n) is not int or n < 0:
            raise InvalidArgument(f"n must be a non-negative integer, got {n!r}")
        chosen = all_of([_selection(status, challenge, filter, archived), finite_filter(metric)])
        fields = projection if projection is not None else dict.fromkeys(BEST_MODEL_FIELDS, 1)
        return self.store.find(EXPERIMENTS, chosen, projection=fields,
                               sort=[(metric, 1 if mode == "min" else -1), ("start_time", 1)], limit=n)

    def group_stats(self, by: Grouping, metric: str = "metrics.best_val_loss", mode: str = "min", *,
                    challenge: int | None = None, filter: Filter | None = None,
                    status: str | Iterable[str] = "completed", archived: bool = False) -> list[Group]:
        """Runs grouped by the `by` paths (or `ConfigExcept(...)`: the same config over seeds or folds), with per
        group n, mean, sd, sem, 95% CI, min, max and best run of `metric`; best mean first (see `groups`).
        `status`, `challenge`, `filter` and `archived` choose the runs as `get_best_models` does."""
        from .groups import ConfigExcept, check_grouping, group_runs, groups_of_tallies, projection

        by = check_grouping(by, metric, mode)
        chosen = _selection(status, challenge, filter, archived) or None
        if not isinstance(by, ConfigExcept):
            tallied = self.store.group_tallies(EXPERIMENTS, chosen, by, metric, mode)
            if tallied is not None:
                return groups_of_tallies(tallied[0], mode, tallied[1])
        return group_runs(self.store.find(EXPERIMENTS, chosen, projection=projection(by, metric)), by, metric, mode)

    def group_curve(self, experiment_ids: Iterable[IdLike], metric: str) -> GroupCurve:
        """The learning curve of the epoch metric `metric` over these runs (a group's): per epoch the mean,
        sd, min and max of the runs that logged a finite value there."""
        from .groups import group_curve

        ids = [to_object_id(value, "experiment id") for value in experiment_ids]
        if not isinstance(metric, str) or not metric or "." in metric or metric.startswith("$"):
            raise InvalidArgument(f"metric must be an epoch metric name such as 'val_loss', got {metric!r}")
        epochs = self.store.find(EPOCHS, {"experiment_id": {"$in": ids}},
                                 projection={"epoch": 1, f"metrics.{metric}": 1}) if ids else []
        return group_curve(epochs, metric)

    def search_experiments(self, query: Filter | None = None, projection: Projection | None = None,
                           sort: SortSpec | str | Mapping[str, int] | None = None, limit: int | None = None,
                           skip: int = 0) -> list[Document]:
        """Experiments matching a MongoDB filter, with projection, sort, skip and limit as pymongo takes them."""
        return self.find(EXPERIMENTS, query, projection=projection, sort=sort, skip=skip, limit=limit or 0)

    def find(self, collection: str, filter: Filter | None = None, *, projection: Projection | None = None,
             sort: SortSpec | str | Mapping[str, int] | None = None, skip: int = 0, limit: int = 0) -> list[Document]:
        """Documents of any collection ("epochs", "checkpoints", "subjects", ...) matching a MongoDB filter, with
        projection, sort, skip and limit as pymongo's `find` takes them."""
        return self.store.find(collection, filter, projection=projection, sort=sort_spec(sort), skip=skip,
                               limit=limit)

    def count(self, collection: str, filter: Filter | None = None, *, limit: int = 0) -> int:
        """How many documents of a collection match a MongoDB filter (counting stops at `limit`, if given)."""
        return self.store.count(collection, filter, limit=limit)

    def aggregate(self, collection: str, pipeline: Sequence[Mapping[str, Any]]) -> list[Document]:
        """Run a MongoDB aggregation pipeline over one collection ("experiments", "epochs", ...) and return its
        result documents. MongoDB runs it itself; the embedded store runs it with MongoDB's semantics (its
        leading `$match`, `$sort`, `$skip` and `$limit` through the indexes). The stages and operators every
        backend supports, and the deviations: docs/QUERY.md, "Aggregation". Operators that run code
        (`$where`, `$function`, `$accumulator`) and writing stages (`$out`, `$merge`) are refused everywhere
        with a QueryError, as is, on the embedded store, anything outside the supported subset."""
        return self.store.aggregate(collection, pipeline)

    def create_index(self, *keys: str | tuple[str, int], collection: str = EXPERIMENTS) -> str:
        """Index the fields a leaderboard ranks by, a search filters on or `group_stats` groups by, on every
        backend (`"path"`, `"path:-1"` or `(path, -1)`); returns its name. Recipes: docs/QUERY.md, "Indexes"."""
        return self.store.create_index(collection, index_spec(collection, keys))

    def list_indexes(self, collection: str = EXPERIMENTS) -> list[IndexInfo]:
        """The indexes of a collection, epochlog's own first."""
        return self.store.list_indexes(collection)

    def drop_index(self, name: str, collection: str = EXPERIMENTS) -> None:
        """Drop an index `create_index` made (NotFound if there is none of that name; epochlog's own stay)."""
        self.store.drop_index(collection, name)

    def count_experiments(self, query: Filter | None = None) -> int:
        """How many experiments match a MongoDB filter."""
        return self.store.count(EXPERIMENTS, query)

    def get_experiment(self, experiment_id: IdLike) -> Document:
        """One experiment's document."""
        eid = to_object_id(experiment_id, "experiment_id")
        document = self.store.find_one(EXPERIMENTS, {"_id": eid})
        if document is None:
            raise NotFound(f"no experiment with id {eid}")
        self._known[eid] = eid
        return document

    def get_experiment_history(self, experiment_id: IdLike) -> dict[str, Any]:
        """`{"experiment": ..., "epochs": [...], "checkpoints": [...]}`, epochs and checkpoints by epoch."""
        experiment = self.get_experiment(experiment_id)
        eid = experiment["_id"]
        self._series.flush(eid)
        return {
            "experiment": experiment,
            "epochs": self.store.find(EPOCHS, {"experiment_id": eid}, sort=[("epoch", 1)]),
            "checkpoints": self.store.find(CHECKPOINTS, {"experiment_id": eid}, sort=[("epoch", 1)]),
        }

    def compare_experiments(self, experiment_ids: Sequence[IdLike]) -> list[Document]:
        """The experiments' summaries (name, config, metrics, times, status), in the order asked."""
        ids = [to_object_id(value, "experiment_id") for value in experiment_ids]
        found = {document["_id"]: document for document in
                 self.store.find(EXPERIMENTS, {"_id": {"$in": ids}}, projection=dict.fromkeys(COMPARE_FIELDS, 1))}
        missing = [str(eid) for eid in ids if eid not in found]
        if missing:
            raise NotFound(f"no experiment with id {', '.join(missing)}")
        return [found[eid] for eid in ids]

    def config_diff(self, experiment_ids: Sequence[IdLike]) -> dict[str, list[Any]]:
        """Dotted keys of `env`, then of `config`, `model` and `dataset`, whose values differ, with each
        experiment's value; commits and packages come first, a package as `env.packages.<name>`."""
        documents = self.compare_experiments(experiment_ids)
        return {**environment_diff(documents, self.store),
                **differing_keys([{part: document.get(part, {}) for part in ("config", "model", "dataset")}
                                  for document in documents])}

    def get_git_diff(self, experiment_id: IdLike) -> str | None:
        """The uncommitted diff (tracked files against the commit) the experiment ran with; None when its tree
        was clean or the diff was not recorded. Over 1 MB, it ends in a line saying it was truncated."""
        return read_blob(self.store, self._env_field(experiment_id, "env.git.diff_sha256"), GIT_DIFF)

    def get_packages(self, experiment_id: IdLike) -> dict[str, str] | None:
        """The installed distributions the experiment ran with (canonical name -> version), or None."""
        return read_blob(self.store, self._env_field(experiment_id, "env.packages_sha256"), PACKAGES)

    def _env_field(self, experiment_id: IdLike, path: str) -> Any:
        eid = to_object_id(experiment_id, "experiment_id")
        document = self.store.find_one(EXPERIMENTS, {"_id": eid}, projection={path: 1})
        if document is None:
            raise NotFound(f"no experiment with id {eid}")
        return get_path(document, path)

    def series_bucket_ids(self, experiment_ids: Sequence[IdLike], *,
                          since: ObjectId | None = None) -> list[tuple[ObjectId, ObjectId]]:
        """(bucket id, experiment id) of the experiments' stored step-series buckets, those from `since` on if
        given (a bucket's id says when it was written: what the dashboard's live stream watches for)."""
        return self.store.series_bucket_ids([to_object_id(eid, "experiment_id") for eid in experiment_ids],
                                            since=since)

    @property
    def uri(self) -> str:
        """The store's URI (as given: it may hold a password; `redaction.redact` it before showing it)."""
        return self.store.uri

    def ensure_indexes(self) -> None:
        """Create the indexes epochlog's queries use, where missing (what `epochlog init` does)."""
        self.store.ensure_indexes()

    def close(self) -> None:
        """Write what is buffered (step points, a pending `last_epoch`), wait a while for the checkpoint copies
        being made (what is left stays queued for the next tracker), and release the store."""
        try:
            if self.copies is not None:
                self.copies.close()
            self.flush()
        finally:
            self.store.close()

    # -- step series -------------------------------------------------------------------------------

    def log_metrics(self, experiment_id: IdLike, metrics: Mapping[str, float], step: int) -> None:
        """Record step-level values (`{"loss": 0.3, "acc": 0.9}` at `step`); buffered, written in buckets."""
        eid = self._experiment(experiment_id)
        if type(step) is not int and not isinstance(step, np.integer):
            raise InvalidArgument(f"step must be an integer, got {step!r}")
        points = [(_series_name(name), _series_value(name, value)) for name, value in metrics.items()]
        self._series.add(eid, points, int(step))

    def log_metric_series(self, experiment_id: IdLike, name: str, steps: Sequence[int] | np.ndarray,
                          values: Sequence[float] | np.ndarray) -> None:
        """Record many points of one metric at once (written immediately, one bucket per 65,536 points)."""
        eid = self._experiment(experiment_id)
        name = _series_name(name)
        try:
            step_array = np.asarray(steps, dtype=np.int64)
            value_array = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError, OverflowError) as error:
            raise InvalidArgument(f"series {name!r}: steps must be integers and values numbers ({error})") from None
        if step_array.ndim != 1 or step_array.shape != value_array.shape:
            raise InvalidArgument(f"series {name!r}: steps and values must be flat and of the same length")
        self._write([AppendSeries(eid, name, step_array[start:start + SERIES_BUCKET],
                                  value_array[start:start + SERIES_BUCKET], new_object_id())
                     for start in range(0, len(step_array), SERIES_BUCKET)])

    def get_metric_series(self, experiment_id: IdLike, name: str) -> MetricSeries:
        """All points of one step series, in step order (numpy arrays `steps` and `values`)."""
        eid = self._experiment(experiment_id)
        self._series.flush(eid)
        return self.store.read_series(eid, name)

    def get_metric_names(self, experiment_id: IdLike) -> list[str]:
        """Names of the step series logged for an experiment."""
        eid = self._experiment(experiment_id)
        self._series.flush(eid)
        return self.store.series_names(eid)

    # -- checkpoints, subjects, notes --------------------------------------------------------------

    def verify_checkpoints(self, experiment_id: IdLike | None = None) -> list[dict[str, Any]]:
        """Each checkpoint's file state: ok, missing, changed (checksum differs) or unchecked; and, with an
        artifact store, its stored copy's: ok, missing, damaged, or None when it has none."""
        query = {} if experiment_id is None else {"experiment_id": self._experiment(experiment_id)}
        copies = self.copies
        return [{"checkpoint_id": document["_id"], "experiment_id": document["experiment_id"],
                 "epoch": document.get("epoch"), "path": _file_path(document.get("file")),
                 "is_best": document.get("is_best", False), "state": verify_file(document.get("file", {})),
                 "stored": copies.check(document) if copies is not None else None}
                for document in self.store.find(CHECKPOINTS, query, sort=[("experiment_id", 1), ("epoch", 1)])]

    def verify_checkpoint(self, checkpoint_id: IdLike) -> CheckpointState:
        """Whether one checkpoint's file is still there and unchanged."""
        cid = to_object_id(checkpoint_id, "checkpoint_id")
        document = self.store.find_one(CHECKPOINTS, {"_id": cid})
        if document is None:
            raise NotFound(f"no checkpoint with id {cid}")
        return verify_file(document.get("file", {}))

    def best_checkpoint_states(self, experiment_ids: Iterable[IdLike]) -> dict[ObjectId, CheckpointState | None]:
        """Whether each experiment's best checkpoint file still verifies (`ok`, `missing`, `changed`,
        `unchecked`), None for one without a best checkpoint; one query for all. A file unchanged since this
        tracker last hashed it (same inode, size, mtime, ctime) is not read again."""
        ids = list(dict.fromkeys(to_object_id(value, "experiment_id") for value in experiment_ids))
        states: dict[ObjectId, CheckpointState | None] = dict.fromkeys(ids)
        if not ids:
            return states
        best: dict[Any, Document] = {}
        # should a hand-written document mark two checkpoints best, the latest epoch's counts
        for document in self.store.find(CHECKPOINTS, {"experiment_id": {"$in": ids}, "is_best": True},
                                        projection={"experiment_id": 1, "epoch": 1, "file": 1},
                                        sort=[("epoch", 1), ("_id", 1)]):
            best[document.get("experiment_id")] = document
        for eid in ids:
            if eid in best:
                states[eid] = self._verified.state(best[eid].get("file"))
        return states

    def upsert_subjects(self, subjects: Iterable[Mapping[str, Any]]) -> int:
        """Insert or replace subjects keyed by `subject_id`; returns how many were written."""
        writes: list[Write] = []
        for index, subject in enumerate(subjects):
            subject_id = subject.get("subject_id") if isinstance(subject, Mapping) else None
            if not isinstance(subject_id, str) or not subject_id:
                raise InvalidArgument(f"subject #{index} has no string subject_id")
            document = normalize_document({"_id": new_object_id(), **subject}, f"subjects.{index}")
            writes.append(Upsert(SUBJECTS, document))
        self._write(writes)
        return len(writes)

    def get_subjects(self, query: Filter | None = None, *, sort: SortSpec | str | None = None,
                     limit: int = 0) -> list[Document]:
        """Subjects matching a MongoDB filter, by subject_id unless sorted otherwise."""
        return self.store.find(SUBJECTS, query, sort=sort_spec(sort) or [("subject_id", 1)], limit=limit)

    def set_notes(self, experiment_id: IdLike, notes: str) -> None:
        """Replace an experiment's free-text notes."""
        if not isinstance(notes, str):
            raise InvalidArgument("notes must be a string")
        self._write([Update(EXPERIMENTS, {"_id": self._experiment(experiment_id)}, {"notes": notes})])

    def set_tags(self, experiment_id: IdLike, tags: Iterable[str]) -> None:
        """Replace an experiment's tags."""
        self._write([Update(EXPERIMENTS, {"_id": self._experiment(experiment_id)}, {"tags": _tags(tags)})])

    def archive_experiments(self, experiment_ids: Iterable[IdLike] = (), *, filter: Filter | None = None) -> list[str]:
        """Hide experiments (by id and/or filter) from listings, leaderboards and groups, keeping them whole
        (see `archive`); returns the ids archived. Archiving an archived experiment changes nothing."""
        from .archive import ARCHIVED, select

        chosen = [d["_id"] for d in select(self.store, experiment_ids, filter) if d.get(ARCHIVED) is not True]
        if chosen:
            self._write([Update(EXPERIMENTS, {"_id": {"$in": chosen}}, {ARCHIVED: True, "archived_at": utcnow()})])
        return [str(oid) for oid in chosen]

    def restore_experiments(self, experiment_ids: Iterable[IdLike] = (), *, filter: Filter | None = None) -> list[str]:
        """Show archived experiments again; returns the ids restored."""
        from .archive import ARCHIVED, select

        chosen = [d["_id"] for d in select(self.store, experiment_ids, filter) if d.get(ARCHIVED) is True]
        if chosen:
            self._write([Update(EXPERIMENTS, {"_id": {"$in": chosen}}, {}, (ARCHIVED, "archived_at"))])
        return [str(oid) for oid in chosen]

    def purge_experiments(self, experiment_ids: Iterable[IdLike] = (), *, filter: Filter | None = None,
                          dry_run: bool = False) -> Purge:
        """Delete experiments and all they recorded, for real (`dry_run`: only say what would go). Refused,
        nothing deleted, when one is running: finish it, or end it with `mark_stale_failed` if it is gone."""
        from .archive import Purge, purge_counts, purge_writes, select

        found = select(self.store, experiment_ids, filter)
        running = [f"{d['_id']} ({d.get('experiment_name')})" for d in found if d.get("status") == "running"]
        if running:
            raise InvalidArgument(f"refusing to purge running experiments: {', '.join(running)} (a run whose "
                                  f"process is gone is ended as failed by Tracker.mark_stale_failed)")
        ids = [d["_id"] for d in found]
        purge = Purge(found, purge_counts(self.store, ids) if ids else {EXPERIMENTS: 0})
        if ids and not dry_run:
            self._write(purge_writes(ids))
            for oid in ids:
                self._known.pop(oid, None)
                self._known.pop(str(oid), None)
                self._progress.pop(oid, None)
        return purge

    def log_cache_stats(self, experiment_id: IdLike, cache: Any) -> None:
        """Store a feature cache's `stats()` (or a stats dict) under the experiment's `cache` field."""
        stats = cache.stats() if hasattr(cache, "stats") else cache
        self._write([Update(EXPERIMENTS, {"_id": self._experiment(experiment_id)},
                            {"cache": normalize_value(dict(stats), "cache")})])

    # -- runs --------------------------------------------------------------------------------------

    def start_run(self, experiment_name: str | None = None, challenge: int | None = None, *,
                  console: ConsoleSpec = False, **kwargs: Any) -> Run:
        """Create an experiment and return its run handle: `with tracker.start_run(...) as run:`. While it is
        open, system metrics are sampled every `system_interval` seconds unless `capture` leaves out
        `system_metrics`, and with `console` (True, or "fds" for file descriptors) what the process prints is
        captured, unless `capture` leaves out `console` (docs/CONTEXT.md)."""
        from .run import Run

        groups = capture_groups(kwargs.get("capture"))
        mode = console_mode(console)
        experiment_id = self.create_experiment(experiment_name, challenge, **kwargs)
        return Run(self, experiment_id, system_metrics="system_metrics" in groups,
                   console=mode if "console" in groups else None)

    def resume_run(self, experiment_id: IdLike, *, console: ConsoleSpec = False) -> Run:
        """Continue an experiment: status back to running; epochs logged again replace the old ones. Its best
        and last epoch are taken from its stored epochs when the document is behind them (a killed run)."""
        from .run import Run

        mode = console_mode(console)
        eid = self._experiment(experiment_id)
        self._catch_up(eid)
        self.update_experiment_status(eid, "running")
        groups = capture_groups(None)
        return Run(self, str(eid), system_metrics="system_metrics" in groups, resumed=True,
                   console=mode if "console" in groups else None)

    def get_console(self, experiment_id: IdLike, *, tail: int | None = None, after: int = 0) -> ConsoleLog:
        """The run's captured console (`start_run(console=True)`): its lines in time order, or the last `tail`;
        with `after` (a previous read's `last_seq`), only those written since, to follow a live run."""
        if tail is not None and (isinstance(tail, bool) or not isinstance(tail, int) or tail < 0):
            raise InvalidArgument(f"tail must be a non-negative integer, got {tail!r}")
        if isinstance(after, bool) or not isinstance(after, int):
            raise InvalidArgument(f"after must be an integer (a ConsoleLog's last_seq), got {after!r}")
        eid = self._experiment(experiment_id)
        [document] = self.store.find(EXPERIMENTS, {"_id": eid}, projection={"console": 1}) or [{}]
        summary = document.get("console")
        dropped = summary.get("dropped_lines") if isinstance(summary, Mapping) else 0
        return read_console(self.store, eid, tail=tail, after=after,
                            dropped_lines=dropped if isinstance(dropped, int) and not isinstance(dropped, bool) else 0)

    def get_stale_runs(self, older_than: float | dt.timedelta = 300.0) -> list[Document]:
        """Running experiments last seen alive more than `older_than` (seconds or a timedelta) ago: by their
        heartbeat, or for one without (written by other code) by its latest epoch or start (`liveness`)."""
        return self.search_experiments(stale_filter(self.store, _cutoff(older_than)), sort=[("start_time", 1)])

    def mark_stale_failed(self, older_than: float | dt.timedelta = 300.0) -> list[str]:
        """Turn stale running experiments into `failed` with reason `heartbeat lost`; returns their ids.
        Their best and last epoch are completed from their stored epochs first (see `objective`)."""
        stale = self.get_stale_runs(older_than)
        for document in stale:
            self._catch_up(document["_id"])
            self.update_experiment_status(document["_id"], "failed",
                                          error={"type": "HeartbeatLost", "message": "heartbeat lost",
                                                 "last_heartbeat": document.get("heartbeat")})
        return [str(document["_id"]) for document in stale]

    def _catch_up(self, eid: ObjectId) -> None:
        """Bring the tracker's progress of an experiment up to its stored epochs when the document is behind
        them (the writer died inside the second its last update waited); the next update writes it."""
        progress = self._progress_of(eid)
        if not progress.known:
            return
        [last] = self.store.find(EPOCHS, {"experiment_id": eid}, projection={"epoch": 1}, sort=[("epoch", -1)],
                                 limit=1) or [{}]
        if not isinstance(last.get("epoch"), int) or last["epoch"] == progress.last_epoch:
            return
        key = f"metrics.{progress.objective.metric}"
        found = self.store.find(EPOCHS, {"experiment_id": eid, **finite_filter(key)},
                                projection={"epoch": 1, key: 1},
                                sort=[(key, 1 if progress.objective.mode == "min" else -1), ("epoch", 1)], limit=1)
        progress.last_epoch = last["epoch"]
        if found and is_finite_number(found[0].get("metrics", {}).get(progress.objective.metric)):
            progress.best, progress.best_epoch = found[0]["metrics"][progress.objective.metric], found[0]["epoch"]

    def flush(self) -> None:
        """Write every buffered step point and pending `metrics.last_epoch` now."""
        self._series.flush()
        now = time.monotonic()
        self._write([Update(EXPERIMENTS, {"_id": eid}, progress.take_pending(now))
                     for eid, progress in self._progress.items() if progress.pending])

    def sync(self, timeout: float | None = 60.0) -> bool:
        """Flush, then wait until every write has reached the store (the journal, if any, is drained).

        Returns False if `timeout` seconds passed first (what is left stays in the journal), and while the
        server has refused any journaled write (kept aside; see `epochlog sync --retry-refused`).
        """
        self.flush()
        return self.store.flush(timeout)

    def push(self, destination: str | os.PathLike[str] | Store | Tracker, *, query: Filter | None = None,
             since: dt.datetime | dt.date | None = None, full: bool = False, dry_run: bool = False) -> PushSummary:
        """Copy into `destination` what this tracker's store holds and it lacks, `_id`s kept; a second push
        changes nothing (see `transfer.push` and docs/MANY_MACHINES.md). A destination tracker with an artifact
        store also gets the stored checkpoint copies it lacks (`summary.files`), when this one has one."""
        from .transfer import push

        self.flush()
        target = destination
        if isinstance(destination, Tracker):
            destination.flush()
            destination = destination.store
        summary = push(self.store, destination, query=query, since=since, full=full, dry_run=dry_run)
        if isinstance(target, Tracker) and self.copies is not None and target.copies is not None:
            summary.files = carry(self.store, self.copies.artifacts, target.store, target.copies.artifacts,
                                  dry_run=dry_run)
        return summary

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------------------

    def _write(self, writes: Sequence[Write]) -> None:
        if writes:
            self.store.write(writes)

    def _experiment(self, experiment_id: IdLike) -> ObjectId:
        if isinstance(experiment_id, (str, ObjectId)):
            known = self._known.get(experiment_id)
            if known is not None:
                return known
        eid = to_object_id(experiment_id, "experiment_id")
        if eid not in self._known:
            self._progress[eid] = self._read_progress(eid, must_exist=True)
        self._known[eid] = self._known[experiment_id] = eid
        return eid

    def progress(self, experiment_id: IdLike) -> Progress:
        """An experiment's objective, and its best and last epoch as this tracker knows them."""
        return self._progress_of(self._experiment(experiment_id))

    def _progress_of(self, eid: ObjectId) -> Progress:
        progress = self._progress.get(eid)
        if progress is None:  # known from get_experiment: its objective was not read
            progress = self._progress[eid] = self._read_progress(eid, must_exist=False)
        return progress

    def _read_progress(self, eid: ObjectId, *, must_exist: bool) -> Progress:
        """The stored objective and best of an experiment. During an outage of a store that still accepts
        writes (the journal), the call is journaled unchecked rather than failed: see `Progress.unknown`."""
        if not self.store.unreachable:
            try:
                document = self.store.find_one(EXPERIMENTS, {"_id": eid}, projection={"objective": 1, "metrics": 1})
            except StoreUnavailable:
                if not self.store.unreachable:
                    raise
            else:
                if document is None and must_exist:
                    raise NotFound(f"no experiment with id {eid}")
                return Progress.resumed(document or {}, time.monotonic())
        return Progress.unknown(time.monotonic())

    def _heartbeat(self, eid: ObjectId, changes: dict[str, Any] | None = None, *, force: bool = False,
                   now: float | None = None) -> list[Write]:
        """One update of the experiment: `changes`, and its heartbeat (with a pending `last_epoch`) when the
        last beat is older than the interval; nothing when neither is due."""
        now = time.monotonic() if now is None else now
        if not force and now - self._last_beat.get(eid, -math.inf) < self.heartbeat_interval:
            return [Update(EXPERIMENTS, {"_id": eid}, changes)] if changes else []  # the usual epoch: no beat
        self._last_beat[eid] = now
        changes = {**(changes or {}), "heartbeat": utcnow()}
        progress = self._progress.get(eid)
        if progress is not None and progress.pending:
            changes.update(progress.take_pending(now))
        return [Update(EXPERIMENTS, {"_id": eid}, changes)]

    def beat(self, experiment_id: IdLike) -> None:
        """Refresh a running experiment's heartbeat now (a run's heartbeat thread calls this)."""
        self._write(self._heartbeat(self._experiment(experiment_id), force=True))


class MongoExperimentTracker(Tracker):
    """The seed's tracker: MongoDB at `mongodb://localhost:27017/` (or `EPOCHLOG_URI`, `store.seed_uri`),
    database `eeg2025`."""

    def __init__(self, connection_string: str | None = None, database: str = "eeg2025", *,
                 uri: str | None = None, **kwargs: Any) -> None:
        target = uri or connection_string or seed_uri()
        super().__init__(target, database=database, **kwargs)


def get_tracker(uri: str | os.PathLike[str] | None = None, **kwargs: Any) -> Tracker:
    """A tracker on `uri`, else `EPOCHLOG_URI`, else the embedded store `./epochlog.db`."""
    return Tracker(uri, **kwargs)


def sort_spec(sort: SortSpec | str | Mapping[str, int] | None) -> list[tuple[str, int]] | None:
    """A sort as pymongo accepts it (a field name, a list of pairs, or a mapping) as a list of pairs."""
    if sort is None:
        return None
    pairs: Iterable[Any]
    if isinstance(sort, str):
        pairs = [(sort, 1)]
    elif isinstance(sort, Mapping):
        pairs = sort.items()
    else:
        pairs = sort
    spec = []
    for pair in pairs:
        if isinstance(pair, str):
            pair = (pair, 1)
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and isinstance(pair[0], str)
                and pair[1] in (1, -1) and not isinstance(pair[1], bool)):
            raise QueryError(f"a sort is a list of (field, 1 or -1) pairs, got {pair!r}")
        spec.append((pair[0], int(pair[1])))
    return spec


def _check_epoch(epoch: Any) -> None:
    if type(epoch) is not int and not isinstance(epoch, np.integer) or epoch < 0:
        raise InvalidArgument(f"epoch must be a non-negative integer, got {epoch!r}")


def _selection(status: str | Iterable[str], challenge: int | None, filter: Filter | None,
               archived: bool) -> Document:
    """The filter choosing the runs a leaderboard or a grouping looks at (checked: InvalidArgument);
    archived runs only when `archived`."""
    return experiment_filter(challenge=challenge, statuses=_statuses(status), filter=filter, archived=archived)


def _statuses(status: str | Iterable[str]) -> list[str] | None:
    """The statuses a leaderboard ranks; None for all of them (`"any"`)."""
    if status == "any":
        return None
    if not isinstance(status, (str, Iterable)):
        raise InvalidArgument(f"status must be a status, a list of statuses, or 'any'; got {status!r}")
    statuses = [status] if isinstance(status, str) else list(status)
    for each in statuses:
        check_status(each)
    if not statuses:
        raise InvalidArgument("status must name at least one status, or be 'any'")
    return statuses


def leaderboard_statuses(values: Iterable[str] | None) -> str | list[str]:
    """`get_best_models`' `status` from what a user typed (the CLI's --status, the API's ?status=): statuses
    repeated and/or comma-separated, any case, or `any`; nothing is `completed`. InvalidArgument otherwise."""
    names = list(dict.fromkeys(part.strip().lower() for value in values or () for part in str(value).split(",")
                               if part.strip()))
    if not names:
        return "completed"
    if "any" in names:
        if len(names) > 1:
            raise InvalidArgument("status 'any' already takes every status: give it alone")
        return "any"
    for name in names:
        if name not in STATUSES:
            raise InvalidArgument(f"status must be 'any' or one or more of {', '.join(STATUSES)} "
                                  f"(comma-separated); got {name!r}")
    return names


def _merged(section: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The `$set` that merges `values` key by key into the sub-document `section`."""
    return {f"{section}.{check_key(key, section)}": normalize_value(value, f"{section}.{key}")
            for key, value in values.items()}


def _file_path(file: Any) -> Any:
    return file.get("path") if isinstance(file, Mapping) else None


def _tags(tags: Iterable[str] | None) -> list[str]:
    if tags is None:
        return []
    if isinstance(tags, str):
        tags = [tags]
    result = list(dict.fromkeys(tags))
    for tag in result:
        if not isinstance(tag, str):
            raise InvalidArgument(f"tags must be strings, got {tag!r}")
    return result


def _series_name(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise InvalidArgument(f"a metric name must be a non-empty string, got {name!r}")
    return name


def _series_value(name: str, value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidArgument(f"metric {name!r}: a step value must be a number, got {value!r}") from None


def _cutoff(older_than: float | dt.timedelta) -> dt.datetime:
    seconds = older_than.total_seconds() if isinstance(older_than, dt.timedelta) else float(older_than)
    if not math.isfinite(seconds) or seconds < 0:
        raise InvalidArgument(f"older_than must be a non-negative duration, got {older_than!r}")
    return utcnow() - dt.timedelta(seconds=seconds)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


__all__ = ["MongoExperimentTracker", "Tracker", "get_tracker", "leaderboard_statuses", "sort_spec"]
