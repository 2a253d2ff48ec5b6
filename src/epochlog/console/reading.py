"""Reading a run's console back: its chunks' lines, in the order the run printed them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from bson import ObjectId

from ..documents import as_utc
from ..finite_numbers import is_finite_number
from ..schema import CONSOLE
from ..store.base import Store
from ..types import Document

PAGE = 64  # chunks read at a time when looking for the last lines


@dataclass(frozen=True)
class ConsoleLine:
    time: dt.datetime
    stream: str  # "stdout" or "stderr"
    text: str


@dataclass
class ConsoleLog:
    """Lines in the order printed; `dropped_lines` were removed between the head and the tail by the run's limit (shown
    before the first tail line, `dropped_at`); `last_seq` is where the next read with `after=` continues."""

    lines: list[ConsoleLine] = field(default_factory=list)
    dropped_lines: int = 0
    dropped_at: int | None = None
    last_seq: int = 0

    @property
    def text(self) -> str:
        return "".join(line.text + "\n" for line in self.lines)


def read_console(store: Store, experiment_id: ObjectId, *, tail: int | None = None, after: int = 0,
                 dropped_lines: int = 0) -> ConsoleLog:
    """The run's lines logged in chunks after `after` (a `last_seq`), or only the last `tail` of them."""
    selection = {"experiment_id": experiment_id, "seq": {"$gt": after}}
    if tail is None:
        chunks = store.find(CONSOLE, selection, sort=[("seq", 1)])
    else:
        chunks = _last_chunks(store, selection, tail)
    log = ConsoleLog(last_seq=max([after, *(chunk["seq"] for chunk in chunks if isinstance(chunk.get("seq"), int))]))
    lines = [(line, chunk.get("part")) for chunk in chunks for line in _lines(chunk)]
    log.lines = [line for line, _ in lines]
    if dropped_lines:
        log.dropped_lines = dropped_lines
        log.dropped_at = _gap(store, experiment_id, chunks, lines)
    if tail is not None and len(log.lines) > tail:
        cut = len(log.lines) - tail
        log.lines = log.lines[cut:]
        log.dropped_at = None if log.dropped_at is None or log.dropped_at < cut else log.dropped_at - cut
    return log


def _gap(store: Store, experiment_id: ObjectId, chunks: list[Document],
         lines: list[tuple[ConsoleLine, object]]) -> int | None:
    """Where the dropped lines were, as an index into `lines`: before the first line of the oldest tail chunk
    kept, if it was read (a later tail chunk read first follows other tail chunks, not the gap)."""
    first = next((index for index, (_, part) in enumerate(lines) if part == "tail"), None)
    if first is None or first > 0:
        return first
    oldest = next(chunk for chunk in chunks if chunk.get("part") == "tail")
    earlier = store.count(CONSOLE, {"experiment_id": experiment_id, "part": "tail", "seq": {"$lt": oldest.get("seq")}})
    return None if earlier else 0


def _last_chunks(store: Store, selection: Document, tail: int) -> list[Document]:
    """The newest chunks, a page at a time, until they hold `tail` lines."""
    chunks: list[Document] = []
    lines = 0
    while lines < tail:
        page = store.find(CONSOLE, selection, sort=[("seq", -1)], skip=len(chunks), limit=PAGE)
        chunks.extend(page)
        lines += sum(chunk["count"] if isinstance(chunk.get("count"), int) else 1 for chunk in page)
        if len(page) < PAGE:
            break
    return chunks[::-1]


def _lines(chunk: Document) -> list[ConsoleLine]:
    """A chunk's lines; one written by other code with missing or odd fields still shows what it has."""
    text = chunk.get("text")
    texts = (text if isinstance(text, str) else "" if text is None else str(text)).split("\n")
    start = as_utc(chunk["time"]) if isinstance(chunk.get("time"), dt.datetime) else dt.datetime.min.replace(
        tzinfo=dt.timezone.utc)
    offsets: list[object] = chunk["offsets_ms"] if isinstance(chunk.get("offsets_ms"), list) else []
    errors = {index for index in chunk.get("stderr") or () if isinstance(index, int)} \
        if isinstance(chunk.get("stderr"), list) else set()
    return [ConsoleLine(start + dt.timedelta(milliseconds=_offset(offsets, index)),
                        "stderr" if index in errors else "stdout", line) for index, line in enumerate(texts)]


def _offset(offsets: list[object], index: int) -> float:
    """A line's milliseconds after its chunk's time; 0 for a missing or odd one (1e9 ms, 11 days, is odd)."""
    value: Any = offsets[index] if index < len(offsets) else 0
    return float(value) if is_finite_number(value) and abs(value) < 1e9 else 0.0
