"""`epochlog sync`: ship what earlier processes left in the write-behind journal."""

from __future__ import annotations

from typing import Annotated

import typer

from ..store.journal import redact, sync as ship_journals
from .app import AsJson, Uri, app, console, fail, print_json, resolve_uri


@app.command("sync")
def sync(uri: Uri = None,
         timeout: Annotated[float, typer.Option("--timeout", help="Give up after this many seconds.")] = 300.0,
         as_json: AsJson = False) -> None:
    """Send the writes that earlier (crashed or cut-off) processes left in the journal to the MongoDB server."""
    target = resolve_uri(uri)
    if not target.startswith(("mongodb://", "mongodb+srv://")):
        console().print("Nothing to sync: the embedded store is written directly, without a journal.")
        return
    from ..store.mongo import MongoStore

    report = ship_journals(MongoStore(target), timeout=timeout)
    if as_json:
        print_json(report)
    else:
        console().print(f"{redact(target)}: {report['sent']} write(s) sent from {report['journals']} journal(s); "
                        f"{report['left']} left, {report['refused']} refused by the server.")
    if report["left"]:
        fail(f"{report['left']} write(s) could not be sent yet (is the server reachable?); run `epochlog sync` again")
    if report["refused"]:
        fail(f"{report['refused']} write(s) were refused by the server; they are kept in the journal's refused table")
