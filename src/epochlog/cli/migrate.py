"""migrate-sqlite: import a legacy tracker's SQLite file, and say what was merged, skipped and repaired."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ..errors import MigrationError
from ..migrate.legacy import MigrationReport, migrate_legacy, open_legacy, same_file
from ..redaction import redact
from .app import (
    AsJson,
    Uri,
    app,
    console,
    open_tracker,
    print_json,
    progress_bar,
    resolve_uri,
)


@app.command("migrate-sqlite")
def migrate_sqlite(
    legacy: Annotated[Path, typer.Argument(metavar="LEGACY.db", help="The legacy tracker's SQLite file (read only).")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Read and report everything, write nothing.")] = False,
    checksums: Annotated[bool, typer.Option("--checksums/--no-checksums",
                                            help="Hash checkpoint files that still exist (for `epochlog verify`).")]
    = True,
    uri: Uri = None, as_json: AsJson = False,
) -> None:
    """Import runs, epochs and checkpoints from a legacy SQLite tracker file (idempotent; the file is never changed).

    Runs become experiments (legacy ids kept under `legacy`), duplicate epochs are merged (the later row
    wins), orphans are skipped, and runs left 'running' become failed (HeartbeatLost). Ends with a report.
    """
    target = resolve_uri(uri)
    if same_file(target, legacy):
        raise MigrationError(f"{legacy} is the target store itself: pass --uri for another file")
    open_legacy(legacy).close()  # a missing, non-SQLite or foreign file fails before the store is touched
    with open_tracker(target, writes=True) as tracker, progress_bar("Migrating runs") as progress:
        report = migrate_legacy(tracker.store, legacy, dry_run=dry_run, checksums=checksums, progress=progress)
    if as_json:
        print_json(report.as_dict())
        return
    print_report(report, target)


def print_report(report: MigrationReport, target: str) -> None:
    out = console()
    title = ("Dry run, nothing written: " if report.dry_run else "Migrated ") + f"{report.source} -> {redact(target)}"
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("runs read", str(report.runs))
    table.add_row("experiments new / updated / unchanged",
                  f"{report.experiments_new} / {report.experiments_updated} / {report.experiments_unchanged}")
    table.add_row("epochs", str(report.epochs))
    table.add_row("checkpoints", str(report.checkpoints))
    table.add_row("duplicate epochs merged (later row wins)", str(report.duplicates_merged))
    for where, count in sorted(report.orphans.items()):
        if count:
            table.add_row(f"orphan {where} rows skipped (no such run)", str(count))
    for reason, count in sorted(report.skipped.items()):
        table.add_row(f"skipped: {reason}", str(count))
    table.add_row("checkpoint files missing", str(report.missing_files))
    out.print(table)
    if report.repaired:
        repaired = Table(title=f"Rows repaired ({sum(report.repaired.values())})", title_justify="left")
        repaired.add_column("reason")
        repaired.add_column("rows", justify="right")
        for reason, count in sorted(report.repaired.items(), key=lambda item: (-item[1], item[0])):
            repaired.add_row(reason, str(count))
        out.print(repaired)
    else:
        out.print("No rows needed repair.")
    if report.optional_columns_missing:
        out.print("Columns absent from the legacy file (read as empty): " + ", ".join(report.optional_columns_missing))
    if report.dry_run:
        out.print("Run again without --dry-run to write.")


__all__ = ["migrate_sqlite", "print_report"]
