"""`aggregate` on every backend (sqlite, mongo, mongo-journal): the same pipelines, the same answers.

The MongoDB backends run against FerretDB, which holds epochlog's fallback form (store/fallback_form.py), so
there the pipeline runs in Python over the server's find, as on the embedded store; what FerretDB's own
aggregation refuses is asserted in `test_ferretdb_server_refusals_are_query_errors_naming_the_stage`.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from bson import ObjectId

from epochlog import Tracker
from epochlog.errors import QueryError
from epochlog.store import Store
from epochlog.store.base import Put

C = "experiments"
RUNS: list[dict[str, Any]] = [
    {"name": "r1", "challenge": 1, "status": "completed", "config": {"lr": 0.1, "seed": 1}, "loss": 0.5,
     "tags": ["eeg", "cnn"]},
    {"name": "r2", "challenge": 1, "status": "completed", "config": {"lr": 0.1, "seed": 2}, "loss": 0.3,
     "tags": ["eeg"]},
    {"name": "r3", "challenge": 1, "status": "failed", "config": {"lr": 0.01, "seed": 1}, "loss": math.nan,
     "tags": []},
    {"name": "r4", "challenge": 2, "status": "completed", "config": {"lr": 0.01, "seed": 1}, "loss": 0.9},
    {"name": "r5", "challenge": 2, "status": "running", "config": {"lr": 0.1, "seed": 3}, "loss": math.inf,
     "tags": None},
]


@pytest.fixture
def loaded(store: Store) -> Store:
    store.write([Put(C, {"_id": ObjectId(), **run}) for run in RUNS])
    return store


def _names(documents: list[dict[str, Any]]) -> list[str]:
    return [document["name"] for document in documents]


def test_match_sort_limit_are_find(loaded: Store) -> None:
    found = loaded.aggregate(C, [{"$match": {"status": "completed"}}, {"$sort": {"loss": -1}}, {"$limit": 2},
                                 {"$project": {"_id": 0, "name": 1}}])
    assert found == [{"name": "r4"}, {"name": "r1"}]


def test_group_over_seeds_with_accumulators(loaded: Store) -> None:
    found = loaded.aggregate(C, [
        {"$match": {"status": "completed"}},
        {"$group": {"_id": "$config.lr", "n": {"$count": {}}, "mean": {"$avg": "$loss"}, "best": {"$min": "$loss"},
                    "worst": {"$max": "$loss"}, "sd": {"$stdDevSamp": "$loss"}, "seeds": {"$push": "$config.seed"},
                    "names": {"$addToSet": "$name"}, "median": {"$median": {"input": "$loss", "method": "approximate"}},
                    "p": {"$percentile": {"input": "$loss", "p": [0.5, 1.0], "method": "approximate"}}}},
        {"$sort": {"_id": 1}}])
    assert [group["_id"] for group in found] == [0.01, 0.1]
    low, high = found
    assert (low["n"], low["mean"], low["best"], low["worst"], low["sd"], low["seeds"]) == (1, 0.9, 0.9, 0.9, None, [1])
    assert (high["n"], high["best"], high["worst"], high["seeds"]) == (2, 0.3, 0.5, [1, 2])
    assert high["mean"] == pytest.approx(0.4) and high["sd"] == pytest.approx(math.sqrt(0.02))
    assert sorted(high["names"]) == ["r1", "r2"]
    assert (high["median"], high["p"]) == (0.3, [0.3, 0.5])


def test_nan_and_infinity_are_values_on_every_backend(loaded: Store) -> None:
    found = loaded.aggregate(C, [{"$group": {"_id": None, "max": {"$max": "$loss"}, "sum": {"$sum": "$loss"}}}])
    assert found[0]["max"] == math.inf and math.isnan(found[0]["sum"])  # NaN is below every number, and sums to NaN
    ordered = loaded.aggregate(C, [{"$sort": {"loss": 1}}, {"$project": {"_id": 0, "name": 1}}])
    assert _names(ordered) == ["r3", "r2", "r1", "r4", "r5"]


def test_unwind_options(loaded: Store) -> None:
    plain = loaded.aggregate(C, [{"$unwind": "$tags"}, {"$project": {"_id": 0, "name": 1, "tags": 1}}])
    assert plain == [{"name": "r1", "tags": "eeg"}, {"name": "r1", "tags": "cnn"}, {"name": "r2", "tags": "eeg"}]
    kept = loaded.aggregate(C, [{"$unwind": {"path": "$tags", "includeArrayIndex": "i",
                                             "preserveNullAndEmptyArrays": True}},
                                {"$project": {"_id": 0, "name": 1, "tags": 1, "i": 1}}])
    assert kept == [{"name": "r1", "tags": "eeg", "i": 0}, {"name": "r1", "tags": "cnn", "i": 1},
                    {"name": "r2", "tags": "eeg", "i": 0}, {"name": "r3", "i": None}, {"name": "r4", "i": None},
                    {"name": "r5", "tags": None, "i": None}]


def test_count_sort_by_count_bucket_and_facet(loaded: Store) -> None:
    assert loaded.aggregate(C, [{"$match": {"challenge": 1}}, {"$count": "n"}]) == [{"n": 3}]
    assert loaded.aggregate(C, [{"$match": {"challenge": 9}}, {"$count": "n"}]) == []
    by_status = loaded.aggregate(C, [{"$sortByCount": "$status"}])
    assert by_status[0] == {"_id": "completed", "count": 3}
    assert sorted(by_status[1:], key=lambda group: group["_id"]) == [{"_id": "failed", "count": 1},
                                                                      {"_id": "running", "count": 1}]
    facets = loaded.aggregate(C, [{"$facet": {
        "buckets": [{"$bucket": {"groupBy": "$loss", "boundaries": [0, 0.4, 1], "default": "other",
                                 "output": {"n": {"$sum": 1}, "names": {"$push": "$name"}}}}],
        "total": [{"$count": "n"}]}}])
    assert facets == [{"buckets": [{"_id": 0, "n": 1, "names": ["r2"]}, {"_id": 0.4, "n": 2, "names": ["r1", "r4"]},
                                   {"_id": "other", "n": 2, "names": ["r3", "r5"]}],
                       "total": [{"n": 5}]}]


def test_project_add_fields_unset_and_expressions(loaded: Store) -> None:
    found = loaded.aggregate(C, [
        {"$match": {"name": "r1"}},
        {"$addFields": {"config.lr10": {"$multiply": ["$config.lr", 10]}, "label": {"$concat": ["$name", "-", "x"]}}},
        {"$set": {"kind": {"$cond": {"if": {"$gte": ["$loss", 0.4]}, "then": "bad", "else": "good"}}}},
        {"$unset": ["tags", "status"]},
        {"$project": {"_id": 0, "label": 1, "kind": 1, "config": 1, "ntags": {"$size": {"$ifNull": ["$tags", []]}},
                      "upper": {"$toUpper": "$name"}, "rounded": {"$round": [{"$divide": ["$loss", 3]}, 2]}}}])
    assert found == [{"config": {"lr": 0.1, "seed": 1, "lr10": 1.0}, "label": "r1-x", "kind": "bad", "ntags": 0,
                      "upper": "R1", "rounded": 0.17}]


def test_expr_in_match(loaded: Store) -> None:
    found = loaded.aggregate(C, [{"$match": {"status": "completed", "$expr": {"$lte": ["$loss", {"$multiply":
                                                                                             ["$config.lr", 5]}]}}},
                                 {"$project": {"_id": 0, "name": 1}}])
    assert _names(found) == ["r1", "r2"]


def test_lookup_between_collections(tracker: Tracker) -> None:
    first = tracker.create_experiment("a", 1)
    second = tracker.create_experiment("b", 1)
    for epoch in range(3):
        tracker.log_epoch(first, epoch, {"val_loss": 1.0 / (epoch + 1)})
    tracker.log_epoch(second, 0, {"val_loss": 2.0})
    tracker.flush()
    found = tracker.aggregate("experiments", [
        {"$sort": {"experiment_name": 1}},
        {"$lookup": {"from": "epochs", "localField": "_id", "foreignField": "experiment_id", "as": "epochs"}},
        {"$project": {"_id": 0, "experiment_name": 1, "n": {"$size": "$epochs"},
                      "best": {"$min": "$epochs.metrics.val_loss"}}}])
    assert found == [{"experiment_name": "a", "n": 3, "best": pytest.approx(1 / 3)},
                     {"experiment_name": "b", "n": 1, "best": 2.0}]


@pytest.mark.parametrize("pipeline, culprit", [
    ([{"$match": {"$where": "this.a > 1"}}], "$where"),
    ([{"$addFields": {"x": {"$function": {"body": "return 1", "args": [], "lang": "js"}}}}], "$function"),
    ([{"$group": {"_id": None, "x": {"$accumulator": {"init": "function() {}"}}}}], "$accumulator"),
    ([{"$facet": {"a": [{"$match": {"$expr": {"$function": {}}}}]}}], "$function"),
    ([{"$out": "elsewhere"}], "$out"),
    ([{"$merge": {"into": "experiments"}}], "$merge"),
    ([{"$lookup": {"from": "system.users", "localField": "a", "foreignField": "b", "as": "c"}}], "$lookup"),
])
def test_code_and_writes_are_refused_on_every_backend(loaded: Store, pipeline: list[Any], culprit: str) -> None:
    with pytest.raises(QueryError, match=culprit.replace("$", r"\$")):
        loaded.aggregate(C, pipeline)


@pytest.mark.parametrize("pipeline, culprit", [
    ([{"$project": {"x": {"$dateToString": {"date": "$start_time"}}}}], "$dateToString"),
    ([{"$group": {"_id": None, "x": {"$mergeObjects": "$config"}}}], "$mergeObjects"),
    ([{"$graphLookup": {"from": "experiments"}}], "$graphLookup"),
    ([{"$sort": {"score": {"$meta": "textScore"}}}], "$meta"),
])
def test_outside_the_subset_the_embedded_engine_names_the_culprit(store: Store, pipeline: list[Any],
                                                                  culprit: str) -> None:
    inner = getattr(store, "inner", store)
    if type(inner).__name__ == "MongoStore":
        inner._prepare()
        if not inner.uses_fallback_form:
            pytest.skip("a real MongoDB runs these itself")
    with pytest.raises(QueryError, match=culprit.replace("$", r"\$")):
        store.aggregate(C, pipeline)


def test_ferretdb_server_refusals_are_query_errors_naming_the_stage(store: Store) -> None:
    """FerretDB's own aggregation, asked directly: what it runs is right, what it refuses is our QueryError."""
    mongo = getattr(store, "inner", store)
    if type(mongo).__name__ != "MongoStore":
        assert type(store).__name__ == "SQLiteStore"
        return
    store.write([Put(C, {"_id": ObjectId(), "name": name, "challenge": challenge, "loss": loss})
                 for name, challenge, loss in [("a", 1, 0.5), ("b", 1, 0.25), ("c", 2, 1.0)]])
    store.count(C)  # the journal ships what it holds
    server = mongo._server_aggregate  # type: ignore[attr-defined]
    grouped = server(C, [{"$match": {"challenge": 1}}, {"$group": {"_id": "$challenge", "n": {"$sum": 1}}}])
    assert grouped == [{"_id": 1, "n": 2}]
    for stage, name in [({"$lookup": {"from": "epochs", "localField": "_id", "foreignField": "experiment_id",
                                      "as": "e"}}, "$lookup"),
                        ({"$facet": {"a": [{"$count": "n"}]}}, "$facet")]:
        with pytest.raises(QueryError, match=name.replace("$", r"\$")):
            server(C, [stage])
    with pytest.raises(QueryError, match=r"\$where"):
        server(C, [{"$match": {"$where": "true"}}])  # refused before anything is sent
