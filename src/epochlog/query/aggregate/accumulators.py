"""`$group` accumulators: `accumulator(name, operand)` -> an object fed each document's value, then asked its result.

Numbers are ints and floats (never bools); `$sum`, `$avg` and the deviations ignore everything else,
`$min`/`$max` ignore null and missing, `$push`/`$addToSet` leave out missing values. `$median` and
`$percentile` compute the exact discrete percentile (the smallest value with at least a fraction p of
the values at or below it), where MongoDB's t-digest is an approximation of it (docs/QUERY.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ...errors import QueryError
from .expressions import CODE_OPERATORS, Variables, evaluate
from .values import MISSING, compare, equal, is_number


class Accumulator:
    """Collects one group's values of `expression`."""

    def __init__(self, name: str, expression: Any) -> None:
        self.name = name
        self.expression = expression
        self.values: list[Any] = []

    def add(self, variables: Variables) -> None:
        self.values.append(evaluate(self.expression, variables))

    def result(self) -> Any:
        return summarize(self.name, self.values)


def summarize(name: str, values: list[Any]) -> Any:
    """What accumulator `name` (not `$median`, `$percentile`) makes of these values."""
    if name == "$sum":
        return _sum([value for value in values if is_number(value)])
    if name == "$count":
        return len(values)
    if name in ("$first", "$last"):
        value = (values[0] if name == "$first" else values[-1]) if values else None
        return None if value is MISSING else value
    present = [value for value in values if value is not MISSING]
    if name == "$push":
        return present
    if name == "$addToSet":
        unique: list[Any] = []
        for value in present:
            if not any(equal(value, seen) for seen in unique):
                unique.append(value)
        return unique
    if name in ("$min", "$max"):
        return _extreme([value for value in present if value is not None], name == "$max")
    numbers = [float(value) for value in values if is_number(value)]
    if name == "$avg":
        return _total(numbers) / len(numbers) if numbers else None
    if name in ("$stdDevPop", "$stdDevSamp"):
        return _deviation(numbers, sample=name == "$stdDevSamp")
    raise AssertionError(name)


class Percentile(Accumulator):
    """`$percentile` (an array, one value per p) and `$median` (one value)."""

    def __init__(self, name: str, operand: Any) -> None:
        allowed = ("input", "method") if name == "$median" else ("input", "p", "method")
        if not isinstance(operand, Mapping) or set(operand) != set(allowed):
            raise QueryError(f"{name} takes {{{', '.join(allowed)}}}, got {operand!r}")
        if operand["method"] != "approximate":
            raise QueryError(f"{name}: method must be 'approximate', got {operand['method']!r}")
        super().__init__(name, operand["input"])
        self.ps: list[Any] | None = None
        if name == "$percentile":
            ps = operand["p"]
            if not isinstance(ps, (list, tuple)) or not ps or \
                    not all(is_number(p) and 0 <= p <= 1 for p in ps):
                raise QueryError(f"$percentile: p must be a non-empty array of numbers from 0 to 1, got {ps!r}")
            self.ps = list(ps)

    def result(self) -> Any:
        numbers = sorted(float(value) for value in self.values if is_number(value) and value == value)
        if self.ps is None:
            return percentile(numbers, 0.5)
        return [percentile(numbers, p) for p in self.ps] if numbers else None


def accumulator(field: str, spec: Any) -> Accumulator:
    """The accumulator `{"$sum": expression}` (etc.) of the output field `field`."""
    if not isinstance(spec, Mapping) or len(spec) != 1:
        raise QueryError(f"$group field {field!r} must be an accumulator document like {{$sum: ...}}, got {spec!r}")
    (name, operand), = spec.items()
    if name in CODE_OPERATORS:
        raise QueryError(f"accumulator {name} is refused: it runs code")
    if name in ("$median", "$percentile"):
        return Percentile(name, operand)
    if name not in ACCUMULATORS:
        raise QueryError(f"accumulator {name} (in $group field {field!r}) is not supported by epochlog's aggregation")
    if name == "$count":
        if operand != {}:
            raise QueryError(f"$count takes no arguments ({{}}), got {operand!r}")
        operand = 1
    if isinstance(operand, list) and name not in ("$push", "$addToSet"):
        raise QueryError(f"{name} is a unary operator in $group (field {field!r}), got a list")
    return Accumulator(name, operand)


ACCUMULATORS = frozenset({"$sum", "$avg", "$min", "$max", "$first", "$last", "$push", "$addToSet", "$count",
                          "$stdDevPop", "$stdDevSamp", "$median", "$percentile"})


def percentile(numbers: list[float], p: float) -> float | None:
    """The discrete percentile of sorted numbers (None when there are none)."""
    if not numbers:
        return None
    return numbers[max(math.ceil(p * len(numbers)) - 1, 0)]


def _sum(numbers: list[Any]) -> Any:
    if all(isinstance(value, int) for value in numbers):
        total = sum(numbers)
        return total if -(2**63) <= total < 2**63 else float(total)
    return _total([float(value) for value in numbers])


def _total(numbers: list[float]) -> float:
    """An exactly rounded sum of finite numbers; with infinities or NaN, what adding them gives."""
    return math.fsum(numbers) if all(math.isfinite(value) for value in numbers) else sum(numbers)


def _extreme(values: list[Any], largest: bool) -> Any:
    if not values:
        return None
    best = values[0]
    for value in values[1:]:
        order = compare(value, best)
        if (order > 0) if largest else (order < 0):
            best = value
    return best


def _deviation(numbers: list[float], sample: bool) -> float | None:
    n = len(numbers)
    if n == 0 or (sample and n == 1):
        return None
    mean = _total(numbers) / n
    if not math.isfinite(mean):
        return math.nan
    return math.sqrt(math.fsum((value - mean) ** 2 for value in numbers) / (n - 1 if sample else n))
