"""`epochlog sync`: ship what earlier processes left in the write-behind journal."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

import typer

from ..store.journal import redact, sync as ship_journals
from .app import AsJson, Uri, app, console, fail, print_json, resolve_uri


@app.command("sync")
def sync(uri: Uri = None,
         database: Annotated[str | None, typer.Option(
             "--database", help="The database, when the tracker was opened with database= (default: the URI's, "
                                "else eeg2025).")] = None,
         timeout: Annotated[float, typer.Option("--timeout", help="Give up after this many seconds.")] = 300.0,
         retry_refused: Annotated[bool, typer.Option(
             "--retry-refused", help="Send again the writes the server refused before (once their cause is fixed).")]
         = False,
         as_json: AsJson = False) -> None:
    """Send the writes that earlier (crashed or cut-off) processes left in the journal to the MongoDB server;
    list the writes it refused, with the reason (exit 1 while any is left or refused)."""
    target = resolve_uri(uri)
    if not target.startswith(("mongodb://", "mongodb+srv://")):
        console().print("Nothing to sync: the embedded store is written directly, without a journal.")
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
    if report["left"]:
        fail(f"{report['left']} write(s) could not be sent yet (is the server reachable?); run `epochlog sync` again")
    if report["refused"]:
        fail(f"{report['refused']} write(s) were refused by the server; they are kept in the journal's refused table "
             "and `epochlog sync --retry-refused` sends them again once the cause is fixed")
