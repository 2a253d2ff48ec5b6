"""Indexes a user adds (`Tracker.create_index`, `epochlog index`) on every backend: created once, listed, used by
leaderboards and groupings, dropped; epochlog's own stay, and bad keys change nothing."""

from __future__ import annotations

from typing import Any

import pytest

from epochlog import InvalidArgument, NotFound, Tracker


def _rounded(value: Any) -> Any:
    """Floats to 12 digits: sums taken in another order differ in the last one."""
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    return [_rounded(item) for item in value] if isinstance(value, list) else value


def _names(tracker: Tracker, collection: str = "experiments") -> dict[str, bool]:
    return {index.name: index.builtin for index in tracker.list_indexes(collection)}


def test_an_index_is_created_once_listed_and_dropped(tracker: Tracker) -> None:
    tracker.create_experiment("first", 1)  # MongoDB: epochlog creates its indexes with the first write
    own = _names(tracker)
    assert own and all(own.values())  # epochlog's own indexes, and only those
    name = tracker.create_index("status", "metrics.best_val_acc:-1")
    assert name == "status_1_metrics.best_val_acc_-1"
    assert tracker.create_index("status", ("metrics.best_val_acc", -1)) == name  # idempotent
    listed = {index.name: index for index in tracker.list_indexes()}
    assert listed[name].keys == (("status", 1), ("metrics.best_val_acc", -1)) and not listed[name].builtin
    assert list(listed)[:len(own)] == list(own)  # epochlog's own first
    epochs = tracker.create_index("metrics.val_loss", collection="epochs")
    assert epochs in _names(tracker, "epochs") and epochs not in _names(tracker)
    tracker.drop_index(name)
    assert _names(tracker) == own
    with pytest.raises(NotFound, match=name.replace(".", r"\.")):
        tracker.drop_index(name)


def test_an_index_on_the_keys_of_one_of_epochlogs_own_is_that_one(tracker: Tracker) -> None:
    assert tracker.create_index("status", "metrics.best_val_loss") == "status_1_metrics.best_val_loss_1"
    assert all(_names(tracker).values())


@pytest.mark.parametrize("keys, collection, culprit", [
    (("a b",), "experiments", "'a b'"), (("$where",), "experiments", r"\$where"), ((), "experiments", "1 to"),
    (("x", "x"), "experiments", "twice"), (("x:2",), "experiments", "x:2"), ((("x", 0),), "experiments", "'x', 0"),
    (("x",), "series", "series"), (("x",), "blobs", "blobs"),
])
def test_bad_keys_name_the_culprit_and_change_nothing(tracker: Tracker, keys: tuple, collection: str,
                                                      culprit: str) -> None:
    tracker.create_experiment("first", 1)
    before = _names(tracker)
    with pytest.raises(InvalidArgument, match=culprit):
        tracker.create_index(*keys, collection=collection)
    assert _names(tracker) == before


def test_epochlogs_own_indexes_cannot_be_dropped(tracker: Tracker) -> None:
    tracker.create_experiment("first", 1)
    with pytest.raises(InvalidArgument, match="own"):
        tracker.drop_index("status_1")
    assert "status_1" in _names(tracker)


def test_leaderboards_and_groups_answer_the_same_with_the_index(tracker: Tracker) -> None:
    for index in range(12):
        eid = tracker.create_experiment(f"run{index}", 1, config={"model": "abc"[index % 3], "seed": index})
        tracker.update_experiment_status(eid, "completed", metrics={"best_val_acc": (index * 7 % 12) / 12,
                                                                    "best_val_loss": 1 - index / 20})
    before = ([d["experiment_name"] for d in tracker.get_best_models(metric="metrics.best_val_acc", mode="max", n=5)],
              _rounded([g.to_dict() for g in tracker.group_stats(["config.model"], "metrics.best_val_acc", "max")]))
    tracker.create_index("status", "metrics.best_val_acc")
    tracker.create_index("status", "config.model", "archived", "metrics.best_val_acc")
    after = ([d["experiment_name"] for d in tracker.get_best_models(metric="metrics.best_val_acc", mode="max", n=5)],
             _rounded([g.to_dict() for g in tracker.group_stats(["config.model"], "metrics.best_val_acc", "max")]))
    assert after == before
    assert before[0] == ["run5", "run10", "run3", "run8", "run1"]

