"""`epochlog logs ID`: a run's captured console (`start_run(console=True)`), as `docker logs` shows a container's."""

from __future__ import annotations

import sys
import time
from typing import Annotated

import typer
from bson import ObjectId

from ..console import ConsoleLog
from ..tracker import Tracker
from .app import Uri, app, open_tracker
from .browse import Ref, resolve

FOLLOW_INTERVAL = 1.0  # seconds between reads with --follow (the run writes every second)


@app.command("logs")
def logs(ref: Ref,
         tail: Annotated[int | None, typer.Option("--tail", "-n", metavar="N", min=0,
                                                  help="Only the last N lines.")] = None,
         follow: Annotated[bool, typer.Option("--follow", "-f",
                                              help="Keep printing new lines until the run ends (or Ctrl-C).")] = False,
         timestamps: Annotated[bool, typer.Option("--timestamps", "-t", help="Start each line with its time (UTC).")]
         = False,
         uri: Uri = None) -> None:
    """What a run printed: stdout lines on stdout, stderr lines on stderr, in the order printed."""
    with open_tracker(uri) as tracker:
        eid = resolve(tracker, ref)
        log = tracker.get_console(eid, tail=tail)
        _print(log, timestamps)
        while follow and _running(tracker, eid):
            try:
                time.sleep(FOLLOW_INTERVAL)
            except KeyboardInterrupt:
                return
            log = tracker.get_console(eid, after=log.last_seq)
            _print(log, timestamps)
        if follow:  # the run ended: what its last write held
            _print(tracker.get_console(eid, after=log.last_seq), timestamps)


def _running(tracker: Tracker, eid: ObjectId) -> bool:
    return tracker.get_experiment(eid).get("status") == "running"


def _print(log: ConsoleLog, timestamps: bool) -> None:
    for index, line in enumerate(log.lines):
        if index == log.dropped_at:
            sys.stderr.write(f"… {log.dropped_lines} lines dropped by the run's console limit …\n")
        stream = sys.stderr if line.stream == "stderr" else sys.stdout
        stream.write((f"{line.time:%Y-%m-%dT%H:%M:%S.%f}"[:-3] + "Z " if timestamps else "") + line.text + "\n")
    sys.stdout.flush()


__all__ = ["logs"]
