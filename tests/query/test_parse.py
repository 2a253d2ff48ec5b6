"""The parser: the AST it builds, and the filters it refuses (each error names its culprit)."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pytest
from bson import ObjectId
from bson.regex import Regex as BsonRegex

from epochlog import query
from epochlog.errors import QueryError
from epochlog.query import parse_filter
from epochlog.query.nodes import (
    And,
    Cmp,
    Const,
    ElemMatchDoc,
    ElemMatchValue,
    Eq,
    Exists,
    Field,
    In,
    Mod,
    Nor,
    Not,
    Or,
    Regex,
    RegexValue,
    Size,
    Type,
    ValueAnd,
    ValueNot,
)
from epochlog.query.parse import split_path

UTC = dt.timezone.utc


def test_empty_and_none_filters_match_everything() -> None:
    assert parse_filter(None) == Const(True)
    assert parse_filter({}) == Const(True)
    assert parse_filter({"$comment": "why"}) == Const(True)


def test_implicit_equality_and_dotted_paths() -> None:
    assert parse_filter({"a.b.0": 5}) == Field(("a", "b", "0"), Eq(5))
    assert parse_filter({"a": {"b": 1, "c": [2]}}) == Field(("a",), Eq({"b": 1, "c": [2]}))
    assert parse_filter({"a": {}}) == Field(("a",), Eq({}))


def test_several_operators_on_one_path_are_independent_conditions() -> None:
    assert parse_filter({"a": {"$gt": 1, "$lt": 5}}) == And((Field(("a",), Cmp("$gt", 1)),
                                                              Field(("a",), Cmp("$lt", 5))))


def test_negative_operators_are_lifted_out_of_the_path() -> None:
    assert parse_filter({"a": {"$ne": 1}}) == Not(Field(("a",), Eq(1)))
    assert parse_filter({"a": {"$nin": [1, 2]}}) == Not(Field(("a",), In((1, 2))))
    assert parse_filter({"a": {"$exists": False}}) == Not(Field(("a",), Exists()))
    assert parse_filter({"a": {"$not": {"$gt": 1, "$lt": 3}}}) == Not(And((Field(("a",), Cmp("$gt", 1)),
                                                                           Field(("a",), Cmp("$lt", 3)))))


def test_logical_operators() -> None:
    node = parse_filter({"$or": [{"a": 1}, {"$nor": [{"b": 2}]}], "c": 3})
    assert node == And((Or((Field(("a",), Eq(1)), Nor((Field(("b",), Eq(2)),)))), Field(("c",), Eq(3))))
    assert parse_filter({"$and": [{"a": 1}]}) == Field(("a",), Eq(1))


def test_regular_expressions_in_every_spelling() -> None:
    expected = Field(("a",), Regex("^x", "im"))
    assert parse_filter({"a": {"$regex": "^x", "$options": "mi"}}) == expected
    assert parse_filter({"a": re.compile("^x", re.IGNORECASE | re.MULTILINE)}) == expected
    assert parse_filter({"a": {"$regex": re.compile("^x", re.IGNORECASE), "$options": "m"}}) == expected
    assert parse_filter({"a": BsonRegex("^x", "im")}) == expected
    assert parse_filter({"a": {"$in": [re.compile("x"), 1]}}) == Field(("a",), In((RegexValue("x"), 1)))
    assert parse_filter({"a": {"$not": re.compile("x")}}) == Not(Field(("a",), Regex("x")))


def test_all_becomes_a_conjunction() -> None:
    assert parse_filter({"a": {"$all": [1, 2]}}) == And((Field(("a",), Eq(1)), Field(("a",), Eq(2))))
    assert parse_filter({"a": {"$all": []}}) == Field(("a",), In(()))  # MongoDB: matches nothing
    node = parse_filter({"a": {"$all": [{"$elemMatch": {"b": 1}}]}})
    assert node == Field(("a",), ElemMatchDoc(Field(("b",), Eq(1))))


def test_elem_match_value_form_and_query_form() -> None:
    assert parse_filter({"a": {"$elemMatch": {"$gt": 1, "$ne": 3}}}) == Field(
        ("a",), ElemMatchValue(ValueAnd((Cmp("$gt", 1), ValueNot(Eq(3))))))
    assert parse_filter({"a": {"$elemMatch": {"b": 1, "$or": [{"c": 2}]}}}) == Field(
        ("a",), ElemMatchDoc(And((Field(("b",), Eq(1)), Or((Field(("c",), Eq(2)),))))))


def test_type_size_mod_operands() -> None:
    types = Type(frozenset({"number", "string", "bool"}))
    assert parse_filter({"a": {"$type": ["number", 2, 8.0]}}) == Field(("a",), types)
    assert parse_filter({"a": {"$size": 2.0}}) == Field(("a",), Size(2))
    assert parse_filter({"a": {"$mod": [4.5, -1.9]}}) == Field(("a",), Mod(4, -1))  # truncated, as MongoDB 5+


def test_operands_are_normalized_like_stored_values() -> None:
    naive = dt.datetime(2024, 1, 2, 3, 4, 5, 678999)
    node = parse_filter({"a": naive, "b": np.float32(0.5), "c": (1, np.int64(2)), "d": {"x": np.bool_(True)}})
    assert node == And((Field(("a",), Eq(dt.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC))),
                        Field(("b",), Eq(0.5)), Field(("c",), Eq([1, 2])), Field(("d",), Eq({"x": True}))))
    oid = ObjectId()
    assert parse_filter({"_id": {"$in": [oid]}}) == Field(("_id",), In((oid,)))


def test_exists_takes_bson_truthiness() -> None:
    assert parse_filter({"a": {"$exists": 0}}) == Not(Field(("a",), Exists()))
    assert parse_filter({"a": {"$exists": ""}}) == Field(("a",), Exists())  # a string is true in BSON


@pytest.mark.parametrize("filter, culprit", [
    ({"$where": "sleep(1000)"}, "$where"),
    ({"$expr": {"$gt": ["$a", 1]}}, "$expr"),
    ({"$text": {"$search": "x"}}, "$text"),
    ({"a": {"$function": {"body": "f", "args": [], "lang": "js"}}}, "$function"),
    ({"a": {"$accumulator": {}}}, "$accumulator"),
    ({"$jsonSchema": {}}, "$jsonSchema"),
    ({"$bogus": 1}, "$bogus"),
    ({"$not": {"a": 1}}, "$not"),
    ({"a": {"$bogus": 1}}, "$bogus"),
    ({"a": {"$gt": 1, "b": 2}}, "'b'"),
    ({"a": {"$or": [{"b": 1}]}}, "$or"),
    ({"a": {"$near": [0, 0]}}, "$near"),
    ({"a": {"$date": 5}}, "$date"),  # a tag spelled as a value is an operator MongoDB does not know
    ({"$and": []}, "$and"),
    ({"$or": {"a": 1}}, "$or"),
    ({"$nor": [1]}, "$nor"),
    ({"a": {"$in": 1}}, "$in"),
    ({"a": {"$nin": "ab"}}, "$nin"),
    ({"a": {"$in": [{"$gt": 1}]}}, "$in"),
    ({"a": {"$all": 1}}, "$all"),
    ({"a": {"$all": [{"$elemMatch": {"b": 1}}, 2]}}, "$all"),
    ({"a": {"$size": "2"}}, "$size"),
    ({"a": {"$size": 1.5}}, "$size"),
    ({"a": {"$size": -1}}, "$size"),
    ({"a": {"$size": True}}, "$size"),
    ({"a": {"$regex": 5}}, "$regex"),
    ({"a": {"$regex": "("}}, "$regex"),
    ({"a": {"$regex": "x", "$options": "g"}}, "$regex"),
    ({"a": {"$options": "i"}}, "$options"),
    ({"a": {"$regex": "x", "$options": 1}}, "$options"),
    ({"a": re.compile("x", re.ASCII)}, "$regex"),
    ({"a": {"$not": 5}}, "$not"),
    ({"a": {"$not": {}}}, "$not"),
    ({"a": {"$not": {"b": 1}}}, "$not"),
    ({"a": {"$ne": re.compile("x")}}, "$ne"),
    ({"a": {"$gt": re.compile("x")}}, "$gt"),
    ({"a": {"$elemMatch": 1}}, "$elemMatch"),
    ({"a": {"$type": "text"}}, "$type"),
    ({"a": {"$type": 99}}, "$type"),
    ({"a": {"$type": True}}, "$type"),
    ({"a": {"$mod": [0, 1]}}, "$mod"),
    ({"a": {"$mod": [2]}}, "$mod"),
    ({"a": {"$mod": [float("nan"), 1]}}, "$mod"),
    ({"a": 2**64}, "64 bits"),
    ({"a": object()}, "object"),
    ({"a.$.b": 1}, "'$'"),
    ({"a.$[]": 1}, "$[]"),
    ({1: 1}, "1"),
])
def test_refused_filters_name_the_culprit(filter: dict, culprit: str) -> None:
    with pytest.raises(QueryError) as raised:
        parse_filter(filter)
    assert culprit in str(raised.value)


def test_a_filter_must_be_a_mapping() -> None:
    with pytest.raises(QueryError, match="mapping"):
        parse_filter([("a", 1)])  # type: ignore[arg-type]


def test_split_path() -> None:
    assert split_path("a.0.b c") == ("a", "0", "b c")
    assert split_path("a'); DROP TABLE t;--") == ("a'); DROP TABLE t;--",)
    with pytest.raises(QueryError, match="must be a string"):
        split_path(5)


def test_the_public_names_are_exported_and_sorted() -> None:
    assert query.__all__ == sorted(query.__all__)
    assert all(hasattr(query, name) for name in query.__all__)
