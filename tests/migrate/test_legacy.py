"""`epochlog migrate-sqlite`: messy legacy files in, clean experiments out, idempotent, the legacy file untouched."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import time
from pathlib import Path
from typing import Any

import pytest

from epochlog import Tracker
from epochlog.migrate.legacy import migrate_legacy, parse_time
from epochlog.schema import CHECKPOINTS, COLLECTIONS, EPOCHS, SERIES
from epochlog.store import Store

from ..cli.helpers import Cli, assert_user_error, loads
from .legacy_db import LegacyDB, Messy, build_big

UTC = dt.timezone.utc


def experiments_by_run(uri: str) -> dict[int, dict[str, Any]]:
    with Tracker(uri) as tracker:
        return {d["legacy"]["run_id"]: d for d in tracker.search_experiments({"legacy": {"$exists": True}})}


def history(uri: str, run_id: int) -> dict[str, Any]:
    with Tracker(uri) as tracker:
        document = tracker.search_experiments({"legacy.run_id": run_id})[0]
        return tracker.get_experiment_history(document["_id"])


def snapshot(uri: str) -> dict[str, list[Any]]:
    with Tracker(uri) as tracker:
        return {name: repr(tracker.store.find(name, sort=[("_id", 1)])) for name in COLLECTIONS if name != SERIES}


def test_a_messy_file_migrates_with_a_report(cli: Cli, uri: str, messy: Messy) -> None:
    result = cli.ok("migrate-sqlite", messy.path)
    out = result.stdout
    assert "runs read" in out and "7" in out
    assert "duplicate epochs merged (later row wins)" in out
    assert "orphan epoch_history rows skipped (no such run)" in out
    assert "orphan model_checkpoints rows skipped (no such run)" in out
    assert "HeartbeatLost" in out  # the stale run, named as a repair
    assert "Python repr" in out
    assert "config_raw" in out
    assert "several checkpoints marked best" in out

    report = cli.json("migrate-sqlite", messy.path)  # a second run: everything is there already
    assert report["experiments"] == {"new": 0, "updated": 0, "unchanged": messy.runs}
    assert report["duplicates_merged"] == messy.duplicates
    assert report["orphans"] == {"epoch_history": messy.orphan_epochs, "model_checkpoints": messy.orphan_checkpoints}
    assert report["epochs"] == messy.epochs
    assert report["checkpoints"] == messy.checkpoints
    assert report["missing_checkpoint_files"] == messy.missing_files


def test_runs_become_experiments(cli: Cli, uri: str, messy: Messy) -> None:
    cli.ok("migrate-sqlite", messy.path)
    runs = experiments_by_run(uri)
    assert sorted(runs) == [1, 2, 3, 4, 5, 6, 7]
    for run_id, document in runs.items():
        assert document["legacy"]["source"] == str(messy.path.resolve())
        assert document["experiment_name"].startswith(f"legacy_{run_id}_")
        assert document["status"] in ("completed", "failed")

    clean = runs[1]
    assert clean["model"] == {"name": "EEGNeX"}
    assert clean["challenge"] == 1
    assert clean["config"] == {"lr": 0.001, "batch_size": 32, "optimizer": "AdamW"}
    assert clean["start_time"] == dt.datetime(2023, 5, 1, 10, 0, tzinfo=UTC)
    assert clean["end_time"] == dt.datetime(2023, 5, 1, 12, 0, tzinfo=UTC)
    assert clean["metrics"] == {"best_val_loss": 0.42, "best_epoch": 3, "total_epochs": 5}
    assert clean["notes"] == "clean run"
    assert "legacy" in clean["tags"]

    resumed = runs[2]
    assert resumed["config"]["betas"] == [0.9, 0.999]
    assert math.isnan(resumed["config"]["wd"])
    assert resumed["config"]["dropout"] == 0.25
    assert resumed["start_time"] == dt.datetime(2023, 6, 2, 8, 0, tzinfo=UTC)
    assert resumed["end_time"] == dt.datetime(2023, 6, 2, 9, 30, 0, 123000, tzinfo=UTC)

    stale = runs[3]
    assert stale["status"] == "failed"
    assert stale["error"]["type"] == "HeartbeatLost"
    assert stale["error"]["message"] == "legacy run never finished"
    assert stale["legacy"]["status"] == "running"
    assert stale["config"] == {}
    assert any("HeartbeatLost" in reason for reason in stale["legacy"]["repairs"])

    assert runs[4]["metrics"] == {"best_val_loss": 0.7, "best_epoch": 3, "total_epochs": 5}  # derived from epochs

    broken = runs[5]
    assert broken["config"] == {} and broken["config_raw"] == "lr=0.001 batch=32"
    assert "start_time" not in broken
    assert broken["metrics"]["best_val_loss"] == math.inf  # preserved, and never ranks

    assert runs[6]["status"] == "completed" and runs[6]["challenge"] == 2
    with Tracker(uri) as tracker:
        ranked = [d["_id"] for d in tracker.get_best_models(n=10)]
    assert ranked == [runs[run]["_id"] for run in (2, 1, 6, 4, 7)]  # 0.25 0.42 0.5 0.7 0.8


def test_epochs_and_checkpoints(cli: Cli, uri: str, messy: Messy) -> None:
    cli.ok("migrate-sqlite", messy.path)
    resumed = history(uri, 2)["epochs"]
    assert [e["epoch"] for e in resumed] == [0, 1, 2, 3, 4]
    assert [e["metrics"]["val_loss"] for e in resumed][3:] == [0.30, 0.25]  # the later rows win
    assert resumed[3]["timestamp"] == dt.datetime(2023, 6, 2, 9, 3, tzinfo=UTC)

    found = history(uri, 4)
    losses = [e["metrics"].get("val_loss") for e in found["epochs"]]
    assert losses[0] is None and losses[4] is None  # NULL and 'garbage' are left out
    assert losses[1] == math.inf and losses[2] == math.inf and losses[3] == 0.7
    assert math.isnan(found["epochs"][1]["metrics"]["train_loss"])
    best = [c for c in found["checkpoints"] if c["is_best"]]
    assert [(c["epoch"], c["metrics"]["val_loss"]) for c in best] == [(3, 0.4)]

    clean = history(uri, 1)["checkpoints"]
    by_epoch = {c["epoch"]: c for c in clean}
    assert by_epoch[3]["is_best"] and by_epoch[3]["file"]["checksum"].startswith("sha256:")
    assert "checksum" not in by_epoch[1]["file"]
    verified = cli("verify", "legacy_1_EEGNeX")
    assert verified.exit_code == 1 and "1 ok, 1 missing" in verified.stdout


def test_running_twice_changes_nothing(cli: Cli, uri: str, messy: Messy) -> None:
    cli.ok("migrate-sqlite", messy.path)
    before = snapshot(uri)
    cli.ok("migrate-sqlite", messy.path)
    assert snapshot(uri) == before


def test_user_edits_survive_a_second_migration(cli: Cli, uri: str, messy: Messy) -> None:
    cli.ok("migrate-sqlite", messy.path)
    eid = experiments_by_run(uri)[1]["_id"]
    with Tracker(uri) as tracker:
        tracker.set_tags(eid, ["legacy", "keeper"])
    legacy = LegacyDB(messy.path, schema="")
    legacy.epoch(1, 5, val_loss=0.41)  # the old tracker kept logging
    legacy.db.execute("UPDATE training_runs SET best_val_loss = 0.41, best_epoch = 5, total_epochs = 6 WHERE run_id = 1")
    legacy.close()
    report = cli.json("migrate-sqlite", messy.path)
    assert report["experiments"] == {"new": 0, "updated": 1, "unchanged": messy.runs - 1}
    document = experiments_by_run(uri)[1]
    assert document["_id"] == eid
    assert document["tags"] == ["legacy", "keeper"]
    assert document["metrics"]["best_val_loss"] == 0.41
    assert len(history(uri, 1)["epochs"]) == 6


def test_dry_run_writes_nothing(cli: Cli, uri: str, messy: Messy) -> None:
    result = cli.ok("migrate-sqlite", messy.path, "--dry-run")
    assert "Dry run, nothing written" in result.stdout
    with Tracker(uri) as tracker:
        assert tracker.count_experiments() == 0
        assert tracker.store.count(EPOCHS) == 0


def test_the_legacy_file_is_never_modified(cli: Cli, messy: Messy) -> None:
    folder = messy.path.parent
    before = {path.name: (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
              for path in folder.iterdir() if path.is_file()}
    cli.ok("migrate-sqlite", messy.path)
    after = {path.name: (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
             for path in folder.iterdir() if path.is_file()}
    assert after == before  # no change, and no -wal/-journal files next to it


def test_missing_file(cli: Cli, tmp_path: Path) -> None:
    assert_user_error(cli("migrate-sqlite", tmp_path / "nope.db"), "nope.db", "no such file")


def test_not_sqlite(cli: Cli, tmp_path: Path) -> None:
    text = tmp_path / "notes.db"
    text.write_text("these are my notes, not a database\n" * 100)
    assert_user_error(cli("migrate-sqlite", text), "not an SQLite database")


def test_unexpected_schema_names_what_is_missing(cli: Cli, tmp_path: Path) -> None:
    odd = tmp_path / "odd.db"
    LegacyDB(odd, schema="CREATE TABLE training_runs (run_id INTEGER PRIMARY KEY, challenge INTEGER, "
                         "model TEXT); CREATE TABLE model_checkpoints (run_id INTEGER, epoch INTEGER, "
                         "file_path TEXT);").close()
    message = assert_user_error(cli("migrate-sqlite", odd), "not a legacy tracker database")
    assert "column training_runs.model_name" in message and "table epoch_history" in message
    assert not (tmp_path / "e.db").exists()  # the target store was not even created


def test_refuses_to_migrate_into_the_legacy_file_itself(cli: Cli, messy: Messy) -> None:
    assert_user_error(cli("migrate-sqlite", messy.path, "--uri", f"sqlite:///{messy.path}", uri=False),
                      "target store itself")


def test_missing_optional_columns_are_tolerated(cli: Cli, uri: str, tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    legacy = LegacyDB(old, schema="CREATE TABLE training_runs (run_id INTEGER PRIMARY KEY, challenge INTEGER, "
                                  "model_name TEXT, status TEXT); CREATE TABLE epoch_history (id INTEGER PRIMARY KEY,"
                                  " run_id INTEGER, epoch INTEGER, val_loss REAL); CREATE TABLE model_checkpoints "
                                  "(id INTEGER PRIMARY KEY, run_id INTEGER, epoch INTEGER, file_path TEXT);")
    legacy.db.execute("INSERT INTO training_runs VALUES (1, 2, 'EEGNeX', 'completed')")
    legacy.db.execute("INSERT INTO epoch_history(run_id, epoch, val_loss) VALUES (1, 0, 0.5)")
    legacy.close()
    result = cli.ok("migrate-sqlite", old)
    assert "training_runs.config" in result.stdout  # reported as absent
    document = experiments_by_run(uri)[1]
    assert document["metrics"] == {"best_val_loss": 0.5, "best_epoch": 0, "total_epochs": 1}


def test_a_big_file_is_quick(cli: Cli, uri: str, tmp_path: Path) -> None:
    big = tmp_path / "big.db"
    build_big(big, runs=400, epochs=50)
    started = time.perf_counter()
    report = cli.json("migrate-sqlite", big)
    assert time.perf_counter() - started < 20
    assert report["experiments"]["new"] == 400 and report["epochs"] == 20_000
    with Tracker(uri) as tracker:
        assert tracker.store.count(EPOCHS) == 20_000


def test_migrates_into_every_backend(store: Store, messy: Messy) -> None:
    report = migrate_legacy(store, messy.path)
    assert report.experiments_new == messy.runs and report.epochs == messy.epochs
    again = migrate_legacy(store, messy.path)
    assert again.experiments_unchanged == messy.runs
    assert store.count(EPOCHS) == messy.epochs and store.count(CHECKPOINTS) == messy.checkpoints
    tracker = Tracker(store=store)
    stale = tracker.search_experiments({"legacy.run_id": 3})[0]
    assert stale["status"] == "failed" and stale["error"]["type"] == "HeartbeatLost"


@pytest.mark.parametrize(("text", "expected"), [
    ("2023-05-01 10:00:00", dt.datetime(2023, 5, 1, 10, tzinfo=UTC)),
    ("2023-05-01T10:00:00", dt.datetime(2023, 5, 1, 10, tzinfo=UTC)),
    ("2023-05-01T10:00:00Z", dt.datetime(2023, 5, 1, 10, tzinfo=UTC)),
    ("2023-05-01T12:00:00.5+02:00", dt.datetime(2023, 5, 1, 10, 0, 0, 500000, tzinfo=UTC)),
    ("yesterday", None),
    (None, None),
])
def test_timestamps(text: str | None, expected: dt.datetime | None) -> None:
    assert parse_time(text) == expected


def test_json_report_is_extended_json(cli: Cli, messy: Messy) -> None:
    report = loads(cli.ok("migrate-sqlite", messy.path, "--json", "--dry-run").stdout)
    assert report["dry_run"] is True and report["runs"] == messy.runs
    assert report["repaired"]
