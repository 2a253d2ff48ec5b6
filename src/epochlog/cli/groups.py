"""groups: runs grouped over seeds, folds or any field, with mean, spread, 95% CI and the best run of each group."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from ..dotted import differing_keys, flatten
from ..errors import InvalidArgument
from ..groups import ConfigExcept, Group, Grouping, parse_grouping
from ..query.filter_text import parse_filter_text
from ..tracker import leaderboard_statuses
from . import render
from .app import Archived, Challenge, Query, Uri, app, console, err_console, open_tracker, summary_field
from .browse import LeaderboardStatus
from .export import SUFFIXES, Format, write_documents


@app.command("groups")
def groups(
    by: Annotated[list[str] | None, typer.Option("--by", "-b", metavar="PATH",
                                                 help="Group by this field, e.g. config.model (repeat for several).")]
    = None,
    config_except: Annotated[str | None, typer.Option(
        "--config-except", "-x", metavar="KEYS",
        help="Group runs with the same config except these comma-separated keys, e.g. seed,fold.")] = None,
    metric: Annotated[str, typer.Option("--metric", "-m", help="Summary metric (under metrics. unless dotted).")]
    = "best_val_loss",
    maximize: Annotated[bool, typer.Option("--max", help="Higher is better (accuracy); default lower.")] = False,
    status: LeaderboardStatus = None, challenge: Challenge = None, query: Query = None, archived: Archived = False,
    format: Annotated[str, typer.Option("--format", "-f", metavar="FORMAT",
                                        help="table, csv or json. \\[default: from the -o suffix, else table]",
                                        show_default=False)] = "",
    output: Annotated[Path | None, typer.Option("--output", "-o", metavar="FILE", dir_okay=False,
                                                help="Write csv or json here instead of stdout.")] = None,
    uri: Uri = None,
) -> None:
    """Groups of runs (over seeds, folds, subjects) with n, mean, sd, sem, 95% CI (Student's t), min, max and the
    best run of each; best mean first. Runs whose metric is missing, NaN or inf count as excluded."""
    grouping = _grouping(by, config_except)
    try:
        statuses = leaderboard_statuses(status)
    except InvalidArgument as error:
        raise typer.BadParameter(str(error), param_hint="--status") from None
    fmt = _format(format, output)
    field = summary_field(metric)
    with open_tracker(uri) as tracker:
        found = tracker.group_stats(grouping, field, "max" if maximize else "min", challenge=challenge,
                                    filter=parse_filter_text(query, "--query") or None, status=statuses,
                                    archived=archived)
        rows = [group.to_dict() for group in found] if fmt is not None else []  # ids are read from the store
    if fmt is None:
        if output is not None:
            raise typer.BadParameter("a table goes to the terminal; use --format csv or json with -o",
                                     param_hint="--output")
        print_groups(found, grouping, field)
        return
    if fmt is Format.csv:  # one cell of space-separated ids rather than a JSON array
        rows = [{**row, "experiment_ids": " ".join(map(str, row["experiment_ids"]))} for row in rows]
    count = write_documents(rows, fmt, output)
    if output is not None:
        err_console().print(f"Wrote {count} group{'s' if count != 1 else ''} to {output} ({fmt.value}).")


def print_groups(found: Sequence[Group], grouping: Grouping, field: str) -> None:
    """The groups as a table: the key values that tell groups apart, then the statistics."""
    out = console()
    if not found:
        out.print("No experiment matches.")
        return
    keys = [flatten(group.key) for group in found]
    shown = differing_keys(keys) if isinstance(grouping, ConfigExcept) else \
        {name: [key.get(name) for key in keys] for name in dict.fromkeys(name for key in keys for name in key)}
    key_columns: list[tuple[str, bool, list[Any]]] = [
        (name.removeprefix("config.") if isinstance(grouping, ConfigExcept) else name, False,
         [render.plain(value) for value in values]) for name, values in shown.items()]
    summaries = [group.summary for group in found]
    columns: list[tuple[str, bool, list[Any]]] = [
        ("#", True, [str(rank) for rank in range(1, len(found) + 1)]),
        *key_columns,
        ("n", True, [str(s.n) for s in summaries]),
        ("mean", True, [render.number(s.mean) for s in summaries]),
        ("sd", True, [render.number(s.sd) for s in summaries]),
        ("95% CI", False, [_interval(s.ci95) for s in summaries]),
        ("min", True, [render.number(s.min) for s in summaries]),
        ("max", True, [render.number(s.max) for s in summaries]),
        ("best", False, [render.plain(group.best_name) for group in found]),
        ("excluded", True, [str(group.excluded) if group.excluded else "" for group in found]),
    ]
    names = [name for name, _, _ in columns]
    key_names = names[1:1 + len(key_columns)]
    priority = ["#", *key_names[:2], "n", "mean", "sd", "95% CI", *key_names[2:], "excluded", "best", "min", "max"]
    scope = "the same config except " + ", ".join(grouping.keys) if isinstance(grouping, ConfigExcept) \
        else ", ".join(grouping)
    out.print(render.fitted_table(f"{field} by {scope}", out.width, columns, priority))
    if isinstance(grouping, ConfigExcept) and not key_columns:
        out.print("Every run has the same config apart from those keys: one group.")


def _grouping(by: list[str] | None, config_except: str | None) -> Grouping:
    try:
        return parse_grouping(by or [], config_except)
    except InvalidArgument as error:
        raise typer.BadParameter(str(error), param_hint="--by/--config-except") from None


def _format(name: str, output: Path | None) -> Format | None:
    """The output format; None for the terminal table."""
    name = name.strip().lower()
    if not name:
        suffix = SUFFIXES.get(output.suffix.lower()) if output is not None else None
        return suffix if suffix is not Format.jsonl else Format.json
    if name == "table":
        return None
    if name not in ("csv", "json"):
        raise typer.BadParameter(f"expected table, csv or json, got {name!r}", param_hint="--format")
    return Format(name)


def _interval(ci95: tuple[float, float] | None) -> str:
    if ci95 is None or not all(math.isfinite(bound) for bound in ci95):
        return render.DASH
    return f"[{ci95[0]:.4g}, {ci95[1]:.4g}]"


__all__ = ["groups", "print_groups"]
