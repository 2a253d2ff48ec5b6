"""Real git repositories made in tmp_path, and the working directory moved into them."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

_IDENTITY = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
             "GIT_COMMITTER_EMAIL": "t@example.com"}


def git(repo: Path, *args: str) -> str:
    """Run git in `repo` as a user would (its output, stripped)."""
    result = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True,
                            env={**os.environ, **_IDENTITY})
    return result.stdout.strip()


def first_commit(path: Path) -> Path:
    """A new repository at `path` on branch `main`, with one commit of `train.py`."""
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "train.py").write_text("lr = 0.1\n")
    git(path, "add", "train.py")
    git(path, "commit", "-q", "-m", "first")
    return path


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository on branch `main` with one commit, as the working directory."""
    path = first_commit(tmp_path / "repo")
    monkeypatch.chdir(path)
    return path


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """`path` read-only for this process: a read-only bind mount for root (whom permissions do not stop),
    else the write bits removed."""
    if os.geteuid() == 0:
        subprocess.run(["mount", "--bind", str(path), str(path)], check=True)
        try:
            subprocess.run(["mount", "-o", "remount,ro,bind", str(path)], check=True)
            yield
        finally:
            subprocess.run(["umount", str(path)], check=True)
        return
    modes = {p: p.stat().st_mode for p in [path, *path.rglob("*")]}
    for p, mode in modes.items():
        p.chmod(mode & ~0o222)
    try:
        yield
    finally:
        for p, mode in sorted(modes.items(), key=lambda item: len(item[0].parts)):
            p.chmod(mode)
