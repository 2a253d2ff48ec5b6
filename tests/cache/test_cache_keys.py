"""cache_key: equal configs meet, any change misses, and the key is the same in every process."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from epochlog.cache import RecordingId, cache_key
from epochlog.cache.keys import locate
from epochlog.errors import CacheError

REC = RecordingId("sub-01", "R5", "RestingState")
PARAMS = {"l_freq": 1.0, "h_freq": 40.0, "window_s": 2, "overlap": 0.5, "picks": ["Cz", "Pz"]}


def test_key_is_namespaced_and_stable() -> None:
    key = cache_key("windows", REC, PARAMS)
    assert key.startswith("windows/")
    assert key == cache_key("windows", REC, dict(PARAMS))


def test_param_order_does_not_matter() -> None:
    assert cache_key("w", REC, PARAMS) == cache_key("w", REC, dict(reversed(list(PARAMS.items()))))
    nested_a = {"filter": {"l": 1.0, "h": 40.0}, "x": 1}
    nested_b = {"x": 1, "filter": {"h": 40.0, "l": 1.0}}
    assert cache_key("w", REC, nested_a) == cache_key("w", REC, nested_b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (40, 40.0),
        (0.0, -0.0),
        (np.float32(0.5), 0.5),
        (np.int64(7), 7),
        (np.bool_(True), True),
        ((1, 2), [1, 2]),
        (float("nan"), float("nan")),
    ],
)
def test_floats_and_numpy_scalars_are_canonical(a: object, b: object) -> None:
    assert cache_key("w", REC, {"v": a}) == cache_key("w", REC, {"v": b})


@pytest.mark.parametrize(
    "change",
    [
        {"h_freq": 40.000001},
        {"l_freq": 0.5},
        {"picks": ["Pz", "Cz"]},
        {"window_s": "2"},
        {"window_s": True},
        {"extra": None},
    ],
)
def test_any_changed_parameter_misses(change: dict[str, object]) -> None:
    assert cache_key("w", REC, PARAMS) != cache_key("w", REC, {**PARAMS, **change})


def test_recording_and_namespace_are_part_of_the_key() -> None:
    base = cache_key("w", REC, PARAMS)
    assert base != cache_key("w", REC._replace(subject="sub-02"), PARAMS)
    assert base != cache_key("w", REC._replace(release="R6"), PARAMS)
    assert base != cache_key("w", REC._replace(task="Video"), PARAMS)
    assert base != cache_key("other", REC, PARAMS)
    assert base == cache_key("w", tuple(REC), PARAMS)


def test_same_key_in_another_process() -> None:
    code = (
        "from epochlog.cache import RecordingId, cache_key; "
        f"print(cache_key('w', RecordingId(*{tuple(REC)!r}), {dict(reversed(list(PARAMS.items())))!r}))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == cache_key("w", REC, PARAMS)


@pytest.mark.parametrize("namespace", ["", "a/b", ".hidden", "has space", "x:y", "*", "a" * 65, 3])
def test_bad_namespace_is_refused(namespace: object) -> None:
    with pytest.raises(CacheError, match="namespace"):
        cache_key(namespace, REC, PARAMS)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "params",
    [{"data": np.zeros(3)}, {"when": object()}, {1: "int key"}, {"b": b"raw"}, {"s": {1, 2}}],
)
def test_values_that_do_not_describe_data_are_refused(params: dict[object, object]) -> None:
    with pytest.raises(CacheError):
        cache_key("w", REC, params)  # type: ignore[arg-type]


def test_locate_uses_the_namespace_prefix() -> None:
    assert locate("windows/abc").namespace == "windows"
    assert locate("plain").namespace == "default"
    assert locate("a/b") != locate("a/c")
    with pytest.raises(CacheError):
        locate("")
    with pytest.raises(CacheError):
        locate("bad ns/x")
