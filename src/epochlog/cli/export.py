"""export: experiments, epochs, step series or subjects as CSV (dotted columns), JSON or JSON Lines."""

from __future__ import annotations

import contextlib
import csv
import enum
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Annotated, Any

import typer
from bson import ObjectId

from ..csv_cells import cell
from ..dotted import flatten
from ..experiment_filter import experiment_filter
from ..query.filter_text import parse_filter_text
from ..schema import EPOCHS
from ..tracker import Tracker
from .app import (
    Archived,
    Challenge,
    Query,
    Sort,
    StatusOpt,
    Tag,
    Uri,
    app,
    err_console,
    open_tracker,
    parse_sort,
    progress_bar,
    to_json,
)

CHUNK = 100  # experiments per epochs query
FIRST_COLUMNS = ("_id", "experiment_id", "subject_id", "experiment_name", "epoch", "name", "step", "value")


class Kind(str, enum.Enum):
    experiments = "experiments"
    epochs = "epochs"
    series = "series"
    subjects = "subjects"


class Format(str, enum.Enum):
    csv = "csv"
    json = "json"
    jsonl = "jsonl"


SUFFIXES = {".csv": Format.csv, ".json": Format.json, ".jsonl": Format.jsonl, ".ndjson": Format.jsonl}


@app.command("export")
def export(
    kind: Annotated[Kind, typer.Argument(metavar="KIND", help="What to export: experiments, epochs, series or subjects.", case_sensitive=False)],
    format: Annotated[Format | None, typer.Option(
        "--format", "-f", case_sensitive=False,
        help="csv (dotted columns such as config.batch_size), json (an array) or jsonl (one document a line); "
             "MongoDB Extended JSON, relaxed, for ids and dates. \\[default: from the -o suffix, else csv]",
        show_default=False)] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", metavar="FILE", dir_okay=False,
                                                help="Write here instead of stdout.")] = None,
    challenge: Challenge = None, status: StatusOpt = None, tag: Tag = None, query: Query = None, sort: Sort = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=0, help="At most this many experiments (or subjects); "
                                       "0: all.")] = 0,
    name: Annotated[list[str] | None, typer.Option("--name", help="series only: just this metric (repeatable).")]
    = None,
    archived: Archived = False,
    uri: Uri = None,
) -> None:
    """Export experiments, their epochs or step series (selected with the ls filters), or subjects.

    For subjects, --query filters the subjects; --challenge/--status/--tag do not apply.
    """
    fmt = format or (SUFFIXES.get(output.suffix.lower(), Format.csv) if output is not None else Format.csv)
    if kind is Kind.subjects and (challenge is not None or status or tag):
        raise typer.BadParameter("--challenge, --status and --tag select experiments; use --query for subjects")
    if name and kind is not Kind.series:
        raise typer.BadParameter("--name applies to `export series` only")
    with open_tracker(uri) as tracker:
        if kind is Kind.subjects:
            subjects = tracker.get_subjects(parse_filter_text(query, "--query"), sort=parse_sort(sort), limit=limit)
            count = write_documents(subjects, fmt, output)
        else:
            condition = experiment_filter(challenge=challenge, statuses=[value.value for value in status or ()],
                                          tags=tag, filter=parse_filter_text(query, "--query"), archived=archived)
            order = parse_sort(sort, [("start_time", 1)])
            if kind is Kind.experiments:
                count = write_documents(tracker.search_experiments(condition, sort=order, limit=limit), fmt, output)
            else:
                ids = [d["_id"] for d in tracker.search_experiments(condition, projection={"_id": 1}, sort=order,
                                                                    limit=limit)]
                with progress_bar(f"Exporting {kind.value}", len(ids)) as progress:
                    rows = _epochs(tracker, ids, progress) if kind is Kind.epochs else \
                        _series(tracker, ids, name, progress)
                    count = write_documents(rows, fmt, output, columns=("experiment_id", "name", "step", "value")
                                   if kind is Kind.series else None)
    if output is not None:
        err_console().print(f"Wrote {count} {_noun(kind, count)} to {output} ({fmt.value}).")


def _epochs(tracker: Tracker, ids: list[ObjectId], progress: Any) -> Iterator[dict[str, Any]]:
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        found = tracker.find(EPOCHS, {"experiment_id": {"$in": chunk}}, sort=[("epoch", 1)])
        by_experiment: dict[ObjectId, list[dict[str, Any]]] = {}
        for document in found:
            by_experiment.setdefault(document["experiment_id"], []).append(document)
        for eid in chunk:
            yield from by_experiment.get(eid, [])
        progress(start + len(chunk), len(ids))


def _series(tracker: Tracker, ids: list[ObjectId], names: list[str] | None, progress: Any) -> Iterator[dict[str, Any]]:
    for done, eid in enumerate(ids, 1):
        for series_name in tracker.get_metric_names(eid):
            if names and series_name not in names:
                continue
            series = tracker.get_metric_series(eid, series_name)
            for step, value in zip(series.steps.tolist(), series.values.tolist()):
                yield {"experiment_id": eid, "name": series_name, "step": step, "value": value}
        progress(done, len(ids))


def write_documents(documents: Iterable[Mapping[str, Any]], fmt: Format, output: Path | None,
           columns: tuple[str, ...] | None = None) -> int:
    """Write documents in `fmt`; returns how many. The file is created only once the data is in hand."""
    if fmt is Format.csv and columns is None:
        rows = [flatten(document) for document in documents]  # columns are the union: one pass first
        seen = dict.fromkeys(key for row in rows for key in row)
        columns = (*(key for key in FIRST_COLUMNS if key in seen), *(key for key in seen if key not in FIRST_COLUMNS))
        documents = rows
    count = 0
    with _opened(output) as handle:
        if fmt is Format.csv:
            assert columns is not None
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(columns)
            for row in documents:
                writer.writerow([cell(row.get(column)) for column in columns])
                count += 1
        elif fmt is Format.jsonl:
            for document in documents:
                handle.write(to_json(document, indent=None) + "\n")
                count += 1
        else:
            handle.write("[")
            for document in documents:
                handle.write(("\n" if not count else ",\n") + to_json(document, indent=None))
                count += 1
            handle.write("\n]\n" if count else "]\n")
    return count


@contextlib.contextmanager
def _opened(output: Path | None) -> Iterator[IO[str]]:
    if output is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    with open(output, "w", encoding="utf-8", newline="") as handle:
        yield handle


def _noun(kind: Kind, count: int) -> str:
    singular = {"experiments": "experiment", "epochs": "epoch", "series": "series point", "subjects": "subject"}
    word = singular[kind.value]
    return word if count == 1 else (word + "s" if not word.endswith("s") else word)


__all__ = ["Format", "export", "write_documents"]
