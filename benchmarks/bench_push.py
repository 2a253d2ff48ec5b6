"""Push benchmark: one new 30-epoch run pushed into an embedded store of 10,000 experiments (issue 15).

    python benchmarks/bench_push.py [--experiments 10000] [--epochs 30] [--repeats 5] [--workdir DIR]

Builds a store of `--experiments` completed runs of `--epochs` epochs each (history of a month ago, written with
`Store.write` batches; kept in `--workdir` and reused when it is there), then times, each as the median of
`--repeats`:

- push A: a node's file holding one new run (30 epochs, a 3,000-point series, 2 checkpoints) into the big store;
- raw write, the floor: the same documents written with one `Store.write`, no comparison (ratio = A / raw);
- logging live: the same run logged through the tracker into the big store, as a training writes it;
- push B: the big store pushed again into a copy of itself after one new run (the watermark's incremental case);
- and once each: the first push of the big store into an empty one, and into a copy holding the same runs and
  no watermark (everything compared).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from epochlog.transfer import PushSummary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiments", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workdir", type=Path, help="where the big store is built and kept (default: temporary)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        work = args.workdir or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        big = work / f"big-{args.experiments}x{args.epochs}.db"
        if not big.exists():
            started = time.perf_counter()
            build(big, args.experiments, args.epochs)
            print(f"built {big} in {time.perf_counter() - started:.1f} s")
        run(big, Path(scratch), args.epochs, args.repeats)


def build(path: Path, experiments: int, epochs: int) -> None:
    """`experiments` completed runs of a month ago, with their epochs and one checkpoint each."""
    from epochlog.object_ids import new_object_id
    from epochlog.store import Put, Upsert
    from epochlog.store.sqlite import SQLiteStore

    month_ago = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(days=30)
    store = SQLiteStore(str(path) + ".part")
    rng = np.random.default_rng(0)
    for start in range(0, experiments, 200):
        writes: list[Put | Upsert] = []
        for number in range(start, min(start + 200, experiments)):
            eid = new_object_id()
            began = month_ago + dt.timedelta(minutes=number)
            losses = np.sort(rng.random(epochs))[::-1]
            writes.append(Put("experiments", {
                "_id": eid, "experiment_name": f"run-{number}", "challenge": 1 + number % 2, "status": "completed",
                "start_time": began, "end_time": began + dt.timedelta(minutes=epochs), "heartbeat": began,
                "config": {"lr": float(rng.random()), "seed": number}, "model": {"name": "eegnet"},
                "metrics": {"best_val_loss": float(losses[-1]), "best_epoch": epochs - 1, "last_epoch": epochs - 1},
                "objective": {"metric": "val_loss", "mode": "min"}, "tags": ["bench"], "notes": ""}))
            writes += [Upsert("epochs", {"_id": new_object_id(), "experiment_id": eid, "epoch": epoch,
                                         "metrics": {"val_loss": float(losses[epoch]), "train_loss": float(losses[epoch])},
                                         "timestamp": began + dt.timedelta(minutes=epoch)}) for epoch in range(epochs)]
            writes.append(Put("checkpoints", {"_id": new_object_id(), "experiment_id": eid, "epoch": epochs - 1,
                                              "metrics": {}, "file": {"path": f"/ckpt/{number}.pt"}, "is_best": True,
                                              "timestamp": began + dt.timedelta(minutes=epochs)}))
        store.write(writes)
    store.close()
    for suffix in ("-wal", "-shm"):
        Path(str(path) + ".part" + suffix).unlink(missing_ok=True)
    Path(str(path) + ".part").rename(path)


def one_run(uri: str, epochs: int) -> str:
    """A training's run as the tracker logs it: epochs, a 3,000-point series, two checkpoints."""
    from epochlog import Tracker

    with Tracker(uri) as tracker:
        run = tracker.create_experiment("new-run", 1, config={"lr": 0.01}, capture=False)
        for epoch in range(epochs):
            tracker.log_epoch(run, epoch, {"val_loss": 1 / (epoch + 1), "train_loss": 1 / (epoch + 2)})
        tracker.log_metric_series(run, "loss", np.arange(3000), np.linspace(2, 0, 3000))
        tracker.save_checkpoint_info(run, 0, {}, is_best=True)
        tracker.save_checkpoint_info(run, epochs - 1, {}, is_best=True)
        tracker.update_experiment_status(run, "completed")
    return run


def run(big: Path, scratch: Path, epochs: int, repeats: int) -> None:
    from epochlog.store import open_store
    from epochlog.transfer import push

    rows: list[tuple[str, list[float]]] = []
    dest_path = scratch / "dest.db"
    shutil.copy(big, dest_path)
    dest = f"sqlite:///{dest_path}"

    def push_a() -> float:
        node = scratch / f"node-{time.monotonic_ns()}.db"
        one_run(f"sqlite:///{node}", epochs)
        seconds = timed(lambda: copied(push(f"sqlite:///{node}", dest), 1 + epochs + 2 + 1))
        copied(push(f"sqlite:///{node}", dest), 0)  # a second push of the same file writes nothing
        return seconds

    def raw() -> float:
        node = scratch / f"raw-{time.monotonic_ns()}.db"
        one_run(f"sqlite:///{node}", epochs)
        with open_store(f"sqlite:///{node}") as source, open_store(dest) as target:
            writes = [*_puts(source, "experiments"), *_puts(source, "epochs"), *_puts(source, "checkpoints"),
                      *source.read_buckets([bucket for bucket, _ in source.series_bucket_ids()])]
            return timed(lambda: target.write(writes))

    rows.append(("push A: a node's new run into the big store", [push_a() for _ in range(repeats)]))
    rows.append(("raw write of the same documents (the floor)", [raw() for _ in range(repeats)]))
    rows.append(("logging the run live into the big store", [timed(lambda: one_run(dest, epochs))
                                                            for _ in range(repeats)]))
    copy = scratch / "copy.db"
    shutil.copy(big, copy)
    source_path = scratch / "source.db"
    shutil.copy(big, source_path)
    source, target = f"sqlite:///{source_path}", f"sqlite:///{copy}"
    empty = f"sqlite:///{scratch / 'empty.db'}"
    rows.append(("first push of the big store into an empty one", [timed(lambda: push(source, empty))]))
    rows.append(("first push into a copy with the same runs", [timed(lambda: copied(push(source, target), 0))]))

    def push_b() -> float:
        one_run(source, epochs)
        return timed(lambda: copied(push(source, target), 1 + epochs + 2 + 1))

    rows.append(("push B: the big store again, after one new run", [push_b() for _ in range(repeats)]))
    print(f"{'':52} {'median s':>9} {'max s':>8}")
    for name, times in rows:
        print(f"{name:52} {statistics.median(times):9.3f} {max(times):8.3f}")
    print(f"push A / raw write: {statistics.median(rows[0][1]) / statistics.median(rows[1][1]):.1f}x; "
          f"push A / logging live: {statistics.median(rows[0][1]) / statistics.median(rows[2][1]):.2f}x")


def _puts(store: object, collection: str) -> list[object]:
    from epochlog.store import Put

    return [Put(collection, document) for document in store.find(collection)]  # type: ignore[attr-defined]


def copied(summary: PushSummary, expected: int) -> PushSummary:
    """The summary, once it is checked to have written `expected` documents (a timing of a wrong push is void)."""
    if summary.changed != expected:
        raise SystemExit(f"push wrote {summary.changed} documents, expected {expected}: {summary.as_dict()}")
    return summary


def timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
