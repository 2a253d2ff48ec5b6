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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby, repeat
from operator import itemgetter
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
            pieces = [take() for _ in range(len(self._pieces))]
            batch = _Lines([], [], [])
            for stream, group in groupby(pieces, itemgetter(1)):  # a stream's consecutive pieces, joined
                run = list(group)
                completed = self._assemblers[stream].feed("".join(map(itemgetter(2), run)))
                batch.add(stream, completed, _line_times(run, len(completed)))
            if final:
                for stream, assembler in self._assemblers.items():
                    rest = assembler.rest()
                    batch.add(stream, rest, repeat(time.time(), len(rest)))
            if batch.texts:
                self._chunk(batch)
            if self.dropped_lines != self._reported_drops:
                self._unwritten.append(Update(EXPERIMENTS, {"_id": self._experiment_id},
                                              {"console": self.summary()}))
                self._reported_drops = self.dropped_lines
            self._send()

    def summary(self) -> dict[str, int]:
        """Lines and bytes captured, and how many of them the limit dropped."""
        return {"lines": self.lines, "bytes": self.bytes, "dropped_lines": self.dropped_lines,
                "dropped_bytes": self.dropped_bytes}

    def _chunk(self, batch: _Lines) -> None:
        text = "\n".join(batch.texts)
        total = _size(text) + 1
        head_left = self._head_budget - self.bytes
        self.lines += len(batch.texts)
        self.bytes += total
        if head_left >= total:
            self._unwritten.append(Put(CONSOLE, self._document("head", batch, text)))
            return
        sizes = [_size(line) + 1 for line in batch.texts]  # the head fills up within this chunk, or is full
        split = 0
        while split < len(sizes) and head_left >= sizes[split]:
            head_left -= sizes[split]
            split += 1
        head, tail = batch.cut(split)
        if head.texts:
            self._unwritten.append(Put(CONSOLE, self._document("head", head)))
        document = self._document("tail", tail)
        self._unwritten.append(Put(CONSOLE, document))
        self._tail.append((document["_id"], sum(sizes[split:]), len(tail.texts)))
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

    def _document(self, part: str, lines: _Lines, text: str | None = None) -> dict[str, Any]:
        first_ms = int(lines.times[0] * 1000)
        first = first_ms / 1000
        self._seq = max(self._seq + 1, first_ms)
        return {"_id": ObjectId(), "experiment_id": self._experiment_id, "seq": self._seq, "part": part,
                "time": millis_to_date(first_ms),
                "offsets_ms": [round((when - first) * 1000) for when in lines.times], "stderr": lines.stderr,
                "count": len(lines.texts), "text": "\n".join(lines.texts) if text is None else text}

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




@dataclass
class _Lines:
    """Lines in the order completed: their texts, times, and the indexes of those from stderr."""

    texts: list[str]
    times: list[float]
    stderr: list[int]

    def add(self, stream: str, texts: list[str], times: Iterable[float]) -> None:
        if not texts:
            return
        if stream == "stderr":
            self.stderr.extend(range(len(self.texts), len(self.texts) + len(texts)))
        self.texts.extend(texts)
        self.times.extend(times)

    def cut(self, index: int) -> tuple[_Lines, _Lines]:
        """The lines before `index`, and from it on."""
        return (_Lines(self.texts[:index], self.times[:index], [i for i in self.stderr if i < index]),
                _Lines(self.texts[index:], self.times[index:], [i - index for i in self.stderr if i >= index]))


def _line_times(run: list[Piece], count: int) -> list[float]:
    """The times of the `count` lines a run of pieces completed: each is as old as the piece holding its newline."""
    times = [when for when, _, text in run if "\n" in text]
    if len(times) == count:  # no piece held two newlines (print's pieces never do)
        return times
    return [when for when, _, text in run for _ in range(text.count("\n"))]


def _size(text: str) -> int:
    return len(text.encode("utf-8", "replace"))
