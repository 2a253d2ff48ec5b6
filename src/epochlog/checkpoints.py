"""Checkpoint files: size and sha256 when saved, and verification that they are still the same.

A checkpoint may be one file or a directory of files (a Hugging Face `checkpoint-500/`). A directory's
checksum is the sha256 of its manifest: one line `<sha256 of the file>  <path relative to the directory>` per
file, sorted by path (what `sha256sum` prints), so renaming, adding or changing any file changes it.
"""

from __future__ import annotations

import hashlib
import os
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
    """Whether a checkpoint's file still matches the checksum recorded for it."""
    if not isinstance(file, dict):
        return "unchecked"
    path = file.get("path")
    if not path or not isinstance(path, str):
        return "unchecked"
    facts = file_facts(path)
    if facts is None:
        return "missing"
    recorded = file.get("checksum")
    if not recorded:
        return "unchecked"
    return "ok" if facts["checksum"] == recorded else "changed"


def _file_digest(path: str | os.PathLike[str]) -> tuple[int, str]:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return size, digest.hexdigest()


def _directory_facts(root: Path) -> dict[str, Any]:
    lines, total = [], 0
    for file in sorted(path for path in root.rglob("*") if path.is_file()):
        size, digest = _file_digest(file)
        total += size
        lines.append(f"{digest}  {file.relative_to(root).as_posix()}\n")
    return _facts(total, hashlib.sha256("".join(lines).encode()).hexdigest())


def _facts(size: int, digest: str) -> dict[str, Any]:
    return {"size_mb": size / 1e6, "size_bytes": size, "checksum": f"sha256:{digest}"}
