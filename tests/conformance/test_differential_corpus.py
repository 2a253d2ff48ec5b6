"""The differential test's corpus on every backend: each store selects, of the same documents, what mongomock
selects (where mongomock is known to answer as MongoDB does, tests/query/test_differential.py `_untrusted`)."""

from __future__ import annotations

from typing import Any

import mongomock
import pytest
from bson import ObjectId

from epochlog.store import Put, Store
from tests.query.test_differential import CORPUS, _untrusted


@pytest.mark.parametrize("docs, filter", CORPUS, ids=[repr(filter) for _, filter in CORPUS])
def test_every_backend_selects_what_mongomock_selects(store: Store, docs: list[dict[str, Any]],
                                                      filter: dict[str, Any]) -> None:
    ids = [ObjectId() for _ in docs]
    store.write([Put("experiments", {"_id": oid, **doc}) for oid, doc in zip(ids, docs)])
    reference = mongomock.MongoClient().db.c
    reference.insert_many([{"_id": oid, **doc} for oid, doc in zip(ids, docs)])
    trusted = {oid for oid, doc in zip(ids, docs) if not _untrusted(doc, filter)}
    expected = {doc["_id"] for doc in reference.find(filter, {"_id": 1})} & trusted
    found = store.find("experiments", filter, projection={"_id": 1})
    assert {doc["_id"] for doc in found} & trusted == expected
    assert store.count("experiments", filter) == len(found)  # count selects what find selects
