"""The storage contract of the feature cache, and choosing a backend from a URI.

A backend stores opaque blobs (see `codec`) in slots (see `keys.Slot`). It raises CacheError when its storage
cannot be reached or written; `FeatureCache` turns that into a miss.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from ..errors import CacheError
from ..redaction import redact
from .codec import Buffer
from .keys import Slot


class Backend(Protocol):
    """Where blobs live: a directory, a Redis server."""

    @property
    def uri(self) -> str:
        """Where the blobs are, as a URI (no password)."""
        ...

    def get(self, slot: Slot) -> Buffer | None:
        """The blob in `slot`, or None."""
        ...

    def put(self, slot: Slot, parts: Sequence[bytes | memoryview], ttl: float | None) -> bool:
        """Store the concatenation of `parts` in `slot`, replacing it atomically; False if the value is not
        kept (e.g. larger than the whole cache)."""
        ...

    def delete(self, slot: Slot) -> bool:
        """Remove `slot`; True if it held a blob."""
        ...

    def clear(self, namespace: str | None) -> int:
        """Remove every blob of `namespace` (all if None); how many were removed."""
        ...

    def close(self) -> None:
        """Release connections; the backend is not used afterwards."""
        ...


def default_cache_uri() -> str:
    """`file://` URI of the per-user cache dir: `$XDG_CACHE_HOME/epochlog/features`."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return (Path(base).absolute() / "epochlog" / "features").as_uri()


def open_backend(uri: str | os.PathLike[str] | None = None) -> Backend:
    """The backend for `uri`: `file:///dir` (or a path), `redis[s]://host:port/db`, `unix://`; None means
    `default_cache_uri()`. Tuning options (size limit, chunk size, TTL) are arguments of `DiskBackend` and
    `RedisBackend`: build one of those to change them."""
    from .disk import DiskBackend
    from .redis_backend import RedisBackend

    if isinstance(uri, os.PathLike):
        return DiskBackend(uri)
    parts = urlsplit(uri or default_cache_uri())
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or parts.query:
            raise CacheError(f"unsupported file URI {redact(str(uri))!r}: use file:///absolute/path")
        return DiskBackend(unquote(parts.path))
    if parts.scheme in ("redis", "rediss", "unix"):
        return RedisBackend(str(uri))
    raise CacheError(f"unsupported cache URI {redact(str(uri))!r}: use file:///path or redis://host:port/db")
