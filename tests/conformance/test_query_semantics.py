"""MongoDB's query and projection semantics on every backend, the test server's fallback form included.

On FerretDB 1.x epochlog stores NaN, ±inf and arrays nested in arrays in a tagged form
(store/fallback_form.py); these tests write such values and ask every backend the same questions, with
MongoDB's documented answers as the expected ones.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from bson import ObjectId

from epochlog.errors import QueryError
from epochlog.store import Store
from epochlog.store.base import Delete, Put, Update

C = "experiments"
DOCS: dict[str, dict[str, Any]] = {
    "pair": {"a": [1, 2]},
    "holds_pair": {"a": [[1, 2], 5]},
    "three": {"a": 3},
    "one": {"a": 1},
    "missing": {},
    "nan": {"a": math.nan},
    "inf": {"a": math.inf},
    "ninf": {"a": -math.inf},
    "huge": {"a": 1e300},
    "text": {"a": "x"},
    "nan_in_array": {"a": [math.nan, 1]},
}


@pytest.fixture
def loaded(store: Store) -> Store:
    store.write([Put(C, {"_id": ObjectId(), "k": key, **doc}) for key, doc in DOCS.items()])
    return store


def keys(store: Store, filter: dict[str, Any], **options: Any) -> list[str]:
    found = sorted(doc["k"] for doc in store.find(C, filter, **options))
    assert store.count(C, filter) == len(found)
    return found


def test_in_and_nin_with_an_array_operand(loaded: Store) -> None:
    """MongoDB manual, $in: "If the field holds an array, then the $in operator selects the documents
    whose field holds an array that contains at least one element that matches a value in the specified
    array"; a value that is an array also matches the field's array as a whole (equality, $eq: "Match an
    Array Value"). $nin selects the others, documents without the field included."""
    assert keys(loaded, {"a": {"$in": [[1, 2], 3]}}) == ["holds_pair", "pair", "three"]
    assert keys(loaded, {"a": {"$in": [[1, 2]]}}) == ["holds_pair", "pair"]
    assert keys(loaded, {"a": [1, 2]}) == ["holds_pair", "pair"]
    assert keys(loaded, {"a": {"$nin": [[1, 2], 3]}}) == sorted(set(DOCS) - {"holds_pair", "pair", "three"})
    assert keys(loaded, {"a": {"$ne": [1, 2]}}) == sorted(set(DOCS) - {"holds_pair", "pair"})
    assert keys(loaded, {"a": {"$all": [[1, 2], 5]}}) == ["holds_pair"]


def test_nan_equals_only_nan_and_is_neither_less_nor_greater(loaded: Store) -> None:
    """MongoDB (src/mongo/db/matcher/expression_leaf.cpp, ComparisonMatchExpressionBase::compare): NaN is
    equal to NaN but otherwise every comparison with it is false, so $gte/$lte NaN match NaN only and
    $gt/$lt NaN match nothing, and no bound but NaN itself selects a NaN."""
    nan = ["nan", "nan_in_array"]
    assert keys(loaded, {"a": math.nan}) == nan
    assert keys(loaded, {"a": {"$in": [math.nan]}}) == nan
    assert keys(loaded, {"a": {"$gte": math.nan}}) == nan
    assert keys(loaded, {"a": {"$lte": math.nan}}) == nan
    assert keys(loaded, {"a": {"$gt": math.nan}}) == []
    assert keys(loaded, {"a": {"$lt": math.nan}}) == []
    assert keys(loaded, {"a": {"$nin": [math.nan]}}) == sorted(set(DOCS) - set(nan))


def test_infinities_are_numbers_at_the_ends_of_the_number_line(loaded: Store) -> None:
    """MongoDB compares ±Infinity as ordinary doubles within the numbers' type bracket (manual, "Comparison/
    Sort Order": all numeric types compare as numbers; comparison operators only match within the bracket):
    {$lt: inf} is every finite number and -inf, {$gt: 2} includes +inf, strings never match a number."""
    finite_and_below = ["holds_pair", "huge", "nan_in_array", "ninf", "one", "pair", "three"]
    assert keys(loaded, {"a": {"$lt": math.inf}}) == finite_and_below
    assert keys(loaded, {"a": {"$lte": math.inf}}) == sorted([*finite_and_below, "inf"])
    assert keys(loaded, {"a": {"$gt": -math.inf}}) == ["holds_pair", "huge", "inf", "nan_in_array", "one",
                                                       "pair", "three"]
    assert keys(loaded, {"a": {"$gte": -math.inf}}) == sorted(set(finite_and_below) | {"inf"})
    assert keys(loaded, {"a": {"$gt": math.inf}}) == []
    assert keys(loaded, {"a": {"$lt": -math.inf}}) == []
    assert keys(loaded, {"a": {"$gte": math.inf}}) == ["inf"]
    assert keys(loaded, {"a": {"$gt": 2}}) == ["holds_pair", "huge", "inf", "three"]
    assert keys(loaded, {"a": {"$lt": 2}}) == ["nan_in_array", "ninf", "one", "pair"]
    assert keys(loaded, {"a": {"$not": {"$gt": 2}}}) == sorted(set(DOCS) - {"holds_pair", "huge", "inf", "three"})


def test_filters_the_test_server_cannot_answer_are_still_answered_as_mongodb_does(loaded: Store) -> None:
    """$elemMatch selects an array with an element matching all its conditions (manual, $elemMatch);
    equality with a document compares it with each element of an array (manual, "Query an Array of
    Embedded Documents"); skip and limit count matching documents only. FerretDB 1.x matches neither
    on its own, so the MongoDB store decides these documents itself."""
    assert keys(loaded, {"a": {"$elemMatch": {"$gt": 1, "$lt": 3}}}) == ["pair"]
    assert keys(loaded, {"a": {"$elemMatch": {"$gte": math.nan}}}) == ["nan_in_array"]
    assert keys(loaded, {"a": {"$type": "double"}}) == ["huge", "inf", "nan", "nan_in_array", "ninf"]
    loaded.write([Put(C, {"_id": ObjectId(), "k": "runs", "a": [{"x": 1}, {"x": 2}]})])
    assert keys(loaded, {"a": {"x": 2}}) == ["runs"]
    page = loaded.find(C, {"a": {"$type": "double"}}, sort=[("k", 1)], skip=1, limit=2)
    assert [doc["k"] for doc in page] == ["inf", "nan"]


def test_writes_select_what_finds_select(loaded: Store) -> None:
    """An update or delete applies to exactly the documents its filter selects in a find (MongoDB's
    update and delete take the same query filter documents)."""
    loaded.write([Update(C, {"a": {"$gt": 2}}, {"big": True}), Delete(C, {"a": {"$elemMatch": {"$lt": 2}}})])
    assert keys(loaded, {"big": True}) == ["holds_pair", "huge", "inf", "three"]
    assert "nan_in_array" not in keys(loaded, {}) and "pair" not in keys(loaded, {})


NESTED = {"_id": ObjectId(), "k": "nested", "x": {"y": 1, "z": 2},
          "a": [{"b": [1, 2, 3], "c": 1}, [{"b": [1, 2, 3], "c": 2}], 7],
          "g": [{"s": 1, "m": 5}, {"s": 2, "m": 9}, {"s": 2, "m": 1}]}


@pytest.fixture
def nested(store: Store) -> Store:
    store.write([Put(C, NESTED)])
    return store


def project(store: Store, projection: dict[str, Any], filter: dict[str, Any] | None = None) -> dict[str, Any]:
    [document] = store.find(C, filter or {"k": "nested"}, projection=projection)
    return document


def test_slice_applies_to_the_array_at_its_path_only(nested: Store) -> None:
    """MongoDB (projection_executor_utils.cpp, applyFindSliceProjectionToArray): $slice on "a.b" slices b
    in each document of a, but "we do not expand arrays within arrays": a nested array is kept whole."""
    assert project(nested, {"a.b": {"$slice": 1}, "_id": 0, "x": 0, "g": 0, "k": 0}) == {
        "a": [{"b": [1], "c": 1}, [{"b": [1, 2, 3], "c": 2}], 7]}
    assert project(nested, {"a.b": {"$slice": -1}, "k": 1, "_id": 0}) == {
        "k": "nested", "a": [{"b": [3]}, [{"b": [1, 2, 3]}]]}


def test_nested_projection_means_the_dotted_one(nested: Store) -> None:
    """MongoDB 4.4+ (manual, "Project Specific Fields in Embedded Documents"): {"x": {"y": 1}} is
    {"x.y": 1}, for inclusion and exclusion alike; an empty sub-projection is an error."""
    assert project(nested, {"x": {"y": 1}}) == {"_id": NESTED["_id"], "x": {"y": 1}}
    assert project(nested, {"x": {"y": 0}, "a": 0, "g": 0}) == {"_id": NESTED["_id"], "k": "nested", "x": {"z": 2}}
    assert project(nested, {"g": {"s": 1}, "_id": 0}) == {"g": [{"s": 1}, {"s": 2}, {"s": 2}]}
    with pytest.raises(QueryError, match="'x'"):
        nested.find(C, {}, projection={"x": {}})
    with pytest.raises(QueryError, match="mix"):
        nested.find(C, {}, projection={"x": {"y": 1, "z": 0}})


def test_positional_projection_keeps_the_first_matching_element(nested: Store) -> None:
    """MongoDB manual, "$ (projection)": limits an array to "the first element that matches the query
    condition on the array"; the filter must have a condition on the array's field (error 31277), and a
    document whose array the filter matched as a whole has no such element (error 51246)."""
    assert project(nested, {"g.$": 1}, {"g.s": 2}) == {"_id": NESTED["_id"], "g": [{"s": 2, "m": 9}]}
    assert project(nested, {"g.$": 1, "_id": 0}, {"g": {"$elemMatch": {"s": 2, "m": {"$lt": 5}}}}) == {
        "g": [{"s": 2, "m": 1}]}
    assert project(nested, {"g.$": 1, "k": 1, "_id": 0}, {"k": "nested", "g.m": {"$gt": 6}}) == {
        "k": "nested", "g": [{"s": 2, "m": 9}]}
    with pytest.raises(QueryError, match="does not match the query document"):
        nested.find(C, {"k": "nested"}, projection={"g.$": 1})
    with pytest.raises(QueryError, match="couldn't find a matching element"):
        nested.find(C, {"g": {"$size": 3}}, projection={"g.$": 1})
    with pytest.raises(QueryError, match="positional"):
        nested.find(C, {"g.s": 1}, projection={"g.$": 0})
