"""How the recorder turns pieces from both streams into chunks: each line timed by the piece holding its newline,
its stream kept by index, and a chunk split between the head and the tail without moving a line to the other stream."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bson import ObjectId

from epochlog.console.recorder import ConsoleRecorder
from epochlog.documents import millis_to_date
from epochlog.store.base import Put, Write

T0 = 1_700_000_000.0


def chunks(writes: list[Write]) -> list[dict[str, Any]]:
    return [write.document for write in writes if isinstance(write, Put)]


def recorder(limit: int = 1_000_000) -> tuple[ConsoleRecorder, list[Write]]:
    written: list[Write] = []

    def write(batch: Sequence[Write]) -> None:
        written.extend(batch)

    return ConsoleRecorder(ObjectId(), write, limit=limit), written


def test_each_line_is_timed_by_the_piece_that_ended_it_and_keeps_its_stream() -> None:
    console, written = recorder()
    sink = console.sink
    sink((T0, "stdout", "epoch 1 "))
    sink((T0 + 0.010, "stdout", "loss 0.5\n"))
    sink((T0 + 0.020, "stderr", "warn a\nwarn b\npartial "))  # two lines ended by one piece
    sink((T0 + 0.030, "stdout", "epoch 2\n"))
    sink((T0 + 0.040, "stderr", "error\n"))
    sink((T0 + 0.050, "stdout", "no newline yet"))
    console.flush()
    [chunk] = chunks(written)
    assert chunk["text"].split("\n") == ["epoch 1 loss 0.5", "warn a", "warn b", "epoch 2", "partial error"]
    assert chunk["stderr"] == [1, 2, 4]
    assert chunk["offsets_ms"] == [0, 10, 10, 20, 30]
    assert chunk["time"] == millis_to_date(round((T0 + 0.010) * 1000))
    assert chunk["count"] == 5 and chunk["part"] == "head"

    console.flush(final=True)
    last = chunks(written)[-1]
    assert last["text"] == "no newline yet" and last["stderr"] == [] and last["seq"] > chunk["seq"]


def test_a_chunk_that_fills_the_head_is_split_with_the_stderr_indexes_of_each_part() -> None:
    console, written = recorder(limit=40)  # a head of 20 bytes: the first two 9-byte lines
    for index, stream in enumerate(["stdout", "stderr", "stderr", "stdout", "stderr"]):
        console.sink((T0 + index, stream, f"line {index:03}\n"))
    console.flush()
    head, tail = chunks(written)
    assert (head["part"], head["text"], head["stderr"]) == ("head", "line 000\nline 001", [1])
    assert (tail["part"], tail["text"], tail["stderr"]) == ("tail", "line 002\nline 003\nline 004", [0, 2])
    assert tail["offsets_ms"] == [0, 1000, 2000] and tail["seq"] > head["seq"]
    assert console.summary() == {"lines": 5, "bytes": 45, "dropped_lines": 0, "dropped_bytes": 0}
