"""The SQL compiler against mongomock: same documents, same filter/sort/projection, same answers.

mongomock is not MongoDB. Where it is known to differ from MongoDB 7 (the cases are listed in
docs/QUERY.md, "mongomock's known differences", and each has a unit test in test_sql.py or
test_projection.py asserting MongoDB's documented behaviour), the generator avoids the shape, or
`_untrusted` leaves the affected documents out of the comparison. Everything else must agree.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import re
from collections.abc import Iterator
from typing import Any

import mongomock
from bson import ObjectId
from hypothesis import HealthCheck, Phase, assume, event, example, given, settings
from hypothesis import strategies as st
from mongomock.filtering import iter_key_candidates

from epochlog.errors import QueryError
from epochlog.query.parse import VALUE_OPERATORS

from tests.fuzzing import examples
from .conftest import Table, new_table

UTC = dt.timezone.utc
KEYS = ["0", "1", "a", "b", "c"]  # sorted: generated documents always keep keys in this order
MISSING = object()

# -- values ----------------------------------------------------------------------------------------

# No 0 and 1 (nor 0.0, 1.0): mongomock compares with Python's ==, where True == 1 and False == 0.
INTS = [-7, -2, -1, 2, 3, 5, 2**40, -(2**40)]
FLOATS = [-2.5, 0.5, 2.0, 3.5, 1e300, math.inf, -math.inf]
STRINGS = ["", "x", "y", "xy", "X", "b", "a b", "é", "日本", "x\ny"]
DATES = [dt.datetime(2020, 1, 1, tzinfo=UTC), dt.datetime(2021, 6, 1, 12, 0, 0, 123000, tzinfo=UTC),
         dt.datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)]
OIDS = [ObjectId("5f0000000000000000000001"), ObjectId("5f0000000000000000000002"),
        ObjectId("650000000000000000000000")]

scalars = st.one_of(st.sampled_from(INTS), st.sampled_from(FLOATS), st.sampled_from(STRINGS), st.booleans(),
                    st.none(), st.sampled_from(DATES), st.sampled_from(OIDS))


def _dicts(children: st.SearchStrategy[Any], min_size: int = 0, max_size: int = 3) -> st.SearchStrategy[dict[str, Any]]:
    items = st.lists(st.tuples(st.sampled_from(KEYS), children), min_size=min_size, max_size=max_size,
                     unique_by=lambda item: item[0])
    return items.map(lambda pairs: dict(sorted(pairs)))


values = st.recursive(scalars, lambda children: st.lists(children, max_size=3) | _dicts(children), max_leaves=6)
documents = st.lists(_dicts(values, min_size=2, max_size=5), min_size=3, max_size=8)
paths = st.lists(st.sampled_from(KEYS), min_size=1, max_size=3).map(".".join)
top_paths = st.sampled_from(KEYS)
eq_operands = st.one_of(scalars, _dicts(scalars))  # no lists: see _untrusted / docs/QUERY.md
range_operands = st.one_of(st.sampled_from(INTS), st.sampled_from(FLOATS), st.sampled_from(STRINGS),
                           st.booleans(), st.sampled_from(DATES), st.sampled_from(OIDS))
patterns = st.sampled_from(["x", "^x", "y$", "X", "é", "^$", "a b", "x|y", ".", "^.$", "日"])
type_names = st.sampled_from(["double", "string", "object", "array", "bool", "date", "objectId", "number",
                              "int", "long"])

# -- filters: paths and operands are drawn mostly from the documents, so that they hit -------------


class Pool:
    """The paths a set of documents has (numeric keys for array offsets too) and the values there."""

    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.paths: set[str] = set()
        self.values: list[Any] = []
        self.pairs: list[tuple[str, Any]] = []
        for doc in docs:
            self._visit(doc, "")

    def _visit(self, value: Any, prefix: str) -> None:
        if prefix and prefix.count(".") < 3:
            self.paths.add(prefix)
            self.pairs.append((prefix, value))
            if value not in self.values and value != {}:
                self.values.append(value)
        if isinstance(value, dict):
            for key, item in value.items():
                self._visit(item, f"{prefix}.{key}" if prefix else key)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    self._visit(item, prefix)
                if prefix:
                    self._visit(item, f"{prefix}.{index}")

    def path(self) -> st.SearchStrategy[str]:
        known = sorted(self.paths, key=lambda p: (p.count("."), p))
        return st.one_of(st.sampled_from(known), paths) if known else paths

    def pair(self) -> st.SearchStrategy[tuple[str, Any]]:
        """A path with a value found there (mostly), so that conditions match some documents."""
        pairs = [(path, value) for path, value in self.pairs if value != {}]
        random = st.tuples(paths, values)
        return st.one_of(st.sampled_from(pairs), st.sampled_from(pairs), random) if pairs else random

    def around(self, near: st.SearchStrategy[Any]) -> Pool:
        """This pool, its operands drawn half the time from `near`."""
        pool = Pool([])
        pool.paths, pool.values, pool.pairs, pool.near = self.paths, self.values, self.pairs, near
        return pool

    near: st.SearchStrategy[Any] | None = None

    def _with_near(self, strategy: st.SearchStrategy[Any], keep: Any) -> st.SearchStrategy[Any]:
        if self.near is None:
            return strategy
        return st.one_of(self.near.filter(keep), strategy)

    def value(self) -> st.SearchStrategy[Any]:
        return st.one_of(st.sampled_from(self.values), values) if self.values else values

    def scalar(self) -> st.SearchStrategy[Any]:
        found = [v for v in self.values if not isinstance(v, (dict, list))]
        return self._with_near(st.one_of(st.sampled_from(found), scalars) if found else scalars,
                               lambda v: not isinstance(v, (dict, list)))

    def eq_operand(self) -> st.SearchStrategy[Any]:  # no lists: see _untrusted / docs/QUERY.md
        found = [v for v in self.values if not isinstance(v, list)]
        return self._with_near(st.one_of(st.sampled_from(found), scalars, _dicts(scalars)) if found else eq_operands,
                               lambda v: not isinstance(v, list))

    def range_operand(self) -> st.SearchStrategy[Any]:
        found = [v for v in self.values if v is not None and not isinstance(v, (dict, list))]
        return self._with_near(st.one_of(st.sampled_from(found), range_operands) if found else range_operands,
                               lambda v: v is not None and not isinstance(v, (dict, list)))


def _op(name: str, operand: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return operand.map(lambda value: {name: value})


def value_ops(pool: Pool) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        _op("$eq", pool.eq_operand()),
        *(_op(op, pool.range_operand()) for op in ("$gt", "$gte", "$lt", "$lte")),
        _op("$in", st.lists(pool.eq_operand(), max_size=3)),
        _op("$exists", st.booleans()),
        st.tuples(patterns, st.sampled_from(["", "i", "m", "s"])).map(
            lambda p: {"$regex": p[0], "$options": p[1]} if p[1] else {"$regex": p[0]}),
        _op("$size", st.integers(0, 3)),
        _op("$type", type_names),
    )


@st.composite
def field_conditions(draw: st.DrawFn, pool: Pool, depth: int, in_elem_match: bool = False) -> dict[str, Any]:
    path, found = draw(pool.pair())
    kinds = ["eq", "eq", "regex", "ops", "ops", "negative", "elem_value", "all"]
    kinds += [] if in_elem_match else ["elem_doc"]
    kind = draw(st.sampled_from(kinds))
    near = st.just(found) if not isinstance(found, list) else st.sampled_from(found or [None])
    pool = pool.around(near)
    if kind == "eq":
        value = draw(st.one_of(st.just(found), pool.value()))
        return {path: value if value != {} else {"$eq": value}}  # mongomock: {a: {}} matches a missing
    if kind == "regex":
        return {path: re.compile(draw(patterns))}
    if kind == "ops":  # several operators on one path, each over all of the path's values
        ops = draw(st.lists(value_ops(pool), min_size=1, max_size=2))
        return {path: {k: v for op in ops for k, v in op.items()}}
    if kind == "negative":
        # no $options inside $not: mongomock refuses them there (MongoDB does not)
        inner = value_ops(pool).map(lambda op: {k: v for k, v in op.items() if k != "$options"})
        negative = st.one_of(_op("$ne", pool.eq_operand()), _op("$nin", st.lists(pool.eq_operand(), max_size=3)),
                             _op("$not", inner), patterns.map(lambda p: {"$not": re.compile(p)}))
        return {path: draw(negative)}
    if kind == "elem_value":
        ops = draw(st.lists(value_ops(pool), min_size=1, max_size=2))
        return {path: {"$elemMatch": {k: v for op in ops for k, v in op.items()}}}
    if kind == "elem_doc":  # one level of query-form $elemMatch (nested ones: test_sql.py)
        return {path: {"$elemMatch": draw(filters(pool, depth + 1, in_elem_match=True))}}
    items = draw(st.lists(st.one_of(pool.scalar().filter(lambda v: v is not None and not isinstance(v, float)),
                                    st.sampled_from(STRINGS)), min_size=1, max_size=2))
    return {draw(top_paths): {"$all": items}}


def filters(pool: Pool, depth: int = 0, in_elem_match: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    leaf = field_conditions(pool, depth, in_elem_match)
    if depth >= 2:
        return leaf
    sub = st.lists(st.deferred(lambda: filters(pool, depth + 1, in_elem_match)), min_size=1, max_size=3)
    return st.one_of(leaf, leaf, sub.map(lambda fs: {"$and": fs}), sub.map(lambda fs: {"$or": fs}),
                     sub.map(lambda fs: {"$nor": fs}),
                     st.tuples(leaf, leaf).map(lambda pair: {**pair[0], **pair[1]}))


# -- where mongomock cannot be trusted ---------------------------------------------------------------


def _walk(document: dict[str, Any], keys: list[str]) -> tuple[set[str], list[Any]]:
    """Shape flags of a path in a document, and the values it leads to (approximately MongoDB's)."""
    flags: set[str] = set()
    leaves: list[Any] = []

    def visit(value: Any, i: int) -> None:
        if i == len(keys):
            leaves.append(value)
            return
        key = keys[i]
        if isinstance(value, dict):
            child = value.get(key, MISSING)
            if i + 1 < len(keys) and child is not MISSING and not isinstance(child, (dict, list)):
                flags.add("scalar_prefix")
            visit(child, i + 1)
        elif isinstance(value, list):
            flags.add("array_prefix")
            if key.isdigit():
                flags.add("index")
                if any(isinstance(item, dict) for item in value):
                    flags.add("index_into_documents")
                index = int(key)
                if str(index) == key and index < len(value):
                    if i + 1 == len(keys) and isinstance(value[index], list):
                        flags.add("index_leaf_array")
                    if not isinstance(value[index], dict):
                        visit(value[index], i + 1)
            for item in value:
                if isinstance(item, dict):
                    visit(item, i)
        else:
            leaves.append(MISSING)

    visit(document, 0)
    return flags, leaves


NULLISH = ("$eq", "$ne", "$in", "$nin")


def _null_sensitive(condition: Any) -> bool:
    if condition is None:
        return True
    if isinstance(condition, dict) and condition and next(iter(condition)).startswith("$"):
        for op, operand in condition.items():
            if op in ("$eq", "$ne") and operand is None:
                return True
            if op in ("$in", "$nin") and None in operand:
                return True
            if op == "$exists" and not operand:
                return True
            if op == "$not" and isinstance(operand, dict) and _null_sensitive(operand):
                return True
    return False


def _untrusted(document: dict[str, Any], filter: dict[str, Any]) -> bool:
    """Whether mongomock's answer for this document may differ from MongoDB's (see docs/QUERY.md)."""
    for key, condition in filter.items():
        if key in ("$and", "$or", "$nor"):
            if any(_untrusted(document, sub) for sub in condition):
                return True
            continue
        flags, leaves = _walk(document, key.split("."))
        if {"index_into_documents", "index_leaf_array"} & flags:
            return True  # mongomock reads "a.0" only as an index, and looks into a[0] if it is an array
        if "scalar_prefix" in flags and _null_sensitive(condition):
            return True  # MongoDB: {"a.b": null} matches {a: 5}; mongomock does not
        ops = condition if isinstance(condition, dict) and condition and next(iter(condition)).startswith("$") \
            else {}
        if ops.get("$exists") is False and flags & {"array_prefix", "scalar_prefix"}:
            return True  # mongomock: {$exists: false} is true if *any* of several values is missing
        if len([op for op in ops if op != "$options"]) > 1 and (len(leaves) > 1 or "array_prefix" in flags):
            return True  # mongomock applies several operators to the same one of several values
        if "$size" in ops and any(not isinstance(leaf, list) and leaf is not MISSING and leaf for leaf in leaves):
            return True  # mongomock: {$size: 1} matches a non-empty scalar, {$size: n} a document of n keys
        if "$size" in ops and any(isinstance(leaf, dict) for leaf in leaves):
            return True
        if "$elemMatch" in ops and any(isinstance(leaf, list) and any(not isinstance(item, dict) for item in leaf)
                                       for leaf in leaves):
            return True  # mongomock: elements that are arrays are looked into, scalars match {b: {$exists: false}}
        if "$all" in ops and any(isinstance(leaf, list) and leaf and isinstance(leaf[0], list) for leaf in leaves):
            return True  # mongomock flattens [[...], ...] for $all
        if "$not" in ops and not list(iter_key_candidates(key, document)):
            return True  # mongomock: $not is false when the path reaches no value (MongoDB: true)
        if "$not" in ops and isinstance(ops["$not"], dict) and _untrusted(document, {key: ops["$not"]}):
            return True
        if "$elemMatch" in ops and isinstance(ops["$elemMatch"], dict):
            for leaf in leaves:
                if isinstance(leaf, list):
                    for item in leaf:
                        if isinstance(item, dict) and next(iter(ops["$elemMatch"]), "") not in VALUE_OPERATORS \
                                and _untrusted(item, ops["$elemMatch"]):
                            return True
    return False


# -- running both ------------------------------------------------------------------------------------


def _load(table: Table, docs: list[dict[str, Any]]) -> tuple[Any, list[ObjectId]]:
    ids = table.insert(*docs)
    collection = mongomock.MongoClient().db.c
    if docs:
        collection.insert_many([{"_id": _id, **doc} for _id, doc in zip(ids, docs)])
    return collection, ids


def _plain(value: Any) -> Any:
    """Values as comparable across the two: datetimes naive UTC (mongomock returns them so)."""
    if isinstance(value, dt.datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


@contextlib.contextmanager
def _tables() -> Iterator[Table]:
    table = new_table()
    try:
        yield table
    finally:
        table.db.close()


# Sized so that the three tests take about half a minute (tests/fuzzing.py: derandomized in CI). No
# explain phase: it imports libcst, whose DeprecationWarnings are errors under our pytest settings.
SETTINGS = settings(max_examples=examples(300), deadline=None,
                    phases=(Phase.explicit, Phase.generate, Phase.shrink),
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def docs_and_filter(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Documents and a filter built from their values, drawn again (twice at most) while mongomock says it selects
    none or all of them: a filter that splits the documents is the one that tells two implementations apart."""
    docs = draw(documents)
    pool = Pool(docs)
    collection = mongomock.MongoClient().db.c
    collection.insert_many([dict(doc) for doc in docs])
    for _ in range(3):
        filter = draw(filters(pool))
        try:
            matched: int | None = len(list(collection.find(filter, {"_id": 1})))
        except Exception:  # mongomock refuses it: the comparison shows what our compiler does with it
            matched = None
        if matched is not None and 0 < matched < len(docs):
            break
    event("the filter splits the documents" if matched is not None and 0 < matched < len(docs) else
          "it selects none of them" if matched == 0 else
          "it selects all of them" if matched else "mongomock refuses it")
    return docs, filter


# Cases that once told the two apart, or would: every generated run starts with them, and the conformance suite
# asks every backend the same (tests/conformance/test_differential_corpus.py).
CORPUS: list[tuple[list[dict[str, Any]], dict[str, Any]]] = [
    ([{"a": [{"b": 1}, {"c": 2}]}, {"a": [5]}, {}], {"a.b": None}),
    ([{"a": {"b": 2}}, {"a": 5}, {"a": None}, {"a": {"b": None}}, {}], {"a.b": None}),  # no arrays
    ([{"a": 2}, {"a": 2.5}, {"a": "2"}, {"a": True}, {"a": DATES[0]}, {"a": math.inf}], {"a": {"$lt": 3}}),
    ([{"a": [1, [2, 3]]}, {"a": [[1]]}], {"a": {"$elemMatch": {"$gt": 1}}}),
    ([{"a": [0.5, "x"]}, {"a": "x"}], {"a": {"$not": {"$type": "number"}}}),
    ([{"a": {"b": 2, "c": "x"}}, {"a": {"b": 2.0, "c": "x"}}], {"a": {"b": 2, "c": "x"}}),
    ([{}], {"0": {"$eq": {}}}),  # mongomock: {"0": {}} would match the missing field
    ([{"0": []}], {"0.0": {"$not": {"$eq": -7}}}),  # mongomock: $not false without values
    ([{"b": {"a": DATES[0]}}], {"$nor": [{"b.0": -7}]}),  # json_each over an object, unguarded
    ([{"1": [{"0": -7}]}, {"1": [{"0": [3]}]}], {"1": {"$elemMatch": {"$and": [{"0": {"$size": 1}}]}}}),
]


def _with_corpus(test: Any) -> Any:
    for case in CORPUS:
        test = example(case=case)(test)
    return test


@settings(SETTINGS, max_examples=examples(600))
@given(case=docs_and_filter())
@_with_corpus
def test_filters_agree_with_mongomock(case: tuple[list[dict[str, Any]], dict[str, Any]]) -> None:
    docs, filter = case
    with _tables() as table:
        collection, ids = _load(table, docs)
        trusted = {_id for _id, doc in zip(ids, docs) if not _untrusted(doc, filter)}
        theirs = {doc["_id"] for doc in collection.find(filter, {"_id": 1})} & trusted
        for table.know_arrays in (True, False):  # paths without arrays compile to plain comparisons
            try:
                ours = set(table.ids(filter)) & trusted
            except QueryError as error:  # filters too deep for SQLite 3.40 are refused: see test_sql.py
                assume("nests too deeply" not in str(error) and "too complex" not in str(error))
                raise
            assert ours == theirs, (docs, filter, table.know_arrays)


def _sortable(document: dict[str, Any], keys: list[str]) -> bool:
    """Documents whose sort key mongomock computes as MongoDB does: no arrays, documents or bytes on the way."""
    flags, leaves = _walk(document, keys)
    return not flags & {"array_prefix"} and all(not isinstance(leaf, (dict, list)) for leaf in leaves)


sorts = st.lists(st.tuples(paths, st.sampled_from([1, -1])), min_size=1, max_size=2,
                 unique_by=lambda item: item[0])


# Filters for sorted finds; "$sort0" stands for the first sort path (a filter that fixes its type rank).
sort_filters = st.one_of(
    st.just({}), st.builds(lambda p: {p: {"$exists": True}}, paths),
    st.builds(lambda op, v: {"$sort0": {op: v}}, st.sampled_from(["$gte", "$lt"]), range_operands),
    st.builds(lambda v: {"$sort0": v}, scalars))


@SETTINGS
@given(docs=st.lists(_dicts(values), min_size=1, max_size=10), sort=sorts, skip=st.integers(0, 3),
       limit=st.integers(0, 4), filter=sort_filters)
@example(docs=[{"a": 2}, {"a": "x"}, {"a": None}, {}, {"a": True}, {"a": DATES[0]}, {"a": OIDS[0]}, {"a": 2.5}],
         sort=[("a", 1)], skip=0, limit=0, filter={})
@example(docs=[{"a": 2}, {"a": "x"}, {"a": None}, {}, {"a": 5}, {"a": DATES[0]}, {"a": -2.5}, {"a": "y"}],
         sort=[("a", -1)], skip=1, limit=2, filter={"$sort0": {"$gte": -7}})
def test_sort_skip_limit_agree_with_mongomock(docs: list[dict[str, Any]], sort: list[tuple[str, int]],
                                              skip: int, limit: int, filter: dict[str, Any]) -> None:
    if "$sort0" in filter:
        filter = {sort[0][0]: filter["$sort0"]}
    docs = [doc for doc in docs if all(_sortable(doc, path.split(".")) for path, _ in sort)
            and not _untrusted(doc, filter)]
    total = sort + [("_id", 1)]  # the store's final tie-breaker, made explicit for mongomock
    with _tables() as table:
        collection, _ = _load(table, docs)
        theirs = [doc["_id"] for doc in collection.find(filter, {"_id": 1}).sort(total).skip(skip).limit(limit)]
        for table.know_arrays in (True, False):  # paths without arrays sort by their plain sort key
            ours = [doc["_id"] for doc in table.find(filter, sort=sort, skip=skip, limit=limit)]
            assert ours == theirs, table.know_arrays


projections = st.one_of(
    st.lists(paths, min_size=1, max_size=3, unique=True).map(lambda ps: {p: 1 for p in ps}),
    st.lists(paths, min_size=1, max_size=3, unique=True).map(lambda ps: {p: 0 for p in ps}),
    st.lists(paths, min_size=1, max_size=2, unique=True).map(lambda ps: {"_id": 0, **{p: 1 for p in ps}}),
    st.just({"_id": 0}), st.just({"_id": 1}),
)


def _projectable(document: dict[str, Any], projection: dict[str, Any]) -> bool:
    """mongomock projects into arrays only when they hold documents, and drops scalars it should keep."""
    for path in projection:
        flags, _ = _walk(document, path.split("."))
        if flags & {"array_prefix", "scalar_prefix"}:
            return False
    return True


def _collides(projection: dict[str, Any]) -> bool:
    names = [p for p in projection if p != "_id"]
    return any(a != b and b.startswith(a + ".") for a in names for b in names)


@SETTINGS
@given(docs=documents, projection=projections)
@example(docs=[{"a": {"b": 1, "c": 2}}, {"a": 5}, {}], projection={"a.b": 1})
def test_projections_agree_with_mongomock(docs: list[dict[str, Any]],
                                          projection: dict[str, Any]) -> None:
    assume(not _collides(projection))  # a path collision is an error in both (tested in test_projection.py)
    docs = [doc for doc in docs if _projectable(doc, projection)]
    with _tables() as table:
        collection, _ = _load(table, docs)
        ours = table.find({}, projection=projection)
    theirs = list(collection.find({}, dict(projection)).sort("_id", 1))
    assert [_plain(doc) for doc in ours] == [_plain(doc) for doc in theirs], (docs, projection)
