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
    store = tracker.store
    assert isinstance(store, MongoStore)
    assert list(store.index_problems) == ["epochs.experiment_id_1_epoch_1"]
    assert "duplicate" in store.index_problems["epochs.experiment_id_1_epoch_1"]
    assert "epochs.experiment_id_1_epoch_1" in caplog.text and "epochlog doctor" in caplog.text
    status_indexes = [index["name"] for index in db.experiments.list_indexes() if list(index["key"]) == ["status"]]
    assert status_indexes == ["by_status"]  # accepted, not created a second time

    new = tracker.create_experiment("after-adoption", 2)  # writes that need no unique index work
    tracker.log_epoch(new, 0, {"val_loss": 0.3})
    tracker.update_experiment_status(new, "completed")
    assert [d["experiment_name"] for d in tracker.get_best_models(challenge=2)] == ["after-adoption", "eegnex_seed"]
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
