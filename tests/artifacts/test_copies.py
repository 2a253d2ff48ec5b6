"""Checkpoint files copied into the artifact store on every backend: once per content, fetched and verified,
checked by verify, freed by gc; bad input refused with the store unchanged."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
from bson import ObjectId

from epochlog import Tracker
from epochlog.artifacts import ArtifactError, DirectoryArtifacts, GridFSArtifacts
from epochlog.checkpoints import signature
from epochlog.errors import InvalidArgument, NotFound
from epochlog.schema import CHECKPOINTS

from .conftest import write


def stored(tracker: Tracker, experiment_id: str) -> list[object]:
    return [row["stored"] for row in tracker.verify_checkpoints(experiment_id)]


def test_a_file_and_a_directory_are_copied_once_and_fetched_whole(copying: Tracker, tmp_path: Path) -> None:
    run = copying.create_experiment("copies", 1, capture=False)
    model = write(tmp_path / "train" / "model.pt", 3_000_000)
    hf = tmp_path / "train" / "checkpoint-500"
    write(hf / "model.safetensors", 200_000, seed=1)
    (hf / "nested").mkdir()
    (hf / "nested" / "trainer_state.json").write_text('{"step": 500}')
    copying.save_checkpoint_info(run, 1, {"val_loss": 0.9}, {"path": model}, store_file=True)
    copying.save_checkpoint_info(run, 2, {"val_loss": 0.5}, {"path": hf}, is_best=True, store_file=True)
    copying.save_checkpoint_info(run, 3, {"val_loss": 0.7}, {"path": model}, store_file=True)  # the same bytes
    assert copying.copies is not None and copying.copies.uploader.drain(30)
    assert copying.sync(30)
    assert stored(copying, run) == ["ok", "ok", "ok"]
    files = dict(copying.copies.artifacts.sizes())
    assert files[hashlib.sha256(model.read_bytes()).hexdigest()] == 3_000_000
    assert len(files) == 1 + 2 + 1  # the model once; the directory's two files and its manifest

    fetched = copying.fetch_checkpoint(run, to=tmp_path / "out")  # the best: the directory
    assert fetched == tmp_path / "out" / "checkpoint-500"
    assert (fetched / "model.safetensors").read_bytes() == (hf / "model.safetensors").read_bytes()
    assert (fetched / "nested" / "trainer_state.json").read_text() == '{"step": 500}'
    model.unlink()  # the original is gone: the copy is what is left
    again = copying.fetch_checkpoint(run, 1, to=tmp_path / "out")
    assert again.read_bytes() == (tmp_path / "out" / "model.pt").read_bytes() and again.stat().st_size == 3_000_000
    assert [row["state"] for row in copying.verify_checkpoints(run)] == ["missing", "ok", "missing"]


def test_a_damaged_or_missing_copy_is_found_and_never_fetched(copying: Tracker, tmp_path: Path) -> None:
    run = copying.create_experiment("damage", 1, capture=False)
    model = write(tmp_path / "model.pt", 100_000)
    copying.save_checkpoint_info(run, 1, {}, {"path": model}, is_best=True, store_file=True)
    assert copying.copies is not None and copying.copies.uploader.drain(30) and copying.sync(30)
    artifacts, sha = copying.copies.artifacts, hashlib.sha256(model.read_bytes()).hexdigest()
    _damage(artifacts, sha)
    assert stored(copying, run) == ["damaged"]
    with pytest.raises(ArtifactError, match="damaged"):
        copying.fetch_checkpoint(run, to=tmp_path / "out")
    assert not (tmp_path / "out" / "model.pt").exists() and not list((tmp_path / "out").glob(".*"))
    artifacts.delete(sha)
    assert stored(copying, run) == ["missing"]
    with pytest.raises(NotFound):
        copying.fetch_checkpoint(run, to=tmp_path / "out")


def _damage(artifacts: object, sha: str) -> None:
    if isinstance(artifacts, DirectoryArtifacts):
        path = artifacts.root / sha[:2] / sha
        path.write_bytes(b"\0" + path.read_bytes()[1:])
    else:
        assert isinstance(artifacts, GridFSArtifacts)
        chunks = artifacts._db["artifacts.chunks"]
        chunk = chunks.find_one({"files_id": sha, "n": 0})
        chunks.update_one({"_id": chunk["_id"]}, {"$set": {"data": b"\0" + bytes(chunk["data"])[1:]}})


def test_a_file_that_changed_since_it_was_hashed_is_not_stored(copying: Tracker, tmp_path: Path) -> None:
    assert copying.copies is not None
    artifacts = copying.copies.artifacts
    model = write(tmp_path / "model.pt", 10_000)
    recorded = hashlib.sha256(b"what it held when it was hashed").hexdigest()
    with pytest.raises(ArtifactError, match="changed since it was hashed"):
        artifacts.put(recorded, model)
    hashed, original = signature(model), hashlib.sha256(model.read_bytes()).hexdigest()
    time.sleep(0.01)
    model.write_bytes(b"rewritten by the next epoch")  # after it was hashed, before it was copied
    with pytest.raises(ArtifactError, match="changed since it was hashed"):
        artifacts.put(original, model, hashed)
    assert dict(artifacts.sizes()) == {} and not artifacts.has(recorded) and not artifacts.has(original)


def test_store_file_without_an_artifact_store_or_a_file_changes_nothing(tracker: Tracker, copying: Tracker,
                                                                        tmp_path: Path) -> None:
    run = tracker.create_experiment("bare", 1, capture=False)
    with pytest.raises(InvalidArgument, match="needs an artifact store"):
        tracker.save_checkpoint_info(run, 1, {}, {"path": write(tmp_path / "m.pt", 10)}, store_file=True)
    with pytest.raises(InvalidArgument, match="no file at"):
        copying.save_checkpoint_info(run, 1, {}, {"path": tmp_path / "absent.pt"}, store_file=True)
    assert tracker.store.count(CHECKPOINTS, {}) == 0
    with pytest.raises(InvalidArgument, match="no artifact store"):
        tracker.fetch_checkpoint(run)


def test_gc_keeps_the_best_the_last_and_running_runs_and_is_a_dry_run_first(copying: Tracker,
                                                                            tmp_path: Path) -> None:
    done = copying.create_experiment("done", 1, capture=False)
    files = [write(tmp_path / f"e{epoch}.pt", 1000 + epoch, seed=epoch) for epoch in range(5)]
    for epoch, path in enumerate(files):
        copying.save_checkpoint_info(done, epoch, {}, {"path": path}, is_best=epoch == 1, store_file=True)
    copying.update_experiment_status(done, "completed")
    running = copying.create_experiment("running", 1, capture=False)
    copying.save_checkpoint_info(running, 0, {}, {"path": write(tmp_path / "r.pt", 77, seed=9)}, store_file=True)
    assert copying.copies is not None and copying.copies.uploader.drain(30) and copying.sync(30)
    before = dict(copying.copies.artifacts.sizes())
    with pytest.raises(InvalidArgument, match="say what to keep"):
        copying.collect_artifacts()

    plan = copying.collect_artifacts(keep_best=True, keep_last=2)
    assert sorted(size for _, size in plan.files) == [1000, 1002] and plan.bytes == 2002
    assert dict(copying.copies.artifacts.sizes()) == before  # a dry run deletes nothing
    freed = copying.collect_artifacts(keep_best=True, keep_last=2, dry_run=False)
    assert freed.files == plan.files and len(freed.checkpoints) == 2
    copying.sync(30)
    assert stored(copying, done) == [None, "ok", None, "ok", "ok"] and stored(copying, running) == ["ok"]
    assert copying.collect_artifacts(keep_last=0, dry_run=False).bytes == sum(1000 + e for e in (1, 3, 4))
    copying.sync(30)
    assert stored(copying, running) == ["ok"]  # a running run keeps its copies


def test_a_checkpoint_record_other_code_wrote_has_no_copy(copying: Tracker) -> None:
    from tests.seed_era import raw_insert

    run = copying.create_experiment("odd", 1, capture=False)
    raw_insert(copying.store, CHECKPOINTS,
               {"_id": ObjectId(), "experiment_id": ObjectId(run), "epoch": 1, "is_best": True, "file": "model.pt"},
               {"_id": ObjectId(), "experiment_id": ObjectId(run), "epoch": 2, "file": {"stored": {"sha256": 5}}})
    assert stored(copying, run) == [None, None]
    with pytest.raises(NotFound, match="no stored copy"):
        copying.fetch_checkpoint(run)
    assert copying.collect_artifacts(keep_best=True).files == []


def test_gc_removes_what_copies_cut_short_left_once_it_is_old(copying: Tracker) -> None:
    assert copying.copies is not None
    artifacts = copying.copies.artifacts
    if isinstance(artifacts, DirectoryArtifacts):
        (artifacts.root / "ab").mkdir(parents=True)
        (artifacts.root / "ab" / ".incoming.x1").write_bytes(b"half a file")
    else:
        assert isinstance(artifacts, GridFSArtifacts)
        artifacts._db["artifacts.chunks"].insert_one({"files_id": "ab" * 32, "n": 0, "data": b"half"})
    assert copying.collect_artifacts(keep_best=True, dry_run=False).leftovers == 0  # it may be a copy under way
    assert artifacts.sweep(older_than=0) == 1 and artifacts.sweep(older_than=0) == 0
