"""fetch, gc: the checkpoint copies in the artifact store (`save_checkpoint_info(store_file=True)`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .app import Artifacts, Uri, app, console, open_tracker
from .browse import resolve


@app.command("fetch")
def fetch(ref: Annotated[str, typer.Argument(metavar="ID", help="The experiment (id or name).")],
          epoch: Annotated[int | None, typer.Option("--epoch", "-e", metavar="N",
                                                    help="The checkpoint of this epoch, not the best one.")] = None,
          best: Annotated[bool, typer.Option("--best", help="The best checkpoint (the default).")] = True,
          output: Annotated[Path, typer.Option("--output", "-o", metavar="DIR",
                                               help="Where to write it.")] = Path("."),
          artifacts: Artifacts = None, uri: Uri = None) -> None:
    """Download a checkpoint's stored copy (a file, or a directory such as a Hugging Face checkpoint-500/),
    verified against its sha256, and print where it went."""
    with open_tracker(uri, artifacts=artifacts or True) as tracker:
        path = tracker.fetch_checkpoint(resolve(tracker, ref), epoch, to=output)
    console().print(str(path))


@app.command("gc")
def gc(keep_best: Annotated[bool, typer.Option("--keep-best", help="Keep each experiment's best checkpoint.")]
       = False,
       keep_last: Annotated[int | None, typer.Option("--keep-last", metavar="K", min=0,
                                                     help="Keep each experiment's last K checkpoints.")] = None,
       apply: Annotated[bool, typer.Option("--apply", help="Delete for real (without it: a dry run).")] = False,
       artifacts: Artifacts = None, uri: Uri = None) -> None:
    """Free the artifact store of the checkpoint copies no kept checkpoint needs (a dry run unless --apply).
    Running experiments keep all theirs; the checkpoint files on disk and the records are left alone."""
    with open_tracker(uri, writes=apply, artifacts=artifacts or True) as tracker:
        done = tracker.collect_artifacts(keep_best=keep_best, keep_last=keep_last, dry_run=not apply)
    size = f"{done.bytes / 1e6:,.1f} MB" if done.bytes >= 1e5 else f"{done.bytes:,} bytes"
    what = (f"{len(done.files)} stored file{'s' if len(done.files) != 1 else ''} ({size}), the copies of "
            f"{len(done.checkpoints)} checkpoint{'s' if len(done.checkpoints) != 1 else ''}; {done.kept} kept")
    leftovers = f" Removed {done.leftovers} partial cop{'ies' if done.leftovers != 1 else 'y'} left by killed " \
        "processes." if done.leftovers else ""
    console().print(f"Freed {what}.{leftovers}" if apply else
                    f"Would free {what}. Run again with --apply to delete them.")


__all__ = ["fetch", "gc"]
