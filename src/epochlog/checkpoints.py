"""Checkpoint files: size and sha256 when saved, and verification that they are still the same.

A checkpoint may be one file or a directory of files (a Hugging Face `checkpoint-500/`). A directory's
checksum is the sha256 of its manifest: one line `<sha256 of the file>  <path relative to the directory>` per
file, sorted by path (what `sha256sum` prints), so renaming, adding or changing any file changes it.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any, Literal

CHUNK = 1 << 20

CheckpointState = Literal["ok", "missing", "changed", "unchecked"]


def file_facts(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """`size_mb`, `size_bytes` and `checksum: "sha256:<hex>"` of a file or directory, streamed; None if
    there is no such path."""
    try:
        if os.path.isdir(path):
            return _directory_facts(Path(path))
        size, digest = _file_digest(path)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    return _facts(size, digest)


def verify_file(file: dict[str, Any]) -> CheckpointState:
    """Whether a checkpoint's file still matches the checksum recorded for it (`unchecked` when the record has
    no path or checksum, or the file cannot be read)."""
    if not isinstance(file, dict):
        return "unchecked"
    path = file.get("path")
    if not path or not isinstance(path, str):
        return "unchecked"
    try:
        facts = file_facts(path)
    except ValueError:  # a NUL byte: no such file can exist
        return "missing"
    except OSError:  # unreadable (permissions, a name too long): neither verified nor known to differ
        return "unchecked"
    if facts is None:
        return "missing"
    recorded = file.get("checksum")
    if not recorded:
        return "unchecked"
    return "ok" if facts["checksum"] == recorded else "changed"


class VerifiedFiles:
    """`verify_file` with a memory, for views that verify the same files again and again (the dashboard's
    leaderboard): a file, or every file of a directory, whose inode, size, mtime and ctime are all unchanged
    since it was hashed here is not read again. ctime cannot be set back by a user, so a rewritten file is
    hashed anew; a file changed within `RACY_SECONDS` of its hashing is never remembered, since file times
    are coarser than that (git's "racily clean" entries)."""

    RACY_SECONDS = 2.0

    def __init__(self, most: int = 4096) -> None:
        self._most = most
        self._states: dict[tuple[Any, ...], CheckpointState] = {}

    def state(self, file: Any) -> CheckpointState:
        signature = _signature(file)
        if signature is None:
            return verify_file(file)
        state = self._states.get(signature)
        if state is None:
            started = time.time_ns()
            state = verify_file(file)
            newest = max((max(times[3:]) for _, times in signature[2]), default=started)
            if started - newest >= self.RACY_SECONDS * 1e9:
                if len(self._states) >= self._most:
                    self._states.clear()  # a rare reset beats bookkeeping on every hit
                self._states[signature] = state
        return state


def _signature(file: Any) -> tuple[Any, ...] | None:
    """What identifies a recorded file's current contents without reading them: its path, recorded checksum
    and `(relative path, (device, inode, size, mtime, ctime))` of each file; None when there is nothing worth
    remembering (no path or checksum, or the path cannot be examined)."""
    if not isinstance(file, dict) or not isinstance(file.get("path"), str) or not file.get("checksum"):
        return None
    path, checksum = file["path"], str(file["checksum"])
    try:
        if not os.path.isdir(path):
            return (path, checksum, (("", signature(path)),))
        root = Path(path)
        return (path, checksum, tuple(sorted((item.relative_to(root).as_posix(), signature(item))
                                             for item in root.rglob("*") if item.is_file())))
    except (OSError, ValueError):
        return None


#: (device, inode, size, mtime, ctime) of a file
Signature = tuple[int, int, int, int, int]


def signature(file: int | str | os.PathLike[str]) -> Signature:
    """What changes whenever a file's content does: device, inode, size, mtime and ctime (which no user sets)."""
    info = os.fstat(file) if isinstance(file, int) else os.stat(file)
    return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns


def file_signature(path: str) -> Signature | None:
    """The signature of a regular file, None for anything else or a path that cannot be examined."""
    try:
        return signature(path) if os.path.isfile(path) else None
    except OSError:
        return None


def _file_digest(path: str | os.PathLike[str]) -> tuple[int, str]:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return size, digest.hexdigest()


def directory_manifest(root: str | os.PathLike[str]) -> str:
    """The lines a directory's checksum hashes: `<sha256>  <relative path>` per file, sorted by path."""
    return _manifest(Path(root))[0]


def _manifest(root: Path) -> tuple[str, int]:
    lines, total = [], 0
    for file in sorted(path for path in root.rglob("*") if path.is_file()):
        size, digest = _file_digest(file)
        total += size
        lines.append(f"{digest}  {file.relative_to(root).as_posix()}\n")
    return "".join(lines), total


def _directory_facts(root: Path) -> dict[str, Any]:
    manifest, total = _manifest(root)
    return _facts(total, hashlib.sha256(manifest.encode()).hexdigest())


def _facts(size: int, digest: str) -> dict[str, Any]:
    return {"size_mb": size / 1e6, "size_bytes": size, "checksum": f"sha256:{digest}"}
