"""Projections: MongoDB 4.4+ find() semantics, applied to decoded documents."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
from bson import ObjectId

from epochlog.errors import QueryError
from epochlog.query import compile_projection

ID = ObjectId("650000000000000000000001")
DOC = {"_id": ID, "name": "x", "a": {"b": 1, "c": 2}, "runs": [{"loss": 1, "acc": 2}, {"acc": 3}, 7, [{"loss": 4}]],
       "tags": ["p", "q", "r", "s"], "when": dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)}


def project(projection: Any, document: dict[str, Any] = DOC) -> dict[str, Any]:
    function = compile_projection(projection)
    assert function is not None
    before = copy.deepcopy(document)
    result = function(document)
    assert document == before  # the input is left alone
    return result


def test_no_projection() -> None:
    assert compile_projection(None) is None
    assert compile_projection({}) is None


def test_inclusion_keeps_id_and_the_document_order() -> None:
    result = project({"a": 1, "name": True})
    assert result == {"_id": ID, "name": "x", "a": {"b": 1, "c": 2}}
    assert list(result) == ["_id", "name", "a"]
    assert project({"name": 1, "_id": 0}) == {"name": "x"}
    assert project({"_id": 1}) == {"_id": ID}
    assert project(["name", "a.b"]) == {"_id": ID, "name": "x", "a": {"b": 1}}


def test_exclusion() -> None:
    assert project({"a": 0, "runs": False, "tags": 0, "when": 0}) == {"_id": ID, "name": "x"}
    assert project({"_id": 0}) == {key: value for key, value in DOC.items() if key != "_id"}
    assert project({"a.b": 0, "_id": 0, "runs": 0, "tags": 0, "when": 0}) == {"name": "x", "a": {"c": 2}}


def test_dotted_inclusion_into_arrays_keeps_documents_and_arrays_only() -> None:
    assert project({"runs.loss": 1, "_id": 0}) == {"runs": [{"loss": 1}, {}, [{"loss": 4}]]}


def test_dotted_inclusion_as_mongodb_tests_it() -> None:
    # jstests/core/null_query_semantics.js, projection {_id: 0, "a.b": 1}
    for document, expected in [({"a": {}}, {"a": {}}), ({"a": None}, {}), ({"a": 4}, {}), ({}, {}),
                               ({"a": [None, None]}, {"a": []}), ({"a": [[]]}, {"a": [[]]}),
                               ({"a": [{"b": 1}, {"c": 1}]}, {"a": [{"b": 1}, {}]})]:
        assert project({"_id": 0, "a.b": 1}, document) == expected, document


def test_dotted_exclusion_into_arrays_keeps_everything_else() -> None:
    # mongomock drops the scalar 7 and cannot walk into the inner array; MongoDB keeps both
    assert project({"runs.loss": 0, "_id": 0, "a": 0, "name": 0, "tags": 0, "when": 0}) == {
        "runs": [{"acc": 2}, {"acc": 3}, 7, [{}]]}
    assert project({"a.b.c": 0}, {"_id": ID, "a": 5}) == {"_id": ID, "a": 5}


def test_slice() -> None:
    assert project({"tags": {"$slice": 2}, "_id": 0, "a": 0, "runs": 0, "name": 0, "when": 0}) == {"tags": ["p", "q"]}
    assert project({"tags": {"$slice": -1}})["tags"] == ["s"]
    assert project({"tags": {"$slice": [1, 2]}})["tags"] == ["q", "r"]
    assert project({"tags": {"$slice": [-3, 2]}})["tags"] == ["q", "r"]
    assert project({"tags": {"$slice": [-9, 2]}})["tags"] == ["p", "q"]
    assert project({"tags": {"$slice": [9, 2]}})["tags"] == []
    assert project({"name": {"$slice": 1}})["name"] == "x"  # not an array: unchanged
    assert project({"tags": {"$slice": 1}}) == {**DOC, "tags": ["p"]}  # alone: every other field stays
    assert project({"tags": {"$slice": 1}, "name": 1}) == {"_id": ID, "name": "x", "tags": ["p"]}


def test_elem_match_returns_the_first_matching_element() -> None:
    assert project({"runs": {"$elemMatch": {"acc": {"$gt": 2}}}}) == {"_id": ID, "runs": [{"acc": 3}]}
    assert project({"tags": {"$elemMatch": {"$gt": "p"}}, "name": 1}) == {"_id": ID, "name": "x", "tags": ["q"]}
    assert project({"runs": {"$elemMatch": {"acc": 99}}}) == {"_id": ID}  # no match: no field
    assert project({"name": {"$elemMatch": {"$eq": "x"}}}) == {"_id": ID}  # not an array: no field
    assert project({"runs": {"$elemMatch": {"0.loss": 4}}}) == {"_id": ID, "runs": [[{"loss": 4}]]}


@pytest.mark.parametrize("projection, culprit", [
    ({"a": 1, "name": 0}, "mix"),
    ({"a": 1, "a.b": 1}, "collision"),
    ({"a.b": 0, "a": 0}, "collision"),
    ({"runs.$": 1}, "does not match the query document"),  # no filter: MongoDB error 31277
    ({"score": {"$meta": "textScore"}}, "$meta"),
    ({"a": "b"}, "'a'"),
    ({"a": None}, "'a'"),
    ({"a.b": {"$elemMatch": {"c": 1}}}, "dotted"),
    ({"a": {"$elemMatch": 1}}, "$elemMatch"),
    ({"a": {"$slice": [1]}}, "$slice"),
    ({"a": {"$slice": [1, 0]}}, "$slice"),
    ({"a": {"$slice": 1.5}}, "$slice"),
    ({"a..b": 1}, "empty"),
    ({"runs": {"$elemMatch": {"$where": "1"}}}, "$where"),
    ("a", "projection"),
])
def test_bad_projections_are_refused(projection: Any, culprit: str) -> None:
    with pytest.raises(QueryError) as raised:
        compile_projection(projection)
    assert culprit in str(raised.value)


def test_positional_projection_follows_mongodbs_recorded_offset() -> None:
    """MongoDB keeps the element at the offset its matcher records (projection_executor_utils.cpp,
    applyFindPositionalProjection): `$and` keeps the last condition's, `$or` the matching branch's; the
    offset applies to the first array on the projected path, and what follows `.$.` is ignored."""
    doc = {"_id": ID, "g": [{"s": 1, "m": 5}, {"s": 2, "m": 9}], "t": ["p", "q", "r"]}

    def positional(projection: Any, filter: Any) -> Any:
        function = compile_projection(projection, filter)
        assert function is not None
        return function(doc)

    assert positional({"g.$": 1}, {"$and": [{"g.s": 2}, {"t": "p"}]})["g"] == [{"s": 1, "m": 5}]
    with pytest.raises(QueryError, match="element mismatch"):  # offset 2 of t applied to g: error 51247
        positional({"g.$": 1}, {"$and": [{"g.s": 1}, {"t": "r"}]})
    assert positional({"t.$": 1}, {"$or": [{"t": "zz"}, {"t": "q"}]})["t"] == ["q"]
    assert positional({"g.$.s": 1, "_id": 0}, {"g.m": 5}) == {"g": [{"s": 1, "m": 5}]}
    assert positional({"g": {"s.$": 1}}, {"g.s": 2}) == {"_id": ID, "g": [{"s": 2}]}
    with pytest.raises(QueryError, match="offset"):
        positional({"g.$": 1}, {"g.0.s": 1})


@pytest.mark.parametrize("projection, culprit", [
    ({"g.$": 1, "t.$": 1}, "more than one positional"),
    ({"g.$": 1, "t": {"$elemMatch": {"$eq": "p"}}}, "$elemMatch"),
    ({"g.$": {"$slice": 1}}, "expression"),
    ({"g.$": "x"}, "literal"),
    ({"g.$.$": 1}, "twice"),
])
def test_bad_positional_projections_are_refused(projection: Any, culprit: str) -> None:
    with pytest.raises(QueryError) as raised:
        compile_projection(projection, {"g.s": 1, "t": "p"})
    assert culprit in str(raised.value)
