"""Expression, projection and sort semantics of the embedded engine, case by case (MongoDB 7's documented answers)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest
from bson import ObjectId

from epochlog.errors import QueryError
from epochlog.query.aggregate.expressions import evaluate, root_variables
from epochlog.query.aggregate.pipeline import check_pipeline
from epochlog.query.aggregate.stages import run_stages
from epochlog.query.aggregate.values import MISSING

DATE = dt.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=dt.timezone.utc)
OID = ObjectId("650000000000000000000001")


def value(expression: Any, document: dict[str, Any] | None = None) -> Any:
    return evaluate(expression, root_variables(document or {}))


def run(documents: list[dict[str, Any]], pipeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return run_stages(check_pipeline(pipeline), documents, lambda name, filter: [])


@pytest.mark.parametrize("expression, document, expected", [
    ("$a.v", {"a": [-7]}, []),  # a path through an array gives an array of what its documents hold
    ("$a.v", {"a": [{"v": 1}, {"w": 2}, 3, [{"v": 4}]]}, [1, [4]]),
    ("$a.0", {"a": [5]}, []),  # numeric keys are field names in expressions
    ("$x", {}, MISSING),
    ({"$eq": ["$x", None]}, {}, False),  # missing is not null...
    ({"$lt": ["$x", None]}, {}, True),  # ...it sorts below it
    ({"$eq": ["$x", "$y"]}, {}, True),
    ({"$type": "$x"}, {}, "missing"),
    ({"$type": [2**40]}, {}, "long"),
    ({"$type": [[1]]}, {}, "array"),
    ({"$cmp": [1, "a"]}, {}, -1),
    ({"$cmp": ["a", {}]}, {}, -1),
    ({"$cmp": [{}, []]}, {}, -1),
    ({"$cmp": [[], OID]}, {}, -1),
    ({"$cmp": [OID, False]}, {}, -1),
    ({"$cmp": [True, DATE]}, {}, -1),
    ({"$cmp": [math.nan, -math.inf]}, {}, -1),
    ({"$cond": [math.nan, "true", "false"]}, {}, "true"),  # NaN is not 0: true, as in MongoDB
    ({"$not": ["$x"]}, {"x": math.nan}, False),
    ({"$and": [0.0]}, {}, False),
    ({"$cmp": [{"a": 1}, {"a": 1.0}]}, {}, 0),
    ({"$cmp": [{"a": 1}, {"b": 0}]}, {}, -1),
    ({"$gt": [[1, 2], [1]]}, {}, True),
    ({"$and": []}, {}, True),
    ({"$or": [0, None, "$x"]}, {}, False),
    ({"$not": [[]]}, {}, False),  # an empty array is true
    ({"$add": [1, 2.5, "$n"]}, {"n": 1}, 4.5),
    ({"$add": [DATE, 1000]}, {}, DATE + dt.timedelta(seconds=1)),
    ({"$add": [1, None]}, {}, None),
    ({"$subtract": [DATE, DATE - dt.timedelta(milliseconds=5)]}, {}, 5),
    ({"$multiply": [2, 3]}, {}, 6),
    ({"$divide": [1, 4]}, {}, 0.25),
    ({"$mod": [-7, 3]}, {}, -1),
    ({"$mod": [7.5, 2]}, {}, 1.5),
    ({"$abs": -3}, {}, 3),
    ({"$round": [2.5]}, {}, 2.0),
    ({"$round": [1234, -2]}, {}, 1200),
    ({"$sqrt": 16}, {}, 4.0),
    ({"$pow": [2, 10]}, {}, 1024),
    ({"$pow": [2, -1]}, {}, 0.5),
    ({"$log10": 1000}, {}, 3.0),
    ({"$ln": 1}, {}, 0.0),
    ({"$exp": 0}, {}, 1.0),
    ({"$floor": -2.5}, {}, -3.0),
    ({"$ceil": 2.1}, {}, 3.0),
    ({"$floor": 7}, {}, 7),
    ({"$ifNull": ["$x", None, "fallback"]}, {}, "fallback"),
    ({"$switch": {"branches": [{"case": {"$gt": ["$n", 5]}, "then": "big"}], "default": "small"}}, {"n": 3}, "small"),
    ({"$size": [[1, 2, 3]]}, {}, 3),
    ({"$arrayElemAt": [[1, 2, 3], -1]}, {}, 3),
    ({"$arrayElemAt": [[1, 2, 3], 5]}, {}, MISSING),
    ({"$in": [2, [1, 2.0]]}, {}, True),
    ({"$concatArrays": [[1], [2, 3]]}, {}, [1, 2, 3]),
    ({"$concatArrays": [[1], "$x"]}, {}, None),
    ({"$map": {"input": [1, 2], "as": "v", "in": {"$multiply": ["$$v", 10]}}}, {}, [10, 20]),
    ({"$filter": {"input": [1, 5, 9], "cond": {"$gt": ["$$this", 2]}, "limit": 1}}, {}, [5]),
    ({"$first": [[4, 5]]}, {}, 4),
    ({"$last": [[]]}, {}, MISSING),
    ({"$first": "$x"}, {}, None),
    ({"$slice": [[1, 2, 3, 4], -2]}, {}, [3, 4]),
    ({"$slice": [[1, 2, 3, 4], 1, 2]}, {}, [2, 3]),
    ({"$min": [[3, None, 1]]}, {}, 1),
    ({"$sum": [1, 2.5, "x"]}, {}, 3.5),
    ({"$avg": "$scores"}, {"scores": [1, 2, 6]}, 3.0),
    ({"$toLower": "AbC"}, {}, "abc"),
    ({"$toUpper": "$x"}, {}, ""),
    ({"$strLenCP": "日本"}, {}, 2),
    ({"$substrCP": ["héllo", 1, 3]}, {}, "éll"),
    ({"$toDouble": "2.5"}, {}, 2.5),
    ({"$toDouble": True}, {}, 1.0),
    ({"$toDouble": DATE}, {}, 1704164645678.0),
    ({"$toInt": 2.9}, {}, 2),
    ({"$toInt": "-12"}, {}, -12),
    ({"$toLong": DATE}, {}, 1704164645678),
    ({"$toString": 2.5}, {}, "2.5"),
    ({"$toString": 3.0}, {}, "3"),
    ({"$toString": OID}, {}, "650000000000000000000001"),
    ({"$toString": DATE}, {}, "2024-01-02T03:04:05.678Z"),
    ({"$toString": False}, {}, "false"),
    ({"$toBool": 0}, {}, False),
    ({"$toBool": ""}, {}, True),
    ({"$toBool": "$x"}, {}, None),
    ({"$literal": {"$add": [1, 2]}}, {}, {"$add": [1, 2]}),
    ("$$ROOT", {"a": 1}, {"a": 1}),
    ("$$CURRENT.a", {"a": 1}, 1),
    ({"k": "$$REMOVE", "v": 1}, {}, {"v": 1}),
])
def test_expression(expression: Any, document: dict[str, Any], expected: Any) -> None:
    result = value(expression, document)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize("expression, culprit", [
    ({"$add": [1, "a"]}, "$add"),
    ({"$size": 3}, "$size"),
    ({"$in": [1, "$missing"]}, "$in"),
    ({"$divide": [1, 0]}, "$divide"),
    ({"$sqrt": -1}, "$sqrt"),
    ({"$toInt": "1.5"}, "$toInt"),
    ({"$toInt": 2**40}, "$toInt"),
    ({"$concat": ["a", 1]}, "$concat"),
    ({"$switch": {"branches": [{"case": False, "then": 1}]}}, "$switch"),
    ({"$dateToString": {"date": DATE}}, "$dateToString"),
    ({"$function": {"body": "return 1"}}, "$function"),
    ({"$subtract": [1, 2, 3]}, "$subtract"),
    ("$$NOW", "NOW"),
])
def test_refusals_name_the_operator(expression: Any, culprit: str) -> None:
    with pytest.raises(QueryError, match=culprit.replace("$", r"\$")):
        value(expression)


def test_project_keeps_id_first_and_refuses_mixing() -> None:
    documents = [{"a": 1, "_id": 7, "b": {"c": 2, "d": 3}, "e": [{"c": 1, "x": 0}, 5]}]
    assert run(documents, [{"$project": {"b.c": 1, "e.c": 1, "s": {"$add": ["$a", 1]}}}]) == \
        [{"_id": 7, "b": {"c": 2}, "e": [{"c": 1}], "s": 2}]
    assert run(documents, [{"$project": {"_id": 0, "b": {"d": 0}}}]) == [{"a": 1, "b": {"c": 2}, "e": [{"c": 1, "x": 0}, 5]}]
    assert run(documents, [{"$project": {"_id": 0}}]) == [{"a": 1, "b": {"c": 2, "d": 3}, "e": [{"c": 1, "x": 0}, 5]}]
    with pytest.raises(QueryError, match=r"\$project"):
        run(documents, [{"$project": {"a": 0, "b": 1}}])
    with pytest.raises(QueryError, match=r"\$project"):
        run(documents, [{"$project": {"a": 0, "s": "$b"}}])


def test_sort_follows_mongodb_order_with_arrays() -> None:
    documents = [{"_id": name, "v": v} for name, v in
                 [("str", "a"), ("arr", [5, 0.5]), ("null", None), ("empty", []), ("num", 1), ("missing", MISSING)]]
    documents = [{key: item for key, item in doc.items() if item is not MISSING} for doc in documents]
    ascending = [doc["_id"] for doc in run(documents, [{"$sort": {"v": 1}}])]
    assert ascending == ["empty", "null", "missing", "arr", "num", "str"]  # the array by its smallest element
    descending = [doc["_id"] for doc in run(documents, [{"$sort": {"v": -1}}])]
    assert descending == ["str", "arr", "num", "null", "missing", "empty"]  # by its largest


def test_group_keys_equal_as_bson() -> None:
    documents = [{"k": 1}, {"k": 1.0}, {"k": True}, {"k": None}, {}, {"k": {"a": 1}}, {"k": {"a": 1.0}}]
    groups = run(documents, [{"$group": {"_id": "$k", "n": {"$sum": 1}}}])
    assert [(group["_id"], group["n"]) for group in groups] == [(1, 2), (True, 1), (None, 2), ({"a": 1}, 2)]


def test_percentiles_are_discrete() -> None:
    documents = [{"v": v} for v in [5, 1, 4, 2, 3, "x", None]]
    found = run(documents, [{"$group": {"_id": None, "m": {"$median": {"input": "$v", "method": "approximate"}},
                                        "p": {"$percentile": {"input": "$v", "p": [0, 0.2, 0.21, 1],
                                                              "method": "approximate"}}}}])
    assert found == [{"_id": None, "m": 3.0, "p": [1.0, 1.0, 2.0, 5.0]}]
    with pytest.raises(QueryError, match="method"):
        run(documents, [{"$group": {"_id": None, "m": {"$median": {"input": "$v", "method": "exact"}}}}])


@pytest.mark.parametrize("pipeline, culprit", [
    ({"$match": {}}, "list"),
    ([{"$match": {}, "$limit": 1}], "exactly one"),
    ([{"$limit": 0}], "$limit"),
    ([{"$skip": -1}], "$skip"),
    ([{"$unwind": "tags"}], "$unwind"),
    ([{"$count": "a.b"}], "$count"),
    ([{"$group": {"n": {"$sum": 1}}}], "_id"),
    ([{"$group": {"_id": None, "n": {"$sum": [1, 2]}}}], "$sum"),
    ([{"$lookup": {"from": "experiments", "let": {}, "pipeline": [], "as": "x"}}], "pipeline"),
    ([{"$bucket": {"groupBy": "$v", "boundaries": [3, 1]}}], "boundaries"),
    ([{"$sample": {"size": 1}}], "$sample"),
])
def test_malformed_pipelines_are_query_errors(pipeline: Any, culprit: str) -> None:
    with pytest.raises(QueryError, match=culprit.replace("$", r"\$")):
        run([{"v": 1}], pipeline)
