"""`Store.count(..., limit=)` on every backend: it counts at most `limit` matches (the dashboard's "10,000+")."""

from __future__ import annotations

import pytest

from epochlog import QueryError, Tracker


def test_a_count_stops_at_its_limit(tracker: Tracker) -> None:
    for index in range(7):
        tracker.create_experiment(f"run{index}", 1 + index % 2)
    store = tracker.store
    assert store.count("experiments") == 7 and store.count("experiments", limit=0) == 7
    assert store.count("experiments", limit=3) == 3 and store.count("experiments", limit=50) == 7
    assert store.count("experiments", {"challenge": 2}, limit=2) == 2
    assert store.count("experiments", {"challenge": 2}, limit=9) == 3
    assert store.count("experiments", {"$expr": {"$eq": ["$challenge", 1]}}, limit=3) == 3
    with pytest.raises(QueryError, match="limit"):
        store.count("experiments", limit=-1)
