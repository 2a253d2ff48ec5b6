"""How an experiment's fields read for a person, whatever types other code stored in them: the one reading
the CLI and the dashboard share. A field of an unexpected type shows as its raw value or a dash, never an error
(the seed's code wrote tags as one string, a model as its name, an error as a sentence)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

from .documents import as_utc

DASH = "—"
NO_END = f"{DASH} (no end time)"


def mapping(value: Any) -> Mapping[str, Any]:
    """A field that should hold a document: itself when it does, else empty."""
    return value if isinstance(value, Mapping) else {}


def tag_list(value: Any) -> list[str]:
    """Tags as text: a list's items (nulls left out), one string as one tag, a lone number as its digits."""
    if value is None:
        return []
    items = value if isinstance(value, (list, tuple)) else [value]
    return [item if isinstance(item, str) else text(item) for item in items if item is not None]


def model_label(model: Any) -> str:
    """A short name for an experiment's model: its name, architecture or type; the model itself when it is text."""
    if isinstance(model, Mapping):
        for key in ("name", "architecture", "arch", "type", "class"):
            if isinstance(model.get(key), str):
                return str(model[key])
        return ""
    return model if isinstance(model, str) else ""


def error_text(error: Any) -> str | None:
    """`Type: message` for a recorded error (a document), the sentence itself for one stored as text."""
    if error is None:
        return None
    if isinstance(error, Mapping):
        kind, message = error.get("type"), error.get("message")
        parts = [text(part) for part in (kind, message) if part not in (None, "")]
        return ": ".join(parts) or text(dict(error))
    return text(error)


def text(value: Any) -> str:
    """Any stored value in one line: None a dash, floats as repr (`nan`, `inf`), containers spelled out."""
    if value is None:
        return DASH
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(text(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{key}: {text(item)}" for key, item in value.items()) + "}"
    return str(value)


def span(seconds: float) -> str:
    """`45s`, `3m 05s`, `5h 03m`, `2d 4h`."""
    if not math.isfinite(seconds) or seconds < 0:
        return DASH
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, rest = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m {rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    return f"{hours // 24}d {hours % 24}h"


def duration(document: Mapping[str, Any], now: dt.datetime) -> str:
    """How long a run took: start to end; `running for …` (to `now`) while running; a run that stopped without
    recording its end says so rather than counting to now."""
    start, end = document.get("start_time"), document.get("end_time")
    if not isinstance(start, dt.datetime):
        return DASH
    if isinstance(end, dt.datetime):
        return span((as_utc(end) - as_utc(start)).total_seconds())
    if document.get("status") == "running":
        return f"running for {span((as_utc(now) - as_utc(start)).total_seconds())}"
    return NO_END if end is None else f"{DASH} (end time {text(end)!r} is not a date)"




__all__ = ["DASH", "NO_END", "duration", "error_text", "mapping", "model_label", "span", "tag_list", "text"]
