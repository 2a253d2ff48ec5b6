"""The disk backend: one file per entry in `<root>/<namespace>/`, bounded by LRU eviction.

Safe across processes without locks: a value is written to a temporary file and renamed over the entry, so a
reader opens either the old or the new file, never a partial one, and a writer that dies mid-write leaves only
a temporary file (removed by a later sweep when stale). Readers map large files into memory, and an mmap stays
valid if the entry is replaced or evicted.

A file's mtime is its last use. Each process sums the directory after every `max_bytes / 10` it writes (and
whenever its estimate passes the limit) and, if the total is above `max_bytes`, deletes the least recently
used entries down to 90%. Other processes' writes are only seen at those sweeps, so N writers may overshoot by
about N x 10% between them.
"""

from __future__ import annotations

import logging
import mmap
import os
import secrets
import time
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path

from ..errors import CacheError
from .codec import Buffer
from .keys import Slot, check_namespace

DEFAULT_MAX_BYTES = 10 * 2**30
_SUFFIX = ".elc"
_TMP_SUFFIX = ".tmp"
_MMAP_MIN_BYTES = 64 * 1024  # below this a read() is cheaper than mapping pages
_STALE_TMP_NS = 3600 * 10**9  # no live writer keeps a temporary file that long
_LOW_WATER = 0.9  # evict a little more than needed so every write does not sweep

log = logging.getLogger("epochlog.cache")


class DiskBackend:
    """Entries as files under `root`, at most about `max_bytes` in all."""

    def __init__(self, root: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_bytes <= 0:
            raise CacheError(f"max_bytes must be positive, not {max_bytes}")
        self.root = Path(root).expanduser().absolute()
        self.max_bytes = max_bytes
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CacheError(f"cannot create cache dir {self.root}: {error}") from error
        self._estimate: int | None = None  # bytes on disk at the last sweep; None: no sweep yet
        self._since_sweep = 0

    @property
    def uri(self) -> str:
        return self.root.as_uri()

    def path(self, slot: Slot) -> Path:
        """The file that holds `slot`."""
        return self.root / slot.namespace / (slot.digest + _SUFFIX)

    def get(self, slot: Slot) -> Buffer | None:
        try:
            with open(self.path(slot), "rb", buffering=0) as file:
                now = time.time_ns()
                with suppress(OSError):  # LRU order is best effort (e.g. a file of another user)
                    os.utime(file.fileno(), ns=(now, now))
                if os.fstat(file.fileno()).st_size >= _MMAP_MIN_BYTES:
                    return mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
                return file.read()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise CacheError(f"cannot read {self.path(slot)}: {error}") from error

    def put(self, slot: Slot, parts: Sequence[bytes | memoryview], ttl: float | None) -> bool:
        # `ttl` needs nothing here: FeatureCache keeps the expiry in the blob's header.
        size = sum(len(part) for part in parts)
        path = self.path(slot)
        if size > self.max_bytes:
            log.warning("not caching %s: %d bytes is above max_bytes=%d", path, size, self.max_bytes)
            return False
        tmp = path.with_name(f".{slot.digest}.{os.getpid()}.{secrets.token_hex(4)}{_TMP_SUFFIX}")
        try:
            path.parent.mkdir(exist_ok=True)
            with open(tmp, "xb") as file:
                for part in parts:
                    file.write(part)
            now = time.time_ns()
            os.utime(tmp, ns=(now, now))
            os.replace(tmp, path)
        except OSError as error:
            with suppress(OSError):
                tmp.unlink()
            raise CacheError(f"cannot write {path}: {error}") from error
        self._since_sweep += size
        if (self._estimate is None or self._estimate + self._since_sweep > self.max_bytes
                or self._since_sweep > self.max_bytes // 10):
            self._sweep()
        return True

    def delete(self, slot: Slot) -> bool:
        try:
            self.path(slot).unlink()
        except FileNotFoundError:
            return False
        except OSError as error:
            raise CacheError(f"cannot delete {self.path(slot)}: {error}") from error
        return True

    def clear(self, namespace: str | None) -> int:
        removed = 0
        # Temporary files stay: a writer is about to rename them (stale ones go in a sweep).
        try:
            for directory in self._namespace_dirs(namespace):
                for entry in os.scandir(directory):
                    if entry.name.endswith(_SUFFIX):
                        with suppress(FileNotFoundError):
                            os.unlink(entry.path)
                            removed += 1
        except OSError as error:
            raise CacheError(f"cannot clear cache dir {self.root}: {error}") from error
        self._estimate = None
        return removed

    def close(self) -> None:
        pass  # no open files between calls

    def _namespace_dirs(self, namespace: str | None) -> list[Path]:
        if namespace is not None:
            directory = self.root / check_namespace(namespace)
            return [directory] if directory.is_dir() else []
        return [Path(entry.path) for entry in os.scandir(self.root)
                if entry.is_dir() and not entry.name.startswith(".")]

    def _sweep(self) -> None:
        """Sum the entries, delete the least recently used above the limit, and stale temp files."""
        entries: list[tuple[int, int, str]] = []
        now = time.time_ns()
        try:
            for directory in self._namespace_dirs(None):
                for entry in os.scandir(directory):
                    try:
                        stat = entry.stat()
                    except FileNotFoundError:  # replaced or evicted meanwhile
                        continue
                    if entry.name.endswith(_SUFFIX):
                        entries.append((stat.st_mtime_ns, stat.st_size, entry.path))
                    elif entry.name.endswith(_TMP_SUFFIX) and now - stat.st_mtime_ns > _STALE_TMP_NS:
                        with suppress(FileNotFoundError):
                            os.unlink(entry.path)
            total = sum(size for _, size, _ in entries)
            if total > self.max_bytes:
                entries.sort()
                for _, size, path in entries:
                    if total <= self.max_bytes * _LOW_WATER:
                        break
                    with suppress(FileNotFoundError):  # another process evicted it first
                        os.unlink(path)
                    total -= size
        except OSError as error:
            raise CacheError(f"cannot sweep cache dir {self.root}: {error}") from error
        self._estimate, self._since_sweep = total, 0
