"""Copying stores into one another: `push` (one source) and `merge` (several), see docs/MANY_MACHINES.md."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from typing import Any

from ..errors import InvalidArgument
from .copier import StoreLike, opened, push
from .summary import Counts, PushSummary
from .watermark import store_key


def merge(sources: Sequence[StoreLike], destination: StoreLike, **options: Any) -> list[PushSummary]:
    """Push each of `sources` into `destination` in turn (the options are `push`'s); one summary each. Every
    store is opened, and a source that is missing or is the destination refused, before anything is copied."""
    with ExitStack() as stack:
        into = opened(destination, stack, must_exist=False)
        chosen = [opened(source, stack, must_exist=True) for source in sources]
        for source in chosen:
            if store_key(source) == store_key(into):
                raise InvalidArgument(f"the source and the destination are the same store ({store_key(into)})")
        return [push(source, into, **options) for source in chosen]


__all__ = ["Counts", "PushSummary", "merge", "push"]
