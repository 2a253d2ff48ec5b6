"""Reading experiments: ls, show, best, compare, history."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

import typer
from bson import ObjectId
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..dotted import get_path
from ..display import duration, error_text, mapping, model_label, tag_list
from ..errors import InvalidArgument, NotFound
from ..experiment_filter import experiment_filter
from ..finite_numbers import is_finite_number
from ..query.filter_text import parse_filter_text
from ..tracker import Tracker, leaderboard_statuses
from . import render
from .app import (
    Archived,
    AsJson,
    Challenge,
    Query,
    Sort,
    StatusOpt,
    Tag,
    Uri,
    app,
    console,
    open_tracker,
    parse_sort,
    print_json,
    summary_field,
)

EPOCHS_SHOWN = 12  # `show` prints the last epochs; `history` prints them all
FIRST_METRICS = ("train_loss", "val_loss", "learning_rate")

Ref = Annotated[str, typer.Argument(metavar="ID", help="An experiment id (24 hex digits) or its exact name.")]


def resolve(tracker: Tracker, ref: str) -> ObjectId:
    """An experiment's id from its id or its (unique) name."""
    if ObjectId.is_valid(ref):
        oid = ObjectId(ref)
        if tracker.count_experiments({"_id": oid}):
            return oid
    found = tracker.search_experiments({"experiment_name": ref}, projection={"_id": 1}, limit=2)
    if not found:
        raise NotFound(f"no experiment with id or name {ref!r}")
    if len(found) > 1:
        count = tracker.count_experiments({"experiment_name": ref})
        raise InvalidArgument(f"{count} experiments are named {ref!r}: give an id (epochlog ls -q "
                              f"'{{\"experiment_name\": \"{ref}\"}}')")
    oid = found[0]["_id"]
    assert isinstance(oid, ObjectId)
    return oid


@app.command("ls")
def ls(challenge: Challenge = None, status: StatusOpt = None, tag: Tag = None, query: Query = None,
       sort: Sort = None,
       limit: Annotated[int, typer.Option("--limit", "-n", min=0, help="At most this many (0: all).")] = 50,
       archived: Archived = False, uri: Uri = None, as_json: AsJson = False) -> None:
    """List experiments, newest first (filter with --challenge/--status/--tag/--query); archived ones with
    --archived."""
    choose = functools.partial(experiment_filter, challenge=challenge, statuses=[value.value for value in status or ()],
                               tags=tag, filter=parse_filter_text(query, "--query"))
    given, condition = choose(archived=True), choose(archived=archived)
    order = parse_sort(sort, [("start_time", -1)])
    with open_tracker(uri) as tracker:
        documents = tracker.search_experiments(condition, sort=order, limit=limit or None)
        total = tracker.count_experiments(condition) if limit and len(documents) == limit else len(documents)
        hidden = 0 if documents or archived else tracker.count_experiments(given)
    if as_json:
        print_json(documents)
        return
    out = console()
    if not documents:
        if hidden:
            out.print(f"No experiments match; {hidden} archived {'one does' if hidden == 1 else 'ones do'} "
                      f"(--archived shows them).")
        else:
            out.print("No experiments match." if given else "No experiments yet: try `epochlog demo`.")
        return
    out.print(experiments_table(documents, total, out.width))


def experiments_table(documents: Sequence[Mapping[str, Any]], total: int, width: int) -> Table:
    """`ls`'s table of experiments (whatever types their fields hold), the columns that fit in `width`."""
    title = f"{total} experiment{'s' if total != 1 else ''}" + \
        (f" (showing {len(documents)})" if total > len(documents) else "")
    metrics = [mapping(document.get("metrics")) for document in documents]
    columns: list[tuple[str, bool, list[Any]]] = [
        ("id", False, [str(d["_id"]) for d in documents]),
        ("name", False, [render.plain(d.get("experiment_name")) for d in documents]),
        ("ch", True, [render.plain(d.get("challenge")) for d in documents]),
        ("model", False, [model_label(d.get("model")) or render.DASH for d in documents]),
        ("status", False, [render.status(d.get("status")) for d in documents]),
        ("val_loss", True, [render.number(m.get("best_val_loss")) for m in metrics]),
        ("epoch", True, [render.number(m.get("best_epoch")) for m in metrics]),
        ("started", False, [render.when(d.get("start_time")) for d in documents]),
        ("tags", False, [", ".join(tag_list(d.get("tags"))) for d in documents]),
    ]
    return render.fitted_table(title, width, columns,
                               ["id", "name", "status", "val_loss", "ch", "epoch", "model", "started", "tags"])


@app.command("show")
def show(ref: Ref, uri: Uri = None, as_json: AsJson = False) -> None:
    """One experiment: overview, config as a tree, summary metrics, last epochs, checkpoints."""
    with open_tracker(uri) as tracker:
        history = tracker.get_experiment_history(resolve(tracker, ref))
        series = tracker.get_metric_names(history["experiment"]["_id"])
    if as_json:
        print_json({**history, "series": series})
        return
    out = console()
    for part in experiment_view(history, series, ref):
        out.print(part)


def experiment_view(history: Mapping[str, Any], series: list[str], ref: str) -> list[RenderableType]:
    """What `show` prints of `Tracker.get_experiment_history`, whatever types the documents hold."""
    experiment, epochs, checkpoints = history["experiment"], history["epochs"], history["checkpoints"]
    parts: list[RenderableType] = [_overview(experiment, series)]
    trees = [render.tree(part, experiment.get(part)) for part in ("model", "config", "dataset")]
    if experiment.get("config_raw"):
        trees.append(render.tree("config_raw (not parsed)", {"text": experiment["config_raw"]}))
    parts.append(Group(*trees))
    metrics = experiment.get("metrics")
    if metrics and not isinstance(metrics, Mapping):
        parts.append(Text(f"Summary metrics (not a document): {render.plain(metrics)}"))
    elif metrics:
        table = Table(title="Summary metrics", title_justify="left")
        table.add_column("metric")
        table.add_column("value", justify="right")
        for name, value in metrics.items():
            table.add_row(str(name), render.number(value))
        parts.append(table)
    if epochs:
        shown = epochs[-EPOCHS_SHOWN:]
        title = f"Epochs ({len(epochs)})" + (f", last {len(shown)}: `epochlog history {ref}` shows all"
                                             if len(shown) < len(epochs) else "")
        parts.append(_epochs_table(shown, experiment, checkpoints, title))
    else:
        parts.append(Text("No epochs logged.", style="dim"))
    if checkpoints:
        parts.append(_checkpoints_table(checkpoints))
    subjects = experiment.get("subject_metrics")
    if isinstance(subjects, Mapping) and subjects:
        parts.append(Text(f"Per-subject results for {len(subjects)} subjects (see --json).", style="dim"))
    return parts


LeaderboardStatus = Annotated[list[str] | None, typer.Option(
    "--status", "-s", metavar="STATUS",
    help="Rank runs of these statuses (running, completed, failed, stopped; repeat or comma-separate), or "
         "'any'. Unfinished runs rank by the best epoch they reached. \\[default: completed]")]


@app.command("best")
def best(challenge: Challenge = None,
         n: Annotated[int, typer.Option("-n", "--top", min=0, help="How many to list.")] = 10,
         metric: Annotated[str, typer.Option("--metric", "-m", help="Summary metric to rank by (under metrics.).")]
         = "best_val_loss",
         maximize: Annotated[bool, typer.Option("--max", help="Higher is better (accuracy); default lower.")] = False,
         status: LeaderboardStatus = None, query: Query = None, archived: Archived = False, uri: Uri = None,
         as_json: AsJson = False) -> None:
    """The leaderboard: the best experiments by a summary metric, completed ones unless --status says otherwise
    (NaN and inf never rank), each with its status and whether its best checkpoint file still verifies."""
    try:
        statuses = leaderboard_statuses(status)
    except InvalidArgument as error:
        raise typer.BadParameter(str(error), param_hint="--status") from None
    field = summary_field(metric)
    with open_tracker(uri) as tracker:
        ranked = tracker.get_best_models(challenge, n, metric=field, mode="max" if maximize else "min",
                                         filter=parse_filter_text(query, "--query") or None, status=statuses,
                                         archived=archived)
        states = tracker.best_checkpoint_states(d["_id"] for d in ranked)
    if as_json:
        print_json([{**document, "best_checkpoint": states[document["_id"]]} for document in ranked])
        return
    print_leaderboard(ranked, field, challenge, statuses, states)


def print_leaderboard(ranked: Sequence[Mapping[str, Any]], field: str, challenge: int | None,
                      status: str | Sequence[str] = "completed",
                      checkpoints: Mapping[Any, str | None] | None = None) -> None:
    """The leaderboard table; `status` is what ranked (`completed`, `any` or a list), for the title, and
    `checkpoints` each run's best checkpoint state (`Tracker.best_checkpoint_states`), a column when given."""
    out = console()
    scope = f"challenge {challenge}" if challenge is not None else "all challenges"
    if not ranked:
        which = "" if status == "any" else f"{render.statuses(status)} "
        out.print(f"No {which}experiment with a finite {field} ({scope}).")
        return
    if status != "completed":
        scope += " · any status" if status == "any" else f" · {render.statuses(status)}"
    configs = [mapping(document.get("config")) for document in ranked]
    metric = field.removeprefix("metrics.")
    columns: list[tuple[str, bool, list[Any]]] = [
        ("#", True, [str(rank) for rank in range(1, len(ranked) + 1)]),
        ("id", False, [str(d["_id"]) for d in ranked]),
        ("name", False, [str(d.get("experiment_name", "")) for d in ranked]),
        ("ch", True, [render.plain(d.get("challenge")) for d in ranked]),
        ("model", False, [render.plain(get_path(d, "model.name")) for d in ranked]),
        ("status", False, [render.status(d.get("status")) for d in ranked]),
        (metric, True, [render.number(get_path(d, field)) for d in ranked]),
        ("epoch", True, [render.number(get_path(d, "metrics.best_epoch")) for d in ranked]),
        ("ckpt", False, [render.checkpoint_state((checkpoints or {}).get(d["_id"])) for d in ranked]),
        ("optimizer", False, [render.plain(c.get("optimizer")) for c in configs]),
        ("lr", True, [render.number(c.get("learning_rate")) for c in configs]),
        ("batch", True, [render.number(c.get("batch_size")) for c in configs]),
        ("started", False, [render.when(d.get("start_time")) for d in ranked]),
    ]
    if checkpoints is None:
        columns = [column for column in columns if column[0] != "ckpt"]
    priority = ["#", "name", metric, "status", "ckpt", "model", "ch", "epoch", "id", "optimizer", "lr", "batch",
                "started"]
    table = render.fitted_table(f"Best by {field} ({scope})", out.width, columns,
                                [name for name in priority if checkpoints is not None or name != "ckpt"])
    out.print(table)


@app.command("compare")
def compare(refs: Annotated[list[str], typer.Argument(metavar="ID...", help="Two or more experiment ids or names.")],
            uri: Uri = None, as_json: AsJson = False) -> None:
    """Experiments side by side, and the config keys that differ (highlighted)."""
    if len(refs) < 2:
        raise typer.BadParameter("give at least two experiments", param_hint="ID...")
    with open_tracker(uri) as tracker:
        ids = [resolve(tracker, ref) for ref in refs]
        documents = tracker.compare_experiments(ids)
        diff = tracker.config_diff(ids)
    if as_json:
        print_json({"experiments": documents, "config_diff": diff})
        return
    for part in compare_tables(documents, diff):
        console().print(part)


def compare_tables(documents: Sequence[Mapping[str, Any]], diff: Mapping[str, list[Any]]) -> list[Table | str]:
    """`compare`'s summary side by side, then the config keys that differ (or a sentence saying none do)."""
    table = Table(title="Summary", title_justify="left")
    table.add_column("")
    for document in documents:
        table.add_column(_label(document), justify="right")
    rows: list[tuple[str, list[Any]]] = [
        ("id", [str(d["_id"]) for d in documents]),
        ("status", [render.status(d.get("status")) for d in documents]),
        ("challenge", [render.plain(d.get("challenge")) for d in documents]),
        ("model", [model_label(d.get("model")) or render.DASH for d in documents]),
        ("started", [render.plain(d.get("start_time")) for d in documents]),
        ("duration", [duration(d, _now()) for d in documents]),
    ]
    names = list(dict.fromkeys(name for d in documents for name in mapping(d.get("metrics"))))
    for name in names:
        values = [mapping(d.get("metrics")).get(name) for d in documents]
        rows.append((f"metrics.{name}", _marked(name, values)))
    for label, cells in rows:
        table.add_row(label, *cells)
    if not diff:
        return [table, "The environments, configs, models and datasets are identical."]
    changes = Table(title=f"{len(diff)} config key{'s' if len(diff) != 1 else ''} differ", title_justify="left")
    changes.add_column("key", style="bold yellow")
    for document in documents:
        changes.add_column(_label(document), justify="right")
    for key, values in diff.items():
        changes.add_row(key, *[Text(render.plain(value), style="yellow") for value in values])
    return [table, changes]


@app.command("history")
def history(ref: Ref, uri: Uri = None, as_json: AsJson = False) -> None:
    """Every epoch of an experiment with all its metrics and timings, and loss sparklines."""
    with open_tracker(uri) as tracker:
        found = tracker.get_experiment_history(resolve(tracker, ref))
    if as_json:
        print_json(found["epochs"])
        return
    out = console()
    for part in history_view(found):
        out.print(part)


def history_view(history: Mapping[str, Any]) -> list[RenderableType]:
    """What `history` prints: every epoch, and loss sparklines."""
    experiment, epochs = history["experiment"], history["epochs"]
    if not epochs:
        return [f"{_label(experiment)}: no epochs logged."]
    parts: list[RenderableType] = [_epochs_table(epochs, experiment, history["checkpoints"],
                                                 f"{_label(experiment)} ({experiment['_id']}): {len(epochs)} epochs")]
    for name in ("train_loss", "val_loss"):
        line = render.sparkline([mapping(e.get("metrics")).get(name) for e in epochs])
        if line:
            parts.append(f"{name:>10}  {line}")
    return parts


# -- pieces ------------------------------------------------------------------------------------------

def _overview(experiment: Mapping[str, Any], series: list[str]) -> Panel:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    started, ended = experiment.get("start_time"), experiment.get("end_time")
    rows: list[tuple[str, Any]] = [
        ("id", str(experiment["_id"])),
        ("status", render.status(experiment.get("status"))),
        ("challenge", render.plain(experiment.get("challenge"))),
        ("model", model_label(experiment.get("model")) or render.DASH),
        ("started", render.plain(started)),
        ("ended", render.plain(ended)),
        ("duration", duration(experiment, _now())),
        ("tags", ", ".join(tag_list(experiment.get("tags"))) or render.DASH),
    ]
    notes = experiment.get("notes")
    if notes:
        rows.append(("notes", notes if isinstance(notes, str) else render.plain(notes)))
    if series:
        rows.append(("step series", ", ".join(series)))
    error = error_text(experiment.get("error"))
    if error is not None:
        rows.append(("error", Text(error, style="red")))
    legacy = experiment.get("legacy")
    if isinstance(legacy, Mapping):
        rows.append(("legacy", f"run {render.plain(legacy.get('run_id'))} of {render.plain(legacy.get('source'))}"))
        repairs = legacy.get("repairs") or []
        for reason in repairs if isinstance(repairs, list) else [repairs]:
            rows.append(("", Text(f"repaired: {render.plain(reason)}", style="yellow")))
    for label, value in rows:
        grid.add_row(label, value)
    return Panel(grid, title=Text(_label(experiment)), title_align="left")


def _epochs_table(epochs: list[Mapping[str, Any]], experiment: Mapping[str, Any],
                  checkpoints: list[Mapping[str, Any]], title: str) -> Table:
    metrics_of = [mapping(e.get("metrics")) for e in epochs]
    names = list(dict.fromkeys([*(n for n in FIRST_METRICS if any(n in metrics for metrics in metrics_of)),
                                *(n for metrics in metrics_of for n in metrics)]))
    best_epoch = get_path(experiment, "metrics.best_epoch")
    saved = {c.get("epoch") for c in checkpoints if _hashable(c.get("epoch"))}
    table = Table(title=title, title_justify="left")
    table.add_column("epoch", justify="right")
    for name in names:
        table.add_column(name, justify="right")
    table.add_column("seconds", justify="right")
    table.add_column("", no_wrap=True)
    for epoch, metrics in zip(epochs, metrics_of):
        number = epoch.get("epoch")
        marks = []
        if best_epoch is not None and number == best_epoch:
            marks.append("★ best")
        if _hashable(number) and number in saved:
            marks.append("ckpt")
        table.add_row(render.plain(number), *[render.number(metrics.get(name)) for name in names],
                      render.number(get_path(epoch, "timing.duration_seconds"), 3), " ".join(marks),
                      style="bold" if best_epoch is not None and number == best_epoch else None)
    return table


def _checkpoints_table(checkpoints: list[Mapping[str, Any]]) -> Table:
    table = Table(title=f"Checkpoints ({len(checkpoints)})", title_justify="left")
    for name, justify in (("epoch", "right"), ("val_loss", "right"), ("best", "left"), ("size MB", "right"),
                          ("checksum", "left"), ("path", "left")):
        table.add_column(name, justify="right" if justify == "right" else "left")
    for checkpoint in checkpoints:
        stored = checkpoint.get("file")
        file = mapping(stored)
        path = file.get("path") if isinstance(stored, Mapping) else stored  # the seed's code stored the path alone
        checksum = render.plain(file.get("checksum"))
        table.add_row(render.plain(checkpoint.get("epoch")), render.number(get_path(checkpoint, "metrics.val_loss")),
                      "★" if checkpoint.get("is_best") is True else "", render.number(file.get("size_mb"), 3),
                      checksum[:19] + ("…" if len(checksum) > 19 else ""), render.plain(path))
    return table


def _label(document: Mapping[str, Any]) -> str:
    name = document.get("experiment_name")
    return render.plain(name if name is not None else document["_id"])


def _hashable(value: Any) -> bool:
    return isinstance(value, (int, float, str))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _marked(name: str, values: list[Any]) -> list[Text]:
    """Cells of one metric across experiments, the best finite value in bold green."""
    finite = [v for v in values if is_finite_number(v)]
    higher = any(word in name for word in ("acc", "auc", "f1", "score", "r2", "correlation"))
    lower = "loss" in name or "nrmse" in name or "error" in name
    target = (max(finite) if higher else min(finite)) if finite and (higher or lower) and len(finite) > 1 else None
    cells = []
    for value in values:
        cell = render.number(value)
        if target is not None and value == target:
            cell.stylize("bold green")
        cells.append(cell)
    return cells


__all__ = ["best", "compare", "compare_tables", "experiment_view", "experiments_table", "history", "history_view", "ls",
           "print_leaderboard", "resolve", "show"]
