"""epochlog's fast ObjectIds are bson's ObjectIds: valid, unique, in time order, distinct across processes."""

from __future__ import annotations

import multiprocessing
import time

from bson import ObjectId

from epochlog.object_ids import new_object_id


def test_new_ids_are_unique_valid_and_in_creation_order() -> None:
    ids = [new_object_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert all(type(oid) is ObjectId and ObjectId(str(oid)) == oid for oid in ids)
    assert abs(ids[0].generation_time.timestamp() - time.time()) < 5
    counters = [int.from_bytes(oid.binary[9:], "big") for oid in ids]
    assert all((b - a) % 2**24 == 1 for a, b in zip(counters, counters[1:]))  # ObjectId's 3-byte counter
    assert len({oid.binary[4:9] for oid in ids}) == 1  # one random value per process


def _child_id(queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    queue.put(str(new_object_id()))


def test_a_forked_child_draws_its_own_random_part() -> None:
    parent = new_object_id()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_child_id, args=(queue,))
    child.start()
    child_id = ObjectId(queue.get(timeout=30))
    child.join(timeout=30)
    assert child_id.binary[4:9] != parent.binary[4:9]  # ObjectId's per-process random value
