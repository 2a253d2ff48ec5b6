"""The `epochlog` command: the typer app, the options every command shares, and the one place errors end.

Exit codes: 0 ok (also when the reader of a pipe stops early, as `head` does); 1 a user error, reported as one
line on stderr (never a traceback); 2 a usage error.
"""

from __future__ import annotations

import contextlib
import enum
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator
from typing import Annotated, Any, NoReturn

import typer
from bson import json_util
from bson.json_util import JSONOptions
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from typer.core import TyperGroup

from ..artifacts import ArtifactSpec
from ..dotted import check_field
from ..errors import EpochlogError, QueryError
from ..store import default_uri
from ..tracker import Tracker, get_tracker, sort_spec

#: MongoDB Extended JSON, relaxed: {"$oid": ...} ids, {"$date": "<ISO>"} dates, plain numbers otherwise.
JSON_OPTIONS: JSONOptions = json_util.RELAXED_JSON_OPTIONS.with_options(tz_aware=True)


class EpochlogGroup(TyperGroup):
    """Turns the errors a user can cause into a one-line message and exit code 1."""

    def invoke(self, ctx: Any) -> Any:  # typer's vendored click.Context (private module)
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()  # here, where a reader gone away is caught, rather than at exit
            return result
        except BrokenPipeError:  # `epochlog export | head -1`: the reader has all it wanted
            _silence_stdout()
            raise typer.Exit(0) from None
        except EpochlogError as error:
            fail(str(error))
        except sqlite3.DatabaseError as error:  # a file that is not an epochlog store, say
            fail(f"cannot read the store: {error}")
        except OSError as error:
            fail(f"{error.strerror or error}: {error.filename}" if error.filename else str(error))


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush at exit finds no closed pipe either."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout is no file descriptor (a test runner's capture): nothing to flush
        pass


def fail(message: str) -> NoReturn:
    """Print `error: message` (one line) on stderr and exit with status 1."""
    Console(stderr=True, highlight=False, soft_wrap=True).print(
        f"[bold red]error:[/] {escape(' '.join(message.split()))}", markup=True, emoji=False)
    raise typer.Exit(1)


app = typer.Typer(
    cls=EpochlogGroup, name="epochlog", no_args_is_help=True, add_completion=False,
    pretty_exceptions_show_locals=False, rich_markup_mode="rich",
    help="Browse, export and import epochlog experiments; run the demo and the dashboard.\n\n"
         "Every command takes --uri (default: $EPOCHLOG_URI, else sqlite:///epochlog.db).")


def version_callback(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"epochlog {__version__}")
        raise typer.Exit()


@app.callback()
def root(version: Annotated[bool, typer.Option("--version", callback=version_callback, is_eager=True,
                                               help="Print the version and exit.")] = False) -> None:
    """Browse, export and import epochlog experiments; run the demo and the dashboard."""


# -- options shared by commands ----------------------------------------------------------------------

Uri = Annotated[str | None, typer.Option(
    "--uri", envvar="EPOCHLOG_URI", show_default=False, metavar="URI",
    help="The store: sqlite:///path.db, a path, or mongodb://host/db. \\[default: $EPOCHLOG_URI, "
         "else sqlite:///epochlog.db]")]
AsJson = Annotated[bool, typer.Option("--json", help="Print MongoDB Extended JSON (relaxed) for scripts.")]
Challenge = Annotated[int | None, typer.Option("--challenge", "-c", metavar="N", help="Only this challenge (1 or 2).")]


class Status(str, enum.Enum):
    running = "running"
    completed = "completed"
    failed = "failed"
    stopped = "stopped"


StatusOpt = Annotated[list[Status] | None, typer.Option(
    "--status", "-s", case_sensitive=False, metavar="STATUS",
    help="Only experiments with this status: running, completed, failed or stopped (repeat for several).")]
Tag = Annotated[list[str] | None, typer.Option("--tag", "-t", metavar="TAG", help="Only experiments with this tag (repeat: all of them).")]
Query = Annotated[str | None, typer.Option(
    "--query", "-q", metavar="JSON",
    help='A MongoDB filter as JSON, e.g. \'{"config.device": "cuda", "metrics.best_val_loss": {"$lt": 1}}\'; '
         'Extended JSON ({"$oid": ...}, {"$date": ...}) is understood.')]
Artifacts = Annotated[str | None, typer.Option(
    "--artifacts", envvar="EPOCHLOG_ARTIFACTS", metavar="DIR|gridfs", show_default=False,
    help="The artifact store of the checkpoint copies: a directory, or gridfs. \\[default: $EPOCHLOG_ARTIFACTS, "
         "else the store's own: <db>.artifacts/ next to an embedded store, GridFS on MongoDB]")]
Archived = Annotated[bool, typer.Option("--archived", help="Include archived experiments (hidden by default).")]
Sort = Annotated[str | None, typer.Option(
    "--sort", metavar="FIELD", help="Sort by FIELD, descending with a leading '-' or ':desc'; comma-separate several.")]


def resolve_uri(uri: str | None) -> str:
    """The store URI a command uses: --uri, else $EPOCHLOG_URI, else the embedded ./epochlog.db."""
    return uri or default_uri()


@contextlib.contextmanager
def open_tracker(uri: str | None, *, writes: bool = False, artifacts: ArtifactSpec = None) -> Iterator[Tracker]:
    """A tracker for one command. Only commands that write (`writes=True`) go through the write-behind
    journal on MongoDB: a read-only command never opens, adopts or ships a journal, nor waits for one."""
    tracker = get_tracker(resolve_uri(uri), journal=None if writes else False, artifacts=artifacts)
    try:
        yield tracker
    finally:
        tracker.close()


def parse_sort(text: str | None, default: list[tuple[str, int]] | None = None) -> list[tuple[str, int]] | None:
    """'-start_time' / 'metrics.best_val_loss:asc,start_time:desc' as a sort spec."""
    if text is None or not text.strip():
        return default
    pairs: list[tuple[str, int]] = []
    for part in text.split(","):
        part = part.strip()
        direction = 1
        if part.startswith(("-", "+")):
            direction, part = (-1 if part[0] == "-" else 1), part[1:]
        if ":" in part:
            part, _, word = part.partition(":")
            if word.lower() not in ("asc", "desc"):
                raise QueryError(f"--sort: expected FIELD, -FIELD, FIELD:asc or FIELD:desc, got {text!r}")
            direction = -1 if word.lower() == "desc" else 1
        if not part:
            raise QueryError(f"--sort: empty field name in {text!r}")
        pairs.append((check_field(part, "--sort"), direction))
    return sort_spec(pairs)


def summary_field(metric: str) -> str:
    """A --metric argument as a field path: `val_acc` is `metrics.val_acc`; a dotted path stays as it is."""
    return check_field(metric if "." in metric else f"metrics.{metric}", "--metric")


# -- output ------------------------------------------------------------------------------------------

class _Console(Console):
    def on_broken_pipe(self) -> None:
        """rich exits with status 1 here; a reader that stopped early is ended by `EpochlogGroup` instead, as
        every other write to a closed pipe."""
        self.quiet = True
        raise BrokenPipeError


def console() -> Console:
    """Standard output (made per command, so tests and pipes get what they redirected). Without markup: stored
    text such as a name `[/run]` is printed as it is, never read as rich's markup."""
    return _Console(highlight=False, soft_wrap=False, emoji=False, markup=False)


def err_console() -> Console:
    return _Console(stderr=True, highlight=False, emoji=False)


def to_json(value: Any, *, indent: int | None = 2) -> str:
    return json_util.dumps(value, json_options=JSON_OPTIONS, indent=indent, ensure_ascii=False)


def print_json(value: Any) -> None:
    """Extended JSON on stdout, unwrapped and uncoloured so scripts can parse it."""
    typer.echo(to_json(value))


@contextlib.contextmanager
def progress_bar(description: str, total: int | None = None) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr (when it is a terminal), driven by a `(done, total)` callback."""
    stderr = err_console()
    progress = Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeRemainingColumn(), console=stderr, transient=True, disable=not stderr.is_terminal)
    with progress:
        task = progress.add_task(description, total=total)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update


__all__ = [
    "JSON_OPTIONS",
    "Archived",
    "AsJson",
    "Challenge",
    "EpochlogGroup",
    "Query",
    "Sort",
    "StatusOpt",
    "Tag",
    "Uri",
    "app",
    "console",
    "err_console",
    "fail",
    "open_tracker",
    "parse_sort",
    "print_json",
    "progress_bar",
    "resolve_uri",
    "summary_field",
    "to_json",
]

