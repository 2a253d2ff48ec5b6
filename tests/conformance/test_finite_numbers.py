"""The finite-number filter (leaderboards, the dashboard's "ranked" counts) selects on every backend exactly what
`is_finite_number` accepts in Python (groupings, breakdowns, the CLI's marks and sparklines)."""

from __future__ import annotations

import math

from bson import ObjectId

from epochlog.cli import render
from epochlog.finite_numbers import finite_filter, is_finite_number
from epochlog.schema import EXPERIMENTS
from epochlog.store import Store
from epochlog.store.base import Put

VALUES = [0, -3, 2.5, 1e308, -1e308, math.nan, math.inf, -math.inf, True, False, "1", None, [math.nan], {"a": 1}]


def test_the_filter_matches_what_the_predicate_accepts(store: Store) -> None:
    ids = [ObjectId() for _ in VALUES]
    store.write([Put(EXPERIMENTS, {"_id": oid, "v": value}) for oid, value in zip(ids, VALUES)])
    store.write([Put(EXPERIMENTS, {"_id": ObjectId()})])  # no value at all
    found = {document["_id"] for document in store.find(EXPERIMENTS, finite_filter("v"))}
    assert found == {oid for oid, value in zip(ids, VALUES) if is_finite_number(value)} and len(found) == 5
    # as in MongoDB, an array holding a finite number matches (a metric is never stored as one)
    store.write([Put(EXPERIMENTS, {"_id": ids[-2], "v": [math.nan, 1.0]})])
    assert len(store.find(EXPERIMENTS, finite_filter("v"))) == 6


def test_a_sparkline_skips_booleans_as_the_leaderboard_does() -> None:
    assert render.sparkline([True, 1.0, 2.0, math.nan]) == "×▁█×"
