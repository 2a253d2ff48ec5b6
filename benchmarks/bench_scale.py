"""The embedded store at a year of sweeps: 10,000 to 100,000 experiments with 30 epochs each (3,000,000 at the top).

    python benchmarks/bench_scale.py [--sizes 10000,30000,100000] [--budget-ms 100] [--db path.db]

At each size (the store grows from one to the next) it times, median of several after a warm-up:
the dashboard's first page, a leaderboard on a metric the user picked (with the index `epochlog index add`
makes, and without it for contrast), searches on a config path, `group_stats` over 1,000 groups (pushed into SQL
through the grouping index, after a write and asked again with nothing written since; and the config-except-seed
grouping, which reads every document), an aggregation `$group` in SQL and in Python, and one run's history among
3,000,000 epochs. The budgeted questions must answer under `--budget-ms` at the largest size; the
script exits non-zero when one does not, and prints how each grows from the smallest size to the largest.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.measure import median_of  # noqa: E402
from benchmarks.scale_data import GROUP_BY, LEARNING_RATES, fill  # noqa: E402
from epochlog import ConfigExcept, Tracker  # noqa: E402
from epochlog.query.aggregate.stages import run_stages  # noqa: E402
from epochlog.web import create_app, listing  # noqa: E402

MODEL_GROUP = {"_id": "$config.model", "mean": {"$avg": "$metrics.best_val_loss"},
               "best": {"$min": "$metrics.best_val_loss"}, "runs": {"$sum": 1}}
INDEXES = (("metrics.best_val_acc",), ("config.learning_rate",),
           ("status", *GROUP_BY, "archived", "metrics.best_val_loss"))


def questions(tracker: Tracker, client: TestClient) -> list[tuple[str, bool, Callable[[], object]]]:
    """(label, budgeted, call) of every question timed."""
    def page(path: str, **params: object) -> Callable[[], object]:
        def get() -> object:
            response = client.get(path, params=params)
            if response.status_code != 200:
                raise SystemExit(f"GET {path} failed with {response.status_code}: {response.text[:300]}")
            return response
        return get

    def after_a_write(call: Callable[[], object]) -> object:
        tracker.beat(first)  # one experiment's heartbeat: the store changed, so no answer is kept
        return call()

    rate = LEARNING_RATES[7]
    return [
        ("dashboard: GET / (first page, newest first)", True, page("/")),
        ("dashboard: GET /api/experiments (first page)", True, page("/api/experiments")),
        ("dashboard: the filter choices, uncached (GET / caches them 15 s)", True, lambda: listing.facets(tracker)),
        ("leaderboard: top 10 by metrics.best_val_acc (indexed)", True,
         lambda: tracker.get_best_models(metric="metrics.best_val_acc", mode="max", n=10)),
        ("leaderboard: ... of any status", True,
         lambda: tracker.get_best_models(metric="metrics.best_val_acc", mode="max", n=10, status="any")),
        ("leaderboard: top 10 by metrics.final_train_loss (no index)", False,
         lambda: tracker.get_best_models(metric="metrics.final_train_loss", n=10)),
        ("search: config.learning_rate = x, first 100 (indexed)", True,
         lambda: tracker.search_experiments({"config.learning_rate": rate}, limit=100)),
        ("search: config.learning_rate = x and config.optimizer = SGD, best 100", True,
         lambda: tracker.search_experiments({"config.learning_rate": rate, "config.optimizer": "SGD"},
                                            sort=[("metrics.best_val_loss", 1)], limit=100)),
        ("search: config.optimizer = SGD, newest 100 (no index)", True,
         lambda: tracker.search_experiments({"config.optimizer": "SGD"}, sort=[("start_time", -1)], limit=100)),
        ("group_stats: 1,000 groups by 3 config paths (indexed), after a write", True,
         lambda: after_a_write(lambda: tracker.group_stats(GROUP_BY, "metrics.best_val_loss"))),
        ("group_stats: ... mode max, after a write", True,
         lambda: after_a_write(lambda: tracker.group_stats(GROUP_BY, "metrics.best_val_loss", "max"))),
        ("group_stats: ... asked again, nothing written since (the answer kept)", True,
         lambda: tracker.group_stats(GROUP_BY, "metrics.best_val_loss")),
        ("group_stats: 1,000 groups by the config except seed (reads all)", False,
         lambda: tracker.group_stats(ConfigExcept("seed"), "metrics.best_val_loss")),
        ("aggregate: $group by config.model, $avg, $min and $sum of a metric (in SQL)", False,
         lambda: tracker.aggregate("experiments", [{"$match": {"status": "completed"}}, {"$group": MODEL_GROUP}])),
        ("aggregate: ... the same $group in Python, as before (for contrast)", False,
         lambda: run_stages([("$group", MODEL_GROUP)], tracker.search_experiments({"status": "completed"}),
                            tracker.store.find)),
        ("history: one run's 30 epochs among all epochs", True, lambda: tracker.get_experiment_history(first)),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,30000,100000", help="experiment counts, ascending")
    parser.add_argument("--budget-ms", type=float, default=100.0, help="0: report only")
    parser.add_argument("--runs", type=int, default=7, help="timed calls per question, at most (2 s each)")
    parser.add_argument("--db", type=Path, help="the store to fill (default: one in a temporary directory)")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as folder:
        path = args.db or Path(folder) / "scale.db"
        if path.exists():
            raise SystemExit(f"{path} exists: the benchmark fills a store of its own")
        tracker = Tracker(path)
        results: dict[str, list[float]] = {}
        budgeted: dict[str, bool] = {}
        done = 0
        for size in sizes:
            began = time.perf_counter()
            fill(tracker.store, done, size)
            if not done:
                for keys in INDEXES:
                    tracker.create_index(*keys)
            print(f"{size:,} experiments, {size * 30:,} epochs (filled in {time.perf_counter() - began:.0f} s)",
                  flush=True)
            done = size
            global first
            first = tracker.search_experiments({"experiment_name": "sweep-000000"}, limit=1)[0]["_id"]
            with TestClient(create_app(tracker), base_url="http://127.0.0.1") as client:
                for label, budget, call in questions(tracker, client):
                    median = median_of(call, budget_s=2.0, max_reps=args.runs)[0] * 1000
                    results.setdefault(label, []).append(median)
                    budgeted[label] = budget
                    print(f"  {label:<72} {median:9.1f} ms", flush=True)
        tracker.close()
    print(f"\n| question | {' | '.join(f'{size:,}' for size in sizes)} | growth |")
    print(f"|---|{'---|' * len(sizes)}---|")
    failures = []
    for label, medians in results.items():
        growth = medians[-1] / medians[0] if medians[0] else float("nan")
        print(f"| {label}{'' if budgeted[label] else ' (no budget)'} | "
              f"{' | '.join(f'{median:.1f} ms' for median in medians)} | {growth:.1f}x |")
        if budgeted[label] and args.budget_ms and medians[-1] > args.budget_ms:
            failures.append(f"{label}: {medians[-1]:.0f} ms at {sizes[-1]:,} > {args.budget_ms:.0f} ms")
    for failure in failures:
        print("MISS:", failure)
    print("all budgets met" if not failures else f"{len(failures)} budget(s) missed")
    return 1 if failures else 0


first: object = None

if __name__ == "__main__":
    sys.exit(main())
