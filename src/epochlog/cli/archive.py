"""archive, restore, purge: hide runs from listings and leaderboards, show them again, or delete them for real."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ..query.filter_text import parse_filter_text
from ..tracker import Tracker
from ..types import Document
from .app import Query, Uri, app, console, err_console, open_tracker
from .browse import resolve

Refs = Annotated[list[str] | None, typer.Argument(metavar="[ID...]", help="Experiment ids or exact names.",
                                                  show_default=False)]


@app.command("archive")
def archive(refs: Refs = None, query: Query = None, uri: Uri = None) -> None:
    """Hide experiments (by id or name, and/or --query) from ls, export, best, groups and the dashboard. They
    stay whole in the store; `epochlog restore` shows them again."""
    with open_tracker(uri, writes=True) as tracker:
        done = tracker.archive_experiments(_ids(tracker, refs), filter=_filter(refs, query))
    console().print(f"Archived {_count(done)}." if done else "Nothing to archive: already archived.")


@app.command("restore")
def restore(refs: Refs = None, query: Query = None, uri: Uri = None) -> None:
    """Show archived experiments again (by id or name, and/or --query, e.g. '{"archived": true}' for all)."""
    with open_tracker(uri, writes=True) as tracker:
        done = tracker.restore_experiments(_ids(tracker, refs), filter=_filter(refs, query))
    console().print(f"Restored {_count(done)}." if done else "Nothing to restore: none of them is archived.")


@app.command("purge")
def purge(refs: Refs = None, query: Query = None,
          yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
          uri: Uri = None) -> None:
    """Delete experiments for real, with their epochs, checkpoint records, step series and console output
    (checkpoint files on disk are left alone). Asks first; refuses running experiments."""
    with open_tracker(uri, writes=True) as tracker:
        ids, condition = _ids(tracker, refs), _filter(refs, query)
        plan = tracker.purge_experiments(ids, filter=condition, dry_run=True)
        if not plan.experiments:
            console().print("No experiment matches: nothing to purge.")
            return
        if not yes:
            names = ", ".join(str(d.get("experiment_name", d["_id"])) for d in plan.experiments[:5])
            more = f" and {len(plan.experiments) - 5} more" if len(plan.experiments) > 5 else ""
            typer.confirm(f"Delete {_count(plan.experiments)} ({names}{more}) and {_counts(plan.counts)}, for good?",
                          abort=True, err=True)
        done = tracker.purge_experiments([d["_id"] for d in plan.experiments])
    err_console().print(f"Purged {_count(done.experiments)}: {_counts(done.counts)}.")


def _ids(tracker: Tracker, refs: list[str] | None) -> list[str]:
    return [str(resolve(tracker, ref)) for ref in refs or []]


def _filter(refs: list[str] | None, query: str | None) -> Document | None:
    """The --query filter; none without one when ids are given. Naming nothing is a usage error."""
    if query is None:
        if not refs:
            raise typer.BadParameter("name experiments by ID or NAME, or select them with --query ('{}' for all)",
                                     param_hint="ID")
        return None
    return parse_filter_text(query, "--query")


def _count(found: list[Any]) -> str:
    return f"{len(found)} experiment{'s' if len(found) != 1 else ''}"


def _counts(counts: dict[str, int]) -> str:
    parts = [f"{count} {collection}" for collection, count in counts.items() if count and collection != "experiments"]
    return ", ".join(parts) or "nothing else"


__all__ = ["archive", "purge", "restore"]
