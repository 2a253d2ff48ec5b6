"""Import a legacy tracker's SQLite file (training_runs, epoch_history, model_checkpoints) into any store.

The legacy file is opened read-only and never changed. Everything is written through `Store.write` with
idempotent operations, so a second run changes nothing:

    training_runs      -> experiments   found again by legacy.source + legacy.run_id (else a deterministic _id)
    epoch_history      -> epochs        upserted on (experiment_id, epoch); of duplicate epochs the later row wins
    model_checkpoints  -> checkpoints   deterministic _id per legacy row; one is_best per run

What real files contain, and what becomes of it, is counted in the `MigrationReport`.
"""

from __future__ import annotations

import ast
import datetime as dt
import hashlib
import json
import math
import os
import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Any

from bson import ObjectId

from ..checkpoints import file_facts
from ..documents import normalize_document, normalize_value, to_utc
from ..errors import InvalidDocument, MigrationError
from ..iso_dates import parse_iso
from ..schema import CHECKPOINTS, EPOCHS, EXPERIMENTS
from ..stored_equality import same
from ..store import embedded_path, is_mongodb_uri
from ..store.base import Put, Store, Update, Upsert, Write

BATCH = 500  # writes per store.write call
UTC = dt.timezone.utc

#: Columns a file must have to be a legacy tracker database, and those read when present.
REQUIRED: dict[str, tuple[str, ...]] = {
    "training_runs": ("run_id", "challenge", "model_name"),
    "epoch_history": ("run_id", "epoch"),
    "model_checkpoints": ("run_id", "epoch", "file_path"),
}
OPTIONAL: dict[str, tuple[str, ...]] = {
    "training_runs": ("config", "status", "start_time", "end_time", "best_val_loss", "best_epoch",
                      "total_epochs", "notes"),
    "epoch_history": ("train_loss", "val_loss", "learning_rate", "duration_seconds", "timestamp"),
    "model_checkpoints": ("val_loss", "file_size_mb", "is_best", "timestamp"),
}
#: Fields a later migration leaves alone on an experiment that already exists: users edit them.
USER_FIELDS = ("tags", "notes")

STALE = "run left 'running' (never finished): migrated as failed (HeartbeatLost)"

Progress = Callable[[int, int], None]


@dataclass
class MigrationReport:
    """What a migration read, wrote, merged, skipped and repaired (reason -> count)."""

    source: str
    dry_run: bool = False
    runs: int = 0
    experiments_new: int = 0
    experiments_updated: int = 0
    experiments_unchanged: int = 0
    epochs: int = 0
    checkpoints: int = 0
    duplicates_merged: int = 0
    orphans: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    repaired: Counter[str] = field(default_factory=Counter)
    missing_files: int = 0
    optional_columns_missing: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "dry_run": self.dry_run, "runs": self.runs,
                "experiments": {"new": self.experiments_new, "updated": self.experiments_updated,
                                "unchanged": self.experiments_unchanged},
                "epochs": self.epochs, "checkpoints": self.checkpoints,
                "duplicates_merged": self.duplicates_merged, "orphans": dict(self.orphans),
                "skipped": dict(self.skipped), "repaired": dict(self.repaired),
                "missing_checkpoint_files": self.missing_files,
                "optional_columns_missing": self.optional_columns_missing}


def open_legacy(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """The legacy file opened read-only, its schema checked; MigrationError says what is wrong."""
    location = Path(path)
    if not location.exists():
        raise MigrationError(f"{location}: no such file")
    if not location.is_file():
        raise MigrationError(f"{location}: not a file")
    try:
        connection = sqlite3.connect(location.resolve().as_uri() + "?mode=ro", uri=True)
        try:
            tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except BaseException:
            connection.close()
            raise
    except sqlite3.DatabaseError as error:
        raise MigrationError(f"{location}: not an SQLite database ({error})") from None
    connection.row_factory = sqlite3.Row
    missing = []
    for table, columns in REQUIRED.items():
        if table not in tables:
            missing.append(f"table {table}")
            continue
        present = set(table_columns(connection, table))
        missing.extend(f"column {table}.{column}" for column in columns if column not in present)
    if missing:
        connection.close()
        raise MigrationError(f"{location}: not a legacy tracker database: missing {', '.join(missing)}")
    return connection


def table_columns(connection: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in connection.execute(f"PRAGMA table_info({table})")]


def same_file(store_uri: str, legacy: str | os.PathLike[str]) -> bool:
    """Whether an embedded store's URI names the legacy file itself (opening it would write to it)."""
    if is_mongodb_uri(store_uri):
        return False
    try:
        path = embedded_path(store_uri)
        return path is not None and path.resolve() == Path(legacy).resolve()
    except OSError:
        return False


def migrate_legacy(store: Store, path: str | os.PathLike[str], *, dry_run: bool = False, checksums: bool = True,
                   progress: Progress | None = None, batch_size: int = BATCH) -> MigrationReport:
    """Copy a legacy SQLite file's runs, epochs and checkpoints into `store`; see the module docstring."""
    if same_file(getattr(store, "uri", ""), path):
        raise MigrationError(f"{path} is the target store itself: migrate into another file")
    connection = open_legacy(path)
    try:
        return _Migration(store, connection, Path(path), dry_run, checksums, batch_size).run(progress)
    except sqlite3.DatabaseError as error:
        raise MigrationError(f"{path}: cannot read the legacy file ({error})") from None
    finally:
        connection.close()


class _Migration:
    def __init__(self, store: Store, connection: sqlite3.Connection, path: Path, dry_run: bool,
                 checksums: bool, batch_size: int) -> None:
        self.store, self.db, self.dry_run, self.checksums = store, connection, dry_run, checksums
        self.source = str(path.resolve())
        self.folder = path.resolve().parent
        self.batch_size = max(1, batch_size)
        self.report = MigrationReport(self.source, dry_run)
        self.pending: list[Write] = []

    def run(self, progress: Progress | None) -> MigrationReport:
        existing = {document.get("legacy", {}).get("run_id"): document
                    for document in self.store.find(EXPERIMENTS, {"legacy.source": self.source})}
        runs = self.db.execute(self._select("training_runs") + " ORDER BY run_id").fetchall()
        epochs = _Groups(self._grouped("epoch_history"))
        checkpoints = _Groups(self._grouped("model_checkpoints"))
        total = len(runs)
        for done, run in enumerate(runs, 1):
            if type(run["run_id"]) is not int:
                self.report.skipped["training_runs: run_id is not an integer"] += 1
                continue
            run_id = run["run_id"]
            self._run(run, epochs.take(run_id, self._orphans("epoch_history")),
                      checkpoints.take(run_id, self._orphans("model_checkpoints")), existing.get(run_id))
            if progress is not None and (done % 50 == 0 or done == total):
                progress(done, total)
        epochs.drain(self._orphans("epoch_history"))
        checkpoints.drain(self._orphans("model_checkpoints"))
        for table in ("epoch_history", "model_checkpoints"):
            stray = self.db.execute(f"SELECT count(*) FROM {table} WHERE typeof(run_id) != 'integer'").fetchone()[0]
            self.report.orphans[table] += stray
        self._flush()
        if progress is not None and not total:
            progress(0, 0)
        return self.report

    # -- reading -----------------------------------------------------------------------------------

    def _select(self, table: str) -> str:
        present = set(table_columns(self.db, table))
        columns = ["rowid AS row_id", *REQUIRED[table]]
        for column in OPTIONAL[table]:
            if column in present:
                columns.append(column)
            else:
                columns.append(f"NULL AS {column}")
                self.report.optional_columns_missing.append(f"{table}.{column}")
        return f"SELECT {', '.join(columns)} FROM {table}"

    def _grouped(self, table: str) -> Iterator[tuple[int, list[sqlite3.Row]]]:
        cursor = self.db.execute(self._select(table) + " WHERE typeof(run_id) = 'integer' ORDER BY run_id, rowid")
        for run_id, rows in groupby(cursor, key=lambda row: row["run_id"]):
            yield run_id, list(rows)

    def _orphans(self, table: str) -> Callable[[list[sqlite3.Row]], None]:
        def count(rows: list[sqlite3.Row]) -> None:
            self.report.orphans[table] += len(rows)
        return count

    # -- one run -----------------------------------------------------------------------------------

    def _run(self, run: sqlite3.Row, epoch_rows: list[sqlite3.Row], checkpoint_rows: list[sqlite3.Row],
             existing: Mapping[str, Any] | None) -> None:
        report = self.report
        report.runs += 1
        repairs: list[str] = []
        run_id = run["run_id"]

        start = self._time(run["start_time"], "training_runs.start_time", repairs)
        end = self._time(run["end_time"], "training_runs.end_time", repairs)
        epochs = self._epochs(epoch_rows)
        if start is None:
            times = [e["timestamp"] for e in epochs.values() if "timestamp" in e]
            if times:
                start = min(times)
                repairs.append("start_time missing: taken from the first epoch")
        eid = existing["_id"] if existing is not None else _derived_id(start, self.source, "run", run_id)
        model_name = run["model_name"]
        if not isinstance(model_name, str) or not model_name.strip():
            repairs.append("model_name missing: 'unknown'")
            model_name = "unknown"

        document: dict[str, Any] = {"_id": eid, "experiment_name": f"legacy_{run_id}_{model_name}"}
        document["challenge"] = self._integer(run["challenge"], "training_runs.challenge", repairs)
        status, error = self._status(run["status"], repairs)
        if status == "failed" and error is not None and error["type"] == "HeartbeatLost":
            times = [e["timestamp"] for e in epochs.values() if "timestamp" in e]
            last_seen = max([time for time in (start, end, *times) if time is not None], default=None)
            error["last_heartbeat"] = last_seen
            end = end or last_seen
        document["status"] = status
        if start is not None:
            document["start_time"] = start
        document["end_time"] = end
        heartbeat = end or start
        if heartbeat is not None:
            document["heartbeat"] = heartbeat
        document["model"] = {"name": model_name}
        config, raw = self._config(run["config"], repairs)
        document["config"] = config
        if raw is not None:
            document["config_raw"] = raw
        document["dataset"] = {}
        document["metrics"] = self._summary(run, epochs, repairs)
        document["tags"] = ["legacy"]
        document["notes"] = run["notes"] if isinstance(run["notes"], str) else ""
        if error is not None:
            document["error"] = error
        legacy: dict[str, Any] = {"source": self.source, "run_id": run_id}
        if status != run["status"]:
            legacy["status"] = run["status"]
        checkpoints = self._checkpoints(eid, checkpoint_rows, repairs)
        if repairs:
            legacy["repairs"] = sorted(set(repairs))
        document["legacy"] = legacy
        for reason in set(repairs):
            report.repaired[reason] += 1
        self._store_experiment(normalize_document(document), existing)
        for epoch_document in epochs.values():
            epoch_document["experiment_id"] = eid
            epoch_document["_id"] = _derived_id(epoch_document.get("timestamp"), self.source, "epoch",
                                                run_id, epoch_document["epoch"])
            self._add(Upsert(EPOCHS, epoch_document))  # built from plain floats, ints and UTC ms datetimes
        report.epochs += len(epochs)
        for checkpoint in checkpoints:
            self._add(Put(CHECKPOINTS, checkpoint))  # likewise
        report.checkpoints += len(checkpoints)

    def _store_experiment(self, document: dict[str, Any], existing: Mapping[str, Any] | None) -> None:
        """Insert a new experiment, or `$set` what changed in one an earlier migration wrote."""
        if existing is None:
            self.report.experiments_new += 1
            self._add(Put(EXPERIMENTS, document))
            return
        changes = {key: value for key, value in document.items() if key != "_id" and key not in USER_FIELDS
                   and (key not in existing or not same(existing[key], value))}
        gone = tuple(key for key in ("config_raw", "error", "start_time", "heartbeat")
                     if key in existing and key not in document)
        if changes or gone:
            self.report.experiments_updated += 1
            self._add(Update(EXPERIMENTS, {"_id": document["_id"]}, changes, gone))
        else:
            self.report.experiments_unchanged += 1

    def _epochs(self, rows: list[sqlite3.Row]) -> dict[int, dict[str, Any]]:
        """Epoch documents by epoch; rows come in rowid order, so a later duplicate replaces an earlier one."""
        epochs: dict[int, dict[str, Any]] = {}
        for row in rows:
            repairs: list[str] = []
            epoch = self._integer(row["epoch"], "epoch_history.epoch", repairs)
            if epoch is None or epoch < 0:
                self.report.skipped["epoch_history: epoch missing or negative"] += 1
                continue
            metrics = {}
            for name in ("train_loss", "val_loss", "learning_rate"):
                value = self._number(row[name], f"epoch_history.{name}", repairs)
                if value is not None:
                    metrics[name] = value
            document: dict[str, Any] = {"epoch": epoch, "metrics": metrics}
            duration = self._number(row["duration_seconds"], "epoch_history.duration_seconds", repairs)
            if duration is not None:
                document["timing"] = {"duration_seconds": duration}
            timestamp = self._time(row["timestamp"], "epoch_history.timestamp", repairs)
            if timestamp is not None:
                document["timestamp"] = timestamp
            document["legacy"] = {"row_id": row["row_id"]}
            if epoch in epochs:
                self.report.duplicates_merged += 1
            epochs[epoch] = document
            for reason in set(repairs):
                self.report.repaired[reason] += 1
        return dict(sorted(epochs.items()))

    def _checkpoints(self, eid: ObjectId, rows: list[sqlite3.Row], run_repairs: list[str]) -> list[dict[str, Any]]:
        documents = []
        for row in rows:
            repairs: list[str] = []
            epoch = self._integer(row["epoch"], "model_checkpoints.epoch", repairs)
            metrics = {}
            loss = self._number(row["val_loss"], "model_checkpoints.val_loss", repairs)
            if loss is not None:
                metrics["val_loss"] = loss
            timestamp = self._time(row["timestamp"], "model_checkpoints.timestamp", repairs)
            document: dict[str, Any] = {
                "_id": _derived_id(timestamp, self.source, "checkpoint", row["row_id"]),
                "experiment_id": eid, "epoch": epoch, "metrics": metrics,
                "file": self._file(row, repairs), "is_best": _flag(row["is_best"]),
                "legacy": {"row_id": row["row_id"]},
            }
            if epoch is None:
                del document["epoch"]
            if timestamp is not None:
                document["timestamp"] = timestamp
            documents.append(document)
            for reason in set(repairs):
                self.report.repaired[reason] += 1
        best = [document for document in documents if document["is_best"]]
        if len(best) > 1:
            # the lowest val_loss among those marked best; NaN or missing losses last, then the later row
            keep = min(best, key=lambda d: (_loss_rank(d["metrics"].get("val_loss")), -d["legacy"]["row_id"]))
            for document in best:
                document["is_best"] = document is keep
            run_repairs.append("several checkpoints marked best: kept the lowest val_loss")
        return documents

    def _file(self, row: sqlite3.Row, repairs: list[str]) -> dict[str, Any]:
        raw = row["file_path"]
        size = self._number(row["file_size_mb"], "model_checkpoints.file_size_mb", repairs)
        if not isinstance(raw, str) or not raw.strip():
            repairs.append("model_checkpoints.file_path missing")
            return {} if size is None else {"size_mb": size}
        path = Path(raw).expanduser()
        candidates = [path] if path.is_absolute() else [self.folder / path, Path.cwd() / path]
        found = next((candidate for candidate in candidates if candidate.is_file()), None)
        if found is None:
            self.report.missing_files += 1
            file: dict[str, Any] = {"path": raw}
            if size is not None:
                file["size_mb"] = size
            return file
        file = {"path": str(found.resolve())}
        if self.checksums:
            facts = file_facts(found)
            if facts is not None:
                file.update(facts)
        elif size is not None:
            file["size_mb"] = size
        if file["path"] != raw:
            file["legacy_path"] = raw
        return file

    def _summary(self, run: sqlite3.Row, epochs: Mapping[int, Mapping[str, Any]], repairs: list[str]) -> dict[str, Any]:
        metrics: dict[str, Any] = {}
        best_loss = self._number(run["best_val_loss"], "training_runs.best_val_loss", repairs)
        best_epoch = self._integer(run["best_epoch"], "training_runs.best_epoch", repairs)
        total = self._integer(run["total_epochs"], "training_runs.total_epochs", repairs)
        if best_loss is None and epochs:
            finite = [(e["metrics"]["val_loss"], number) for number, e in epochs.items()
                      if math.isfinite(e["metrics"].get("val_loss", math.nan))]
            if finite:
                best_loss, derived_epoch = min(finite)
                if best_epoch is None:
                    best_epoch = derived_epoch
                repairs.append("best_val_loss missing: derived from the epochs")
        if total is None and epochs:
            total = len(epochs)
            repairs.append("total_epochs missing: counted from the epochs")
        for name, value in (("best_val_loss", best_loss), ("best_epoch", best_epoch), ("total_epochs", total)):
            if value is not None:
                metrics[name] = value
        return metrics

    # -- values ------------------------------------------------------------------------------------

    def _status(self, raw: Any, repairs: list[str]) -> tuple[str, dict[str, Any] | None]:
        text = raw.strip().lower() if isinstance(raw, str) else None
        if text in ("completed", "failed", "stopped"):
            return text, None
        if text in (None, "", "running"):
            repairs.append(STALE)
            return "failed", {"type": "HeartbeatLost", "message": "legacy run never finished"}
        for status, words in (("completed", ("complete", "done", "finished", "success", "succeeded")),
                              ("failed", ("error", "errored", "crashed", "fail")),
                              ("stopped", ("killed", "cancelled", "canceled", "interrupted", "aborted"))):
            if text in words:
                repairs.append(f"status {text!r} read as {status}")
                return status, None
        repairs.append("unknown status: migrated as failed")
        return "failed", {"type": "LegacyStatus", "message": f"unknown legacy status {raw!r}"}

    def _config(self, raw: Any, repairs: list[str]) -> tuple[dict[str, Any], str | None]:
        if raw is None:
            return {}, None
        if not isinstance(raw, str):
            repairs.append("config not text: kept in config_raw")
            return {}, str(raw)
        text = raw.strip()
        if not text:
            return {}, None
        try:
            value: Any = json.loads(text)
            how = None
        except ValueError:
            value = _python_literal(text)
            how = "config was a Python repr: read safely"
        if not isinstance(value, dict):
            repairs.append("config unreadable (neither a JSON object nor a Python dict): kept in config_raw")
            return {}, raw
        try:
            config = normalize_value(value, "config")
        except InvalidDocument:
            repairs.append("config has keys or values a document cannot hold: kept in config_raw")
            return {}, raw
        if how:
            repairs.append(how)
        return config, None

    def _number(self, value: Any, where: str, repairs: list[str]) -> float | None:
        if value is None:
            return None
        if type(value) in (int, float):
            return float(value)
        if isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                pass
            else:
                repairs.append(f"{where} stored as text ({_kind(number)}): read as a number")
                return number
        repairs.append(f"{where} not a number: left out")
        return None

    def _integer(self, value: Any, where: str, repairs: list[str]) -> int | None:
        if value is None:
            return None
        if type(value) is int:
            return value
        number = None
        if type(value) is float and value.is_integer() and abs(value) < 2**63 or isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d{1,18}\s*", value):
            number = int(value)
        if number is None:
            repairs.append(f"{where} not an integer: left out")
        else:
            repairs.append(f"{where} not stored as an integer: converted")
        return number

    def _time(self, value: Any, where: str, repairs: list[str]) -> dt.datetime | None:
        if value is None:
            return None
        parsed = parse_time(value)
        if parsed is None:
            repairs.append(f"{where} unreadable: left out")
        return parsed

    # -- writing -----------------------------------------------------------------------------------

    def _add(self, write: Write) -> None:
        self.pending.append(write)
        if len(self.pending) >= self.batch_size:
            self._flush()

    def _flush(self) -> None:
        if self.pending and not self.dry_run:
            self.store.write(self.pending)
        self.pending = []


class _Groups:
    """A merge-join cursor over (run_id, rows) groups in run_id order."""

    def __init__(self, groups: Iterator[tuple[int, list[sqlite3.Row]]]) -> None:
        self._groups = groups
        self._head = next(groups, None)

    def take(self, run_id: int, orphan: Callable[[list[sqlite3.Row]], None]) -> list[sqlite3.Row]:
        while self._head is not None and self._head[0] < run_id:
            orphan(self._head[1])
            self._head = next(self._groups, None)
        if self._head is not None and self._head[0] == run_id:
            rows = self._head[1]
            self._head = next(self._groups, None)
            return rows
        return []

    def drain(self, orphan: Callable[[list[sqlite3.Row]], None]) -> None:
        while self._head is not None:
            orphan(self._head[1])
            self._head = next(self._groups, None)


def parse_time(value: Any) -> dt.datetime | None:
    """A legacy timestamp ('YYYY-MM-DD HH:MM:SS' or ISO 8601, UTC unless it says otherwise) as aware UTC."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # Unix seconds, when they look like a date of this century
        if 946_684_800 <= value <= 4_102_444_800:
            return to_utc(dt.datetime.fromtimestamp(value, UTC))
        return None
    if not isinstance(value, str):
        return None
    try:
        return to_utc(parse_iso(value))
    except ValueError:
        return None


_LITERAL_NAMES = {"nan": math.nan, "NaN": math.nan, "inf": math.inf, "Infinity": math.inf}
_LITERAL_CALLS = re.compile(r"^(?:np\.|numpy\.)?(?:float(?:16|32|64)?|int(?:8|16|32|64)?|str_|bool_?)$")


class _Literals(ast.NodeTransformer):
    """Rewrite what a Python repr of a config may hold beyond literals (nan, inf, np.float64(0.1)) as constants."""

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in _LITERAL_NAMES:
            return ast.copy_location(ast.Constant(_LITERAL_NAMES[node.id]), node)
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        name = ast.unparse(node.func)
        if _LITERAL_CALLS.match(name) and len(node.args) == 1 and not node.keywords \
                and isinstance(node.args[0], ast.Constant):
            argument: Any = node.args[0].value
            try:
                value = float(argument) if "float" in name else argument
            except (TypeError, ValueError):
                return node
            return ast.copy_location(ast.Constant(value), node)
        return node


def _python_literal(text: str) -> Any:
    """A Python literal (a repr) evaluated safely with ast.literal_eval; None if it is not one."""
    try:
        tree = ast.parse(text, mode="eval")
        return ast.literal_eval(_Literals().visit(tree))
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def _derived_id(time: dt.datetime | None, *parts: Any) -> ObjectId:
    """An ObjectId that is the same on every run: the time (as ObjectIds carry one) and a hash of `parts`."""
    seconds = int(time.timestamp()) if time is not None else 0
    seconds = min(max(seconds, 0), 2**32 - 1)
    digest = hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).digest()
    return ObjectId(seconds.to_bytes(4, "big") + digest[:8])


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "t", "yes", "y")
    return isinstance(value, (int, float)) and not (isinstance(value, float) and math.isnan(value)) and value != 0


def _loss_rank(value: Any) -> tuple[int, float]:
    if isinstance(value, float) and math.isfinite(value):
        return 0, value
    return 1, 0.0


def _kind(number: float) -> str:
    if math.isnan(number):
        return "NaN"
    return "inf" if math.isinf(number) else "finite"


__all__ = ["MigrationReport", "migrate_legacy", "open_legacy", "parse_time", "same_file"]
