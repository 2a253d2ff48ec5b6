"""What every store says about itself through the contract: where its writes are (`flush`) and which MongoDB
database it holds (`database_name`)."""

from __future__ import annotations

from bson import ObjectId

from epochlog.store import Put, Store, is_mongodb_uri


def test_flush_returns_once_every_write_reached_the_target(store: Store) -> None:
    ids = [ObjectId() for _ in range(50)]
    store.write([Put("subjects", {"_id": oid, "subject_id": f"s{index}"}) for index, oid in enumerate(ids)])
    assert store.flush(30.0) is True
    target = getattr(store, "inner", store)  # the journal's server: flushed means it holds them there
    assert sorted(doc["_id"] for doc in target.find("subjects", {})) == sorted(ids)
    assert store.flush(0.0) is True  # nothing left: no wait


def test_a_store_names_its_database_only_on_mongodb(store: Store) -> None:
    if is_mongodb_uri(store.uri):
        assert store.database_name and store.database_name == getattr(store, "inner", store).database_name
    else:
        assert store.database_name is None
