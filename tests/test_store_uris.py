"""The one reading of a store URI that open_store, push, sync and migrate share."""

from __future__ import annotations

from pathlib import Path

import pytest

from epochlog import InvalidArgument
from epochlog.store import embedded_path, is_mongodb_uri


@pytest.mark.parametrize("uri, path", [
    ("sqlite:///runs.db", Path("runs.db")), ("sqlite:////srv/runs.db", Path("/srv/runs.db")),
    ("runs.db", Path("runs.db")), ("~/runs.db", Path.home() / "runs.db"), ("sqlite:///~/runs.db", Path.home() / "runs.db"),
    (":memory:", None), ("sqlite:///:memory:", None), ("sqlite:///", None),
])
def test_an_embedded_store_names_its_file(uri: str, path: Path | None) -> None:
    assert embedded_path(uri) == path and not is_mongodb_uri(uri)


@pytest.mark.parametrize("uri, culprit", [("sqlite://runs.db", "sqlite:///relative.db"), ("http://x/y", "scheme")])
def test_other_uris_are_refused_by_name(uri: str, culprit: str) -> None:
    with pytest.raises(InvalidArgument, match=culprit):
        embedded_path(uri)


def test_mongodb_uris() -> None:
    assert is_mongodb_uri("mongodb://127.0.0.1:27017/") and is_mongodb_uri("mongodb+srv://cluster.example/db")
    assert not is_mongodb_uri("sqlite:///mongodb.db")
