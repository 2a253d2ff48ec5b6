"""The dashboard's API on the MongoDB backend (FerretDB in tests): the same answers as on the embedded store."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from bson import ObjectId
from fastapi.testclient import TestClient

from epochlog import Tracker
from epochlog.demo import run_demo
from epochlog.schema import CONSOLE
from epochlog.store import Put
from epochlog.store.mongo import MongoStore
from epochlog.web import create_app, live

pytestmark = pytest.mark.mongo


@pytest.fixture
def mongo_demo(mongo_uri: str, tmp_path: Path) -> Iterator[tuple[Tracker, list[str]]]:
    store = MongoStore(mongo_uri, database=f"test_web_{uuid.uuid4().hex[:10]}")
    tracker = Tracker(store=store)
    ids = run_demo(tracker, seed=1, experiments=8, epochs=6, checkpoint_dir=tmp_path / "checkpoints")
    yield tracker, ids
    store.drop_database()
    tracker.close()


def test_every_view_answers_on_mongodb(mongo_demo: tuple[Tracker, list[str]]) -> None:
    tracker, ids = mongo_demo
    with TestClient(create_app(tracker), base_url="http://127.0.0.1") as client:
        page = client.get("/api/experiments", params={"sort": "metrics.best_val_loss", "order": 1, "limit": 5}).json()
        assert page["total"] == 8 and len(page["rows"]) == 5
        assert client.get("/api/experiments", params={"filter": json.dumps({"challenge": 2})}).json()["total"] == 4
        assert client.get("/api/experiments", params={"filter": '{"$where": "1"}'}).status_code == 400
        assert client.get("/").status_code == 200
        running = next(row["id"] for row in client.get("/api/experiments").json()["rows"] if row["status"] == "running")
        epochs = client.get(f"/api/experiments/{running}/epochs", params={"after": 0}).json()
        assert epochs["epochs"] and epochs["epochs"][0]["epoch"] == 1
        assert client.get(f"/api/experiments/{running}/series/batch_loss").json()["total"] > 0
        checkpoints = client.get(f"/api/experiments/{ids[0]}/checkpoints").json()["checkpoints"]
        assert sum(cp["is_best"] for cp in checkpoints) == 1
        assert client.get("/api/compare", params={"ids": f"{ids[0]},{ids[1]}"}).status_code == 200
        boards = client.get("/api/leaderboard").json()["boards"]
        assert [board["challenge"] for board in boards] == [1, 2]
        assert client.get("/api/subjects/breakdown", params={"by": "age"}).json()["groups"]
        export = client.get("/api/experiments/export", params={"ids": ",".join(ids[:2]), "format": "json"}).json()
        assert [doc["_id"] for doc in export] == ids[:2]


def test_live_marks_the_computed_column_and_expr_on_mongodb(mongo_demo: tuple[Tracker, list[str]]) -> None:
    tracker, _ = mongo_demo
    running = next(d["_id"] for d in tracker.search_experiments({"status": "running"}))
    before = live.snapshots(tracker, [running])[running]
    tracker.log_epoch(running, 100, {"val_loss": 0.5})
    tracker.log_metric_series(running, "batch_loss", [10**6], [0.1])
    tracker.store.write([Put(CONSOLE, {"_id": ObjectId(), "experiment_id": running, "seq": 10**12, "part": "head",
                                       "count": 1, "text": "late"})])
    after = live.snapshots(tracker, [running])[running]
    assert [what for what in live.changes(before, after) if what != "status"] == ["epochs", "series", "console"]
    tracker.update_experiment_status(running, "stopped")
    assert live.changes(after, live.snapshots(tracker, [running])[running]) == ["status"]
    gap = json.dumps({"$subtract": ["$metrics.best_val_loss", "$metrics.final_train_loss"]})
    lower = json.dumps({"$expr": {"$lt": ["$metrics.best_val_loss", "$metrics.final_train_loss"]}})
    with TestClient(create_app(tracker), base_url="http://127.0.0.1") as client:
        rows = client.get("/api/experiments", params={"compute": gap}).json()["rows"]
        for row in rows:
            metrics = row["metrics"]
            if isinstance(metrics.get("best_val_loss"), float) and isinstance(metrics.get("final_train_loss"), float):
                assert row["computed"] == pytest.approx(metrics["best_val_loss"] - metrics["final_train_loss"])
        assert any(row["computed"] is not None for row in rows)
        matched = {row["id"] for row in client.get("/api/experiments", params={"filter": lower}).json()["rows"]}
        numbers = {row["id"]: row["computed"] for row in rows if isinstance(row["computed"], (int, float))}
        assert {eid for eid, gap_value in numbers.items() if gap_value < 0} <= matched  # NaN and missing match too
        assert not {eid for eid, gap_value in numbers.items() if gap_value >= 0} & matched
        assert client.get("/api/experiments", params={"compute": '{"$function": {}}'}).status_code == 400
