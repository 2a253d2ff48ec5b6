"""summarize and t_quantile against scipy: the 95% CI papers report over seeds and folds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from epochlog.summary_stats import summarize, t_quantile


@pytest.mark.parametrize("df", [1, 2, 3, 4, 5, 7, 10, 29, 30, 100, 1000, 100_000])
@pytest.mark.parametrize("p", [0.5, 0.9, 0.975, 0.995])
def test_t_quantile_matches_scipy(p: float, df: int) -> None:
    assert t_quantile(p, df) == pytest.approx(stats.t.ppf(p, df), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("n", [2, 3, 5, 10, 50])
def test_summary_matches_numpy_and_scipy(n: int) -> None:
    values = np.random.default_rng(n).normal(0.7, 0.2, n).tolist()
    summary = summarize(values)
    assert summary.n == n and summary.mean == pytest.approx(np.mean(values), rel=1e-12)
    assert summary.sd == pytest.approx(np.std(values, ddof=1), rel=1e-12)
    assert summary.sem == pytest.approx(stats.sem(values), rel=1e-12)
    low, high = stats.t.interval(0.95, n - 1, loc=np.mean(values), scale=stats.sem(values))
    assert summary.ci95 == pytest.approx((low, high), rel=1e-9)
    assert (summary.min, summary.max) == (min(values), max(values))


def test_one_value_has_no_spread_and_none_has_nothing() -> None:
    one = summarize([0.25])
    assert (one.n, one.mean, one.min, one.max) == (1, 0.25, 0.25, 0.25)
    assert one.sd is None and one.sem is None and one.ci95 is None
    empty = summarize([])
    assert empty.n == 0 and empty.mean is None and empty.ci95 is None


def test_identical_values_have_a_zero_width_interval() -> None:
    summary = summarize([0.3, 0.3, 0.3])
    assert summary.sd == 0 and summary.ci95 == (pytest.approx(0.3), pytest.approx(0.3))
    assert all(math.isfinite(bound) for bound in summary.ci95 or ())
