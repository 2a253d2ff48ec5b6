"""Fixtures of the feature-cache tests: a real directory and a real Redis (scripts/redis).

A missing redis-server fails the run with how to install it: the suite never skips it.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from epochlog.cache import Backend, DiskBackend, FeatureCache, RedisBackend

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "redis"
#: Small enough that the round-trip tests push multi-chunk values through Redis.
SMALL_CHUNK = 4096


class RedisControl:
    """Starts and stops Redis servers through scripts/redis, one per directory."""

    def start(self, directory: Path) -> str:
        """Start (or reuse) the server of `directory`; its redis:// URL."""
        if shutil.which("redis-server") is None:
            pytest.fail(
                "redis-server is not installed; the cache tests need it: apt-get install -y "
                "redis-server (scripts/test does this)",
                pytrace=False,
            )
        done = subprocess.run(
            [str(SCRIPT), "start", str(directory)], capture_output=True, text=True, timeout=60
        )
        if done.returncode != 0:
            pytest.fail(f"scripts/redis start failed:\n{done.stderr}", pytrace=False)
        return done.stdout.strip().splitlines()[-1]

    def stop(self, directory: Path) -> None:
        subprocess.run([str(SCRIPT), "stop", str(directory)], check=True, timeout=60)

    def pid(self, directory: Path) -> int:
        return int((directory / "redis.pid").read_text())


@pytest.fixture(scope="session")
def redis_control() -> RedisControl:
    return RedisControl()


@pytest.fixture(scope="session")
def redis_url(redis_control: RedisControl, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a Redis server started for this session on a free loopback port."""
    directory = tmp_path_factory.mktemp("redis")
    try:
        yield redis_control.start(directory)
    finally:
        redis_control.stop(directory)


@pytest.fixture(
    params=[
        "disk",
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("redis-chunked", marks=pytest.mark.redis),
    ]
)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Every backend, empty: a fresh directory, or the session's Redis cleared."""
    made: DiskBackend | RedisBackend
    if request.param == "disk":
        made = DiskBackend(tmp_path / "cache")
    else:
        chunk = SMALL_CHUNK if request.param == "redis-chunked" else 4 * 2**20
        made = RedisBackend(request.getfixturevalue("redis_url"), chunk_bytes=chunk)
        made.clear(None)
    yield made
    made.close()


@pytest.fixture
def cache(backend: Backend) -> Iterator[FeatureCache]:
    with FeatureCache(backend) as opened:
        yield opened
