"""Server time of the dashboard with big data: 10,000 experiments and a 1,000,000-point series.

    python benchmarks/bench_dashboard.py [--experiments 10000] [--uri sqlite:///path.db | mongodb://...]

The experiments page's first response (shell plus the first page of rows) must take under 300 ms of server
time; a million-point series must reach the browser as at most ~2,000 points. Requests go through the ASGI
app in-process (no network), so the times are the server's own. Exits non-zero when a budget is missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from bson import ObjectId
from fastapi.testclient import TestClient

from epochlog import Tracker
from epochlog.documents import normalize_document
from epochlog.store import Put
from epochlog.web import create_app

PAGE_BUDGET_MS = 300.0
BATCH = 1000


def make_experiments(tracker: Tracker, count: int, seed: int = 0) -> None:
    """`count` realistic experiment documents, written in batches straight to the store."""
    rng = np.random.default_rng(seed)
    families = ["EEGNeX", "EEGNetv4", "ShallowFBCSPNet", "Deep4Net"]
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=90)
    for first in range(0, count, BATCH):
        writes = []
        for index in range(first, min(first + BATCH, count)):
            family = families[index % 4]
            began = start + dt.timedelta(minutes=index * 12)
            status = "running" if index == count - 1 else ("failed" if rng.random() < 0.05 else "completed")
            loss = float(0.85 + rng.random() * 0.4)
            doc = {
                "_id": ObjectId(), "experiment_name": f"{family.lower()}_sweep_{index:05d}",
                "challenge": 1 + index % 2, "status": status, "start_time": began, "heartbeat": began,
                "end_time": None if status == "running" else began + dt.timedelta(hours=1),
                "model": {"name": family, "parameters": int(rng.integers(20_000, 3_000_000)), "n_chans": 129},
                "config": {"batch_size": int(rng.choice([16, 32, 64, 128])),
                           "learning_rate": float(10 ** rng.uniform(-4, -2.5)),
                           "optimizer": str(rng.choice(["AdamW", "Adam", "SGD"])), "dropout": 0.5,
                           "weight_decay": float(rng.choice([0, 1e-5, 1e-4])), "seed": index, "n_epochs": 50,
                           "scheduler": "cosine", "window_seconds": 2.0, "sfreq": 100, "device": "cuda"},
                "dataset": {"releases": ["R1", "R2"], "train_windows": 90_000},
                "metrics": {"best_val_loss": loss, "best_epoch": int(rng.integers(5, 50)),
                            "final_train_loss": loss - 0.1, "best_val_nrmse": loss ** 0.5, "total_epochs": 50},
                "tags": [family.lower(), f"challenge{1 + index % 2}", "sweep"], "notes": "",
                "created_by": "bench", "host": "node01", "pid": 1000 + index,
            }
            writes.append(Put("experiments", normalize_document(doc)))
        tracker.store.write(writes)


def timed(label: str, call: Callable[[], object], runs: int = 15) -> float:
    call()  # warm up caches and code paths once
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        times.append((time.perf_counter() - began) * 1000)
    median = statistics.median(times)
    print(f"  {label:<64} median {median:7.1f} ms   max {max(times):7.1f} ms")
    return median


def ok(response: object) -> object:
    status = getattr(response, "status_code", 200)
    if status != 200:
        raise SystemExit(f"request failed with {status}: {getattr(response, 'text', '')[:300]}")
    return response


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", type=int, default=10_000)
    parser.add_argument("--uri", help="a store to fill (default: a fresh embedded store in a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tracker = Tracker(args.uri or Path(folder) / "bench.db")
        began = time.perf_counter()
        make_experiments(tracker, args.experiments)
        print(f"wrote {args.experiments:,} experiments in {time.perf_counter() - began:.1f} s ({tracker.store.uri})")
        eid = tracker.create_experiment("million", 1)
        steps = np.arange(1_000_000, dtype=np.int64)
        tracker.log_metric_series(eid, "batch_loss", steps, 1 / np.log(steps + 3) + np.sin(steps / 300) * 0.01)
        failures = []
        with TestClient(create_app(tracker), base_url="http://127.0.0.1") as client:
            print("experiments page (shell + first page of rows, one paginated query with a projection):")
            page = timed("GET /  (newest first)", lambda: ok(client.get("/")))
            if page > PAGE_BUDGET_MS:
                failures.append(f"GET / took {page:.0f} ms > {PAGE_BUDGET_MS:.0f} ms")
            first_pages = [("sort by start_time", {}),
                           ("sort by metrics.best_val_loss", {"sort": "metrics.best_val_loss", "order": 1}),
                           ("sort by config.learning_rate", {"sort": "config.learning_rate"}),
                           ("challenge 2 + status completed", {"challenge": 2, "status": "completed"}),
                           ("free filter on a metric", {"filter": '{"metrics.best_val_loss": {"$lt": 0.9}}'})]
            for label, params in first_pages:
                median = timed(f"GET /api/experiments  {label}",
                               lambda params=params: ok(client.get("/api/experiments", params=params)))
                if median > PAGE_BUDGET_MS:
                    failures.append(f"/api/experiments {label} took {median:.0f} ms")
            print("deeper pages and other views (no budget):")
            timed("GET /api/experiments  sort by config.learning_rate, page 100",
                  lambda: ok(client.get("/api/experiments", params={"sort": "config.learning_rate", "skip": 4950})),
                  runs=5)
            timed("GET /api/leaderboard", lambda: ok(client.get("/api/leaderboard")), runs=5)
            print("a 1,000,000-point step series:")
            full = client.get(f"/api/experiments/{eid}/series/batch_loss").json()
            timed(f"full view -> {len(full['steps'])} points",
                  lambda: ok(client.get(f"/api/experiments/{eid}/series/batch_loss")), runs=5)
            zoom = client.get(f"/api/experiments/{eid}/series/batch_loss",
                              params={"start": 400_000, "end": 450_000}).json()
            timed(f"zoom to 50,000 steps -> {len(zoom['steps'])} points",
                  lambda: ok(client.get(f"/api/experiments/{eid}/series/batch_loss",
                                        params={"start": 400_000, "end": 450_000})), runs=5)
            if len(full["steps"]) > 2000 or len(zoom["steps"]) > 2000:
                failures.append("a series view holds more than 2,000 points")
        tracker.close()
    for failure in failures:
        print("FAIL:", failure)
    print("all budgets met" if not failures else f"{len(failures)} budget(s) missed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
