"""Fields the query compiler trusts keep their one type on every write path; the tracker's own fields are its own."""

from __future__ import annotations

import datetime as dt

import pytest
from bson import ObjectId

from epochlog import InvalidArgument, InvalidDocument, Tracker
from epochlog.store.base import Put, Update, Upsert


def _sync(tracker: Tracker) -> None:
    tracker.sync()


@pytest.mark.parametrize("fields, culprit", [
    ({"start_time": "last tuesday"}, "start_time"),
    ({"start_time": 1700000000}, "start_time"),
    ({"experiment_name": ["a", "b"]}, "experiment_name"),
])
def test_create_experiment_refuses_a_typed_field_of_another_type(tracker: Tracker, fields: dict[str, object],
                                                                 culprit: str) -> None:
    fields = dict(fields)
    name = fields.pop("experiment_name", "typed")
    with pytest.raises((InvalidDocument, InvalidArgument), match=culprit):
        tracker.create_experiment(name, 1, **fields)  # type: ignore[arg-type]
    _sync(tracker)
    assert tracker.count_experiments() == 0


def test_a_start_time_given_as_a_datetime_is_kept(tracker: Tracker) -> None:
    when = dt.datetime(2025, 10, 20, 8, 30, tzinfo=dt.timezone.utc)
    exp_id = tracker.create_experiment("backfilled", 1, start_time=when)
    _sync(tracker)
    assert tracker.get_experiment(exp_id)["start_time"] == when
    assert tracker.count_experiments({"start_time": {"$lt": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)}}) == 1


@pytest.mark.parametrize("key", ["_id", "status", "end_time", "created_by", "host", "pid"])
def test_keyword_fields_cannot_overwrite_what_the_tracker_owns(tracker: Tracker, key: str) -> None:
    with pytest.raises(InvalidArgument, match=key):
        tracker.create_experiment("owned", 1, **{key: "x"})
    _sync(tracker)
    assert tracker.count_experiments() == 0


def test_a_checkpoint_epoch_must_be_an_integer(tracker: Tracker) -> None:
    exp_id = tracker.create_experiment("ckpt", 1)
    for bad in ("15", 1.5, -1, True):
        with pytest.raises(InvalidArgument, match="epoch"):
            tracker.save_checkpoint_info(exp_id, epoch=bad, file={"path": "x.pt"})  # type: ignore[arg-type]
    for key in ("_id", "timestamp"):
        with pytest.raises(InvalidArgument, match=key):
            tracker.save_checkpoint_info(exp_id, epoch=1, **{key: "x"})
    _sync(tracker)
    assert tracker.get_experiment_history(exp_id)["checkpoints"] == []


@pytest.mark.parametrize("write", [
    Put("experiments", {"_id": ObjectId(), "status": 3}),
    Put("checkpoints", {"_id": ObjectId(), "epoch": "15", "is_best": True}),
    Put("checkpoints", {"_id": ObjectId(), "epoch": 1, "is_best": "yes"}),
    Upsert("epochs", {"_id": ObjectId(), "experiment_id": ObjectId(), "epoch": 2.0}),
    Upsert("subjects", {"_id": ObjectId(), "subject_id": 12}),
    Update("experiments", {}, {"start_time": "yesterday"}),
    Update("experiments", {}, {"challenge.number": 1}),
], ids=lambda write: type(write).__name__)
def test_every_write_path_refuses_a_typed_field_of_another_type(tracker: Tracker, write: object) -> None:
    tracker.create_experiment("present", 1)
    _sync(tracker)
    with pytest.raises(InvalidDocument):
        tracker.store.write([write])  # type: ignore[list-item]
    _sync(tracker)
    [experiment] = tracker.search_experiments()
    assert experiment["experiment_name"] == "present" and experiment["challenge"] == 1
    assert tracker.store.count("checkpoints") == tracker.store.count("epochs") == tracker.store.count("subjects") == 0


def test_null_and_unset_stay_allowed(tracker: Tracker) -> None:
    exp_id = tracker.create_experiment("nullable", None)
    tracker.store.write([Update("experiments", {"_id": ObjectId(exp_id)}, {"start_time": None}, ("challenge",))])
    _sync(tracker)
    document = tracker.get_experiment(exp_id)
    assert document["start_time"] is None and "challenge" not in document


def test_an_upsert_keeps_the_callers_id_when_new_and_the_stored_id_when_replacing(tracker: Tracker) -> None:
    first, second, experiment = ObjectId(), ObjectId(), ObjectId()
    tracker.store.write([Upsert("epochs", {"_id": first, "experiment_id": experiment, "epoch": 0,
                                           "metrics": {"val_loss": 1.0}, "timing": {"s": 1}})])
    tracker.store.write([Upsert("epochs", {"_id": second, "experiment_id": experiment, "epoch": 0,
                                           "metrics": {"val_loss": 0.5}}),
                         Upsert("epochs", {"_id": second, "experiment_id": experiment, "epoch": 1,
                                           "metrics": {"val_loss": 0.4}})])
    _sync(tracker)
    epochs = tracker.store.find("epochs", {"experiment_id": experiment}, sort=[("epoch", 1)])
    assert [(e["_id"], e["epoch"], e["metrics"]) for e in epochs] == [
        (first, 0, {"val_loss": 0.5}), (second, 1, {"val_loss": 0.4})]
    assert "timing" not in epochs[0]  # a replacement, not a merge
