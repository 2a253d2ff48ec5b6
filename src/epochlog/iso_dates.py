"""Dates as ISO 8601 text: how epochlog writes a moment (CSV cells, the dashboard's JSON, alert payloads,
`$toString`) and reads one a user or an old database gives (`push --since`, legacy timestamps)."""

from __future__ import annotations

import datetime as dt
import re

_FRACTION = re.compile(r"(\.\d+)")


def iso(value: dt.datetime) -> str:
    """`2026-05-01T10:00:00.000Z`: UTC, milliseconds and a `Z`; a naive datetime is taken as UTC, as the stores
    give them."""
    value = value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")  # 4-digit years, unlike strftime


def parse_iso(text: str) -> dt.datetime:
    """A date or time in ISO 8601 (`2026-05-01`, `2026-05-01 12:00`, `...T12:00:00.5Z`, `...+02:00`), naive when
    it names no zone; the same forms on every Python (3.10's own parser takes no `Z` and only 3 or 6 fraction
    digits). ValueError when it is none."""
    text = text.strip()
    try:
        return dt.datetime.fromisoformat(text)  # the common forms, quickly
    except ValueError:
        pass
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    text = _FRACTION.sub(lambda match: (match.group(1) + "000000")[:7], text, count=1)
    return dt.datetime.fromisoformat(text)


__all__ = ["iso", "parse_iso"]
