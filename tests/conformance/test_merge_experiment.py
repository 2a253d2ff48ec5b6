"""`merge_experiment`: keys learnt during training added to an experiment's sub-documents, on every backend."""

from __future__ import annotations

import pytest

from epochlog import InvalidArgument, InvalidDocument, Tracker


def test_keys_are_merged_and_the_others_kept(tracker: Tracker) -> None:
    exp_id = tracker.create_experiment("m", 1, config={"lr": 0.1}, dataset={"train_size": 64})
    tracker.merge_experiment(exp_id, dataset={"eval_size": 16}, metrics={"train_runtime": 2.5},
                             config={"lr": 0.2, "warmup": 3})
    tracker.sync()
    document = tracker.get_experiment(exp_id)
    assert document["dataset"] == {"train_size": 64, "eval_size": 16}
    assert document["config"] == {"lr": 0.2, "warmup": 3}
    assert document["metrics"]["train_runtime"] == 2.5


@pytest.mark.parametrize(("sections", "error"), [
    ({"status": {"x": 1}}, InvalidArgument), ({"config": 3}, InvalidArgument),
    ({"config": {"a.b": 1}}, InvalidDocument), ({"dataset": {"$size": 1}}, InvalidDocument),
])
def test_what_cannot_be_merged_is_refused_and_nothing_is_written(tracker: Tracker, sections: dict,
                                                                 error: type[Exception]) -> None:
    exp_id = tracker.create_experiment("m", 1, config={"lr": 0.1})
    before = tracker.get_experiment(exp_id)
    with pytest.raises(error):
        tracker.merge_experiment(exp_id, model={"fine": 1}, **sections)
    tracker.sync()
    assert tracker.get_experiment(exp_id) == before
