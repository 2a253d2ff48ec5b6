"""A run's captured console, as chunks in the `console` collection.

The tees hand over pieces of text from any thread; `flush` (the run's background thread calls it every second)
turns them into lines, in the order they were completed, and writes them as one chunk:

    {"_id", "experiment_id", "seq", "part": "head" | "tail", "time": <first line's time>,
     "offsets_ms": [milliseconds after `time`, one per line], "stderr": [indexes of the lines from stderr],
     "count": <lines>, "text": <the lines joined by "\\n">}

`seq` orders a run's chunks: the first line's time in milliseconds, or one more than the chunk before, so a
resumed run's chunks follow those it already has without looking them up. The run keeps at most `limit` bytes of text:
the first half as written (`head`), then the latest (`tail`), whose oldest chunks are deleted as new ones come.
What was dropped is counted on the experiment's `console` field. A chunk that could not be written is kept
and written by the next flush, so nothing is lost while the store is away (what is held stays within the limit).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from bson import ObjectId

from ..documents import millis_to_date
from ..errors import EpochlogError
from ..schema import CONSOLE, EXPERIMENTS
from ..store.base import Delete, Put, Update, Write
from .lines import LineAssembler
from .tee import Piece, Sink

DEFAULT_LIMIT = 10_000_000  # bytes of text a run keeps: its first and its last 5 MB
STREAMS = ("stdout", "stderr")
log = logging.getLogger("epochlog.console")


class ConsoleRecorder:
    """Collects one run's console output and writes it as chunks through `write` (the tracker's)."""

    def __init__(self, experiment_id: ObjectId, write: Callable[[Sequence[Write]], None], *,
                 limit: int = DEFAULT_LIMIT) -> None:
        self._experiment_id = experiment_id
        self._write = write
        self._head_budget = limit // 2
        self._tail_budget = limit - self._head_budget
        self._seq = 0
        self._flushing = threading.Lock()  # one flush at a time: the background thread's and the run's last
        self._pieces: deque[Piece] = deque()
        self._assemblers = {name: LineAssembler() for name in STREAMS}
        self._unwritten: list[Write] = []
        self._tail: deque[tuple[ObjectId, int, int]] = deque()  # the tail's chunks: (_id, bytes, lines)
        self._tail_bytes = 0
        self.lines = self.bytes = self.dropped_lines = self.dropped_bytes = 0
        self._reported_drops = 0

    @property
    def sink(self) -> Sink:
        """What the tees hand pieces to: a deque's `append`, atomic and cheap from any thread."""
        return self._pieces.append

    def flush(self, *, final: bool = False) -> None:
        """Write the lines completed since the last flush (with `final`, the unfinished ones too)."""
        with self._flushing:
            take = self._pieces.popleft  # pieces appended meanwhile wait for the next flush
            lines: list[tuple[float, str, str]] = []
            for _ in range(len(self._pieces)):
                when, stream, text = take()
                lines.extend((when, stream, line) for line in self._assemblers[stream].feed(text))
            if final:
                for stream, assembler in self._assemblers.items():
                    lines.extend((time.time(), stream, line) for line in assembler.rest())
            if lines:
                self._chunk(lines)
            if self.dropped_lines != self._reported_drops:
                self._unwritten.append(Update(EXPERIMENTS, {"_id": self._experiment_id},
                                              {"console": self.summary()}))
                self._reported_drops = self.dropped_lines
            self._send()

    def summary(self) -> dict[str, int]:
        """Lines and bytes captured, and how many of them the limit dropped."""
        return {"lines": self.lines, "bytes": self.bytes, "dropped_lines": self.dropped_lines,
                "dropped_bytes": self.dropped_bytes}

    def _chunk(self, lines: list[tuple[float, str, str]]) -> None:
        total = len("\n".join(text for _, _, text in lines).encode("utf-8", "replace")) + 1
        head_left = self._head_budget - self.bytes
        self.lines += len(lines)
        self.bytes += total
        if head_left >= total:
            split, sizes = len(lines), [total]
        else:  # the head fills up within this chunk, or is full: line by line
            sizes = [len(text.encode("utf-8", "replace")) + 1 for _, _, text in lines]
            split = 0
            while split < len(lines) and head_left >= sizes[split]:
                head_left -= sizes[split]
                split += 1
        if split:
            self._unwritten.append(Put(CONSOLE, self._document("head", lines[:split])))
        if split < len(lines):
            document = self._document("tail", lines[split:])
            self._unwritten.append(Put(CONSOLE, document))
            self._tail.append((document["_id"], sum(sizes[split:]), len(lines) - split))
            self._tail_bytes += sum(sizes[split:])
            self._trim()

    def _trim(self) -> None:
        """Delete the tail's oldest chunks while it is over its budget (the newest always stays)."""
        while self._tail_bytes > self._tail_budget and len(self._tail) > 1:
            chunk_id, size, count = self._tail.popleft()
            self._tail_bytes -= size
            self.dropped_bytes += size
            self.dropped_lines += count
            pending = [write for write in self._unwritten
                       if not (isinstance(write, Put) and write.document["_id"] == chunk_id)]
            if len(pending) == len(self._unwritten):
                pending.append(Delete(CONSOLE, {"_id": chunk_id}))
            self._unwritten = pending

    def _document(self, part: str, lines: list[tuple[float, str, str]]) -> dict[str, Any]:
        first = int(lines[0][0] * 1000) / 1000
        self._seq = max(self._seq + 1, int(first * 1000))
        return {"_id": ObjectId(), "experiment_id": self._experiment_id, "seq": self._seq, "part": part,
                "time": millis_to_date(int(first * 1000)),
                "offsets_ms": [int((when - first) * 1000) for when, _, _ in lines],
                "stderr": [index for index, (_, stream, _) in enumerate(lines) if stream == "stderr"],
                "count": len(lines), "text": "\n".join(text for _, _, text in lines)}

    def _send(self) -> None:
        if not self._unwritten:
            return
        try:
            self._write(self._unwritten)
        except EpochlogError as error:  # kept for the next flush
            log.warning("console of run %s not written yet (%d writes held): %s", self._experiment_id,
                        len(self._unwritten), error)
            return
        self._unwritten = []


