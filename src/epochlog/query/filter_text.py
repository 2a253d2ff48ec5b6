"""A MongoDB filter a user typed as JSON (the CLI's `--query`, the dashboard's filter box): one parser, with
the same limits and the same QueryError wherever the text comes from."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from bson import json_util
from bson.json_util import JSONOptions

from ..errors import QueryError
from ..types import Document

MAX_FILTER_DEPTH = 100  # MongoDB's own nesting limit
MAX_FILTER_LENGTH = 20_000  # characters: a filter is typed, not generated
_JSON_OPTIONS = JSONOptions(tz_aware=True, tzinfo=dt.timezone.utc)


def parse_filter_text(text: str | None, name: str = "the filter") -> Document:
    """The filter in `text` (extended JSON's `$oid`/`$date` allowed); None, '' or blanks are no filter. Errors
    are QueryErrors that start with `name` (`--query`, say)."""
    if text is None or not text.strip():
        return {}
    if len(text) > MAX_FILTER_LENGTH:
        raise QueryError(f"{name} is longer than {MAX_FILTER_LENGTH} characters")
    try:
        value = json_util.loads(text, json_options=_JSON_OPTIONS)
    except (ValueError, TypeError) as error:
        raise QueryError(f"{name} is not valid JSON: {error}") from None
    except RecursionError:
        raise QueryError(f"{name} is nested deeper than {MAX_FILTER_DEPTH} levels") from None
    if not isinstance(value, Mapping):
        raise QueryError(f"{name} must be a JSON object (a MongoDB filter) such as "
                         "{\"metrics.best_val_loss\": {\"$lt\": 0.5}}")
    if _depth(value) > MAX_FILTER_DEPTH:
        raise QueryError(f"{name} is nested deeper than {MAX_FILTER_DEPTH} levels")
    return dict(value)


def _depth(value: Any) -> int:
    """How deeply dicts and lists nest (iteratively, so no input can exhaust the stack)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if level > MAX_FILTER_DEPTH:
            break
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


__all__ = ["MAX_FILTER_DEPTH", "MAX_FILTER_LENGTH", "parse_filter_text"]
