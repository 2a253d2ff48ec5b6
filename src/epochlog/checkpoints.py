"""Checkpoint files: size and sha256 when saved, and verification that they are still the same."""

from __future__ import annotations

import hashlib
import os
from typing import Any, Literal

CHUNK = 1 << 20

CheckpointState = Literal["ok", "missing", "changed", "unchecked"]


def file_facts(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """`size_mb` and `checksum: "sha256:<hex>"` of a file, streamed; None if there is no such file."""
    try:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    return {"size_mb": size / 1e6, "size_bytes": size, "checksum": f"sha256:{digest.hexdigest()}"}


def verify_file(file: dict[str, Any]) -> CheckpointState:
    """Whether a checkpoint's file still matches the checksum recorded for it."""
    path = file.get("path")
    if not path:
        return "unchecked"
    facts = file_facts(path)
    if facts is None:
        return "missing"
    recorded = file.get("checksum")
    if not recorded:
        return "unchecked"
    return "ok" if facts["checksum"] == recorded else "changed"
