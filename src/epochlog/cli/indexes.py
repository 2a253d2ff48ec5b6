"""`epochlog index`: the indexes users add for what they rank, search and group by."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ..schema import EXPERIMENTS
from .app import AsJson, EpochlogGroup, Uri, app, console, open_tracker, print_json

index_app = typer.Typer(cls=EpochlogGroup, no_args_is_help=True,
                        help="Indexes for the fields you rank, search and group by (docs/QUERY.md, \"Indexes\").")
app.add_typer(index_app, name="index")
Collection = Annotated[str, typer.Option("--collection", "-c", help="experiments, epochs, checkpoints or subjects.")]


@index_app.command("add")
def add(keys: Annotated[list[str], typer.Argument(metavar="KEY...", help="Dotted paths, `path:-1` for descending, "
                                                  "in index order: equality-filtered fields first.")],
        collection: Collection = EXPERIMENTS, uri: Uri = None) -> None:
    """Create an index (idempotent; on MongoDB too). Ranking by a metric: `metrics.best_val_acc`; searching a
    config value: `config.optimizer`; grouping: `status config.model config.lr archived metrics.best_val_loss`."""
    with open_tracker(uri, writes=True) as tracker:
        name = tracker.create_index(*keys, collection=collection)
    console().print(f"Index {name} on {collection} is in place.")


@index_app.command("ls")
def ls(collection: Collection = EXPERIMENTS, uri: Uri = None, as_json: AsJson = False) -> None:
    """List a collection's indexes: epochlog's own, then yours."""
    with open_tracker(uri) as tracker:
        found = tracker.list_indexes(collection)
    if as_json:
        print_json([index.to_dict() for index in found])
        return
    table = Table(title=f"{collection}: {len(found)} indexes", title_justify="left")
    for column in ("name", "keys", "unique", "own"):
        table.add_column(column, overflow="fold")
    for index in found:
        table.add_row(index.name, ", ".join(f"{path}:{direction}" for path, direction in index.keys),
                      "yes" if index.unique else "", "epochlog" if index.builtin else "yours")
    console().print(table)


@index_app.command("drop")
def drop(name: Annotated[str, typer.Argument(help="The index's name, as `epochlog index ls` shows it.")],
         collection: Collection = EXPERIMENTS, uri: Uri = None) -> None:
    """Drop an index you added (epochlog's own stay)."""
    with open_tracker(uri, writes=True) as tracker:
        tracker.drop_index(name, collection=collection)
    console().print(f"Dropped index {name} of {collection}.")
