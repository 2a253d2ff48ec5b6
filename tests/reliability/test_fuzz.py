"""Arbitrary nested input into the document normaliser and the query compiler: only our errors escape."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections import Counter
from typing import Any

from bson import ObjectId
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from epochlog.documents import normalize_document, normalize_field
from epochlog.errors import EpochlogError
from epochlog.query.projection import compile_projection
from epochlog.query import compile_filter, compile_sort, register_functions

from tests.fuzzing import examples

OPERATORS = ["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$and", "$or", "$nor", "$not",
             "$regex", "$options", "$all", "$elemMatch", "$size", "$type", "$mod", "$where", "$expr", "$bogus"]
keys = st.one_of(st.sampled_from(OPERATORS), st.sampled_from(["a", "b.c", "a.0", "", "$", ".", "a'; --"]),
                 st.text(max_size=6), st.integers(), st.none(), st.tuples(st.integers()))
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8), st.binary(max_size=4),
                    st.datetimes(), st.dates(), st.builds(ObjectId), st.just(object()), st.sampled_from([2**80, -2**70]))
nested = st.recursive(scalars, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4),
    st.frozensets(st.integers(), max_size=3), st.tuples(children, children)), max_leaves=25)
FUZZ = settings(max_examples=examples(400), deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.dictionaries(keys, nested, max_size=5))
def test_the_normaliser_raises_only_our_errors(document) -> None:
    try:
        normalized = normalize_document(document)
    except EpochlogError:
        return
    assert isinstance(normalized, dict)
    for value in normalized.values():
        assert not isinstance(value, (tuple, set, frozenset, dt.date)) or isinstance(value, dt.datetime)


@FUZZ
@given(key=st.sampled_from(["metrics", "timing", "a.b", "$x", "loss"]),
       value=st.one_of(nested, st.dictionaries(st.sampled_from(["loss", "acc", "a.b", "lr"]), st.floats(), max_size=4)))
def test_normalizing_one_field_is_normalizing_the_document_with_it(key, value) -> None:
    """log_epoch converts only the fields a caller gives (normalize_field), with a fast path for flat
    float metrics: the result and the error must be those of normalize_document."""
    try:
        expected = normalize_document({key: value})[key]
    except EpochlogError as error:
        try:
            normalize_field(key, value)
        except EpochlogError as field_error:
            assert (type(field_error), str(field_error)) == (type(error), str(error))
            return
        raise AssertionError(f"normalize_field accepted what normalize_document refused: {error}") from None
    got = normalize_field(key, value)
    assert repr(got) == repr(expected) and type(got) is type(expected)
    assert got is not value or not isinstance(value, (dict, list))  # a copy: later changes by the caller stay out


fields = st.sampled_from(["a", "a.b", "a.0", "c", "metrics.loss", "_id"])
operands = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(), st.text(max_size=3),
                     st.datetimes(), st.builds(ObjectId), st.lists(st.integers(-2, 2), max_size=3))
conditions = st.one_of(
    operands,
    st.dictionaries(st.sampled_from(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte"]), operands, min_size=1, max_size=2),
    st.builds(lambda op, values: {op: values}, st.sampled_from(["$in", "$nin", "$all"]),
              st.lists(operands, max_size=3)),
    st.builds(lambda present: {"$exists": present}, st.booleans()),
    st.builds(lambda size: {"$size": size}, st.integers(0, 3)),
    st.builds(lambda kind: {"$type": kind}, st.sampled_from(["string", "number", "array", "null", "object"])),
    st.builds(lambda pattern, flags: {"$regex": pattern, "$options": flags}, st.sampled_from(["^x", "a.b", "[0-9]+"]),
              st.sampled_from(["", "i", "ms"])),
    st.builds(lambda inner: {"$elemMatch": inner}, st.dictionaries(st.sampled_from(["$gt", "$lt", "b"]), operands,
                                                                    min_size=1, max_size=2)),
    st.builds(lambda inner: {"$not": inner}, st.dictionaries(st.sampled_from(["$gt", "$in"]), operands, min_size=1,
                                                              max_size=1)))
well_formed = st.recursive(st.dictionaries(fields, conditions, min_size=1, max_size=3), lambda inner: st.builds(
    lambda op, branches: {op: branches}, st.sampled_from(["$and", "$or", "$nor"]), st.lists(inner, min_size=1,
                                                                                              max_size=3)),
    max_leaves=6)
sorts = st.lists(st.tuples(fields, st.sampled_from([1, -1])), max_size=2, unique_by=lambda item: item[0])
projections = st.dictionaries(fields, st.sampled_from([0, 1]), max_size=2)


def test_the_query_compiler_raises_only_our_errors_and_emits_valid_sql() -> None:
    """Chaotic input and well-formed filters alike compile to SQL that SQLite runs, or are refused with our
    error; most of the examples must reach SQLite, and few compile to nothing (`WHERE 1`)."""
    database = sqlite3.connect(":memory:")
    register_functions(database)
    database.execute("CREATE TABLE t (id TEXT PRIMARY KEY, doc TEXT NOT NULL)")
    database.execute("""INSERT INTO t VALUES ('65f000000000000000000000', '{"a": [1, {"b": 2}], "c": "x"}')""")
    outcomes: Counter[str] = Counter()

    chaotic = st.tuples(st.one_of(nested, st.dictionaries(keys, nested, max_size=4)),
                        st.one_of(st.none(), nested, st.lists(st.tuples(keys, st.sampled_from([1, -1, 0, "x"])),
                                                              max_size=3)),
                        st.one_of(st.none(), nested, st.dictionaries(keys, nested, max_size=3)))
    plausible = st.tuples(well_formed, st.one_of(st.none(), sorts), st.one_of(st.none(), projections))

    @FUZZ
    @given(case=st.one_of(chaotic, plausible))
    def compile_and_run(case: tuple[Any, Any, Any]) -> None:
        filter, sort, projection = case
        try:
            where, params = compile_filter(filter)
            order, order_params = compile_sort(sort)
            compile_projection(projection)
        except EpochlogError:
            outcome = "refused with our error"
        else:
            database.execute(f"SELECT id FROM t WHERE {where} ORDER BY {order + ', ' if order else ''}id",
                             params + order_params).fetchall()
            outcome = "compiled to WHERE 1" if where.strip() == "1" else "compiled and run by SQLite"
        event(outcome)
        outcomes[outcome] += 1

    compile_and_run()
    database.close()
    total = sum(outcomes.values())
    assert outcomes["compiled and run by SQLite"] >= 0.4 * total, outcomes
    assert outcomes["compiled to WHERE 1"] <= 0.1 * total, outcomes
