"""`epochlog push` and `epochlog merge`: copy stores into one another (docs/MANY_MACHINES.md)."""

from __future__ import annotations

import datetime as dt
from contextlib import ExitStack
from typing import Annotated

import typer

from ..artifacts import Carried, carry, open_artifacts
from ..documents import as_utc
from ..errors import InvalidArgument
from ..iso_dates import parse_iso
from ..query.filter_text import parse_filter_text
from ..store import open_store
from ..redaction import redact
from ..transfer import PushSummary, merge as merge_stores, push as push_store
from .app import Artifacts, AsJson, Query, app, console, fail, print_json, progress_bar

Since = Annotated[str | None, typer.Option(
    "--since", metavar="DATE", help="Only experiments started, ended or alive at or after DATE (ISO 8601, e.g. "
                                    "2026-05-01 or 2026-05-01T12:00; UTC unless it says otherwise).")]
Full = Annotated[bool, typer.Option(
    "--full", help="Compare every chosen experiment, ignoring the record of earlier pushes (slower; brings back "
                   "what DEST deleted).")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Count what would be copied; write nothing.")]


@app.command("push")
def push(source: Annotated[str, typer.Argument(metavar="SRC", help="The store to copy from (a URI or a path).")],
         to: Annotated[str, typer.Option("--to", metavar="DEST", help="The store to copy into (a URI or a path).")],
         query: Query = None, since: Since = None, full: Full = False, dry_run: DryRun = False,
         files: Annotated[bool, typer.Option(
             "--files/--no-files", help="Also copy the stored checkpoint copies DEST's artifact store lacks (from "
                                        "SRC's: --artifacts, else SRC's own; into DEST's own).")] = True,
         artifacts: Artifacts = None, as_json: AsJson = False) -> None:
    """Copy into DEST what SRC holds and DEST lacks, every _id kept: experiments, epochs, checkpoints, series,
    console, blobs, subjects and alerts, and the checkpoints' stored copies. A second push changes nothing; a
    killed one is completed by the next."""
    with progress_bar(f"Pushing {redact(source)}") as progress:
        summary = push_store(source, to, query=parse_filter_text(query, "--query") or None, since=parse_since(since),
                             full=full, dry_run=dry_run, progress=progress)
    if files and not (dry_run and summary.changed):  # a dry run's DEST does not hold the records yet
        summary.files = _carry(source, to, artifacts, dry_run)
    _report([summary], as_json)


def _carry(source: str, destination: str, artifacts: str | None, dry_run: bool) -> Carried | None:
    """The stored checkpoint copies, from SRC's artifact store into DEST's own (None when SRC has none)."""
    with ExitStack() as stack:
        source_store = stack.enter_context(open_store(source, journal=False))
        source_artifacts = open_artifacts(artifacts or True, source_store)
        assert source_artifacts is not None
        stack.callback(source_artifacts.close)
        if not any(True for _ in source_artifacts.sizes()):
            return None
        dest_store = stack.enter_context(open_store(destination, journal=False))
        dest_artifacts = open_artifacts(True, dest_store)
        assert dest_artifacts is not None
        stack.callback(dest_artifacts.close)
        return carry(source_store, source_artifacts, dest_store, dest_artifacts, dry_run=dry_run)


@app.command("merge")
def merge(sources: Annotated[list[str], typer.Argument(metavar="SRC...", help="The stores to copy from.")],
          into: Annotated[str, typer.Option("--into", metavar="DEST", help="The store to copy them all into.")],
          query: Query = None, since: Since = None, full: Full = False, dry_run: DryRun = False,
          as_json: AsJson = False) -> None:
    """Push several stores into one, in the order given (each as `epochlog push SRC --to DEST`)."""
    with progress_bar("Merging") as progress:
        summaries = merge_stores(sources, into, query=parse_filter_text(query, "--query") or None,
                                 since=parse_since(since), full=full, dry_run=dry_run, progress=progress)
    _report(summaries, as_json)


def parse_since(text: str | None) -> dt.datetime | None:
    """--since as an aware datetime (UTC when it names no zone); InvalidArgument when it is no ISO date."""
    if text is None or not text.strip():
        return None
    try:
        moment = parse_iso(text)
    except ValueError:
        raise InvalidArgument(f"--since must be an ISO 8601 date or time (2026-05-01, 2026-05-01T12:00), "
                              f"got {text!r}") from None
    return as_utc(moment)


def _report(summaries: list[PushSummary], as_json: bool) -> None:
    if as_json:
        print_json(summaries[0].as_dict() if len(summaries) == 1 else [summary.as_dict() for summary in summaries])
    else:
        _print(summaries)
    refused = [item for summary in summaries for item in summary.refused]
    if refused:
        fail(f"the destination refused {len(refused)} document(s), left out of the copy (the rest was copied): "
             + "; ".join(f"{item['document']}: {item['reason']}" for item in refused[:5])
             + (f"; and {len(refused) - 5} more" if len(refused) > 5 else ""))


def _print(summaries: list[PushSummary]) -> None:
    out = console()
    for summary in summaries:
        verb = "would copy" if summary.dry_run else "copied"
        head = f"{redact(summary.source)} -> {redact(summary.destination)}"
        if not summary.changed:
            out.print(f"{head}: nothing to {'copy' if summary.dry_run else 'push'}, the destination already has "
                      f"everything ({summary.chosen} experiment(s) checked).")
            _print_files(summary)
            continue
        out.print(f"{head}: {verb} {summary.changed} document(s); {summary.chosen} experiment(s) chosen, "
                  f"{summary.visited} compared.")
        for name, counts in summary.counts.items():
            if counts.new or counts.updated:
                out.print(f"  {name:<12} {counts.new:>7} new  {counts.updated:>7} updated  {counts.unchanged:>7} "
                          f"already there")
        if summary.merged:
            out.print(f"  {summary.merged} experiment(s) changed on both sides were merged; {summary.conflicts} losing "
                      f"value(s) kept under their `conflicts` field")
        if not summary.shipped:
            out.print("  some writes are still in the destination's journal: `epochlog sync` sends them")
        _print_files(summary)


def _print_files(summary: PushSummary) -> None:
    files = summary.files
    if files is None or not (files.copied or files.missing):
        return
    console().print(f"  {'would copy' if summary.dry_run else 'copied'} {files.copied} stored checkpoint file(s) "
                    f"({files.bytes / 1e6:,.1f} MB), {files.present} already there"
                    + (f"; {files.missing} missing from the source's artifact store too" if files.missing else ""))
