"""`epochlog sync`: ship what earlier processes left in the write-behind journal."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from ..store import embedded_path, is_mongodb_uri
from ..redaction import redact
from ..store.journal import sync as ship_journals
from ..tracker import Tracker
from .app import Artifacts, AsJson, Uri, app, console, fail, print_json, resolve_uri


@app.command("sync")
def sync(uri: Uri = None,
         database: Annotated[str | None, typer.Option(
             "--database", help="The database, when the tracker was opened with database= (default: the URI's, "
                                "else eeg2025).")] = None,
         timeout: Annotated[float, typer.Option("--timeout", help="Give up after this many seconds.")] = 300.0,
         retry_refused: Annotated[bool, typer.Option(
             "--retry-refused", help="Send again the writes the server refused before (once their cause is fixed).")]
         = False,
         artifacts: Artifacts = None, as_json: AsJson = False) -> None:
    """Send the writes that earlier (crashed or cut-off) processes left in the journal to the MongoDB server;
    list the writes it refused, with the reason (exit 1 while any is left or refused). Then make the checkpoint
    copies such processes queued for the artifact store."""
    target = resolve_uri(uri)
    if not is_mongodb_uri(target):
        console().print("Nothing to sync: the embedded store is written directly, without a journal.")
        _make_copies(target, database, artifacts, timeout)
        return
    from ..store.mongo import MongoStore

    report = ship_journals(MongoStore(target, database=database), timeout=timeout, retry_refused=retry_refused)
    if as_json:
        print_json(report)
    else:
        out = console()
        out.print(f"{redact(target)}: {report['sent']} write(s) sent from {report['journals']} journal(s)"
                  + (f" ({report['retried']} refused before, retried)" if report["retried"] else "")
                  + f"; {report['left']} left, {report['refused']} refused by the server.")
        for reason, count in Counter(row["reason"] for row in report["refused_reasons"]).most_common():
            out.print(f"  refused ×{count}: {reason}", markup=False, highlight=False)
    _make_copies(target, database, artifacts, timeout)
    if report["left"]:
        fail(f"{report['left']} write(s) could not be sent yet (is the server reachable?); run `epochlog sync` again")
    if report["refused"]:
        fail(f"{report['refused']} write(s) were refused by the server; they are kept in the journal's refused table "
             "and `epochlog sync --retry-refused` sends them again once the cause is fixed")


def _make_copies(target: str, database: str | None, artifacts: str | None, timeout: float) -> None:
    """The checkpoint copies earlier processes queued and did not make (`save_checkpoint_info(store_file=True)`)."""
    if not is_mongodb_uri(target) and not (embedded_path(target) or Path()).exists():
        return  # no store, so nothing was queued for it (and none is created)
    tracker = Tracker(target, database=database, journal=False, artifacts=artifacts or True)
    copies = tracker.copies
    queued = len(copies.uploader.pending()) if copies is not None else 0
    try:
        if copies is not None and queued:
            copies.close(timeout)
    finally:
        tracker.close()
    if queued:
        left = len(copies.uploader.pending()) if copies is not None else 0
        console().print(f"{queued - left} checkpoint cop{'ies' if queued - left != 1 else 'y'} made in "
                        f"{copies.artifacts.label if copies is not None else ''}; {left} left.")
        if left:
            fail(f"{left} checkpoint cop{'ies' if left != 1 else 'y'} could not be made yet; run `epochlog sync` again")
