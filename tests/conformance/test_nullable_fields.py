"""Fields the tracker indexes may still be null (an experiment without a challenge): null is not missing."""

from __future__ import annotations

from epochlog import Tracker


def test_null_challenge_is_present_and_matches_null(tracker: Tracker) -> None:
    tracker.create_experiment("no-challenge", None)
    tracker.create_experiment("two", 2)
    tracker.create_experiment("one", 1)

    def names(query: dict) -> list[str]:
        return sorted(doc["experiment_name"] for doc in tracker.search_experiments(query))

    assert names({"challenge": None}) == ["no-challenge"]
    assert names({"challenge": {"$exists": True}}) == ["no-challenge", "one", "two"]
    assert names({"challenge": {"$exists": False}}) == []
    assert names({"challenge": {"$type": "null"}}) == ["no-challenge"]
    assert names({"challenge": {"$ne": 2}}) == ["no-challenge", "one"]
    assert names({"challenge": {"$in": [None, 1]}}) == ["no-challenge", "one"]
    assert [doc["experiment_name"] for doc in tracker.search_experiments({}, sort=[("challenge", 1)])] == \
        ["no-challenge", "one", "two"]
