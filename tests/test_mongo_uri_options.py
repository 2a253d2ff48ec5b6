"""MongoStore hands the URI to pymongo untouched: write concern, read preference and the rest come from it.

No server is needed: MongoStore creates its client with connect=False and does no I/O in its constructor.
docs/DATABASE_DESIGN.md ("URI options users set") documents what is checked here.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pymongo import ReadPreference

from epochlog.store import open_store
from epochlog.store.mongo import MongoStore

REPLICA_SET_URI = "mongodb://127.0.0.1:1/eeg2025?w=majority&readPreference=secondaryPreferred&journal=true"


@pytest.fixture
def store() -> Iterator[MongoStore]:
    store = MongoStore(REPLICA_SET_URI)
    yield store
    store.close()


def test_write_concern_comes_from_the_uri(store: MongoStore) -> None:
    assert store._client.write_concern.document == {"w": "majority", "j": True}
    assert store._db.write_concern.document == {"w": "majority", "j": True}
    assert store._db["epochs"].write_concern.document == {"w": "majority", "j": True}


def test_read_preference_comes_from_the_uri(store: MongoStore) -> None:
    assert store._client.read_preference.mode == ReadPreference.SECONDARY_PREFERRED.mode
    assert store._db.read_preference == ReadPreference.SECONDARY_PREFERRED
    assert store._db["experiments"].read_preference == ReadPreference.SECONDARY_PREFERRED


def test_the_database_comes_from_the_uri_path(store: MongoStore) -> None:
    assert store.database_name == "eeg2025"
    assert store._db.name == "eeg2025"


def test_defaults_without_options_are_pymongos() -> None:
    """Nothing in the URI: primary reads, the server's default write concern, retryable writes on."""
    store = MongoStore("mongodb://127.0.0.1:1/eeg2025")
    try:
        assert store._client.read_preference == ReadPreference.PRIMARY
        assert store._client.write_concern.document == {}
        assert store._client.options.retry_writes is True
    finally:
        store.close()


def test_the_other_options_users_set_pass_through() -> None:
    uri = ("mongodb://app:secret-for-this-test@127.0.0.1:1/eeg2025?authSource=eeg2025&replicaSet=rs0"
           "&retryWrites=false&appname=epochlog-dashboard&tls=true&w=2&wtimeoutMS=5000"
           "&readPreference=secondaryPreferred&maxStalenessSeconds=120&readPreferenceTags=dc:ny")
    store = MongoStore(uri)
    try:
        options = store._client.options
        assert options.replica_set_name == "rs0"
        assert options.retry_writes is False
        assert options.pool_options.metadata["application"] == {"name": "epochlog-dashboard"}
        assert options.write_concern.document == {"w": 2, "wtimeout": 5000}
        assert options.read_preference.document == {"mode": "secondaryPreferred", "tags": [{"dc": "ny"}],
                                                     "maxStalenessSeconds": 120}
        assert options._options["authsource"] == "eeg2025"  # pymongo's parsed URI options (case-insensitive)
        assert options._options["tls"] is True
    finally:
        store.close()


def test_open_store_keeps_the_options() -> None:
    store = open_store(REPLICA_SET_URI, journal=False)
    try:
        assert isinstance(store, MongoStore)
        assert store._client.write_concern.document == {"w": "majority", "j": True}
        assert store._client.read_preference == ReadPreference.SECONDARY_PREFERRED
    finally:
        store.close()


def test_server_selection_timeout_comes_from_the_uri() -> None:
    store = MongoStore("mongodb://127.0.0.1:1/eeg2025?serverSelectionTimeoutMS=30000")
    try:
        assert store._client.options.server_selection_timeout == 30.0
    finally:
        store.close()


def test_the_keyword_sets_the_server_selection_timeout() -> None:
    store = MongoStore("mongodb://127.0.0.1:1/eeg2025", server_selection_timeout_ms=1500)
    try:
        assert store._client.options.server_selection_timeout == 1.5
    finally:
        store.close()
