"""Which experiments a view looks at: the filter `epochlog ls`/`export`, the dashboard's table and the tracker's
leaderboards and groupings build from a challenge, statuses, tags, a user's filter and the archived switch."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .archive import VISIBLE
from .errors import InvalidArgument
from .schema import STATUSES
from .types import Document, Filter


def experiment_filter(*, challenge: int | None = None, statuses: Iterable[str] | None = None,
                      tags: Iterable[str] | None = None, filter: Filter | None = None, archived: bool = False,
                      stale: Document | None = None) -> Document:
    """All of the conditions given (checked: InvalidArgument), `{}` for none: this challenge, one of these
    statuses (or, OR-ed with them, the `stale` condition from `liveness.stale_filter`), every one of these
    tags (a string is one status or tag), the user's `filter`, and no archived experiment unless `archived`."""
    conditions: list[Document] = [] if archived else [dict(VISIBLE)]
    check_challenge(challenge)
    if challenge is not None:
        conditions.append({"challenge": challenge})
    names = [statuses] if isinstance(statuses, str) else list(statuses or ())
    for status in names:
        check_status(status)
    choices: list[Document] = [{"status": names[0]} if len(names) == 1 else {"status": {"$in": names}}] \
        if names else []
    if stale is not None:
        choices.append(dict(stale))
    if choices:
        conditions.append(choices[0] if len(choices) == 1 else {"$or": choices})
    wanted = [tags] if isinstance(tags, str) else list(tags or ())
    for tag in wanted:
        if not isinstance(tag, str):
            raise InvalidArgument(f"tags must be strings, got {tag!r}")
    if wanted:
        conditions.append({"tags": {"$all": wanted}})
    if filter is not None and not isinstance(filter, Mapping):
        raise InvalidArgument(f"filter must be a MongoDB filter document, got {filter!r}")
    if filter:
        conditions.append(dict(filter))
    return all_of(conditions)


def check_challenge(challenge: Any) -> None:
    """InvalidArgument unless `challenge` is None or an integer."""
    if challenge is not None and type(challenge) is not int and not isinstance(challenge, np.integer):
        raise InvalidArgument(f"challenge must be an integer, got {challenge!r}")


def check_status(status: Any) -> None:
    """InvalidArgument unless `status` is one an experiment can have."""
    if status not in STATUSES:
        raise InvalidArgument(f"status must be one of {', '.join(STATUSES)}; got {status!r}")


def all_of(conditions: Iterable[Filter]) -> Document:
    """The conditions combined with `$and`, leaving out empty ones: `{}` when none is left."""
    kept = [dict(condition) for condition in conditions if condition]
    if not kept:
        return {}
    return kept[0] if len(kept) == 1 else {"$and": kept}


__all__ = ["all_of", "check_challenge", "check_status", "experiment_filter"]
