"""Min/max downsampling of step series."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from epochlog.web.downsample import min_max, to_json_values, window

from tests.fuzzing import examples


def test_short_series_pass_through() -> None:
    steps, values = np.arange(10), np.linspace(0, 1, 10)
    out_steps, out_values = min_max(steps, values, 100)
    assert out_steps is steps and out_values is values


def test_keeps_ends_extremes_and_order() -> None:
    steps = np.arange(100_000, dtype=np.int64)
    values = np.random.default_rng(0).normal(size=100_000)
    values[31_337], values[77_777] = 50.0, -50.0
    out_steps, out_values = min_max(steps, values, 2000)
    assert len(out_steps) <= 2000
    assert out_steps[0] == 0 and out_steps[-1] == 99_999
    assert np.all(np.diff(out_steps) > 0)
    assert 31_337 in out_steps and 77_777 in out_steps
    assert np.array_equal(values[out_steps], out_values)


def test_an_all_nan_stretch_stays_a_gap() -> None:
    steps = np.arange(10_000, dtype=np.int64)
    values = np.ones(10_000)
    values[4000:6000] = np.nan
    _, out_values = min_max(steps, values, 200)
    assert np.isnan(out_values).any() and np.nanmax(out_values) == 1.0
    assert to_json_values(np.array([1.0, np.nan, np.inf, -np.inf])) == [1.0, None, None, None]


def test_window_selects_a_step_range() -> None:
    steps = np.array([0, 10, 20, 30, 40])
    values = steps * 1.0
    assert window(steps, values, 10, 30)[0].tolist() == [10, 20, 30]
    assert window(steps, values, 11, None)[0].tolist() == [20, 30, 40]
    assert window(steps, values, None, 5)[0].tolist() == [0]


@settings(max_examples=examples(60), deadline=None)
@given(arrays(np.float64, st.integers(1, 3000), elements=st.floats(allow_nan=True, allow_infinity=False, width=32)),
       st.integers(4, 500))
def test_any_series_shrinks_to_at_most_the_points_asked(values: np.ndarray, points: int) -> None:
    steps = np.arange(len(values), dtype=np.int64) * 3
    out_steps, out_values = min_max(steps, values, points)
    assert len(out_steps) <= max(points, 4)
    assert np.all(np.diff(out_steps) > 0)
    assert out_steps[0] == steps[0] and out_steps[-1] == steps[-1]
    finite = values[np.isfinite(values)]
    if len(finite):
        assert np.nanmax(out_values) == pytest.approx(finite.max())
        assert np.nanmin(out_values) == pytest.approx(finite.min())
