"""Finite numbers, the only values a leaderboard ranks or a summary counts: the store filter that selects them
(NaN, ±inf, bools and every other type left out) and the same test in Python."""

from __future__ import annotations

import math
import sys
from typing import Any, TypeGuard

from .types import Document

LARGEST_FLOAT = sys.float_info.max


def finite_filter(path: str) -> Document:
    """The filter matching documents whose `path` holds a finite number (`$gte`/`$lte` the largest floats:
    MongoDB compares numbers only with numbers, and NaN with nothing)."""
    return {path: {"$gte": -LARGEST_FLOAT, "$lte": LARGEST_FLOAT}}


def is_finite_number(value: Any) -> TypeGuard[int | float]:
    """True for ints and finite floats (never bools): what `finite_filter` matches."""
    return type(value) is int or type(value) is float and math.isfinite(value)


__all__ = ["LARGEST_FLOAT", "finite_filter", "is_finite_number"]
