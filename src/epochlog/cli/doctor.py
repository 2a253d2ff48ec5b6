"""`epochlog doctor`: report what in a store breaks epochlog's assumptions; `--fix` repairs what is safe."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from ..doctor import diagnose, repair
from .app import AsJson, Uri, app, console, fail, open_tracker, print_json


@app.command("doctor")
def doctor(fix: Annotated[bool, typer.Option(
               "--fix", help="Delete duplicates (keeping the newest, after a backup) and create missing indexes.")]
           = False,
           backup: Annotated[Path | None, typer.Option(
               "--backup", help="Where --fix writes what it deletes (JSON lines; default "
                                "./epochlog-doctor-backup-<time>.jsonl).")] = None,
           uri: Uri = None, as_json: AsJson = False) -> None:
    """Find duplicate epochs or subjects, missing indexes and fields of the wrong type (exit 1 if any);
    read-only unless --fix."""
    with open_tracker(uri) as tracker:  # directly, without the journal: a repair must see its own deletes
        diagnosis = diagnose(tracker.store)
        done = None
        if fix and not diagnosis.healthy:
            target = backup or Path(f"epochlog-doctor-backup-{dt.datetime.now():%Y%m%d-%H%M%S}.jsonl")
            done = repair(tracker.store, diagnosis, target)
    if as_json:
        print_json({"duplicates": [vars(item) for item in diagnosis.duplicates],
                    "index_problems": diagnosis.index_problems, "bad_documents": diagnosis.bad_documents,
                    "repaired": done})
    else:
        out = console()
        for item in diagnosis.duplicates:
            out.print(f"duplicate {item.collection} {item.key}: {len(item.others) + 1} documents; newest "
                      f"{item.keep}", markup=False, highlight=False)
        for name, reason in diagnosis.index_problems.items():
            out.print(f"missing index {name}: {reason}", markup=False, highlight=False)
        for bad in diagnosis.bad_documents:
            out.print(f"{bad['collection']} {bad['_id']}: {bad['problem']}", markup=False, highlight=False)
        if diagnosis.healthy:
            out.print("No problems found.")
        elif done is not None:
            out.print(f"Repaired: {done['duplicates_removed']} duplicate(s) removed (backup in "
                      f"{backup or 'the backup file'}); {done['index_problems_left']} index problem(s) left.",
                      markup=False, highlight=False)
    left = diagnosis.bad_documents or (done["index_problems_left"] if done else not diagnosis.healthy)
    if left:
        fail("the store has problems epochlog cannot repair safely: see above" if done else
             "the store has problems; `epochlog doctor --fix` repairs duplicates and indexes (with a backup)")


__all__ = ["doctor"]
