"""Property: whatever JSON-like values stand in an experiment's fields, its epochs' and its checkpoints', every view
the CLI prints of it renders (show, history, ls, compare, best, export, --json) without an error.

`hypothesis.event` records which field shapes each example exercised; the test then checks that every field took
many shapes, and that the cases found in seed-era databases (tags as a number or one string, notes as a list, a
string error, ...; also given as explicit examples) occurred.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import math
from collections import Counter
from typing import Any

from bson import ObjectId
from hypothesis import HealthCheck, event, example, given, settings

from epochlog.cli import browse
from epochlog.cli.app import console, print_json
from epochlog.cli.export import Format, write_documents
from epochlog.dotted import differing_keys
from epochlog.display import NO_END, duration
from tests.seed_era import (
    CHECKPOINTS_ANY,
    EPOCHS_ANY,
    EXPERIMENT_FIELDS,
    EXPERIMENTS_ANY,
    seed_era_checkpoints,
    seed_era_epochs,
    seed_era_experiments,
    shapes,
)
from tests.fuzzing import examples

SEEN: Counter[str] = Counter()
#: The cases issue 12 found in real seed-era databases, and the durations that must say what they are.
REQUIRED = {"tags=int", "tags=str", "tags=list", "notes=list", "model=str", "config=list", "config=str", "error=str",
            "metrics value=str", "metrics value=null", "metrics value=dict", "metrics=list", "start_time=str",
            "start_time=missing", "status=missing", "status=unknown", "challenge=str", "epoch metrics=missing",
            "epoch metrics=list", "epoch epoch=str", "epoch epoch=float", "epochs with the same number",
            "checkpoint file=null", "checkpoint file=str", "checkpoint file=dict", "metrics value=nan",
            "duration: no end time", "duration: running for", "duration: span"}
SHAPES_PER_FIELD = 6  # each field must have held at least this many kinds of value (of null, bool, int, ...)
OTHER = {"_id": ObjectId(), "experiment_name": "plain", "status": "completed", "config": {"lr": 0.1},
         "metrics": {"best_val_loss": 0.5}}


def _record(document: dict[str, Any], epochs: list[dict[str, Any]], checkpoints: list[dict[str, Any]]) -> None:
    found = shapes(document, epochs, checkpoints)
    text = duration(document, dt.datetime.now(dt.timezone.utc))
    found.add("duration: " + ("no end time" if text == NO_END else "running for" if text.startswith("running for")
                              else "span" if text[:1].isdigit() else "dash"))
    for label in sorted(found):
        event(label)
    SEEN.update(found)


def seed_era_examples(test: Any) -> Any:
    """The seed-era documents of tests/seed_era.py as explicit examples, ahead of the generated ones (and one that
    diverged: NaN and inf, which a MongoDB-wire test server may refuse to store)."""
    diverged = {"_id": ObjectId(), "experiment_name": "diverged",
                "metrics": {"best_val_loss": math.nan, "acc": -math.inf}}
    for document in [*seed_era_experiments(), diverged]:
        test = example(document=document, epochs=seed_era_epochs(document["_id"], duplicates=True),
                       checkpoints=seed_era_checkpoints(document["_id"]))(test)
    return test


@seed_era_examples
@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=EXPERIMENTS_ANY, epochs=EPOCHS_ANY, checkpoints=CHECKPOINTS_ANY)
def _renders(document: dict[str, Any], epochs: list[dict[str, Any]], checkpoints: list[dict[str, Any]]) -> None:
    _record(document, epochs, checkpoints)
    eid = document["_id"]
    epochs = [{"_id": ObjectId(), "experiment_id": eid, **epoch} for epoch in epochs]
    checkpoints = [{"_id": ObjectId(), "experiment_id": eid, **checkpoint} for checkpoint in checkpoints]
    history = {"experiment": document, "epochs": epochs, "checkpoints": checkpoints}
    pair = [document, OTHER]
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        out = console()
        for part in [*browse.experiment_view(history, ["loss"], str(eid)), *browse.history_view(history),
                     browse.experiments_table(pair, 2, 120),
                     *browse.compare_tables(pair, differing_keys([{part: d.get(part, {}) for part in
                                                                   ("config", "model", "dataset")} for d in pair]))]:
            out.print(part)
        browse.print_leaderboard([document], "metrics.best_val_loss", None, "any", {eid: None})
        print_json(history)
        for fmt in Format:
            write_documents([document], fmt, None)
            write_documents(epochs, fmt, None)
    assert str(eid) in buffer.getvalue()


def test_every_cli_view_renders_any_json_like_document() -> None:
    SEEN.clear()
    _renders()
    missing = REQUIRED - set(SEEN)
    assert not missing, f"never exercised: {sorted(missing)}"
    narrow = {name: kinds for name in EXPERIMENT_FIELDS
              if len(kinds := {label for label in SEEN if label.startswith(f"{name}=")}) < SHAPES_PER_FIELD}
    assert not narrow, f"fields that took too few kinds of value: {narrow}"
