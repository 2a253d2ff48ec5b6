"""`$group` pushed into SQL on the embedded store gives what the pipeline's Python stage gives, over the values
older clients wrote (keys of every type, 1 and 1.0, missing and null, NaN, infinities, strings among numbers);
where SQL cannot answer exactly, the stage is left to Python, and the answer is the same."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest
from bson import ObjectId
from hypothesis import event, given, settings
from hypothesis import strategies as st

from epochlog.documents import normalize_document
from epochlog.query.aggregate.stages import run_stages
from epochlog.store import Put
from epochlog.store.sqlite import SQLiteStore
from tests.fuzzing import examples

DAY = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
OID = ObjectId("650000000000000000000001")
keys = st.sampled_from(["a", "b", 1, 1.0, 2, 2.0, True, None, DAY, OID, "missing", math.nan, {"x": 1}])
plain_keys = st.sampled_from(["a", "b", 1, 3, True, None, DAY, OID, "missing"])
values = st.one_of(st.integers(-5, 5), st.floats(-1e3, 1e3, allow_nan=False), st.sampled_from([2**62, 2**62]),
                   st.sampled_from([math.nan, math.inf, -math.inf, "x", True, None, "missing"]))
plain_values = st.one_of(st.integers(-5, 5), st.floats(-1e3, 1e3, allow_nan=False), st.sampled_from([None, "missing"]))
rows = st.one_of(st.lists(st.tuples(keys, keys, values), max_size=25),
                 st.lists(st.tuples(plain_keys, plain_keys, plain_values), max_size=25))
group_ids = st.sampled_from([None, "all", "$k", "$k", "$m.k2", {"k": "$k"}, {"k": "$k", "k2": "$m.k2"}])
accumulators = st.dictionaries(st.sampled_from(["s", "a", "lo", "hi", "n", "c"]), st.sampled_from([
    {"$sum": "$v"}, {"$avg": "$v"}, {"$min": "$v"}, {"$max": "$v"}, {"$sum": 1}, {"$sum": 3}, {"$count": {}},
    {"$sum": "$m.k2"}]), max_size=4)


def _store(data: list[tuple[Any, Any, Any]]) -> SQLiteStore:
    store = SQLiteStore(":memory:")
    documents = []
    for k, k2, v in data:
        document: dict[str, Any] = {"_id": ObjectId(), "m": {}}
        if k != "missing":
            document["k"] = k
        if k2 != "missing":
            document["m"]["k2"] = k2
        if v != "missing":
            document["v"] = v
        documents.append(Put("experiments", normalize_document(document)))
    store.write(documents)
    return store


def _same(ours: Any, theirs: Any) -> bool:
    if isinstance(theirs, float) and isinstance(ours, float):
        return (math.isnan(ours) and math.isnan(theirs)) or ours == pytest.approx(theirs, rel=1e-9, abs=1e-9)
    if isinstance(theirs, dict) and isinstance(ours, dict):
        return list(ours) == list(theirs) and all(_same(ours[key], theirs[key]) for key in theirs)
    return type(ours) is type(theirs) and ours == theirs


@settings(max_examples=examples(300), deadline=None)
@given(rows, group_ids, accumulators, st.booleans())
def test_sql_groups_are_the_python_groups(data: list[tuple[Any, Any, Any]], group_id: Any,
                                          outputs: dict[str, Any], matched: bool) -> None:
    store = _store(data)
    spec = {"_id": group_id, **outputs}
    condition = {"v": {"$ne": "x"}} if matched else None
    pushed = store.group_stage("experiments", condition, spec)
    python = run_stages([("$group", spec)], store.find("experiments", condition), store.find)
    event("pushed into SQL" if pushed is not None else "left to Python")
    if pushed is not None:
        event(f"{len(pushed)} groups" if len(pushed) < 3 else "3 groups or more")
        assert len(pushed) == len(python) and all(_same(a, b) for a, b in zip(pushed, python)), (pushed, python)
    pipeline = ([{"$match": condition}] if condition else []) + [{"$group": spec}]
    answered = store.aggregate("experiments", pipeline)
    assert len(answered) == len(python) and all(_same(a, b) for a, b in zip(answered, python))
    store.close()


def test_a_plain_group_is_answered_by_one_sql_statement_and_a_mixed_one_by_python() -> None:
    store = _store([("eegnex", None, 0.5), ("eegnex", None, 0.25), ("shallow", None, 2), ("shallow", None, 4)])
    statements: list[str] = []
    store._db.set_trace_callback(statements.append)
    spec = {"_id": "$k", "best": {"$min": "$v"}, "mean": {"$avg": "$v"}, "runs": {"$sum": 1}}
    assert store.aggregate("experiments", [{"$group": spec}]) == [
        {"_id": "eegnex", "best": 0.25, "mean": 0.375, "runs": 2},
        {"_id": "shallow", "best": 2, "mean": 3.0, "runs": 2}]
    assert sum("GROUP BY" in sql for sql in statements) == 1 and not any(sql.startswith("SELECT id, doc")
                                                                         for sql in statements)
    store.write([Put("experiments", {"_id": ObjectId(), "k": "shallow", "v": "not a number"})])
    statements.clear()
    assert store.aggregate("experiments", [{"$group": spec}])[1] == {"_id": "shallow", "best": 2, "mean": 3.0,
                                                                     "runs": 3}  # $min: numbers before strings
    assert any(sql.startswith("SELECT id, doc") for sql in statements)  # read back, grouped in Python
    store.close()
