"""Console-capture benchmark: what `start_run(console=True)` costs a run that prints (issue 14).

    python benchmarks/bench_console.py [--lines 20000] [--repeats 5]

Prints `--lines` lines of a training log (`epoch 12 step 3400 loss 0.4321`) to a file standing in for the
terminal, plainly and then inside a run capturing its console on the embedded store, flushing every 1,000 lines
as the run's thread does every second at 1,000 lines/s; the extra time per line, with the chunks' writes, is
the capture's cost. Its share of a run printing 1,000 lines/s must stay below 0.5%. There is no peer: MLflow
has no console capture (declined, mlflow issues 863 and 2106), and W&B is not installed here.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

TARGET_PERCENT = 0.5
LINES_PER_SECOND = 1_000


def print_lines(count: int, flush: object = None) -> float:
    """Seconds to print `count` log lines, calling `flush()` every 1,000 lines when given."""
    started = time.perf_counter()
    for line in range(count):
        print(f"epoch {line // 1000} step {line} loss {1 / (line + 1):.4f}")
        if flush is not None and line % LINES_PER_SECOND == LINES_PER_SECOND - 1:
            flush()  # type: ignore[operator]
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    from epochlog import Tracker

    with tempfile.TemporaryDirectory() as tmp:
        tracker = Tracker(Path(tmp) / "bench.db", heartbeat_interval=3600, system_interval=0)
        plain, captured, stored = [], [], 0
        with open(Path(tmp) / "terminal.txt", "w") as terminal:
            for _ in range(args.repeats):
                with contextlib.redirect_stdout(terminal):
                    plain.append(print_lines(args.lines))
                    with tracker.start_run("bench", 1, console=True) as run:
                        recorder = run._console
                        assert recorder is not None
                        captured.append(print_lines(args.lines, recorder.flush) + _timed(recorder.flush))
                stored = tracker.get_experiment(run.id)["console"]["lines"]
        tracker.close()
    per_line = (statistics.median(captured) - statistics.median(plain)) / args.lines
    share = 100 * per_line * LINES_PER_SECOND
    out = io.StringIO()
    out.write(f"{args.lines} lines, median of {args.repeats}:\n")
    out.write(f"  plain print           {1e6 * statistics.median(plain) / args.lines:8.2f} µs/line\n")
    out.write(f"  captured (+ writes)   {1e6 * statistics.median(captured) / args.lines:8.2f} µs/line\n")
    out.write(f"  capture's cost        {1e6 * per_line:8.2f} µs/line; {stored} lines stored of the last run\n")
    verdict = "PASS" if share < TARGET_PERCENT else "MISS"
    out.write(f"share of a run printing {LINES_PER_SECOND} lines/s: {share:.3f}% "
              f"(target < {TARGET_PERCENT}%) {verdict}\n")
    sys.stdout.write(out.getvalue())


def _timed(function: object) -> float:
    started = time.perf_counter()
    function()  # type: ignore[operator]
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
