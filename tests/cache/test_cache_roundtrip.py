"""Values round-trip exactly through every backend: arrays of many dtypes and shapes, bytes, dicts."""

from __future__ import annotations

import mmap
from typing import Any

import numpy as np
import pytest

from epochlog.cache import DiskBackend, FeatureCache
from epochlog.errors import CacheError

DTYPES = [
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "longdouble", "complex64", "complex128",
    "datetime64[ns]", "datetime64[D]", "timedelta64[s]", "U7", "S5", ">f8", ">i4", "<u2",
    [("t", "<f8"), ("ch", "u1", (3,)), ("label", "U4")],
]  # fmt: skip
SHAPES = [(), (0,), (1,), (7,), (3, 4), (2, 3, 5), (1, 0, 2), (64, 300)]


def sample(dtype: np.dtype[Any], shape: tuple[int, ...], seed: int) -> np.ndarray[Any, Any]:
    """Random bytes reinterpreted as `dtype`: every bit pattern, NaNs and NaTs included."""
    raw = np.random.default_rng(seed).integers(0, 256, size=(*shape, dtype.itemsize), dtype=np.uint8)
    if dtype.kind == "b":
        raw &= 1
    if dtype.kind in "US" or dtype.names:
        return np.zeros(shape, dtype)  # fill below with valid characters
    return raw.view(dtype).reshape(shape)


def fill_text(array: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    if array.dtype.kind in "US":
        words = np.array(
            ["", "a", "ü∑ok", "tab\t", "7chars!"] if array.dtype.kind == "U" else [b"", b"\x00x", b"\xffabc"]
        )
        return words[np.arange(array.size) % len(words)].astype(array.dtype).reshape(array.shape)
    if array.dtype.names:
        array = array.copy()
        array["t"] = np.arange(array.size).reshape(array.shape) / 3
        array["label"] = "év"
    return array


def assert_identical(got: Any, want: np.ndarray[Any, Any]) -> None:
    assert isinstance(got, np.ndarray)
    assert got.dtype == want.dtype and got.dtype.str == want.dtype.str
    assert got.shape == want.shape
    assert got.tobytes() == np.ascontiguousarray(want).tobytes()  # bit-exact, NaN payloads too


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_arrays_round_trip_exactly(cache: FeatureCache, dtype: Any) -> None:
    dt = np.dtype(dtype)
    for i, shape in enumerate(SHAPES):
        want = fill_text(sample(dt, shape, seed=i))
        key = f"arrays/{dt.str}-{i}"
        cache.put(key, want)
        got = cache.get(key)
        assert_identical(got, want)
        assert isinstance(got, np.ndarray) and not got.flags.writeable


def test_non_contiguous_and_fortran_arrays(cache: FeatureCache) -> None:
    base = np.arange(600, dtype=np.float32).reshape(20, 30)
    for i, view in enumerate([base[::3, 1::4], base.T, np.asfortranarray(base), base[:, ::-1]]):
        cache.put(f"views/{i}", view)
        assert_identical(cache.get(f"views/{i}"), view)


def test_object_arrays_are_refused(cache: FeatureCache) -> None:
    for bad in [np.array([{"a": 1}], dtype=object), np.zeros(2, dtype=[("x", "O")])]:
        with pytest.raises(CacheError, match="object"):
            cache.put("bad/obj", bad)
    assert cache.get("bad/obj") is None


@pytest.mark.parametrize("value", [b"", b"\x00" * 10, bytes(range(256)) * 100])
def test_bytes_round_trip(cache: FeatureCache, value: bytes) -> None:
    cache.put("raw/b", value)
    got = cache.get("raw/b")
    assert type(got) is bytes and got == value


def test_bytearray_and_memoryview_come_back_as_bytes(cache: FeatureCache) -> None:
    cache.put("raw/ba", bytearray(b"abc"))
    cache.put("raw/mv", memoryview(b"xyz"))
    assert cache.get("raw/ba") == b"abc" and cache.get("raw/mv") == b"xyz"


def test_metadata_dicts_round_trip(cache: FeatureCache) -> None:
    meta = {
        "sfreq": 250.0,
        "n_windows": 37,
        "channels": ["Fp1", "Cz", "ü"],
        "filter": {"l_freq": 1.0, "h_freq": None, "ok": True},
        "nan": float("nan"),
        "nested": [[1, 2], {"a": []}],
    }
    cache.put("meta/m", meta)
    got = cache.get("meta/m")
    assert isinstance(got, dict)
    assert np.isnan(got.pop("nan")) and got == {k: v for k, v in meta.items() if k != "nan"}


@pytest.mark.parametrize(
    "meta",
    [{"shape": (1, 2)}, {1: "x"}, {"a": np.float32(1.0)}, {"s": {1}}, {"b": b"x"}, {"f": print}],
)
def test_non_json_metadata_is_refused(cache: FeatureCache, meta: dict[Any, Any]) -> None:
    with pytest.raises(CacheError, match="metadata"):
        cache.put("meta/bad", meta)


@pytest.mark.parametrize("value", [None, 3, "text", [1, 2], np.float32(1.0)])
def test_other_values_are_refused(cache: FeatureCache, value: Any) -> None:
    with pytest.raises(CacheError, match="cannot cache"):
        cache.put("bad/v", value)


def test_disk_reads_of_large_arrays_are_zero_copy(tmp_path: Any) -> None:
    cache = FeatureCache(DiskBackend(tmp_path))
    want = np.arange(1 << 18, dtype=np.float64).reshape(64, -1)
    cache.put("big/a", want)
    got = cache.get("big/a")
    assert isinstance(got, np.ndarray)
    base: Any = got
    while isinstance(base, np.ndarray):
        base = base.base
    assert isinstance(base, memoryview) and isinstance(base.obj, mmap.mmap)
    assert_identical(got, want)


def test_overwrite_replaces_the_value(cache: FeatureCache) -> None:
    cache.put("over/k", np.zeros(50_000))
    cache.put("over/k", b"small now")
    assert cache.get("over/k") == b"small now"
    cache.put("over/k", np.ones(40_000, dtype=np.int16))
    assert_identical(cache.get("over/k"), np.ones(40_000, dtype=np.int16))
