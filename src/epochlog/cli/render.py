"""How values look in the terminal: numbers, times, statuses, nested documents as trees, sparklines."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

from bson import ObjectId
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from ..documents import as_utc
from ..finite_numbers import is_finite_number

STATUS_STYLES = {"completed": "green", "running": "bold cyan", "failed": "red", "stopped": "yellow"}
CHECKPOINT_STYLES = {"ok": "green", "missing": "bold red", "changed": "bold red", "unchecked": "yellow"}
DASH = "—"
SPARKS = "▁▂▃▄▅▆▇█"


def number(value: Any, digits: int = 4) -> Text:
    """A metric as text: 4 significant digits; NaN and ±inf stand out; missing is a dash."""
    if value is None:
        return Text(DASH, style="dim")
    if isinstance(value, bool):
        return Text(str(value).lower())
    if isinstance(value, int):
        return Text(str(value))
    if isinstance(value, float):
        if math.isnan(value):
            return Text("NaN", style="bold red")
        if math.isinf(value):
            return Text("inf" if value > 0 else "-inf", style="bold red")
        return Text(f"{value:.{digits}g}")
    return Text(plain(value))


def plain(value: Any) -> str:
    """Any stored value as a short string."""
    if value is None:
        return DASH
    if isinstance(value, dt.datetime):
        return when(value)
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, float):
        return number(value).plain
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return ", ".join(plain(item) for item in value) if value else "[]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{key}: {plain(item)}" for key, item in value.items()) + "}"
    return str(value)


def when(value: Any) -> str:
    """A date to the minute, in UTC; anything else stored there as it is."""
    if not isinstance(value, dt.datetime):
        return plain(value)
    return as_utc(value).astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M")


def status(value: Any) -> Text:
    if value is None:
        return Text(DASH, style="dim")
    return Text(plain(value), style=STATUS_STYLES.get(str(value), ""))


def statuses(names: str | Sequence[str]) -> str:
    """`failed or stopped`: the statuses a leaderboard ranked, in words."""
    items = [names] if isinstance(names, str) else list(names)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def checkpoint_state(value: Any) -> Text:
    """A best checkpoint's verification state; a dash for a run without one."""
    if value is None:
        return Text(DASH, style="dim")
    return Text(str(value), style=CHECKPOINT_STYLES.get(str(value), ""))


def tree(label: str, document: Any) -> Tree:
    """A nested document as a rich Tree (keys in bold, leaves as values); any other value (a model stored
    as its name, a config as a list) as one leaf, raw."""
    root = Tree(Text(label, style="bold"))
    if isinstance(document, Mapping):
        _branch(root, document)
    elif document is None:
        root.add(Text("(empty)", style="dim"))
    else:
        root.add(number(document) if isinstance(document, (int, float)) else Text(plain(document)))
    return root


def fitted_table(title: str, width: int, columns: Sequence[tuple[str, bool, list[Any]]],
                 priority: Sequence[str]) -> Table:
    """A table of the columns `(name, right_aligned, cells)` that fit in `width`, kept in the order given.

    Columns are admitted by `priority` while their natural widths (plus borders) fit; the last one in
    `priority` that does not fit and every later one are left out rather than squeezed to ellipses.
    """
    natural = {name: max([len(name), *(len(cell.plain if isinstance(cell, Text) else str(cell)) for cell in cells)]) + 3
               for name, _, cells in columns}
    chosen: set[str] = set()
    used = 1
    for name in priority:
        if used + natural[name] > width and chosen:
            break
        chosen.add(name)
        used += natural[name]
    table = Table(title=title, title_justify="left")
    kept = [(name, right, cells) for name, right, cells in columns if name in chosen]
    for name, right, _ in kept:
        table.add_column(name, justify="right" if right else "left", no_wrap=True)
    for row in zip(*(cells for _, _, cells in kept)):
        table.add_row(*row)
    return table


def _branch(node: Tree, document: Mapping[str, Any]) -> None:
    if not document:
        node.add(Text("(empty)", style="dim"))
    for key, value in document.items():
        if isinstance(value, Mapping) and value:
            _branch(node.add(Text(str(key), style="bold")), value)
        else:
            text = Text(f"{key}: ", style="bold")
            text.append_text(number(value) if isinstance(value, (int, float)) else Text(plain(value)))
            node.add(text)


def sparkline(values: Sequence[Any]) -> str:
    """A one-line chart of finite values; NaN and inf show as '×'."""
    finite = [v for v in values if is_finite_number(v)]
    if not finite:
        return ""
    low, high = min(finite), max(finite)
    span = high - low or 1.0
    out = []
    for value in values:
        if is_finite_number(value):
            out.append(SPARKS[min(len(SPARKS) - 1, int((value - low) / span * len(SPARKS)))])
        else:
            out.append("×")
    return "".join(out)


