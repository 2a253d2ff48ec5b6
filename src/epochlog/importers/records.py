"""Imported runs and how they are written: idempotent by ids derived from the source, nothing lost silently."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from bson import ObjectId

from ..documents import normalize_document
from ..objective import Objective
from ..schema import EPOCHS, EXPERIMENTS, SERIES
from ..store.base import AppendSeries, Delete, Put, Upsert, Write, ordered_series

if TYPE_CHECKING:
    from ..tracker import Tracker

BUCKET_POINTS = 50_000  # points per series bucket: well inside MongoDB's 16 MB document limit
EPOCH_SERIES = "epoch"  # a series of this name maps each step to its epoch (Lightning and Keras log one)
_INTEGER = re.compile(r"[+-]?\d+")


@dataclass
class ImportedRun:
    """One run of another tool: `key` names it in its source for good (ids derive from it), `experiment`
    holds the experiment's fields, `series` each metric's (steps, values)."""

    key: str
    start_seconds: int
    experiment: dict[str, Any]
    series: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    steps_are_epochs: bool = False


@dataclass
class ImportReport:
    """What an import did, and what it could not map (each entry names the run and the item)."""

    source: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    epochs: int = 0
    points: int = 0
    unmapped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        runs = f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"
        return f"{self.source}: {runs}; {self.epochs} epochs and {self.points} series points written"


def derived_id(key: str, seconds: int) -> ObjectId:
    """A stable ObjectId for a source's run: its start time (so ids sort by it), then 8 bytes of a hash."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()[:8]
    return ObjectId(max(0, min(seconds, 2**32 - 1)).to_bytes(4, "big") + digest)


def parse_value(text: str) -> Any:
    """A parameter another tool stored as text, as the number or boolean it spells (else the text)."""
    stripped = text.strip()
    if _INTEGER.fullmatch(stripped):
        return int(stripped)
    if stripped in ("True", "true", "False", "false"):
        return stripped.lower() == "true"
    try:
        number = float(stripped)
    except ValueError:
        return text
    return number if math.isfinite(number) or stripped.lower() in ("nan", "inf", "-inf") else text


def nested(flat: Mapping[str, Any], run: str, report: ImportReport) -> dict[str, Any]:
    """`{"optimizer.lr": 1}` as `{"optimizer": {"lr": 1}}`; a key that cannot nest (it collides with a value,
    or starts with '$') is kept with '.' and '$' replaced by '_', and reported."""
    result: dict[str, Any] = {}
    for name, value in sorted(flat.items()):
        parts = name.split(".")
        node = result
        ok = all(part and not part.startswith("$") for part in parts)
        for part in parts[:-1] if ok else []:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                ok = False
                break
            node = child
        if ok and not isinstance(node.get(parts[-1]), dict):
            node[parts[-1]] = value
            continue
        safe = name.replace(".", "_").replace("$", "_") or "_"
        report.unmapped.append(f"{run}: key {name!r} stored as {safe!r}")
        result[safe] = value
    return result


def epochs_of(run: ImportedRun) -> dict[int, dict[str, float]]:
    """The run's epochs, from its series: through an `epoch` series (the epoch logged at each step), or with
    `steps_are_epochs` each step as the epoch; none otherwise."""
    by_step: dict[int, int] | None = None
    if EPOCH_SERIES in run.series:
        steps, values = run.series[EPOCH_SERIES]
        by_step = {int(step): int(value) for step, value in zip(steps.tolist(), values.tolist())
                   if math.isfinite(value) and float(value).is_integer()}
    elif not run.steps_are_epochs:
        return {}
    epochs: dict[int, dict[str, float]] = {}
    for name, (steps, values) in run.series.items():
        if name == EPOCH_SERIES:
            continue
        metric = name.replace(".", "_").replace("/", "_").lstrip("$") or "_"
        for step, value in zip(steps.tolist(), values.tolist()):
            epoch = by_step.get(int(step)) if by_step is not None else int(step)
            if epoch is not None and epoch >= 0:
                epochs.setdefault(epoch, {})[metric] = float(value)
    return dict(sorted(epochs.items()))


def load(tracker: Tracker, runs: Iterable[ImportedRun], report: ImportReport) -> ImportReport:
    """Write the runs: each experiment, its epochs and series, only what differs from what is stored. Fields
    the store has that the import does not set (notes, archived) are kept."""
    store = tracker.store
    for run in runs:
        eid = derived_id(run.key, run.start_seconds)
        epochs = epochs_of(run)
        experiment = dict(run.experiment)
        _best(experiment, epochs)
        stored = store.find_one(EXPERIMENTS, {"_id": eid})
        document = normalize_document({**(stored or {}), **experiment, "_id": eid})
        writes: list[Write] = []
        if stored != document:
            writes.append(Put(EXPERIMENTS, document))
        known = {d.get("epoch"): d.get("metrics") for d in store.find(EPOCHS, {"experiment_id": eid})}
        for epoch, metrics in epochs.items():
            if known.get(epoch) != metrics:
                writes.append(Upsert(EPOCHS, normalize_document({
                    "_id": derived_id(f"{run.key}/epoch/{epoch}", run.start_seconds), "experiment_id": eid,
                    "epoch": epoch, "metrics": metrics, "timestamp": document.get("end_time") or
                    document.get("start_time")})))
                report.epochs += 1
        writes += _series_writes(store, eid, run)
        report.points += sum(len(write.steps) for write in writes if isinstance(write, AppendSeries))
        if stored is None:
            report.created += 1
        elif writes:
            report.updated += 1
        else:
            report.unchanged += 1
        if writes:
            store.write(writes)
    return report


def _best(experiment: dict[str, Any], epochs: Mapping[int, Mapping[str, float]]) -> None:
    """`metrics.best_<objective>` and `best_epoch`, `last_epoch` from the epochs, as `log_epoch` keeps them."""
    if not epochs:
        return
    objective = Objective.stored(experiment.get("objective"))
    metrics = experiment.setdefault("metrics", {})
    metrics["last_epoch"] = max(epochs)
    best: tuple[float, int] | None = None
    for epoch, values in epochs.items():
        value = values.get(objective.metric)
        if value is not None and math.isfinite(value) and (best is None or objective.better(value, best[0])):
            best = (value, epoch)
    if best is not None:
        metrics[objective.best_key.removeprefix("metrics.")], metrics["best_epoch"] = best


def _series_writes(store: Any, eid: ObjectId, run: ImportedRun) -> list[Write]:
    """The run's series, rewritten whole when any of them differs from the stored one."""
    stored_names = set(store.series_names(eid))
    same = stored_names == set(run.series) and all(
        _same(store.read_series(eid, name), steps, values) for name, (steps, values) in run.series.items())
    if same:
        return []
    writes: list[Write] = [Delete(SERIES, {"experiment_id": eid})] if stored_names else []
    for name, (steps, values) in run.series.items():
        for start in range(0, len(steps), BUCKET_POINTS):
            bucket = derived_id(f"{run.key}/series/{name}/{start}/{len(steps)}", run.start_seconds)
            writes.append(AppendSeries(eid, name, steps[start:start + BUCKET_POINTS],
                                       values[start:start + BUCKET_POINTS], bucket))
    return writes


def _same(stored: Any, steps: np.ndarray, values: np.ndarray) -> bool:
    """Whether a stored series holds these points (as stored: in step order, a repeated step's last value)."""
    expected = ordered_series("", steps, values)
    return bool(np.array_equal(stored.steps, expected.steps) and
                np.array_equal(stored.values, expected.values, equal_nan=True))
