"""Groups of runs, for results over seeds, folds or subjects: per group n, mean, sd, sem, 95% CI, min, max, best.

Runs fall in one group when they agree on every `by` path (a run without a path has it as None, as MongoDB's
`$group` does), or, with `ConfigExcept("seed", "fold")`, on their whole `config` but those keys: the same
configuration over seeds. Values compare as MongoDB's equality would, except that documents compare without
regard to key order and 1 equals 1.0; True is not 1. A run whose metric is missing, not a number, NaN or ±inf is
counted in its group's `excluded` and left out of the statistics.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bson import ObjectId

from .dotted import check_field, get_path
from .errors import InvalidArgument, StoreError
from .finite_numbers import is_finite_number
from .summary_stats import Summary, summarize, summary_from_sums


@dataclass(frozen=True)
class ConfigExcept:
    """Group by the whole `config` except `keys` (dotted paths inside config allowed): `ConfigExcept("seed")`."""

    keys: tuple[str, ...]

    def __init__(self, *keys: str) -> None:
        for key in keys:
            if not isinstance(key, str) or not key:
                raise InvalidArgument(f"ConfigExcept takes config keys (non-empty strings), got {key!r}")
        object.__setattr__(self, "keys", tuple(keys))

    def key_of(self, document: Mapping[str, Any]) -> dict[str, Any]:
        config = document.get("config")
        return {"config": _without(config, [key.split(".") for key in self.keys])}


Grouping = Sequence[str] | ConfigExcept


class Members:
    """The runs of each group of one result: given, or read once by `load` (key -> ids) when first asked for."""

    def __init__(self, known: dict[Any, list[ObjectId]] | None = None,
                 load: Callable[[], dict[Any, list[ObjectId]]] | None = None) -> None:
        self._known, self._load = known, load

    def ids(self, key: dict[str, Any]) -> list[ObjectId]:
        if self._known is None:
            assert self._load is not None
            try:
                self._known = self._load()
            except StoreError as error:
                raise StoreError(f"{error} (the runs of groups a store tallied itself are read when first asked "
                                 "for: ask before closing the tracker)") from error
        return list(self._known.get(canonical(key), []))


@dataclass(frozen=True)
class Tally:
    """One group as a store computes it itself: how many runs, and of their finite values the count, sum, sum
    of squares, extremes and best run; `values`, all of them, when the sums are too imprecise for the spread
    (`summary_stats.sums_precise`) or the group has none."""

    key: dict[str, Any]
    runs: int
    n: int
    total: float
    squares: float
    low: float | None
    high: float | None
    best_id: ObjectId | None
    best_name: Any
    best_value: float | None
    values: list[float] | None = None


@dataclass(frozen=True)
class Group:
    """One group: the values its runs share (`key`), the metric's summary over them and its best run."""

    key: dict[str, Any]
    summary: Summary
    excluded: int
    best_id: ObjectId | None
    best_name: Any
    best_value: float | None
    members: Members = field(repr=False, compare=False)

    @property
    def experiment_ids(self) -> list[ObjectId]:
        """The ids of the group's runs (read when first asked for, where a store grouped them itself)."""
        return self.members.ids(self.key)

    def to_dict(self) -> dict[str, Any]:
        """A plain document for JSON and CSV: key, n, mean, sd, sem, ci95_low/high, min, max, best, excluded."""
        summary = self.summary
        low, high = summary.ci95 if summary.ci95 else (None, None)
        return {"group": self.key, "n": summary.n, "mean": summary.mean, "sd": summary.sd, "sem": summary.sem,
                "ci95_low": low, "ci95_high": high, "min": summary.min, "max": summary.max,
                "best": {"_id": self.best_id, "experiment_name": self.best_name, "value": self.best_value},
                "excluded": self.excluded, "experiment_ids": self.experiment_ids}


@dataclass(frozen=True)
class GroupCurve:
    """A group's learning curve: per epoch, how many runs logged a finite value, their mean, sd, min, max."""

    metric: str
    epochs: list[int]
    n: list[int]
    mean: list[float]
    sd: list[float | None]
    min: list[float]
    max: list[float]

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "epochs": self.epochs, "n": self.n, "mean": self.mean, "sd": self.sd,
                "min": self.min, "max": self.max}


def parse_grouping(by: Sequence[str], config_except: str | None) -> Grouping:
    """A grouping from text: field paths (checked: `dotted.check_field`), or comma-separated config keys to leave
    out (`"seed,fold"`)."""
    if by and config_except is not None:
        raise InvalidArgument("group by fields or by the config except some keys, not both")
    if config_except is not None:
        keys = [key.strip() for key in config_except.split(",") if key.strip()]
        if not keys:
            raise InvalidArgument("name at least one config key to leave out, e.g. seed")
        return ConfigExcept(*keys)
    if not by:
        raise InvalidArgument("say how to group: fields (e.g. config.model) or config keys to leave out (seed)")
    return [check_field(path, "by") for path in by]


def group_curve(epochs: Iterable[Mapping[str, Any]], metric: str) -> GroupCurve:
    """The mean curve of `metric` (an epoch metric name) over the runs whose epoch documents these are."""
    values: dict[int, list[float]] = {}
    for document in epochs:
        epoch, metrics = document.get("epoch"), document.get("metrics")
        value = metrics.get(metric) if isinstance(metrics, Mapping) else None
        if type(epoch) is int and is_finite_number(value):
            values.setdefault(epoch, []).append(float(value))
    order = sorted(values)
    summaries = [summarize(values[epoch]) for epoch in order]
    return GroupCurve(metric, order, [s.n for s in summaries], [s.mean or 0.0 for s in summaries],
                      [s.sd for s in summaries], [s.min or 0.0 for s in summaries], [s.max or 0.0 for s in summaries])


def projection(by: Grouping, metric: str) -> dict[str, int]:
    """The fields grouping needs from each experiment."""
    paths = ["config"] if isinstance(by, ConfigExcept) else list(by)
    return dict.fromkeys(["experiment_name", metric, *paths], 1)


def check_grouping(by: Any, metric: Any, mode: Any) -> Grouping:
    """`by` as given, or InvalidArgument naming what is wrong with `by`, `metric` or `mode`."""
    if mode not in ("min", "max"):
        raise InvalidArgument(f"mode must be 'min' or 'max', got {mode!r}")
    if not isinstance(metric, str) or not metric:
        raise InvalidArgument(f"metric must be a dotted field path such as 'metrics.best_val_loss', got {metric!r}")
    if isinstance(by, ConfigExcept):
        return by
    if isinstance(by, str) or not isinstance(by, Sequence) or not by:
        raise InvalidArgument(f"by must be a list of field paths or ConfigExcept(...), got {by!r}")
    for path in by:
        if not isinstance(path, str) or not path or path.startswith("$"):
            raise InvalidArgument(f"by: {path!r} is not a field path")
    return list(by)


def group_runs(documents: Iterable[Mapping[str, Any]], by: Grouping, metric: str, mode: str) -> list[Group]:
    """The groups of `documents`, best mean first (groups without a value last, then in order of appearance)."""
    members: dict[Any, tuple[dict[str, Any], list[Mapping[str, Any]]]] = {}
    for document in documents:
        key = by.key_of(document) if isinstance(by, ConfigExcept) else {path: get_path(document, path) for path in by}
        members.setdefault(canonical(key), (key, []))[1].append(document)
    ids = Members({name: [run["_id"] for run in runs if isinstance(run.get("_id"), ObjectId)]
                   for name, (_, runs) in members.items()})
    return _ranked([_group(key, runs, metric, mode, ids) for key, runs in members.values()], mode)


def groups_of_tallies(tallies: Iterable[Tally], mode: str, members: Members) -> list[Group]:
    """The groups of a store's own tallies (in order of appearance), best mean first as `group_runs` ranks them;
    tallies whose keys are equal as `group_runs` compares them (a document's key order) are merged."""
    merged: dict[Any, Tally] = {}
    for index, tally in enumerate(tallies):  # stores tell apart all keys but documents of other key orders
        name = canonical(tally.key) if any(isinstance(value, Mapping) for value in tally.key.values()) else index
        merged[name] = _merge(merged[name], tally, mode) if name in merged else tally
    groups = []
    for tally in merged.values():
        summary = summarize(tally.values) if tally.values is not None else \
            summary_from_sums(tally.n, tally.total, tally.squares, tally.low or 0.0, tally.high or 0.0)
        groups.append(Group(dict(tally.key), summary, tally.runs - tally.n, tally.best_id, tally.best_name,
                            tally.best_value, members))
    return _ranked(groups, mode)


def _merge(first: Tally, second: Tally, mode: str) -> Tally:
    values = first.values + second.values if first.values is not None and second.values is not None else None
    better = second if first.best_value is None or (second.best_value is not None and (
        second.best_value < first.best_value if mode == "min" else second.best_value > first.best_value)) else first
    return Tally(first.key, first.runs + second.runs, first.n + second.n, first.total + second.total,
                 first.squares + second.squares, _extreme(min, first.low, second.low),
                 _extreme(max, first.high, second.high), better.best_id, better.best_name, better.best_value, values)


def _extreme(pick: Callable[[float, float], float], first: float | None, second: float | None) -> float | None:
    return second if first is None else first if second is None else pick(first, second)


def _ranked(groups: list[Group], mode: str) -> list[Group]:
    sign = 1 if mode == "min" else -1
    return sorted(groups, key=lambda group: (group.summary.mean is None, sign * (group.summary.mean or 0.0)))


def _group(key: dict[str, Any], runs: list[Mapping[str, Any]], metric: str, mode: str, members: Members) -> Group:
    values: list[float] = []
    best: tuple[float, Mapping[str, Any]] | None = None
    for run in runs:
        value = get_path(run, metric)
        if not is_finite_number(value):
            continue
        values.append(float(value))
        if best is None or (value < best[0] if mode == "min" else value > best[0]):
            best = (float(value), run)
    best_run = best[1] if best else {}
    return Group(key, summarize(values), len(runs) - len(values), best_run.get("_id"), best_run.get("experiment_name"),
                 best[0] if best else None, members)


def _without(config: Any, paths: list[list[str]]) -> Any:
    if not isinstance(config, Mapping):
        return config
    kept: dict[str, Any] = {}
    for name, value in config.items():
        inner = [path[1:] for path in paths if path[0] == name]
        if any(not rest for rest in inner):
            continue
        kept[name] = _without(value, inner) if inner else value
    return kept


def canonical(value: Any) -> Any:
    """A hashable stand-in for a group key: equal for values `$group` would put together (see module doc)."""
    if isinstance(value, bool) or value is None:
        return ("bool", value) if isinstance(value, bool) else ("null",)
    if isinstance(value, (int, float)):
        if isinstance(value, float) and math.isnan(value):
            return ("nan",)
        return ("number", value)  # 1 == 1.0 and hash alike
    if isinstance(value, Mapping):
        return ("document", tuple(sorted((str(k), canonical(v)) for k, v in value.items())))
    if isinstance(value, (list, tuple)):
        return ("array", tuple(canonical(item) for item in value))
    try:
        hash(value)
    except TypeError:
        return ("other", repr(value))
    return (type(value).__name__, value)
