"""archive, restore and purge on every backend: hidden but whole, shown again, deleted only on purpose."""

from __future__ import annotations

import pytest
from bson import ObjectId

from epochlog import ConfigExcept, InvalidArgument, NotFound, Tracker
from epochlog.schema import CHECKPOINTS, EPOCHS, EXPERIMENTS


def _finished(tracker: Tracker, name: str, loss: float, **config: object) -> str:
    eid = tracker.create_experiment(name, 1, config=config)
    for epoch in range(3):
        tracker.log_epoch(eid, epoch, {"val_loss": loss + epoch})
    tracker.log_metrics(eid, {"batch_loss": loss}, step=1)
    tracker.save_checkpoint_info(eid, 0, {"val_loss": loss}, {"path": f"/nowhere/{name}.pt"}, is_best=True)
    tracker.update_experiment_status(eid, "completed", metrics={"best_val_loss": loss})
    return eid


def test_archived_runs_leave_leaderboards_and_groups_but_stay_whole(tracker: Tracker) -> None:
    best = _finished(tracker, "best", 0.1, seed=0)
    other = _finished(tracker, "other", 0.2, seed=1)
    assert tracker.archive_experiments([best]) == [best]
    assert [d["experiment_name"] for d in tracker.get_best_models()] == ["other"]
    assert [d["experiment_name"] for d in tracker.get_best_models(archived=True)] == ["best", "other"]
    [group] = tracker.group_stats(ConfigExcept("seed"))
    assert group.summary.n == 1 and [str(i) for i in group.experiment_ids] == [other]
    history = tracker.get_experiment_history(best)  # nothing of it is lost
    assert history["experiment"]["archived"] is True and len(history["epochs"]) == 3
    assert len(history["checkpoints"]) == 1 and len(tracker.get_metric_series(best, "batch_loss")) == 1
    assert tracker.search_experiments({"archived": True}, projection={"_id": 1}) == [{"_id": ObjectId(best)}]
    assert tracker.archive_experiments([best]) == []  # already archived: nothing changes
    assert tracker.restore_experiments(filter={"experiment_name": "best"}) == [best]
    assert "archived" not in tracker.get_experiment(best)
    assert [d["experiment_name"] for d in tracker.get_best_models()] == ["best", "other"]


def test_purge_deletes_an_experiment_and_all_it_recorded(tracker: Tracker) -> None:
    gone = _finished(tracker, "gone", 0.3)
    kept = _finished(tracker, "kept", 0.4)
    plan = tracker.purge_experiments(filter={"experiment_name": "gone"}, dry_run=True)
    assert plan.counts[EPOCHS] == 3 and tracker.store.count(EPOCHS, {"experiment_id": ObjectId(gone)}) == 3
    purge = tracker.purge_experiments([gone])
    assert [str(d["_id"]) for d in purge.experiments] == [gone]
    assert purge.counts == {EXPERIMENTS: 1, EPOCHS: 3, CHECKPOINTS: 1, "series": 1, "console": 0}
    assert tracker.store.find(EXPERIMENTS, {"_id": ObjectId(gone)}) == []
    for collection in (EPOCHS, CHECKPOINTS):
        assert tracker.store.count(collection, {"experiment_id": ObjectId(gone)}) == 0
        assert tracker.store.count(collection, {"experiment_id": ObjectId(kept)}) > 0
    assert tracker.store.series_names(ObjectId(gone)) == [] and tracker.store.series_names(ObjectId(kept))
    with pytest.raises(NotFound, match=gone):
        tracker.get_experiment(gone)


def test_purge_refuses_running_runs_and_changes_nothing(tracker: Tracker) -> None:
    done = _finished(tracker, "done", 0.1)
    running = tracker.create_experiment("running", 1)
    with pytest.raises(InvalidArgument, match=f"{running}.*running"):
        tracker.purge_experiments(filter={})
    assert tracker.count_experiments() == 2 and tracker.store.count(EPOCHS, {"experiment_id": ObjectId(done)}) == 3


def test_naming_nothing_or_an_unknown_id_is_an_error(tracker: Tracker) -> None:
    eid = _finished(tracker, "x", 0.1)
    unknown = str(ObjectId())
    with pytest.raises(InvalidArgument, match="name the experiments"):
        tracker.archive_experiments()
    with pytest.raises(NotFound, match=unknown):
        tracker.archive_experiments([eid, unknown])
    with pytest.raises(InvalidArgument, match="experiment id"):
        tracker.purge_experiments(["nope"])
    assert "archived" not in tracker.get_experiment(eid) and tracker.count_experiments() == 1
