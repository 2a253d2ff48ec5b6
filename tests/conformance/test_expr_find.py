"""`$expr` in find and count filters, on every backend, with MongoDB's documented answers.

MongoDB manual, `$expr`: "Allows the use of aggregation expressions within the query language"; it
may appear at the top level or in `$and`/`$or`/`$nor`. Expressions compare in BSON order, so a missing
field or null is below every number and a string is above every number ("Comparison/Sort Order").
The documents include what other code may have written: a string where a number is expected, a
missing field, a null.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from bson import ObjectId

from epochlog.errors import EpochlogError, QueryError
from epochlog.store import Store
from epochlog.store.base import Delete, Put

C = "experiments"
T0 = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.timezone.utc)
HOUR = dt.timedelta(hours=1)
DOCS: dict[str, dict[str, Any]] = {
    "fit": {"challenge": 1, "status": "completed", "start_time": T0, "end_time": T0 + 2 * HOUR,
            "metrics": {"best_val_loss": 0.2, "best_train_loss": 0.3}},
    "overfit": {"challenge": 1, "status": "completed", "start_time": T0, "end_time": T0 + HOUR / 2,
                "metrics": {"best_val_loss": 0.5, "best_train_loss": 0.1}},
    "text": {"challenge": 2, "status": "completed", "start_time": T0, "end_time": "soon",
             "metrics": {"best_val_loss": "n/a", "best_train_loss": 0.4}},
    "no_val": {"challenge": 2, "status": "running", "start_time": T0, "metrics": {"best_train_loss": 0.2}},
    "null_val": {"challenge": 1, "status": "failed", "start_time": T0, "end_time": T0 + 3 * HOUR,
                 "metrics": {"best_val_loss": None, "best_train_loss": 0.6}},
    "equal": {"challenge": 2, "status": "completed", "start_time": T0, "end_time": T0 + 5 * HOUR,
              "metrics": {"best_val_loss": 1, "best_train_loss": 1.0}},
}
VAL, TRAIN = "$metrics.best_val_loss", "$metrics.best_train_loss"
VAL_BELOW_TRAIN = {"$expr": {"$lt": [VAL, TRAIN]}}
IS_NUMBER = {"$in": [{"$type": VAL}, ["double", "int", "long", "decimal"]]}
#: The run's length in ms where both times are dates, else null (never an error).
DURATION = {"$cond": [{"$eq": [{"$type": "$end_time"}, "date"]}, {"$subtract": ["$end_time", "$start_time"]}, None]}


@pytest.fixture
def loaded(store: Store) -> Store:
    store.write([Put(C, {"_id": ObjectId(), "k": key, **doc}) for key, doc in DOCS.items()])
    return store


def keys(store: Store, filter: dict[str, Any]) -> list[str]:
    found = sorted(doc["k"] for doc in store.find(C, filter))
    assert store.count(C, filter) == len(found)
    return found


def test_two_fields_compare_in_bson_order(loaded: Store) -> None:
    """Missing and null are below 0.2; the string "n/a" is above 0.4; 1 equals 1.0."""
    assert keys(loaded, VAL_BELOW_TRAIN) == ["fit", "no_val", "null_val"]
    assert keys(loaded, {"$expr": {"$gt": [VAL, TRAIN]}}) == ["overfit", "text"]
    assert keys(loaded, {"$expr": {"$eq": [VAL, TRAIN]}}) == ["equal"]


def test_arithmetic_over_dates_and_numbers(loaded: Store) -> None:
    """Date minus date is milliseconds; a null or missing operand makes the result null, which is below
    every number."""
    assert keys(loaded, {"$expr": {"$gt": [DURATION, 3_600_000]}}) == ["equal", "fit", "null_val"]
    assert keys(loaded, {"$expr": {"$gt": [{"$subtract": [TRAIN, {"$cond": [IS_NUMBER, VAL, 0]}]}, 0.25]}}) == \
        ["null_val", "text"]
    assert keys(loaded, {"$expr": {"$lt": [{"$multiply": [TRAIN, 10]}, 2.5]}}) == ["no_val", "overfit"]


def test_cond_and_if_null_guard_missing_fields_and_wrong_types(loaded: Store) -> None:
    assert keys(loaded, {"$expr": {"$lt": [{"$ifNull": [VAL, 10]}, 0.35]}}) == ["fit"]
    guarded = {"$cond": {"if": IS_NUMBER, "then": {"$lt": [VAL, TRAIN]}, "else": False}}
    assert keys(loaded, {"$expr": guarded}) == ["fit"]
    assert keys(loaded, {"$expr": {"$not": [IS_NUMBER]}}) == ["no_val", "null_val", "text"]


def test_an_expression_that_fails_on_a_document_fails_the_find(loaded: Store) -> None:
    """MongoDB: `$subtract` of a string and a date is an error, not a non-match (nor a skipped document)."""
    with pytest.raises(EpochlogError, match=r"\$subtract"):
        loaded.find(C, {"$expr": {"$gt": [{"$subtract": ["$end_time", "$start_time"]}, 0]}})
    with pytest.raises(EpochlogError, match=r"\$subtract"):
        loaded.count(C, {"$expr": {"$gt": [{"$subtract": ["$end_time", "$start_time"]}, 0]}})


def test_with_an_ordinary_filter(loaded: Store) -> None:
    assert keys(loaded, {"challenge": 1, **VAL_BELOW_TRAIN}) == ["fit", "null_val"]
    assert keys(loaded, {"status": {"$in": ["completed", "running"]}, "$expr": {"$lt": [VAL, TRAIN]},
                         "metrics.best_train_loss": {"$gte": 0.25}}) == ["fit"]
    assert keys(loaded, {"$and": [{"challenge": 2}, {"$expr": {"$gte": [VAL, TRAIN]}}]}) == ["equal", "text"]


def test_inside_or_and_nor(loaded: Store) -> None:
    assert keys(loaded, {"$or": [{"status": "running"}, {"$expr": {"$gt": [DURATION, 4 * 3_600_000]}}]}) == \
        ["equal", "no_val"]
    assert keys(loaded, {"$nor": [VAL_BELOW_TRAIN, {"status": "failed"}]}) == ["equal", "overfit", "text"]
    nested = {"$or": [{"$and": [{"challenge": 1}, {"$expr": {"$gt": [VAL, TRAIN]}}]}, {"k": "equal"}]}
    assert keys(loaded, nested) == ["equal", "overfit"]


def test_sort_skip_limit_and_projection_apply_to_what_the_expression_kept(loaded: Store) -> None:
    """Sorted by train loss, the documents the expression drops (null_val and text at the top, no_val
    between) are not counted by skip and limit."""
    sort = [("metrics.best_train_loss", -1)]
    filter = {"$expr": {"$lt": [{"$ifNull": [VAL, 1]}, 0.6]}, "metrics.best_train_loss": {"$lt": 1}}
    assert [doc["k"] for doc in loaded.find(C, filter, sort=sort)] == ["fit", "overfit"]
    assert [doc["k"] for doc in loaded.find(C, filter, sort=sort, limit=1)] == ["fit"]
    page = loaded.find(C, filter, sort=sort, skip=1, limit=1, projection={"_id": 0, "k": 1, "metrics.best_val_loss": 1})
    assert page == [{"k": "overfit", "metrics": {"best_val_loss": 0.5}}]
    first = loaded.find_one(C, {"$expr": {"$gt": [VAL, TRAIN]}, "challenge": 1}, projection={"k": 1})
    assert first is not None and set(first) == {"_id", "k"} and first["k"] == "overfit"
    assert loaded.find(C, filter, sort=sort, skip=2) == []


@pytest.mark.parametrize("filter, message", [
    ({"$expr": {"$function": {"body": "function() { return true }", "args": [], "lang": "js"}}},
     r"\$function is refused"),
    ({"$or": [{"k": "fit"}, {"$expr": {"$eq": [{"$function": {}}, 1]}}]}, r"\$function is refused"),
    ({"metrics.best_val_loss": {"$expr": {"$lt": [VAL, 1]}}}, r"unknown operator \$expr"),
    ({"metrics": {"$elemMatch": {"$expr": {"$lt": [VAL, 1]}}}}, r"\$expr can only be applied to the top-level"),
    ({"$or": [{"k": {"$bogus": 1}}, VAL_BELOW_TRAIN]}, r"\$bogus"),
])
def test_refused_on_every_backend_before_anything_is_read(store: Store, filter: dict[str, Any],
                                                          message: str) -> None:
    """Refused on an empty collection too: nothing depends on a document reaching the expression."""
    for ask in (lambda: store.find(C, filter), lambda: store.count(C, filter)):
        with pytest.raises(QueryError, match=message):
            ask()


def test_outside_the_subset_the_embedded_engine_names_the_operator(store: Store) -> None:
    inner = getattr(store, "inner", store)
    if type(inner).__name__ == "MongoStore":
        inner._prepare()
        if not inner.uses_fallback_form:
            pytest.skip("a real MongoDB evaluates $dateToString itself")
    filter = {"$expr": {"$eq": [{"$dateToString": {"date": "$start_time"}}, "2025"]}}
    for ask in (lambda: store.find(C, filter), lambda: store.count(C, filter)):
        with pytest.raises(QueryError, match=r"\$dateToString is not supported by epochlog's aggregation"):
            ask()


def test_updates_and_deletes_do_not_take_expr(loaded: Store) -> None:
    """epochlog's own writes select documents with plain filters; an `$expr` there is refused, not ignored."""
    with pytest.raises(QueryError, match=r"\$expr"):
        loaded.write([Delete(C, VAL_BELOW_TRAIN)])
    assert len(loaded.find(C)) == len(DOCS)
