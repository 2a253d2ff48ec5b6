"""Migration tests: a runner bound to the test's own store, and messy legacy files built from the schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..cli.helpers import Cli
from .legacy_db import Messy, build_messy


@pytest.fixture
def uri(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'e.db'}"


@pytest.fixture
def cli(uri: str, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.delenv("EPOCHLOG_URI", raising=False)
    return Cli(uri)


@pytest.fixture
def messy(tmp_path: Path) -> Messy:
    return build_messy(tmp_path / "legacy")
