"""The store's bucket listing and reading (what a push copies series with), on every backend."""

from __future__ import annotations

import math

import numpy as np
from bson import ObjectId

from epochlog.object_ids import new_object_id
from epochlog.store import AppendSeries, Store


def test_buckets_are_listed_by_experiment_and_id_and_read_back_exactly(store: Store) -> None:
    first, second = ObjectId(), ObjectId()
    early = AppendSeries(first, "loss", np.array([0, 1, 2]), np.array([1.0, math.nan, -math.inf]), new_object_id())
    late = AppendSeries(second, "acc", np.array([5]), np.array([0.5]), new_object_id())
    store.write([early, late])
    assert sorted(store.series_bucket_ids()) == sorted([(early.bucket_id, first), (late.bucket_id, second)])
    assert store.series_bucket_ids([second]) == [(late.bucket_id, second)]
    assert store.series_bucket_ids(since=late.bucket_id) == [(late.bucket_id, second)]
    assert store.series_bucket_ids([ObjectId()]) == [] and store.read_buckets([]) == []
    [read] = store.read_buckets([early.bucket_id])
    assert (read.experiment_id, read.name, read.bucket_id) == (first, "loss", early.bucket_id)
    assert read.steps.tolist() == [0, 1, 2] and read.values[0] == 1.0 and math.isnan(read.values[1])
    assert read.values[2] == -math.inf
    store.write([read])  # a bucket written again, as a push does, changes nothing
    assert len(store.read_series(first, "loss")) == 3 and len(store.series_bucket_ids()) == 2
