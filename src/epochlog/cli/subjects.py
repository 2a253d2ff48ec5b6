"""subjects import / subjects ls: BIDS participants.tsv in, a table (or JSON) out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ..migrate.participants import import_participants
from ..query.filter_text import parse_filter_text
from . import render
from .app import (
    AsJson,
    EpochlogGroup,
    Query,
    Sort,
    Uri,
    app,
    console,
    open_tracker,
    parse_sort,
    print_json,
    progress_bar,
)

subjects_app = typer.Typer(cls=EpochlogGroup, no_args_is_help=True, help="Subjects (participants) of the datasets.")
app.add_typer(subjects_app, name="subjects")

COLUMNS_SHOWN = 10


@subjects_app.command("import")
def import_(
    participants: Annotated[Path, typer.Argument(metavar="participants.tsv", help="A BIDS participants.tsv file.")],
    release: Annotated[str | None, typer.Option("--release", "-r", help="Add this release (e.g. R5) to every "
                                                "subject's releases.")] = None,
    uri: Uri = None, as_json: AsJson = False,
) -> None:
    """Upsert subjects from a BIDS participants.tsv (participant_id -> subject_id; n/a left out; numbers typed)."""
    with open_tracker(uri, writes=True) as tracker, progress_bar("Importing subjects") as progress:
        report = import_participants(tracker, participants, release=release, progress=progress)
    if as_json:
        print_json(report.as_dict())
        return
    out = console()
    out.print(f"Imported {report.subjects} subjects from {participants}: {report.new} new, {report.updated} updated"
              + (f", {report.duplicates} duplicate rows (the later one kept)" if report.duplicates else "") + ".")
    if report.columns:
        out.print("Columns: " + ", ".join(f"{name} ({kind})" for name, kind in report.columns.items()))


@subjects_app.command("ls")
def ls_subjects(
    query: Query = None, sort: Sort = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=0, help="At most this many (0: all).")] = 50,
    uri: Uri = None, as_json: AsJson = False,
) -> None:
    """List subjects by subject_id (filter with --query, e.g. '{"age": {"$lt": 10}}')."""
    condition = parse_filter_text(query, "--query")
    with open_tracker(uri) as tracker:
        subjects = tracker.get_subjects(condition, sort=parse_sort(sort), limit=limit)
        total = tracker.count("subjects", condition) if limit and len(subjects) == limit else len(subjects)
    if as_json:
        print_json(subjects)
        return
    out = console()
    if not subjects:
        out.print("No subjects match." if condition else "No subjects yet: `epochlog subjects import participants.tsv`.")
        return
    columns = list(dict.fromkeys(key for subject in subjects for key in subject if key not in ("_id", "subject_id")))
    table = Table(title=f"{total} subject{'s' if total != 1 else ''}" +
                  (f" (showing {len(subjects)})" if total > len(subjects) else ""), title_justify="left")
    table.add_column("subject_id", no_wrap=True)
    for column in columns[:COLUMNS_SHOWN]:
        table.add_column(column)
    for subject in subjects:
        table.add_row(str(subject.get("subject_id")), *[render.number(subject.get(column))
                                                        if isinstance(subject.get(column), (int, float))
                                                        else render.plain(subject.get(column))
                                                        for column in columns[:COLUMNS_SHOWN]])
    out.print(table)
    if len(columns) > COLUMNS_SHOWN:
        out.print(f"({len(columns) - COLUMNS_SHOWN} more columns: --json shows everything)")


__all__ = ["import_", "ls_subjects", "subjects_app"]
