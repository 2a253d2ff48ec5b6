"""Teeing a process's output: what is written still reaches the terminal unchanged, and a copy goes to a sink.

Two ways, as W&B has them (`wrap` and `redirect`):
- `StreamTee` replaces `sys.stdout` / `sys.stderr` with a wrapper; it sees what Python code prints, not what a
  C extension or a subprocess writes to the file descriptor, nor a stream some library kept a reference to.
- `FdTee` puts a pipe in place of file descriptor 1 or 2, so everything written to it is seen, from any
  code; a thread copies what arrives to the original descriptor and to the sink.
"""

from __future__ import annotations

import codecs
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

#: (time.time() of the write, stream name, text)
Piece = tuple[float, str, str]
#: Receives each piece written.
Sink = Callable[[Piece], None]
READ_SIZE = 65_536
JOIN_TIMEOUT = 2.0  # seconds `FdTee.stop` waits for the copying thread (a subprocess may still hold the pipe)


class _TeeStream:
    """A text stream that writes to the one it replaced and hands a copy to the sink; everything else
    (`encoding`, `isatty`, `fileno`, ...) is the original's."""

    def __init__(self, original: TextIO, name: str, sink: Sink) -> None:
        self._original = original
        self._name = name
        self._sink: Sink | None = sink

    def write(self, text: str) -> int:
        written = self._original.write(text)
        sink = self._sink
        if sink is not None and text:
            sink((time.time(), self._name, text))
        return written

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)


class StreamTee:
    """Tee `sys.stdout` and `sys.stderr` until `stop`."""

    def __init__(self, sink: Sink) -> None:
        self._sink = sink
        self._tees: dict[str, _TeeStream] = {}

    def start(self) -> None:
        for name in ("stdout", "stderr"):
            original = getattr(sys, name)
            if original is None:  # pythonw, a daemon: nothing to tee
                continue
            tee = _TeeStream(original, name, self._sink)
            self._tees[name] = tee
            setattr(sys, name, tee)

    def stop(self) -> None:
        """Put the original streams back; a tee something else has wrapped since only stops copying."""
        for name, tee in self._tees.items():
            tee._sink = None
            if getattr(sys, name) is tee:
                setattr(sys, name, tee._original)
        self._tees.clear()


class FdTee:
    """Tee file descriptors 1 and 2 through pipes until `stop`."""

    def __init__(self, sink: Sink) -> None:
        self._sink = sink
        self._saved: dict[int, int] = {}  # descriptor -> a duplicate of what it was
        self._readers: list[threading.Thread] = []

    def start(self) -> None:
        for fd, name in ((1, "stdout"), (2, "stderr")):
            try:
                saved = os.dup(fd)
            except OSError:  # the descriptor is closed: nothing to tee
                continue
            read_end, write_end = os.pipe()
            _flush_python_stream(fd)
            os.dup2(write_end, fd)
            os.close(write_end)
            self._saved[fd] = saved
            reader = threading.Thread(target=self._copy, args=(read_end, saved, name), daemon=True,
                                      name=f"epochlog-console-{name}")
            reader.start()
            self._readers.append(reader)

    def stop(self) -> None:
        """Put the descriptors back; the copying threads end once every writer of their pipe has let go."""
        for fd, saved in self._saved.items():
            _flush_python_stream(fd)
            os.dup2(saved, fd)  # the pipe's last write end in this process closes here
        self._saved.clear()
        for reader in self._readers:
            reader.join(JOIN_TIMEOUT)
        self._readers.clear()

    def _copy(self, read_end: int, original: int, name: str) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        try:
            while data := os.read(read_end, READ_SIZE):
                _write_all(original, data)
                self._sink((time.time(), name, decoder.decode(data)))
            if tail := decoder.decode(b"", final=True):
                self._sink((time.time(), name, tail))
        finally:
            os.close(read_end)
            os.close(original)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except OSError:  # the terminal went away: the copy for the log goes on
            return


def _flush_python_stream(fd: int) -> None:
    """What Python holds for the descriptor goes out before it is swapped, so it lands where it was meant to."""
    stream = sys.stdout if fd == 1 else sys.stderr
    try:
        if stream is not None:
            stream.flush()
    except (OSError, ValueError):
        pass
