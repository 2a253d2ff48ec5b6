"""The one reading of a store URI that open_store, push, sync and migrate share."""

from __future__ import annotations

from pathlib import Path

import pytest

from epochlog import InvalidArgument
from epochlog.store import SEED_URI, embedded_path, is_mongodb_uri, seed_uri


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


def test_the_seed_tracker_takes_epochlog_uri_first_and_mongo_uri_with_a_deprecation(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EPOCHLOG_URI", raising=False)
    monkeypatch.delenv("MONGO_URI", raising=False)
    assert seed_uri() == SEED_URI == "mongodb://localhost:27017/"
    monkeypatch.setenv("MONGO_URI", "mongodb://old-host:27017/")
    with pytest.warns(DeprecationWarning, match="set EPOCHLOG_URI"):
        assert seed_uri() == "mongodb://old-host:27017/"
    monkeypatch.setenv("EPOCHLOG_URI", "sqlite:///runs.db")  # the embedded store is no server for the seed's tracker
    with pytest.warns(DeprecationWarning):
        assert seed_uri() == "mongodb://old-host:27017/"
    monkeypatch.setenv("EPOCHLOG_URI", "mongodb://new-host:27017/")
    assert seed_uri() == "mongodb://new-host:27017/"  # and no warning: the filter turns one into an error
