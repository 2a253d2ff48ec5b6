"""Property: whatever JSON-like values another program stored in an experiment's fields, its epochs' and its
checkpoints', every dashboard page and JSON endpoint that shows it answers 200 with JSON the browser can parse.

`hypothesis.event` records the shapes exercised; the test checks that every field took many of them and that the
seed-era cases (also given as explicit examples) occurred.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from bson import ObjectId
from hypothesis import HealthCheck, event, example, given, settings

from epochlog import Tracker
from epochlog.display import tag_list
from epochlog.schema import CHECKPOINTS, EPOCHS, EXPERIMENTS
from epochlog.store.sqlite import SQLiteStore
from epochlog.web import create_app
from tests.seed_era import (
    CHECKPOINTS_ANY,
    EPOCHS_ANY,
    EXPERIMENT_FIELDS,
    EXPERIMENTS_ANY,
    raw_insert,
    seed_era_checkpoints,
    seed_era_epochs,
    seed_era_experiments,
    shapes,
)

from tests.fuzzing import examples
from .conftest import TestClient

REQUIRED = {"tags=int", "tags=str", "notes=list", "model=str", "config=list", "config=str", "error=str",
            "metrics value=str", "metrics=list", "start_time=str", "start_time=missing", "status=missing",
            "status=unknown", "challenge=str", "epoch metrics=missing", "epoch metrics=list", "epoch epoch=str",
            "epoch epoch=float", "checkpoint file=null", "checkpoint file=str"}
SHAPES_PER_FIELD = 4  # fewer examples than the CLI test (each one here is ten requests)


def _unique_epochs(epochs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The epochs the embedded store's unique (experiment_id, epoch) index lets in: one per JSON value."""
    kept: dict[str, dict[str, Any]] = {}
    for epoch in epochs:
        number = epoch.get("epoch")
        if isinstance(number, (bool, int, float)):
            number = float(number)
        kept.setdefault("null" if number is None else json.dumps(number, default=str, sort_keys=True), epoch)
    return [epoch for key, epoch in kept.items() if key != "null"] + [e for e in epochs if e.get("epoch") is None]


def test_every_page_and_endpoint_answers_any_json_like_document(tmp_path: Path) -> None:
    seen: Counter[str] = Counter()
    tracker = Tracker(store=SQLiteStore(tmp_path / "epochlog.db"))
    plain = tracker.create_experiment("plain", 1, config={"lr": 0.1})
    client = TestClient(create_app(tracker), base_url="http://127.0.0.1")

    def seed_era_examples(test: Any) -> Any:
        for document in seed_era_experiments():
            test = example(document=document, epochs=seed_era_epochs(document["_id"], duplicates=False),
                           checkpoints=seed_era_checkpoints(document["_id"]))(test)
        return test

    @seed_era_examples
    @settings(max_examples=examples(100), deadline=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(document=EXPERIMENTS_ANY, epochs=EPOCHS_ANY, checkpoints=CHECKPOINTS_ANY)
    def answers(document: dict[str, Any], epochs: list[dict[str, Any]], checkpoints: list[dict[str, Any]]) -> None:
        found = shapes(document, epochs, checkpoints)
        for label in sorted(found):
            event(label)
        seen.update(found)
        document = {**document, "_id": ObjectId()}  # explicit examples come back: a new id each time
        eid = str(document["_id"])
        raw_insert(tracker.store, EXPERIMENTS, document)
        raw_insert(tracker.store, EPOCHS, *[{**epoch, "_id": ObjectId(), "experiment_id": document["_id"]}
                                            for epoch in _unique_epochs(epochs)])
        raw_insert(tracker.store, CHECKPOINTS, *[{**checkpoint, "_id": ObjectId(), "experiment_id": document["_id"]}
                                                 for checkpoint in checkpoints])
        one = json.dumps({"_id": {"$oid": eid}})
        for path in [f"/api/experiments/{eid}", f"/api/experiments/{eid}/epochs", f"/api/experiments/{eid}/checkpoints",
                     f"/api/compare?ids={eid},{plain}", f"/api/experiments?filter={one}",
                     f"/api/experiments?filter={one}&status=stale", f"/api/experiments/export?ids={eid}&format=json"]:
            response = client.get(path)
            assert response.status_code == 200, (path, response.text)
            json.loads(response.text)
        stored = tracker.store.find(EXPERIMENTS, {"_id": document["_id"]})[0]  # dates kept to the millisecond
        assert client.get(f"/api/experiments/{eid}").json()["tags"] == tag_list(stored.get("tags"))
        assert client.get(f"/experiments/{eid}").status_code == 200
        assert client.get(f"/api/experiments/export?ids={eid}&format=csv").status_code == 200

    with client:
        answers()
    tracker.close()
    missing = REQUIRED - set(seen)
    assert not missing, f"never exercised: {sorted(missing)}"
    narrow = {name: kinds for name in EXPERIMENT_FIELDS
              if len(kinds := {label for label in seen if label.startswith(f"{name}=")}) < SHAPES_PER_FIELD}
    assert not narrow, f"fields that took too few kinds of value: {narrow}"
