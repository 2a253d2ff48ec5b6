"""The Redis backend: entries as strings with TTLs; values above `chunk_bytes` in chunks.

A small value is one key. A large one is a manifest key naming a fresh random token and the chunk keys
`<key>:<token>:<i>`: the chunks are written first, then the manifest is swapped in with `SET ... GET`, then
the replaced value's chunks are deleted. A reader holding the old manifest finds a chunk gone and sees a miss,
never a mix of two values. Chunks outlive their manifest's TTL by a minute so a live manifest never points at
expired chunks.

Needs Redis >= 6.2 and the `redis` package (`pip install 'epochlog[redis]'`), imported only when a
RedisBackend is made. Timeouts are short and there is no retry loop: a training step must not wait on a dead
server (`FeatureCache` computes instead).
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ..errors import CacheError
from ..redaction import redact
from .codec import Buffer
from .keys import Slot, check_namespace

PREFIX = "epochlog:cache:"
DEFAULT_CHUNK_BYTES = 4 * 2**20  # big strings block Redis' single thread while they move
DEFAULT_TTL = 7 * 24 * 3600.0
_MANIFEST = b"ELM1"
_CHUNK_TTL_MARGIN_MS = 60_000
_BATCH = 16  # chunks per round trip


class RedisBackend:
    """Entries in the Redis database at `url`, expiring after `default_ttl` seconds (None: never)."""

    def __init__(self, url: str, *, chunk_bytes: int = DEFAULT_CHUNK_BYTES, default_ttl: float | None = DEFAULT_TTL,
                 connect_timeout: float = 2.0, timeout: float = 10.0) -> None:
        if chunk_bytes <= 0:
            raise CacheError(f"chunk_bytes must be positive, not {chunk_bytes}")
        self._url = url
        self.chunk_bytes = chunk_bytes
        self.default_ttl = default_ttl
        self._timeouts = (connect_timeout, timeout)
        try:  # no I/O yet: the client connects on its first command
            self._client: Any = _make_client(url, self._timeouts)
        except ImportError as error:
            raise CacheError("the Redis cache needs the redis package: pip install 'epochlog[redis]'") from error
        except ValueError as error:
            raise CacheError(f"invalid Redis URL: {error}") from error  # the URL may hold a password

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_client": None}  # sockets do not cross processes

    @property
    def uri(self) -> str:
        return redact(self._url)

    @property
    def client(self) -> Any:
        """The redis-py client."""
        if self._client is None:  # unpickled
            self._client = _make_client(self._url, self._timeouts)
        return self._client

    def get(self, slot: Slot) -> Buffer | None:
        key = _key(slot)
        with self._translated():
            blob: bytes | None = self.client.get(key)
            manifest = _manifest(blob)
            if manifest is None:
                return blob  # None, a value, or garbage that decode() reports as corrupt
            chunks: list[bytes | None] = []
            for batch in _batches(_chunk_keys(key, *manifest)):
                chunks += self.client.mget(batch)
        if any(chunk is None for chunk in chunks):
            return None  # replaced or evicted while we read
        return b"".join(chunk for chunk in chunks if chunk is not None)

    def put(self, slot: Slot, parts: Sequence[bytes | memoryview], ttl: float | None) -> bool:
        key = _key(slot)
        ttl = self.default_ttl if ttl is None else ttl
        px = None if ttl is None else max(1, math.ceil(ttl * 1000))
        data = memoryview(b"".join(parts))
        with self._translated():
            if data.nbytes <= self.chunk_bytes:
                old = self.client.set(key, data, px=px, get=True)
            else:
                token = secrets.token_hex(8)
                count = math.ceil(data.nbytes / self.chunk_bytes)
                chunk_px = None if px is None else px + _CHUNK_TTL_MARGIN_MS
                size = self.chunk_bytes
                for batch in _batches(list(enumerate(_chunk_keys(key, token, count)))):
                    pipe = self.client.pipeline(transaction=False)
                    for i, chunk_key in batch:
                        pipe.set(chunk_key, data[i * size:(i + 1) * size], px=chunk_px)
                    pipe.execute()
                manifest = _MANIFEST + json.dumps({"token": token, "chunks": count}).encode()
                old = self.client.set(key, manifest, px=px, get=True)
            self._drop_chunks(key, old)
        return True

    def delete(self, slot: Slot) -> bool:
        key = _key(slot)
        with self._translated():
            old = self.client.getdel(key)
            self._drop_chunks(key, old)
        return old is not None

    def clear(self, namespace: str | None) -> int:
        pattern = PREFIX + ("*" if namespace is None else f"{check_namespace(namespace)}:*")
        entry_colons = PREFIX.count(":") + 1  # chunk keys have two more
        removed = 0
        with self._translated():
            for batch in _batches(list(self.client.scan_iter(match=pattern, count=1000)), 500):
                self.client.unlink(*batch)
                removed += sum(1 for k in batch if k.count(b":") == entry_colons)
        return removed

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _drop_chunks(self, key: str, old: bytes | None) -> None:
        manifest = _manifest(old)
        if manifest is not None:
            for batch in _batches(_chunk_keys(key, *manifest), 500):
                self.client.unlink(*batch)

    @contextmanager
    def _translated(self) -> Iterator[None]:
        import redis

        try:
            yield
        except redis.RedisError as error:
            raise CacheError(f"Redis at {self.uri}: {error}") from error


def _make_client(url: str, timeouts: tuple[float, float]) -> Any:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis.from_url(url, socket_connect_timeout=timeouts[0], socket_timeout=timeouts[1],
                                retry=Retry(NoBackoff(), 1))  # one immediate retry heals a dropped connection


def _key(slot: Slot) -> str:
    return f"{PREFIX}{slot.namespace}:{slot.digest}"


def _chunk_keys(key: str, token: str, count: int) -> list[str]:
    return [f"{key}:{token}:{i}" for i in range(count)]


def _manifest(blob: bytes | None) -> tuple[str, int] | None:
    """(token, chunk count) if `blob` is a well-formed manifest."""
    if blob is None or not blob.startswith(_MANIFEST):
        return None
    try:
        fields = json.loads(blob[len(_MANIFEST):])
        token, count = fields["token"], fields["chunks"]
    except (ValueError, KeyError, TypeError):
        return None
    if not (isinstance(token, str) and token.isalnum() and isinstance(count, int) and 0 < count < 2**20):
        return None
    return token, count


def _batches(items: list[Any], size: int = _BATCH) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
