"""Checkpoint-copy benchmark: what `save_checkpoint_info(store_file=True)` costs a training loop (issue 15).

    python benchmarks/bench_artifacts.py [--mb 50] [--epoch-seconds 2] [--epochs 3] [--blocks 2]

Each epoch does `--epoch-seconds` of matrix products (numpy, every core, as a framework's step does), writes a
new `--mb` MB checkpoint file and registers it. Three kinds of checkpoint call are compared: registered
only (`store_file=False`), copied into a directory artifact store in the background (`store_file=True`; the copy
is waited for before the next measurement, untimed), and MLflow's `log_artifact` into its local artifact store
(a synchronous copy), in the same process. Each measurement is one epoch with its checkpoint call plus the next
epoch's steps (which a background copy overlaps), the three kinds interleaved; the overhead is the extra time
against the registered-only epochs; the target is under 1%.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

TARGET_PERCENT = 1.0


def calibrate(seconds: float) -> int:
    """How many 384x384 products take about `seconds` here."""
    a = np.random.default_rng(0).standard_normal((384, 384))
    started, count = time.perf_counter(), 0
    while time.perf_counter() - started < 0.3:
        a @ a
        count += 1
    return max(1, int(count * seconds / 0.3))


def epoch(products: int, checkpoint: Path, size: int, register: Callable[[Path], None]) -> float:
    """One epoch: the steps, the checkpoint file written (untimed, the same in every block), its registration."""
    a = np.random.default_rng(1).standard_normal((384, 384))
    started = time.perf_counter()
    for _ in range(products):
        a @ a
    spent = time.perf_counter() - started
    checkpoint.write_bytes(os.urandom(size))  # new content each epoch: nothing is deduplicated
    started = time.perf_counter()
    register(checkpoint)
    return spent + time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=50.0)
    parser.add_argument("--epoch-seconds", type=float, default=2.0)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--blocks", type=int, default=2)
    args = parser.parse_args(argv)
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    import mlflow

    from epochlog import Tracker

    size = int(args.mb * 1e6)
    products = calibrate(args.epoch_seconds)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["EPOCHLOG_UPLOADS_DIR"] = str(root / "uploads")
        tracker = Tracker(root / "bench.db", artifacts=root / "artifacts", heartbeat_interval=3600, system_interval=0)
        run = tracker.create_experiment("bench", 1, capture=False)
        mlflow.set_tracking_uri(f"sqlite:///{root / 'mlflow.db'}")  # its artifacts: a local directory
        mlflow.start_run(experiment_id=mlflow.create_experiment("bench", (root / "mlartifacts").as_uri()))
        times: dict[str, list[float]] = {"registered": [], "copied": [], "mlflow": []}
        counter = iter(range(10**9))

        def save(store_file: bool) -> Callable[[Path], None]:
            return lambda path: tracker.save_checkpoint_info(run, next(counter), {"val_loss": 0.5}, {"path": path},
                                                             store_file=store_file) and None

        registers = {"registered": save(False), "copied": save(True),
                     "mlflow": lambda path: mlflow.log_artifact(str(path))}
        order = list(registers)
        for repeat in range(args.epochs * args.blocks):
            for name in order[repeat % 3:] + order[:repeat % 3]:  # each kind first in turn: drift cancels out
                assert tracker.copies is not None and tracker.copies.uploader.drain(600)  # untimed
                # the epoch that saves, and the next one's steps, which the background copy overlaps
                spent = epoch(products, root / f"{name}.pt", size, registers[name])
                times[name].append(spent + epoch(products, root / "next.pt", 0, lambda path: None))
        copies = dict(tracker.copies.artifacts.sizes())
        mlflow.end_run()
        tracker.close()
    base = statistics.median(times["registered"])
    lines = [f"{args.mb:g} MB checkpoint per epoch of {args.epoch_seconds:g} s of steps; median of "
             f"{args.epochs * args.blocks} pairs of epochs each:"]
    for name, label in (("registered", "registered only (store_file=False)"),
                        ("copied", "copied in the background (store_file=True)"),
                        ("mlflow", "MLflow log_artifact (synchronous copy)")):
        median = statistics.median(times[name])
        lines.append(f"  {label:44s} {median:8.3f} s  {100 * (median - base) / base:+7.2f}%")
    share = 100 * (statistics.median(times["copied"]) - base) / base
    lines.append(f"{len(copies)} files stored, {sum(copies.values()) / 1e6:,.0f} MB")
    lines.append(f"overhead of store_file=True: {share:.2f}% (target < {TARGET_PERCENT}%) "
                 f"{'PASS' if share < TARGET_PERCENT else 'MISS'}")
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
