"""A run's console output, captured: `start_run(console=True)` (the integrations' default), read back with
`Tracker.get_console`, `epochlog logs` and the dashboard's console panel (docs/CONTEXT.md).

    lines.py      text as a terminal shows it: escapes removed, progress-bar redraws collapsed
    tee.py        `sys.stdout`/`sys.stderr` wrapped, or file descriptors 1 and 2 piped
    recorder.py   lines into chunks in the `console` collection, within the run's limit
    reading.py    chunks back into lines
"""

from __future__ import annotations

from typing import Literal, Union

from ..errors import InvalidArgument
from .reading import ConsoleLine, ConsoleLog, read_console
from .recorder import DEFAULT_LIMIT, ConsoleRecorder
from .tee import FdTee, Sink, StreamTee

#: What `console=` takes: False (no capture), True or "streams" (Python's streams), "fds" (file descriptors 1
#: and 2, which also catches C extensions and subprocesses).
ConsoleSpec = Union[bool, Literal["streams", "fds"]]
MODES = ("streams", "fds")


def console_mode(console: object) -> str | None:
    """The capture mode `console=` asks for (None: no capture); InvalidArgument for anything else."""
    if console is False or console is None:
        return None
    if console is True:
        return "streams"
    if console in MODES:
        return str(console)
    raise InvalidArgument(f"console must be True, False, 'streams' or 'fds'; got {console!r}")


def start_tee(mode: str, sink: Sink) -> StreamTee | FdTee:
    """A started tee of the kind `mode` names."""
    tee = FdTee(sink) if mode == "fds" else StreamTee(sink)
    tee.start()
    return tee


__all__ = ["DEFAULT_LIMIT", "MODES", "ConsoleLine", "ConsoleLog", "ConsoleRecorder", "ConsoleSpec", "console_mode",
           "read_console", "start_tee"]
