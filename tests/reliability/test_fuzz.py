"""Arbitrary nested input into the document normaliser and the query compiler: only our errors escape."""

from __future__ import annotations

import datetime as dt
import sqlite3

from bson import ObjectId
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from epochlog.documents import normalize_document, normalize_field
from epochlog.errors import EpochlogError
from epochlog.query.projection import compile_projection
from epochlog.query import compile_filter, compile_sort

OPERATORS = ["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$and", "$or", "$nor", "$not",
             "$regex", "$options", "$all", "$elemMatch", "$size", "$type", "$mod", "$where", "$expr", "$bogus"]
keys = st.one_of(st.sampled_from(OPERATORS), st.sampled_from(["a", "b.c", "a.0", "", "$", ".", "a'; --"]),
                 st.text(max_size=6), st.integers(), st.none(), st.tuples(st.integers()))
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8), st.binary(max_size=4),
                    st.datetimes(), st.dates(), st.builds(ObjectId), st.just(object()), st.sampled_from([2**80, -2**70]))
nested = st.recursive(scalars, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4),
    st.frozensets(st.integers(), max_size=3), st.tuples(children, children)), max_leaves=25)
FUZZ = settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


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


@FUZZ
@given(filter=st.one_of(nested, st.dictionaries(keys, nested, max_size=4)),
       sort=st.one_of(st.none(), nested, st.lists(st.tuples(keys, st.sampled_from([1, -1, 0, "x"])), max_size=3)),
       projection=st.one_of(st.none(), nested, st.dictionaries(keys, nested, max_size=3)))
def test_the_query_compiler_raises_only_our_errors_and_emits_valid_sql(filter, sort, projection) -> None:
    database = sqlite3.connect(":memory:")
    database.execute("CREATE TABLE t (id TEXT PRIMARY KEY, doc TEXT NOT NULL)")
    database.execute("""INSERT INTO t VALUES ('65f000000000000000000000', '{"a": [1, {"b": 2}], "c": "x"}')""")
    try:
        where, params = compile_filter(filter)
        order, order_params = compile_sort(sort)
        compile_projection(projection)
    except EpochlogError:
        return
    database.execute(f"SELECT id FROM t WHERE {where} ORDER BY {order + ', ' if order else ''}id",
                     params + order_params).fetchall()
