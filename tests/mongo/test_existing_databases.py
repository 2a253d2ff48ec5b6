"""An eeg2025 database written by the seed's own pymongo code opens as it is: indexes it already has under
other names are accepted, a unique index its duplicates prevent stops nothing else."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pymongo
import pytest
from bson import ObjectId

from epochlog import Tracker
from epochlog.store.mongo import MongoStore

pytestmark = pytest.mark.mongo


@pytest.fixture
def seed_database(mongo_uri: str) -> Iterator[tuple[str, Any]]:
    name = f"test_{uuid.uuid4().hex[:12]}"
    client: pymongo.MongoClient[Any] = pymongo.MongoClient(mongo_uri)
    yield name, client[name]
    client.drop_database(name)
    client.close()


def _seed_era_run(db: Any) -> ObjectId:
    """What the original tracker code wrote: insert_one per epoch, twice for epoch 3 after a resume."""
    experiment = db.experiments.insert_one({
        "experiment_name": "eegnex_seed", "challenge": 2, "status": "completed",
        "start_time": dt.datetime(2025, 10, 20, tzinfo=dt.timezone.utc), "metrics": {"best_val_loss": 0.45},
        "config": {"device": "cpu"}, "tags": ["baseline"]}).inserted_id
    for epoch in [0, 1, 2, 3, 3]:
        db.epochs.insert_one({"experiment_id": experiment, "epoch": epoch, "metrics": {"val_loss": 1.0 - epoch / 10},
                              "timestamp": dt.datetime(2025, 10, 20, 1, epoch, tzinfo=dt.timezone.utc)})
    db.experiments.create_index([("status", 1)], name="by_status")  # the seed's own name for it
    return experiment


def test_duplicates_and_renamed_indexes_leave_reads_and_writes_working(seed_database: tuple[str, Any], mongo_uri: str,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    name, db = seed_database
    experiment = _seed_era_run(db)
    with caplog.at_level(logging.WARNING, logger="epochlog.mongo"):
        tracker = Tracker(mongo_uri, database=name, journal=False)
        history = tracker.get_experiment_history(experiment)
    assert [e["epoch"] for e in history["epochs"]] == [0, 1, 2, 3, 3]  # shown as they are
    assert [d["experiment_name"] for d in tracker.get_best_models(challenge=2)] == ["eegnex_seed"]
    assert "MongoDB indexes" not in caplog.text  # reads create no index (the first write does)

    with caplog.at_level(logging.WARNING, logger="epochlog.mongo"):
        new = tracker.create_experiment("after-adoption", 2)  # writes that need no unique index work
        tracker.log_epoch(new, 0, {"val_loss": 0.3})
        tracker.update_experiment_status(new, "completed")
    assert [d["experiment_name"] for d in tracker.get_best_models(challenge=2)] == ["after-adoption", "eegnex_seed"]
    store = tracker.store
    assert isinstance(store, MongoStore)
    assert list(store.index_problems) == ["epochs.experiment_id_1_epoch_1"]
    assert "duplicate" in store.index_problems["epochs.experiment_id_1_epoch_1"]
    assert "epochs.experiment_id_1_epoch_1" in caplog.text and "epochlog doctor" in caplog.text
    status_indexes = [index["name"] for index in db.experiments.list_indexes() if list(index["key"]) == ["status"]]
    assert status_indexes == ["by_status"]  # accepted, not created a second time
    tracker.close()


def test_doctor_reports_then_repairs_with_a_backup(seed_database: tuple[str, Any], mongo_uri: str,
                                                   tmp_path: Any) -> None:
    from tests.cli.helpers import Cli

    name, db = seed_database
    experiment = _seed_era_run(db)
    db.experiments.insert_one({"experiment_name": "odd", "start_time": "last tuesday", "status": "running"})
    cli = Cli(f"{mongo_uri.rstrip('/')}/{name}")
    before = list(db.epochs.find({}, sort=[("_id", 1)]))

    result = cli("doctor")  # read-only: reports and changes nothing
    assert result.exit_code == 1
    assert "duplicate epochs" in result.stdout and "missing index epochs.experiment_id_1_epoch_1" in result.stdout
    assert "start_time: must be a datetime" in result.stdout
    assert list(db.epochs.find({}, sort=[("_id", 1)])) == before

    backup = tmp_path / "backup.jsonl"
    result = cli("doctor", "--fix", "--backup", str(backup))
    assert result.exit_code == 1  # the odd start_time needs a person
    assert "1 duplicate(s) removed" in result.stdout
    kept = [e["epoch"] for e in db.epochs.find({"experiment_id": experiment}, sort=[("epoch", 1)])]
    assert kept == [0, 1, 2, 3]
    newest_three = max((e for e in before if e["epoch"] == 3), key=lambda e: e["timestamp"])
    assert db.epochs.find_one({"experiment_id": experiment, "epoch": 3})["_id"] == newest_three["_id"]
    [line] = backup.read_text().splitlines()
    assert '"collection": "epochs"' in line and '"epoch": 3' in line
    assert any(list(index["key"]) == ["experiment_id", "epoch"] and index.get("unique")
               for index in db.epochs.list_indexes())
    db.experiments.delete_one({"experiment_name": "odd"})
    assert "No problems found." in cli.ok("doctor").stdout


def test_without_its_unique_index_an_epoch_logged_again_adds_no_duplicate(seed_database: tuple[str, Any],
                                                                         mongo_uri: str) -> None:
    """Where the (experiment_id, epoch) index could not be built, an epoch is upserted by its key, never
    inserted (on FerretDB, epochs are otherwise sent as inserts that the unique index turns back)."""
    name, db = seed_database
    experiment = _seed_era_run(db)
    tracker = Tracker(mongo_uri, database=name, journal=False)
    tracker.resume_run(experiment).log_epoch(2, {"val_loss": 0.05})
    tracker.log_epoch(experiment, 4, {"val_loss": 0.04})
    tracker.flush()
    epochs = sorted(e["epoch"] for e in db.epochs.find({"experiment_id": experiment}))
    assert epochs == [0, 1, 2, 3, 3, 4]
    assert db.epochs.find_one({"experiment_id": experiment, "epoch": 2})["metrics"] == {"val_loss": 0.05}
    tracker.close()


def test_a_non_unique_index_on_the_epoch_key_is_reported_and_never_trusted(seed_database: tuple[str, Any],
                                                                         mongo_uri: str) -> None:
    name, db = seed_database
    experiment = db.experiments.insert_one({"experiment_name": "x", "status": "running"}).inserted_id
    db.epochs.create_index([("experiment_id", 1), ("epoch", 1)], name="by_run_epoch")  # not unique
    tracker = Tracker(mongo_uri, database=name, journal=False)
    store = tracker.store
    assert isinstance(store, MongoStore)
    for _ in range(2):
        tracker.log_epoch(experiment, 0, {"val_loss": 0.5})
    assert db.epochs.count_documents({"experiment_id": experiment}) == 1
    assert list(store.index_problems) == ["epochs.experiment_id_1_epoch_1"]
    tracker.close()


def test_an_epoch_logged_again_replaces_the_one_an_older_client_inserted(seed_database: tuple[str, Any],
                                                                        mongo_uri: str) -> None:
    """With the unique index in place, the epoch a seed-era client wrote keeps its `_id` and takes the new
    values; a journal replaying an epoch it already shipped changes nothing."""
    name, db = seed_database
    experiment = db.experiments.insert_one({"experiment_name": "x", "status": "running"}).inserted_id
    old_id = db.epochs.insert_one({"experiment_id": experiment, "epoch": 0, "metrics": {"val_loss": 0.9}}).inserted_id
    tracker = Tracker(mongo_uri, database=name)
    for epoch, loss in [(0, 0.5), (1, 0.4), (1, 0.3)]:
        tracker.log_epoch(experiment, epoch, {"val_loss": loss})
    assert tracker.sync()
    stored = {e["epoch"]: e for e in db.epochs.find({"experiment_id": experiment})}
    assert sorted(stored) == [0, 1]
    assert stored[0]["_id"] == old_id and stored[0]["metrics"]["val_loss"] == 0.5
    assert stored[1]["metrics"]["val_loss"] == 0.3
    tracker.close()
