"""The stored copies of a store's checkpoints: fetching one, checking them, and freeing the space of those
no longer wanted. A checkpoint's copy is recorded on it as `file.stored: {sha256, kind}` ("file" or
"directory") by the uploader."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bson import ObjectId

from ..documents import utcnow
from ..errors import InvalidArgument, NotFound
from ..redaction import redact
from ..schema import CHECKPOINTS, EXPERIMENTS
from ..store.base import Store, Update, Write
from ..types import Document
from ..checkpoints import Signature
from .stores import ArtifactStore
from .uploads import Uploader, manifest_files, queue_directory

UPLOAD_WAIT = 60.0  # seconds a closing tracker waits for its copies to be made (what is left stays queued)


class CheckpointCopies:
    """One tracker's artifact store: the copies it queues, fetches, checks and collects."""

    def __init__(self, artifacts: ArtifactStore, store: Store, write: Callable[[Sequence[Write]], None]) -> None:
        self.artifacts, self._store, self._write = artifacts, store, write
        self.uploader = Uploader(artifacts, queue_directory(artifacts, redact(store.uri)), self._mark)
        if self.uploader.pending():  # what a process that died had queued
            self.uploader.start()

    def queue(self, checkpoint_id: ObjectId, path: str, checksum: str, hashed: Signature | None = None) -> None:
        """Copy a registered checkpoint's file (or directory) in, in the background; `hashed` is the file's
        signature from before it was hashed to `checksum`."""
        self.uploader.submit({"checkpoint_id": str(checkpoint_id), "path": os.path.abspath(path),
                              "sha256": checksum.removeprefix("sha256:"), "hashed": hashed,
                              "kind": "directory" if os.path.isdir(path) else "file"})

    def _mark(self, entry: dict[str, Any], outcome: dict[str, Any]) -> None:
        changes = {"file.stored": {**outcome, "store": self.artifacts.label, "at": utcnow()}} \
            if "error" not in outcome else {"file.store_error": outcome["error"]}
        self._write([Update(CHECKPOINTS, {"_id": ObjectId(entry["checkpoint_id"])}, changes)])

    def fetch(self, checkpoint: Document, target: str | os.PathLike[str]) -> Path:
        return fetch(self.artifacts, checkpoint, target)

    def check(self, checkpoint: Document) -> str | None:
        return check(self.artifacts, checkpoint)

    def collect(self, *, keep_best: bool, keep_last: int | None, dry_run: bool) -> Collection:
        collection = plan(self._store, self.artifacts, keep_best=keep_best, keep_last=keep_last)
        if not dry_run:
            self._write(apply(self.artifacts, collection))
        return collection

    def close(self, timeout: float = UPLOAD_WAIT) -> bool:
        done = self.uploader.close(timeout)
        self.artifacts.close()
        return done


def stored_copy(document: Document) -> tuple[str, str] | None:
    """(sha256, kind) of a checkpoint's stored copy, or None."""
    file = document.get("file")
    stored = file.get("stored") if isinstance(file, dict) else None
    if not isinstance(stored, dict) or not isinstance(stored.get("sha256"), str) or len(stored["sha256"]) != 64:
        return None
    return stored["sha256"], "directory" if stored.get("kind") == "directory" else "file"


def fetch(artifacts: ArtifactStore, checkpoint: Document, target: str | os.PathLike[str]) -> Path:
    """Write a checkpoint's stored copy into the directory `target`, under its file's name; verified."""
    copy = stored_copy(checkpoint)
    if copy is None:
        raise NotFound(f"checkpoint {checkpoint['_id']} (epoch {checkpoint.get('epoch')}) has no stored copy: it "
                       f"was saved without store_file=True, or its copy is not made yet")
    sha256, kind = copy
    file = checkpoint.get("file")
    name = Path(str(file.get("path") if isinstance(file, dict) and file.get("path") else sha256)).name or sha256
    destination = Path(target) / name
    if kind == "directory":
        for digest, relative in manifest_files(artifacts, sha256):
            inner = (destination / relative).resolve()
            if destination.resolve() not in inner.parents:
                raise NotFound(f"the stored manifest {sha256[:12]}… names a path outside the directory: {relative}")
            artifacts.get(digest, inner)
    else:
        artifacts.get(sha256, destination)
    return destination


def check(artifacts: ArtifactStore, checkpoint: Document) -> str | None:
    """Whether a checkpoint's stored copy is there and whole: ok, missing, damaged; None without one."""
    copy = stored_copy(checkpoint)
    if copy is None:
        return None
    sha256, kind = copy
    state = artifacts.check(sha256)
    if state != "ok" or kind == "file":
        return state
    states = {artifacts.check(digest) for digest, _ in manifest_files(artifacts, sha256)}
    return "ok" if states == {"ok"} else "damaged" if "damaged" in states else "missing"


@dataclass
class Collection:
    """What `gc` frees (or would): stored files no kept checkpoint needs, and the checkpoints losing a copy."""

    files: list[tuple[str, int]] = field(default_factory=list)  # (sha256, bytes)
    checkpoints: list[ObjectId] = field(default_factory=list)
    kept: int = 0  # stored files kept
    leftovers: int = 0  # partial copies (of processes killed while copying) removed, when applied
    applied: bool = False

    @property
    def bytes(self) -> int:
        return sum(size for _, size in self.files)


def plan(store: Store, artifacts: ArtifactStore, *, keep_best: bool, keep_last: int | None) -> Collection:
    """Keep the copies of each experiment's best checkpoint (`keep_best`) and of its last `keep_last`
    checkpoints, and every copy of a running experiment; free the rest, files no checkpoint refers to too."""
    if not keep_best and keep_last is None:
        raise InvalidArgument("say what to keep: --keep-best, --keep-last K, or both")
    if keep_last is not None and (isinstance(keep_last, bool) or not isinstance(keep_last, int) or keep_last < 0):
        raise InvalidArgument(f"keep_last must be a non-negative integer, got {keep_last!r}")
    running = {d["_id"] for d in store.find(EXPERIMENTS, {"status": "running"}, projection={"_id": 1})}
    by_experiment: dict[Any, list[Document]] = defaultdict(list)
    for document in store.find(CHECKPOINTS, {"file.stored": {"$exists": True}},
                               projection={"experiment_id": 1, "epoch": 1, "is_best": 1, "file": 1}):
        if stored_copy(document) is not None:
            by_experiment[document.get("experiment_id")].append(document)
    keep: set[str] = set()
    dropped: list[Document] = []
    for experiment_id, checkpoints in by_experiment.items():
        ordered = sorted(checkpoints, key=lambda d: (_number(d.get("epoch")), str(d["_id"])))
        last = ordered[-keep_last:] if keep_last else []
        for document in ordered:
            kept = (experiment_id in running or (keep_best and document.get("is_best") is True)
                    or any(document is other for other in last))
            if kept:
                keep.update(_needed(artifacts, document))
            else:
                dropped.append(document)
    stored = dict(artifacts.sizes())
    collection = Collection(files=[(sha, size) for sha, size in stored.items() if sha not in keep],
                            kept=sum(1 for sha in stored if sha in keep))
    freed = {sha for sha, _ in collection.files}
    collection.checkpoints = [d["_id"] for d in dropped if stored_copy(d)[0] in freed]  # type: ignore[index]
    return collection


def apply(artifacts: ArtifactStore, collection: Collection) -> list[Write]:
    """Delete the files; the writes that unmark the checkpoints that lost their copy."""
    for sha256, _ in collection.files:
        artifacts.delete(sha256)
    collection.leftovers = artifacts.sweep()
    collection.applied = True
    return [Update(CHECKPOINTS, {"_id": {"$in": collection.checkpoints}}, unset=("file.stored",))] \
        if collection.checkpoints else []


def _needed(artifacts: ArtifactStore, document: Document) -> Iterable[str]:
    sha256, kind = stored_copy(document)  # type: ignore[misc]
    yield sha256
    if kind == "directory":
        try:
            yield from (digest for digest, _ in manifest_files(artifacts, sha256))
        except NotFound:
            pass


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else float("-inf")


@dataclass
class Carried:
    """What `carry` did: stored files copied across, already there, and missing from the source too."""

    copied: int = 0
    present: int = 0
    missing: int = 0
    bytes: int = 0


def carry(source: Store, source_artifacts: ArtifactStore, dest: Store, dest_artifacts: ArtifactStore, *,
          dry_run: bool = False) -> Carried:
    """After a push: the stored copies of the source's checkpoints the destination now holds, copied into the
    destination's artifact store where it lacks them (so the files follow the records). Idempotent."""
    records = [d for d in source.find(CHECKPOINTS, {"file.stored": {"$exists": True}}, projection={"file": 1})
               if stored_copy(d) is not None]
    held = {d["_id"] for start in range(0, len(records), 500)
            for d in dest.find(CHECKPOINTS, {"_id": {"$in": [r["_id"] for r in records[start:start + 500]]}},
                               projection={"_id": 1})}
    wanted: dict[str, None] = {}
    for document in records:
        if document["_id"] in held:
            wanted.update(dict.fromkeys(_needed(source_artifacts, document)))
    there, available = dict(dest_artifacts.sizes()), dict(source_artifacts.sizes())
    done = Carried()
    for sha256 in wanted:
        if sha256 in there:
            done.present += 1
        elif sha256 not in available:
            done.missing += 1
        else:
            done.copied += 1
            done.bytes += available[sha256]
            if not dry_run:
                _transfer(source_artifacts, dest_artifacts, sha256)
    return done


def _transfer(source: ArtifactStore, dest: ArtifactStore, sha256: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="epochlog-carry-") as folder:
        path = Path(folder) / sha256
        source.get(sha256, path)  # verified on the way out, and again on the way in
        dest.put(sha256, path)
