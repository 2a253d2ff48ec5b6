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
    if n == 1:
        return Summary(1, mean, None, None, None, values[0], values[0])
    sd = math.sqrt(math.fsum((value - mean) ** 2 for value in values) / (n - 1))
    sem = sd / math.sqrt(n)
    half = t_quantile((1 + CONFIDENCE) / 2, n - 1) * sem
    return Summary(n, mean, sd, sem, (mean - half, mean + half), min(values), max(values))


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
