"""Copying checkpoint files into an artifact store in the background, surviving outages and restarts.

Each copy asked for is first written as an entry file of a queue directory (fsynced, renamed into place), then
made by one thread; an entry is removed only once its copy is stored and the checkpoint marked
(`file.stored`). A store that cannot be reached is tried again with backoff; a process that dies leaves its
entries, and the next tracker on the same store and artifact store (or `epochlog sync`) makes them.

    <$EPOCHLOG_UPLOADS_DIR or ~/.local/state/epochlog/uploads>/<hash of the two targets>/<checkpoint id>.json
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..checkpoints import directory_manifest
from ..errors import NotFound, StoreUnavailable
from .stores import ArtifactError, ArtifactStore

log = logging.getLogger("epochlog.artifacts")
FIRST_RETRY, MOST_RETRY = 1.0, 60.0  # seconds between attempts while the artifact store is away

#: (the entry, the outcome: {"sha256", "kind"} once stored, or {"error": ...} once given up)
Mark = Callable[[dict[str, Any], dict[str, Any]], None]


def queue_directory(artifacts: ArtifactStore, store_uri: str) -> Path:
    base = os.environ.get("EPOCHLOG_UPLOADS_DIR")
    if not base:
        state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
        base = os.path.join(state, "epochlog", "uploads")
    key = hashlib.sha256(f"{artifacts.label}\n{store_uri}".encode()).hexdigest()[:16]
    return Path(base) / key


class Uploader:
    """The queue of one artifact store and one tracker store, and the thread that works through it."""

    def __init__(self, artifacts: ArtifactStore, directory: Path, mark: Mark) -> None:
        self.artifacts, self.directory, self._mark = artifacts, directory, mark
        self._wake = threading.Condition()
        self._stopping = False
        self._busy = False
        self._thread: threading.Thread | None = None

    def pending(self) -> list[Path]:
        return sorted(self.directory.glob("*.json")) if self.directory.is_dir() else []

    def submit(self, entry: dict[str, Any]) -> None:
        """Queue a copy (durably, before this returns) and wake the thread."""
        self.directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".entry.", dir=self.directory)
        with os.fdopen(handle, "w") as out:
            json.dump(entry, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.directory / f"{entry['checkpoint_id']}.json")
        self.start()
        with self._wake:
            self._wake.notify_all()

    def start(self) -> None:
        """Start the thread if it is not running (a new tracker resumes what a dead process queued)."""
        with self._wake:
            if self._thread is None or not self._thread.is_alive():
                self._stopping = False
                self._thread = threading.Thread(target=self._work, daemon=True, name="epochlog-uploads")
                self._thread.start()

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until the queue is empty; False if `timeout` passed first (or the thread is not running)."""
        with self._wake:
            return self._wake.wait_for(lambda: not self._busy and not self.pending()
                                       or self._thread is None, timeout) and not self.pending()

    def close(self, timeout: float = 30.0) -> bool:
        """Finish the queue within `timeout`, then stop; whether nothing is left (what is left stays queued)."""
        done = self.drain(timeout) if self._thread is not None else not self.pending()
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
        left = len(self.pending())
        if left:
            log.warning("%d checkpoint cop%s to %s not made yet: the next tracker with this artifact store, or "
                        "`epochlog sync`, makes them", left, "ies" if left != 1 else "y", self.artifacts.label)
        return done

    def _work(self) -> None:
        delay = FIRST_RETRY
        while True:
            with self._wake:
                entries = self.pending()
                self._busy = bool(entries)
                if not entries:
                    self._wake.notify_all()
                    self._wake.wait_for(lambda: self._stopping or bool(self.pending()))
                if self._stopping:
                    self._busy = False
                    self._wake.notify_all()
                    return
            for path in entries:
                try:
                    self._copy(path)
                except StoreUnavailable as error:  # the artifact store is away: all entries wait
                    log.warning("checkpoint copies wait for %s (again in %.0f s): %s", self.artifacts.label,
                                delay, error)
                    with self._wake:
                        self._wake.wait_for(lambda: self._stopping, delay)
                    delay = min(delay * 2, MOST_RETRY)
                    break
            else:
                delay = FIRST_RETRY

    def _copy(self, path: Path) -> None:
        try:
            entry = json.loads(path.read_text())
        except (OSError, ValueError):  # half a file cannot exist (entries are renamed in), but a hand edit can
            log.warning("unreadable upload entry %s left out", path)
            path.rename(path.with_suffix(".bad"))
            return
        try:
            if entry.get("kind") == "directory":
                _put_directory(self.artifacts, entry["sha256"], Path(entry["path"]))
            else:
                hashed = entry.get("hashed")
                self.artifacts.put(entry["sha256"], entry["path"], tuple(hashed) if hashed else None)
            outcome = {"sha256": entry["sha256"], "kind": entry.get("kind", "file")}
        except (ArtifactError, FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as error:
            log.warning("checkpoint %s not copied to %s: %s", entry.get("checkpoint_id"), self.artifacts.label, error)
            outcome = {"error": str(error)}
        self._mark(entry, outcome)  # StoreUnavailable here keeps the entry: copied again (a no-op), marked again
        path.unlink(missing_ok=True)


def _put_directory(artifacts: ArtifactStore, sha256: str, root: Path) -> None:
    """Each file of a checkpoint directory, then its manifest, which is what the directory's checksum hashes."""
    manifest = directory_manifest(root)
    if hashlib.sha256(manifest.encode()).hexdigest() != sha256:
        raise ArtifactError(f"{root} changed since it was hashed: not stored")
    for line in manifest.splitlines():
        digest, name = line.split("  ", 1)
        artifacts.put(digest, root / name)
    handle, temporary = tempfile.mkstemp(prefix=".manifest.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(manifest)
        artifacts.put(sha256, temporary)
    finally:
        os.unlink(temporary)


def manifest_files(artifacts: ArtifactStore, sha256: str) -> list[tuple[str, str]]:
    """(sha256, relative path) of each file of a stored directory, from its manifest."""
    with artifacts.open(sha256) as stored:
        text = stored.read().decode("utf-8")
    files = []
    for line in text.splitlines():
        digest, separator, name = line.partition("  ")
        if not separator or len(digest) != 64:
            raise NotFound(f"the stored manifest {sha256[:12]}… is not a manifest")
        files.append((digest, name))
    return files
