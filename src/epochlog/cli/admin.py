"""Looking after a store: init (indexes), verify (checkpoint files), demo (a simulated study)."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

import typer
from bson import ObjectId
from rich.table import Table
from rich.text import Text

from ..demo import run_demo
from ..redaction import redact
from . import render
from .app import (
    Artifacts,
    AsJson,
    Uri,
    app,
    console,
    err_console,
    fail,
    open_tracker,
    print_json,
    progress_bar,
    resolve_uri,
)
from .browse import print_leaderboard, resolve

STATE_STYLES = {"ok": "green", "missing": "bold red", "changed": "bold red", "damaged": "bold red",
                "unchecked": "dim"}


@app.command("init")
def init(uri: Uri = None) -> None:
    """Create the store (if new) and its indexes; safe to run again."""
    target = resolve_uri(uri)
    with open_tracker(target, writes=True) as tracker:
        tracker.ensure_indexes()
    console().print(f"Store ready, indexes in place: {redact(target)}")


@app.command("verify")
def verify(ref: Annotated[str | None, typer.Argument(metavar="[ID]", help="Only this experiment (id or name).",
                                                     show_default=False)] = None,
           problems: Annotated[bool, typer.Option("--problems", help="List only missing or changed files.")] = False,
           artifacts: Artifacts = None, uri: Uri = None, as_json: AsJson = False) -> None:
    """Check every checkpoint file against its recorded checksum, and its stored copy if it has one (exit 1 if
    any is missing, changed or damaged)."""
    with open_tracker(uri, artifacts=artifacts or True) as tracker, err_console().status("Verifying checkpoint files"):
        results = tracker.verify_checkpoints(resolve(tracker, ref) if ref is not None else None)
    states = Counter(result["state"] for result in results)
    if as_json:
        print_json(results)
    else:
        shown = [r for r in results if r["state"] in ("missing", "changed") or r["stored"] in ("missing", "damaged")] \
            if problems else results
        out = console()
        if shown:
            table = Table(title=f"{len(results)} checkpoints", title_justify="left")
            for name in ("experiment", "epoch", "best", "state", "stored", "path"):
                table.add_column(name, justify="right" if name == "epoch" else "left")
            for result in shown:
                stored = result["stored"]
                table.add_row(str(result["experiment_id"]), render.plain(result["epoch"]),
                              "★" if result["is_best"] else "", Text(result["state"], STATE_STYLES[result["state"]]),
                              Text(stored, STATE_STYLES[stored]) if stored else "—", str(result["path"] or "—"))
            out.print(table)
        out.print(", ".join(f"{states[state]} {state}" for state in ("ok", "missing", "changed", "unchecked"))
                  if results else "No checkpoints recorded.")
    bad = states["missing"] + states["changed"]
    copies = Counter(result["stored"] for result in results if result["stored"] in ("missing", "damaged"))
    if bad:
        fail(f"{bad} checkpoint file{'s are' if bad != 1 else ' is'} missing or changed")
    if copies:
        fail(f"{sum(copies.values())} stored cop{'ies are' if sum(copies.values()) != 1 else 'y is'} missing or "
             f"damaged")


@app.command("demo")
def demo(seed: Annotated[int, typer.Option("--seed", help="Same seed, same study (ids and times aside).")] = 0,
         experiments: Annotated[int, typer.Option("--experiments", min=1, max=1000, help="How many runs.")] = 24,
         epochs: Annotated[int, typer.Option("--epochs", min=2, max=500, help="Epochs per run.")] = 30,
         uri: Uri = None) -> None:
    """Simulate a realistic study (two challenges, four model families, failures, a NaN divergence,
    checkpoints, subjects, one live run), then print the leaderboard and how to open the dashboard."""
    target = resolve_uri(uri)
    with open_tracker(target, writes=True) as tracker:
        with progress_bar("Simulating runs", experiments) as progress:
            ids = run_demo(tracker, seed=seed, experiments=experiments, epochs=epochs, progress=progress)
        boards = {challenge: tracker.get_best_models(challenge, 5) for challenge in (1, 2)}
        statuses = Counter(d["status"] for d in tracker.search_experiments(
            {"_id": {"$in": [ObjectId(i) for i in ids]}}, projection={"status": 1}))
    out = console()
    out.print(f"Simulated {len(ids)} experiments into {redact(target)}: "
              + ", ".join(f"{count} {status}" for status, count in sorted(statuses.items())) + ".")
    for challenge, ranked in boards.items():
        print_leaderboard(ranked, "metrics.best_val_loss", challenge)
    uri_option = f" --uri {redact(target)}" if uri else ""
    out.print(f"\nOpen the dashboard:  epochlog ui{uri_option}   (then http://127.0.0.1:8082)")
    out.print(f"Browse in the terminal:  epochlog ls{uri_option}   ·   epochlog show {ids[0]}{uri_option}")


__all__ = ["demo", "init", "verify"]
