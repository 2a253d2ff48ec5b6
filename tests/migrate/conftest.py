"""Messy legacy files built from the schema (the runner, `cli`, comes from tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .legacy_db import Messy, build_messy


@pytest.fixture
def messy(tmp_path: Path) -> Messy:
    return build_messy(tmp_path / "legacy")
