"""Per-subject results grouped by a subject attribute: "validation loss by age band".

Experiments may store per-subject results as `subject_metrics: {"sub-01": {"val_loss": 0.4}, ...}`.
Each subject's value is first averaged over the chosen experiments (so every subject weighs the same),
then subjects are grouped by an attribute: numeric attributes in bands of a round width, anything else
by value (each element of a list attribute, such as `releases`, counts).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..documents import to_object_id
from ..errors import InvalidArgument
from ..finite_numbers import is_finite_number
from ..schema import EXPERIMENTS, SUBJECTS
from ..tracker import Tracker
from ..types import Document

MAX_EXPERIMENTS = 500  # the most recent experiments with per-subject results that a breakdown reads
_HIDDEN_ATTRIBUTES = {"_id", "subject_id"}


def subject_attributes(subjects: Sequence[Mapping[str, Any]]) -> list[str]:
    """Attributes a breakdown can group by: scalar (or list-of-scalar) fields of the subjects."""
    keys: dict[str, None] = {}
    for subject in subjects:
        for key, value in subject.items():
            if key not in _HIDDEN_ATTRIBUTES and _groupable(value):
                keys.setdefault(key, None)
    return list(keys)


def _groupable(value: Any) -> bool:
    if isinstance(value, list):
        return bool(value) and all(isinstance(item, (str, int, float, bool)) for item in value)
    return isinstance(value, (str, int, float, bool))


def breakdown(tracker: Tracker, metric: str | None, by: str | None, *, experiment_ids: Sequence[str] = (),
              challenge: int | None = None, bands: int = 6) -> Document:
    """Stats of `metric` per group of subjects sharing a value (or band) of attribute `by`."""
    if not 1 <= bands <= 50:
        raise InvalidArgument("bands must be between 1 and 50")
    conditions: list[Document] = [{"subject_metrics": {"$exists": True}}]
    if experiment_ids:
        conditions.append({"_id": {"$in": [to_object_id(value, "experiment") for value in experiment_ids]}})
    if challenge is not None:
        conditions.append({"challenge": challenge})
    experiments = tracker.find(EXPERIMENTS, {"$and": conditions},
                               projection={"subject_metrics": 1, "experiment_name": 1},
                               sort=[("start_time", -1)], limit=MAX_EXPERIMENTS)
    metrics = sorted({name for experiment in experiments for per in _per_subject(experiment).values()
                      for name in per})
    subjects = tracker.find(SUBJECTS, {}, sort=[("subject_id", 1)])
    attributes = subject_attributes(subjects)
    metric = metric or _default_metric(metrics)
    by = by or _default_attribute(attributes)
    result: Document = {"metric": metric, "by": by, "metrics": metrics, "attributes": attributes,
                        "experiments": [{"id": str(e["_id"]), "experiment_name": e.get("experiment_name")}
                                        for e in experiments],
                        "kind": None, "groups": [], "subjects_with_values": 0, "subjects_without_attribute": 0}
    if metric is None or by is None:
        return result
    values: dict[str, list[float]] = defaultdict(list)
    for experiment in experiments:
        for subject_id, per in _per_subject(experiment).items():
            value = per.get(metric)
            if is_finite_number(value):
                values[subject_id].append(float(value))
    means = {subject_id: float(np.mean(found)) for subject_id, found in values.items()}
    attribute = {s["subject_id"]: s.get(by) for s in subjects if isinstance(s.get("subject_id"), str)}
    keyed = [(attribute.get(subject_id), mean) for subject_id, mean in means.items()]
    present = [(key, mean) for key, mean in keyed if key is not None and key != []]
    result["subjects_with_values"] = len(means)
    result["subjects_without_attribute"] = len(keyed) - len(present)
    numeric = bool(present) and all(is_finite_number(key) for key, _ in present)
    result["kind"] = "numeric" if numeric else "categorical"
    result["groups"] = _numeric_groups(present, bands) if numeric else _categorical_groups(present)
    return result


def _per_subject(experiment: Mapping[str, Any]) -> Mapping[str, Mapping[str, Any]]:
    per = experiment.get("subject_metrics")
    if not isinstance(per, Mapping):
        return {}
    return {key: value for key, value in per.items() if isinstance(value, Mapping)}


def _default_metric(metrics: Sequence[str]) -> str | None:
    for pattern in ("val_loss", "loss", "err"):
        for name in metrics:
            if pattern in name:
                return name
    return metrics[0] if metrics else None


def _default_attribute(attributes: Sequence[str]) -> str | None:
    for preferred in ("age", "sex", "release"):
        if preferred in attributes:
            return preferred
    return attributes[0] if attributes else None


def _stats(label: str, values: list[float], **extra: Any) -> Document:
    array = np.asarray(values, dtype=np.float64)
    return {"label": label, **extra, "n_subjects": len(array), "mean": float(array.mean()),
            "std": float(array.std(ddof=1)) if len(array) > 1 else 0.0, "median": float(np.median(array)),
            "min": float(array.min()), "max": float(array.max())}


def nice_width(span: float, bands: int) -> float:
    """A round band width (1, 2, 2.5 or 5 times a power of ten) giving about `bands` bands over `span`."""
    if span <= 0:
        return 1.0
    raw = span / bands
    power = 10 ** math.floor(math.log10(raw))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= raw:
            return step * power
    return 10 * power


def _numeric_groups(present: list[tuple[Any, float]], bands: int) -> list[Document]:
    keys = np.asarray([key for key, _ in present], dtype=np.float64)
    means = np.asarray([mean for _, mean in present], dtype=np.float64)
    width = nice_width(float(keys.max() - keys.min()), bands)
    index = np.floor(keys / width).astype(np.int64)
    groups = []
    for band in np.unique(index):
        lo, hi = float(band * width), float((band + 1) * width)
        groups.append(_stats(f"{_num(lo)}–{_num(hi)}", means[index == band].tolist(), lo=lo, hi=hi))
    return groups


def _categorical_groups(present: list[tuple[Any, float]]) -> list[Document]:
    grouped: dict[str, list[float]] = defaultdict(list)
    for key, mean in present:
        for item in key if isinstance(key, list) else [key]:
            grouped[str(item)].append(mean)
    return [_stats(label, grouped[label]) for label in sorted(grouped)]


def _num(value: float) -> str:
    return f"{value:g}"
