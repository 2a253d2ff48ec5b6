"""The embedded store's aggregation against mongomock: generated documents and pipelines, same answers.

mongomock is not MongoDB. Where it is known to differ (noted at each generator), the generator avoids
the shape. Both refusing a pipeline counts as agreement; one refusing it alone is a failure. Results
are compared in order when the pipeline ends in a `$sort` on a unique key, as multisets otherwise
(MongoDB itself leaves the order of groups and of sort ties unspecified).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import mongomock
from bson import ObjectId
from hypothesis import event, given, settings
from hypothesis import strategies as st

from epochlog.errors import QueryError
from epochlog.query.aggregate.values import order_key
from epochlog.store.base import Put
from epochlog.store.sqlite import SQLiteStore

from tests.fuzzing import examples

with warnings.catch_warnings():  # see tests/query/conftest.py: readable Hypothesis failures
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import hypothesis.extra._patching  # noqa: F401
    except ImportError:
        pass

FIELDS = ["a", "b", "c"]
# No 0 and 1: mongomock compares with Python's ==, where True == 1 and False == 0.
NUMBERS = [-7, -2, 2, 3, 5, 10, -2.5, 0.5, 2.0, 3.5]
numbers = st.sampled_from(NUMBERS)
scalars = st.one_of(numbers, st.sampled_from(["x", "y", "xy", ""]), st.none())
values = st.one_of(scalars, st.lists(numbers, max_size=3), st.fixed_dictionaries({"v": numbers}))
# `a` and `b` are always there: mongomock's expressions mishandle missing fields (a KeyError, or missing == null)
documents = st.lists(st.fixed_dictionaries({"a": values, "b": values}, optional={"c": values}), min_size=0, max_size=7)
present_refs = st.sampled_from(["$a", "$b"])
# ("$a.v" over an array of numbers is [] in MongoDB, missing in mongomock: test_expressions.py covers it)
field_refs = st.sampled_from([f"${field}" for field in FIELDS])

# -- expressions: numbers only where mongomock's arithmetic and ours agree on what is an error ------------
numeric_fields = st.sampled_from(["$n", "$m"])  # always numbers (see `_numbered`)
numeric = st.recursive(
    st.one_of(numeric_fields, numbers),
    lambda inner: st.one_of(
        st.tuples(st.sampled_from(["$add", "$subtract", "$multiply"]), inner, inner).map(lambda t: {t[0]: [t[1], t[2]]}),
        inner.map(lambda x: {"$abs": x}),
        st.tuples(inner, st.sampled_from([2, 4, -3])).map(lambda t: {"$divide": [t[0], t[1]]}),
    ), max_leaves=4)
comparisons = st.tuples(st.sampled_from(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$cmp"]),
                        st.one_of(numeric, present_refs), st.one_of(numeric, scalars, present_refs)).map(
    lambda t: {t[0]: [t[1], t[2]]})  # across types too: MongoDB's BSON order
booleans = st.one_of(comparisons, st.lists(comparisons, min_size=1, max_size=2).map(lambda items: {"$and": items}),
                     st.lists(comparisons, min_size=1, max_size=2).map(lambda items: {"$or": items}),
                     comparisons.map(lambda item: {"$not": item}))  # mongomock misreads {$not: [item]}
expressions = st.one_of(
    numeric, booleans,
    st.tuples(booleans, numeric, numeric).map(lambda t: {"$cond": {"if": t[0], "then": t[1], "else": t[2]}}),
    st.tuples(booleans, numeric, numeric).map(lambda t: {"$cond": list(t)}),
    st.tuples(field_refs, numbers).map(lambda t: {"$ifNull": list(t)}),
    st.tuples(booleans, numeric).map(lambda t: {"$switch": {"branches": [{"case": t[0], "then": t[1]}], "default": -1}}),
)

# -- stages ------------------------------------------------------------------------------------------
accumulators = st.sampled_from(["$sum", "$avg", "$min", "$max", "$push", "$first", "$last"])  # mongomock lacks $stdDev*
filters = st.one_of(
    st.tuples(st.sampled_from(FIELDS), st.sampled_from(["$gt", "$lt", "$gte", "$eq"]), numbers).map(
        lambda t: {t[0]: {t[1]: t[2]}}),
    st.tuples(st.sampled_from(FIELDS), scalars).map(lambda t: {t[0]: t[1]}),
    booleans.map(lambda expr: {"$expr": expr}),
)
stages = st.one_of(
    filters.map(lambda f: {"$match": f}),
    st.tuples(st.sampled_from(FIELDS), expressions).map(lambda t: {"$addFields": {"r": t[1]}}),
    st.tuples(st.sampled_from(FIELDS), expressions).map(lambda t: {"$set": {"r": t[1], t[0]: 1}}),
    st.sampled_from(FIELDS).map(lambda field: {"$project": {field: 1, "n": 1, "m": 1, "i": 1}}),
    st.sampled_from(FIELDS).map(lambda field: {"$project": {field: 0}}),
    st.tuples(st.sampled_from(["$n", "$m", "$c", "$a"]), accumulators, st.one_of(numeric_fields, field_refs),
              accumulators, numeric).map(
        lambda t: {"$group": {"_id": t[0], "out": {t[1]: t[2]}, "more": {t[3]: t[4]}, "count": {"$sum": 1}}}),
    st.tuples(st.sampled_from(["$sum", "$avg", "$min", "$max"]), numeric).map(
        lambda t: {"$group": {"_id": None, "all": {t[0]: t[1]}}}),
    st.sampled_from([{"$sort": {"n": 1, "i": 1}}, {"$sort": {"m": -1, "i": -1}}, {"$sort": {"i": -1}},
                     {"$sort": {"_id": 1}}, {"$sort": {"count": -1, "_id": -1}}]),
    st.integers(1, 5).map(lambda n: {"$limit": n}),
    st.integers(0, 3).map(lambda n: {"$skip": n}),
    st.sampled_from([{"$unwind": "$b"}, {"$unwind": {"path": "$b", "includeArrayIndex": "k"}}]),
    st.just({"$count": "total"}),  # ($sortByCount, $unset, $type: mongomock lacks them)
)
pipelines = st.lists(stages, min_size=1, max_size=4)


def _numbered(generated: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each document gets a unique `i` and the numbers `n`, `m` the numeric expressions read."""
    return [{"_id": ObjectId(), "i": index, "n": NUMBERS[index % len(NUMBERS)], "m": NUMBERS[(3 * index) % 7], **doc}
            for index, doc in enumerate(generated)]


def _run_mongomock(docs: list[dict[str, Any]], pipeline: list[dict[str, Any]]) -> list[dict[str, Any]] | Exception:
    """mongomock's answer. A `$group` or `$count` of no documents gives no document in MongoDB, but one
    (`{n: 0}`, `{_id: null, ...}`) in mongomock, so the stages after such a stage run on nothing."""
    collection = mongomock.MongoClient().db.c
    if docs:
        collection.insert_many([dict(doc) for doc in docs])
    try:
        for position, stage in enumerate(pipeline):
            if next(iter(stage)) in ("$group", "$count") and \
                    not (list(collection.aggregate(pipeline[:position])) if position else docs):
                return _run_mongomock([], pipeline[position + 1:]) if pipeline[position + 1:] else []
        return list(collection.aggregate(pipeline))
    except Exception as error:  # mongomock raises its own OperationFailure, or a plain Python error
        return error


def _run_embedded(docs: list[dict[str, Any]], pipeline: list[dict[str, Any]]) -> list[dict[str, Any]] | QueryError:
    """The answer of a fresh embedded store holding `docs` (and so knowing their array paths)."""
    with SQLiteStore(":memory:") as store:
        if docs:
            store.write([Put("experiments", doc) for doc in docs])
        try:
            return store.aggregate("experiments", pipeline)
        except QueryError as error:
            return error


def _same(ours: Any, theirs: Any) -> bool:
    if isinstance(ours, float) or isinstance(theirs, float):
        if isinstance(ours, bool) or isinstance(theirs, bool) or \
                not isinstance(ours, (int, float)) or not isinstance(theirs, (int, float)):
            return False
        return (ours != ours and theirs != theirs) or math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return list(ours) == list(theirs) and all(_same(ours[key], theirs[key]) for key in ours)
    if isinstance(ours, list) and isinstance(theirs, list):
        return len(ours) == len(theirs) and all(_same(a, b) for a, b in zip(ours, theirs))
    return type(ours) is type(theirs) and ours == theirs


def _reads_a_missing_field(pipeline: list[dict[str, Any]]) -> bool:
    """Whether an expression reads `a`, `b`, `n` or `m` after a stage removed it (mongomock then raises a
    KeyError or takes missing for null, where MongoDB's missing sorts below null)."""
    present = {"a", "b", "n", "m", "i", "_id"}
    for stage in pipeline:
        name, spec = next(iter(stage.items()))
        if name in ("$addFields", "$set", "$group") or (name == "$match" and "$expr" in spec):
            if {ref[1:].split(".")[0] for ref in _refs(spec)} & ({"a", "b", "n", "m"} - present):
                return True
        if name == "$group":
            present = set(spec)
        elif name == "$project":
            kept = {key for key, value in spec.items() if value}
            present = (present & (kept | {"_id"})) if kept else present - set(spec)
        elif name in ("$addFields", "$set"):
            present |= set(spec)
        elif name == "$count":
            present = {"total"}
    return False


def _refs(value: Any) -> list[str]:
    if isinstance(value, str) and value.startswith("$") and not value.startswith("$$"):
        return [value]
    if isinstance(value, dict):
        return [ref for item in value.values() for ref in _refs(item)]
    if isinstance(value, list):
        return [ref for item in value for ref in _refs(item)]
    return []


def _order(pipeline: list[dict[str, Any]]) -> tuple[bool, bool]:
    """(whether MongoDB defines which documents come out, whether it defines their order). A `$group`
    leaves the order unspecified until a `$sort` on a unique key (`i` before it, `_id` after it); a
    `$limit` or `$skip` in between leaves even the set unspecified. Sort ties keep the order before
    (both sorts are stable), and so does everything else here."""
    unique: str | None = "i"
    ordered, defined = True, True
    for stage in pipeline:
        name, spec = next(iter(stage.items()))
        if name == "$group":
            unique, ordered = "_id", False
        elif name == "$unwind":
            unique = None
        elif name == "$count":
            ordered = True
        elif name == "$sort":
            ordered = ordered or unique in spec
        elif name in ("$limit", "$skip") and not ordered:
            defined = False
    return defined, ordered


@settings(max_examples=examples(400), deadline=None)
@given(generated=documents, pipeline=pipelines)
def test_pipelines_agree_with_mongomock(generated: list[dict[str, Any]], pipeline: list[dict[str, Any]]) -> None:
    docs = _numbered(generated)
    for stage in pipeline:
        event(f"stage {next(iter(stage))}")
        for operator in _operators(stage):
            event(f"operator {operator}")
    if _reads_a_missing_field(pipeline):
        event("left out: an expression reads a removed field (mongomock's missing fields)")
        return
    theirs = _run_mongomock(docs, pipeline)
    ours = _run_embedded(docs, pipeline)
    if isinstance(ours, QueryError):
        assert isinstance(theirs, Exception), f"we refused {pipeline} ({ours}); mongomock answered {theirs}"
        event("both refused")
        return
    if isinstance(theirs, Exception) and not isinstance(theirs, mongomock.OperationFailure):
        event(f"mongomock cannot answer ({type(theirs).__name__})")  # its own bug (a TypeError), or unimplemented
        return
    assert not isinstance(theirs, Exception), f"mongomock refused {pipeline} ({theirs!r}); we answered {ours}"
    theirs = [{"_id": document.pop("_id"), **document} if "_id" in document else document  # and puts a group's
              for document in theirs]  # _id last
    defined, ordered = _order(pipeline)
    if not defined:
        event("result set unspecified (a $limit or $skip after a $group)")
        return
    if not ordered:
        ours, theirs = _canonical_order(ours), _canonical_order(theirs)
    assert _same(ours, theirs), f"{pipeline}\nours:      {ours}\nmongomock: {theirs}"


def _canonical_order(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(documents, key=lambda document: order_key({key: document[key] for key in sorted(document)}))


def _operators(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [key for key in value if isinstance(key, str) and key.startswith("$") and key not in
                 ("$match", "$addFields", "$set", "$project", "$unset", "$group", "$sort", "$limit", "$skip",
                  "$unwind", "$count")]
        return found + [name for item in value.values() for name in _operators(item)]
    if isinstance(value, list):
        return [name for item in value for name in _operators(item)]
    return []


# -- $expr in find filters: the same expressions, through the store's find and count --------------------
find_filters = st.one_of(
    booleans.map(lambda expr: {"$expr": expr}),
    st.tuples(filters, booleans).map(lambda t: {**t[0], "$expr": t[1]}),
    st.lists(filters, min_size=1, max_size=3).map(lambda items: {"$or": items}),
    st.lists(filters, min_size=1, max_size=2).map(lambda items: {"$nor": items}),
    st.tuples(filters, booleans).map(lambda t: {"$and": [t[0], {"$or": [{"i": {"$lt": 3}}, {"$expr": t[1]}]}]}),
)


@settings(max_examples=examples(300), deadline=None)
@given(generated=documents.filter(bool), filter=find_filters, direction=st.sampled_from([1, -1]), skip=st.integers(0, 3),
       limit=st.integers(0, 3))
def test_expr_in_find_agrees_with_mongomock(generated: list[dict[str, Any]], filter: dict[str, Any],
                                            direction: int, skip: int, limit: int) -> None:
    """Sorted by the unique `i`, so that skip and limit pick the same documents. (No empty collection:
    mongomock tries the filter on `{}` first, where its expressions fail on the missing fields.)"""
    docs = _numbered(generated)
    collection = mongomock.MongoClient().db.c
    collection.insert_many([dict(doc) for doc in docs])
    try:
        theirs = list(collection.find(filter, sort=[("i", direction)], skip=skip, limit=limit))
    except NotImplementedError:
        event("mongomock cannot answer (an operator it lacks in find, such as $cmp)")
        return
    except mongomock.OperationFailure as failure:
        theirs = failure
    with SQLiteStore(":memory:") as store:
        store.write([Put("experiments", doc) for doc in docs])
        try:
            ours = store.find("experiments", filter, sort=[("i", direction)], skip=skip, limit=limit)
            counted = store.count("experiments", filter)
        except QueryError as error:
            assert isinstance(theirs, Exception), f"we refused {filter} ({error}); mongomock answered {theirs}"
            event("both refused")
            return
    assert not isinstance(theirs, Exception), f"mongomock refused {filter} ({theirs}); we answered {ours}"
    assert _same(ours, theirs), f"{filter}\nours:      {ours}\nmongomock: {theirs}"
    assert counted == collection.count_documents(filter)
