"""The embedded store hands the head of a pipeline to `find`, so that its SQL and indexes serve it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from bson import ObjectId

from epochlog.store.base import Put
from epochlog.store.sqlite import SQLiteStore


@pytest.fixture
def spied(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[SQLiteStore, list[tuple[Any, ...]]]]:
    store = SQLiteStore(tmp_path / "e.db")
    store.write([Put("experiments", {"_id": ObjectId(), "status": status, "loss": loss})
                 for status, loss in [("completed", 0.5), ("failed", 0.1), ("completed", 0.2), ("completed", 0.9)]])
    calls: list[tuple[Any, ...]] = []
    find = store.find

    def spy(collection: str, filter: Any = None, **options: Any) -> list[dict[str, Any]]:
        calls.append((collection, filter, options.get("sort"), options.get("skip", 0), options.get("limit", 0)))
        return find(collection, filter, **options)

    monkeypatch.setattr(store, "find", spy)
    yield store, calls
    store.close()


def test_match_sort_skip_limit_become_one_find(spied: tuple[SQLiteStore, list[tuple[Any, ...]]]) -> None:
    store, calls = spied
    found = store.aggregate("experiments", [{"$match": {"status": "completed"}}, {"$sort": {"loss": 1}},
                                            {"$skip": 1}, {"$limit": 1}, {"$project": {"_id": 0, "loss": 1}}])
    assert found == [{"loss": 0.5}]
    assert calls == [("experiments", {"status": "completed"}, [("loss", 1)], 1, 1)]


def test_expr_stays_in_python_and_stops_the_push_down(spied: tuple[SQLiteStore, list[tuple[Any, ...]]]) -> None:
    store, calls = spied
    found = store.aggregate("experiments", [{"$match": {"status": "completed", "$expr": {"$gt": ["$loss", 0.3]}}},
                                            {"$sort": {"loss": -1}}, {"$project": {"_id": 0, "loss": 1}}])
    assert found == [{"loss": 0.9}, {"loss": 0.5}]
    assert calls == [("experiments", {"status": "completed"}, None, 0, 0)]
