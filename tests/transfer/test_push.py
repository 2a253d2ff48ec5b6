"""`push` between every pair of backends: everything copied with its `_id`, nothing twice, only what changed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from bson import ObjectId

from epochlog import Tracker
from epochlog.schema import EPOCHS, EXPERIMENTS, SERIES
from epochlog.store import Store
from epochlog.store.sqlite import SQLiteStore
from epochlog.transfer import push

from .stores import content, fill, new_counts


@pytest.fixture
def embedded(tmp_path: Path) -> Tracker:
    tracker = Tracker(store=SQLiteStore(tmp_path / "laptop.db"))
    yield tracker
    tracker.close()


def test_embedded_into_every_backend_copies_everything_once(embedded: Tracker, store: Store) -> None:
    ids = fill(embedded, runs=3, epochs=4)
    first = push(embedded.store, store)
    assert content(store) == content(embedded.store)
    assert {str(document["_id"]) for document in store.find(EXPERIMENTS)} == set(ids)
    assert new_counts(first) == {"experiments": 3, "epochs": 12, "checkpoints": 6, SERIES: 3, "console": 3,
                                 "blobs": 1, "subjects": 2, "alerts": 1}
    again = push(embedded.store, store)
    assert again.changed == 0
    assert again.counts[EPOCHS].unchanged == 12 or again.visited == 0
    assert content(store) == content(embedded.store)


def test_every_backend_into_an_embedded_file_for_an_offline_copy(store: Store, tmp_path: Path) -> None:
    source = Tracker(store=store)
    fill(source, runs=2, epochs=3)
    copy = SQLiteStore(tmp_path / "offline.db")
    push(store, copy)
    assert content(copy) == content(store)
    assert push(store, copy).changed == 0
    copy.close()


def test_only_what_changed_since_the_last_push_is_written(embedded: Tracker, store: Store) -> None:
    [run, *_] = fill(embedded, runs=3, epochs=4)
    push(embedded.store, store)
    embedded.resume_run(run)
    embedded.log_epoch(run, 4, {"val_loss": 0.1})
    embedded.log_metric_series(run, "loss", [50, 51], [0.0, 0.0])
    embedded.update_experiment_status(run, "completed")
    summary = push(embedded.store, store)
    assert new_counts(summary) == {"experiments": 1, "epochs": 1, SERIES: 1}
    assert content(store) == content(embedded.store)
    series = Tracker(store=store).get_metric_series(run, "loss")
    assert len(series) == 52 and series.steps[-1] == 51


def test_series_added_to_an_unchanged_experiment_are_found(embedded: Tracker, store: Store) -> None:
    [run, *_] = fill(embedded, runs=2, epochs=2)
    push(embedded.store, store)
    embedded.log_metric_series(run, "grad", np.arange(10), np.ones(10))  # the experiment document stays as it was
    assert new_counts(push(embedded.store, store)) == {SERIES: 1}
    assert Tracker(store=store).get_metric_names(run) == ["grad", "loss"]


def test_dry_run_counts_and_writes_nothing(embedded: Tracker, store: Store) -> None:
    fill(embedded, runs=2, epochs=2)
    summary = push(embedded.store, store, dry_run=True)
    assert summary.dry_run and new_counts(summary)["epochs"] == 4
    assert store.count(EXPERIMENTS) == 0 and store.count(EPOCHS) == 0 and not store.series_bucket_ids()


def test_query_and_since_push_part_of_a_store(embedded: Tracker, tmp_path: Path) -> None:
    first, second = fill(embedded, runs=2, epochs=3)
    dest = SQLiteStore(tmp_path / "part.db")
    summary = push(embedded.store, dest, query={"experiment_name": "run-1"})
    assert [str(document["_id"]) for document in dest.find(EXPERIMENTS)] == [second]
    assert {document["experiment_id"] for document in dest.find(EPOCHS)} == {ObjectId(second)}
    assert summary.counts["subjects"].new == 0  # subjects and alerts go with unfiltered pushes only
    old = ObjectId(first).generation_time
    embedded.store.write([])  # nothing: `since` is read from the documents
    later = push(embedded.store, dest, since=old.replace(year=old.year + 1))
    assert later.chosen == 0 and later.changed == 0
    assert push(embedded.store, dest, since=old.replace(year=old.year - 1)).counts[EXPERIMENTS].new == 1
    assert dest.count(EXPERIMENTS) == 2
    dest.close()


def test_full_brings_back_what_the_destination_deleted(embedded: Tracker, tmp_path: Path) -> None:
    [run, *_] = fill(embedded, runs=1, epochs=3)
    dest = Tracker(store=SQLiteStore(tmp_path / "dest.db"))
    push(embedded.store, dest.store)
    dest.purge_experiments([run])
    assert push(embedded.store, dest.store).changed == 0  # the watermark says it was copied
    assert new_counts(push(embedded.store, dest.store, full=True))["epochs"] == 3
    assert content(dest.store) == content(embedded.store)
    dest.close()


def test_tracker_push_to_a_uri(embedded: Tracker, tmp_path: Path) -> None:
    fill(embedded, runs=1, epochs=2)
    uri = f"sqlite:///{tmp_path / 'shared.db'}"
    assert embedded.push(uri).counts[EXPERIMENTS].new == 1
    with Tracker(uri) as shared:
        assert embedded.push(shared).changed == 0
        assert shared.count_experiments() == 1
