"""Mean, spread and a 95% confidence interval of a sample, as papers report them over seeds and folds.

The interval is Student's t: `mean ± t(0.975, n - 1) · sd / √n`, with the quantile computed here (from the
regularized incomplete beta function) so that no statistics library is needed.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Summary:
    """`n` values summarised; `sd` (sample, n - 1), `sem` and `ci95` are None below two values."""

    n: int
    mean: float | None
    sd: float | None
    sem: float | None
    ci95: tuple[float, float] | None
    min: float | None
    max: float | None


def summarize(values: Sequence[float]) -> Summary:
    """The summary of finite values (the caller leaves NaN and missing values out)."""
    n = len(values)
    if not n:
        return Summary(0, None, None, None, None, None, None)
    mean = math.fsum(values) / n
    squares = math.fsum((value - mean) ** 2 for value in values)
    return _summary(n, mean, squares, min(values), max(values))


def summary_from_sums(n: int, total: float, squares: float, low: float, high: float) -> Summary:
    """The summary of `n` finite values from their sum, sum of squares and extremes (as SQL aggregates give
    them); its spread is as exact as the sums allow (`sums_precise` says whether the values are needed)."""
    if n < 1:
        return Summary(0, None, None, None, None, None, None)
    return _summary(n, total / n, max(squares - total * total / n, 0.0) if low != high else 0.0, low, high)


def sums_precise(n: int, total: float, squares: float, low: float, high: float) -> bool:
    """Whether the sums of `n` values give their spread to about six digits: not when the values lie far from
    zero and close together."""
    return n < 2 or low == high or squares - total * total / n > squares * _PRECISE_SHARE


#: Below this share of the sum of squares, the sum of squared deviations computed from sums has under
#: about six exact digits (of a double's sixteen).
_PRECISE_SHARE = 1e-10


def _summary(n: int, mean: float, deviations: float, low: float, high: float) -> Summary:
    if n == 1:
        return Summary(1, mean, None, None, None, low, high)
    sd = math.sqrt(deviations / (n - 1))
    sem = sd / math.sqrt(n)
    half = t_quantile((1 + CONFIDENCE) / 2, n - 1) * sem
    return Summary(n, mean, sd, sem, (mean - half, mean + half), low, high)


@functools.lru_cache(maxsize=1024)
def t_quantile(p: float, df: int) -> float:
    """The `p` quantile (0.5 <= p < 1) of Student's t distribution with `df` degrees of freedom."""
    low, high = 0.0, 1.0
    while _t_cdf(high, df) < p:
        high *= 2
    for _ in range(200):  # bisection to the precision of a float
        middle = (low + high) / 2
        if middle in (low, high):
            break
        if _t_cdf(middle, df) < p:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def _t_cdf(t: float, df: int) -> float:
    """P(T <= t) for t >= 0."""
    return 1 - 0.5 * _incomplete_beta(df / 2, 0.5, df / (df + t * t))


def _incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b), by its continued fraction (Lentz's method)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    if x > (a + 1) / (a + b + 2):  # the fraction converges fast only below this point: use the symmetry
        return 1 - _incomplete_beta(b, a, 1 - x)
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    tiny = 1e-300
    c, d = 1.0, 1 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    fraction = d
    for m in range(1, 500):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1 + numerator * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + numerator / c
            c = c if abs(c) > tiny else tiny
            fraction *= c * d
        if abs(c * d - 1) < 1e-15:
            break
    return front * fraction / a
