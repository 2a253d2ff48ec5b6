"""group_stats pushed into SQL on the embedded store gives what grouping the documents in Python gives, over the
values older clients wrote: keys of every type (1 and 1.0, True, None and missing, documents in other key
orders, dates, NaN), metrics that are not numbers, values whose sums lose the spread, with and without an index."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest
from bson import ObjectId
from hypothesis import event, given, settings
from hypothesis import strategies as st

from epochlog import Tracker
from epochlog.documents import normalize_document
from epochlog.groups import Group, canonical, group_runs, projection
from epochlog.store import Put
from epochlog.store.sqlite import SQLiteStore

from tests.fuzzing import examples

DAY = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
keys = st.one_of(st.sampled_from(["a", "b", 1, 1.0, 2, True, False, None, DAY, "missing", math.nan]),
                 st.sampled_from([{"x": 1, "y": 2}, {"y": 2, "x": 1}, {"x": 1}]))
offset = st.sampled_from([0.0, 0.0, 1e9])  # far from zero, close together: the sums lose the spread
metrics = st.one_of(st.floats(-1e3, 1e3, allow_nan=False), st.integers(-5, 5), st.sampled_from([0.25, 0.25, 0.5]),
                    st.sampled_from([math.nan, math.inf, -math.inf, "0.5", True, None, "missing"]))
runs = st.lists(st.tuples(keys, keys, metrics, st.sampled_from(["completed", "completed", "failed"]),
                          st.sampled_from([None, None, True, False])), min_size=1, max_size=30)


def _store(rows: list[tuple[Any, ...]], shift: float) -> Tracker:
    tracker = Tracker(store=SQLiteStore(":memory:"))
    writes = []
    for index, (first, second, value, status, archived) in enumerate(rows):
        config = {name: key for name, key in (("model", first), ("lr", second)) if key != "missing"}
        document: dict[str, Any] = {"_id": ObjectId(), "experiment_name": f"run{index}", "challenge": 1,
                                    "status": status, "config": config, "metrics": {}}
        if value != "missing":
            document["metrics"]["loss"] = value + shift if type(value) in (int, float) and math.isfinite(value) \
                else value
        if archived is not None:
            document["archived"] = archived
        writes.append(Put("experiments", normalize_document(document)))
    tracker.store.write(writes)
    return tracker


@settings(max_examples=examples(200), deadline=None)
@given(runs, st.sampled_from(["min", "max"]), offset, st.booleans(), st.sampled_from([["config.model"],
                                                                                       ["config.model", "config.lr"]]))
def test_sql_groups_are_the_python_groups(rows: list[tuple[Any, ...]], mode: str, shift: float, indexed: bool,
                                          by: list[str]) -> None:
    tracker = _store(rows, shift)
    if indexed:
        tracker.create_index("status", *by, "archived", "metrics.loss")
    chosen = {"$and": [{"archived": {"$ne": True}}, {"status": "completed"}]}
    tallied = tracker.store.group_tallies("experiments", chosen, by, "metrics.loss", mode)
    ours = tracker.group_stats(by, "metrics.loss", mode)
    reference = group_runs(tracker.store.find("experiments", chosen, projection=projection(by, "metrics.loss")),
                           by, "metrics.loss", mode)
    event("pushed into SQL" if tallied is not None else "grouped in Python (a NaN key)")
    event("with an index" if indexed else "without an index")
    if tallied is not None:
        event("values read again (imprecise sums, document keys)" if any(t.values for t in tallied[0])
              else "sums precise")
        event("tallies merged (documents in other key orders)" if len(tallied[0]) > len(ours) else "no merge")
    assert {canonical(g.key) for g in ours} == {canonical(g.key) for g in reference}
    theirs = {canonical(g.key): g for g in reference}
    for group in ours:
        _same(group, theirs[canonical(group.key)])
    means = [g.summary.mean for g in ours if g.summary.mean is not None]
    assert means == sorted(means, reverse=mode == "max")
    tracker.close()


def _same(ours: Group, theirs: Group) -> None:
    assert (ours.summary.n, ours.excluded) == (theirs.summary.n, theirs.excluded)
    assert sorted(ours.experiment_ids) == sorted(theirs.experiment_ids)
    assert (ours.summary.min, ours.summary.max, ours.best_value) == \
        (theirs.summary.min, theirs.summary.max, theirs.best_value)
    for name in ("mean", "sd", "sem"):
        mine, reference = getattr(ours.summary, name), getattr(theirs.summary, name)
        assert (mine is None) == (reference is None)
        if reference is not None:
            assert mine == pytest.approx(reference, rel=1e-6, abs=1e-9 * max(1.0, abs(ours.summary.mean or 0)))
    if theirs.best_id is not None:  # ties: any of the tied runs
        tied = {d for d in ours.experiment_ids}
        assert ours.best_id in tied and ours.best_name is not None
    else:
        assert ours.best_id is None


def test_an_answer_asked_again_is_reused_until_any_connection_writes(tmp_path: Any) -> None:
    path = tmp_path / "runs.db"
    tracker, other = Tracker(path), Tracker(path)
    ids = [tracker.create_experiment(f"run{i}", 1, config={"model": "eegnex" if i % 2 else "shallow"})
           for i in range(4)]
    for index, experiment_id in enumerate(ids):
        tracker.update_experiment_status(experiment_id, "completed", metrics={"loss": float(index)})
    tracker.create_index("status", "config.model", "archived", "metrics.loss")
    scans: list[str] = []
    tracker.store._db.set_trace_callback(lambda sql: scans.append(sql) if "GROUP BY" in sql else None)

    def summary() -> dict[str, tuple[int, float | None]]:
        return {group.key["config.model"]: (group.summary.n, group.summary.min)
                for group in tracker.group_stats(["config.model"], "metrics.loss")}

    assert summary() == {"shallow": (2, 0.0), "eegnex": (2, 1.0)} and len(scans) == 2
    tracker.group_stats(["config.model"], "metrics.loss")[0].key["config.model"] = "changed by the caller"
    assert summary() == {"shallow": (2, 0.0), "eegnex": (2, 1.0)} and len(scans) == 2  # no scan: nothing changed
    tracker.update_experiment_status(ids[1], "completed", metrics={"loss": -1.0})  # this tracker writes
    assert summary() == {"eegnex": (2, -1.0), "shallow": (2, 0.0)} and len(scans) == 4
    added = other.create_experiment("added elsewhere", 1, config={"model": "shallow"})  # another connection
    other.update_experiment_status(added, "completed", metrics={"loss": -2.0})
    assert summary() == {"shallow": (3, -2.0), "eegnex": (2, -1.0)} and len(scans) == 6
    tracker.close()
    other.close()
