"""The results table and the targets, checked on ratios measured in the same run.

    python -m benchmarks.report benchmarks/results/<timestamp>.jsonl    # re-print a run's table
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .adapters import ADAPTERS

EMBEDDED, RAW_SQLITE, MLFLOW = "epochlog-embedded", "raw-sqlite3", "mlflow-sqlite"
JOURNALED = ("epochlog-mongo-journal", "epochlog-mongo-journal-lag")

ROWS = [  # (workload, metric, label)
    ("W1", "log_epoch_p50", "W1 log_epoch p50 (ms)"),
    ("W1", "log_epoch_p99", "W1 log_epoch p99 (ms)"),
    ("W1", "runs_per_s", "W1 runs/s"),
    ("W1", "round_trips_per_1000_epochs", "W1 round trips / 1,000 epochs"),
    ("W2", "points_per_s_1_metric", "W2 points/s, 1 metric"),
    ("W2", "points_per_s_10_metrics", "W2 points/s, 10 metrics"),
    ("W3", "best5_median", "W3 best-5 median (ms)"),
    ("W3", "search_median", "W3 config search median (ms)"),
    ("W4", "history_median", "W4 history median (ms)"),
    ("W4", "series_median", "W4 series read median (ms)"),
    ("W5", "epochs_per_s", "W5 epochs/s, all processes"),
    ("M", "rss_growth", "M RSS growth (MB)"),
    ("M", "points_per_s", "M points/s, per-step calls"),
    ("T", "overhead_pct", "T training-loop overhead (%)"),
]


@dataclass(frozen=True)
class Check:
    target: str
    adapter: str
    measured: float | None
    limit: str
    status: str  # PASS, MISS, or N/A (a number it needs was not measured in this run)

    def line(self) -> dict[str, Any]:
        return {"kind": "check", "target": self.target, "adapter": self.adapter, "measured": self.measured,
                "limit": self.limit, "status": self.status}


Values = dict[tuple[str, str, str], float]


def values_of(lines: Iterable[dict[str, Any]]) -> Values:
    return {(line["adapter"], line["workload"], line["metric"]): line["value"]
            for line in lines if line.get("kind") == "result" and line.get("value") is not None}


def checks(values: Values) -> list[Check]:
    def get(adapter: str, workload: str, metric: str) -> float | None:
        return values.get((adapter, workload, metric))

    found: list[Check] = []

    def check(target: str, adapter: str, measured: float | None, limit: str, ok: Callable[[float], bool]) -> None:
        status = "N/A" if measured is None else ("PASS" if ok(measured) else "MISS")
        found.append(Check(target, adapter, measured, limit, status))

    def ratio(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None or not b else a / b

    p50 = get(EMBEDDED, "W1", "log_epoch_p50")
    check("W1 log_epoch p50 / raw sqlite3 p50", EMBEDDED, ratio(p50, get(RAW_SQLITE, "W1", "log_epoch_p50")),
          "<= 2", lambda x: x <= 2)
    check("W1 MLflow p50 / log_epoch p50", EMBEDDED, ratio(get(MLFLOW, "W1", "log_epoch_p50"), p50),
          ">= 50", lambda x: x >= 50)
    for metric, label in (("points_per_s_1_metric", "1 metric"), ("points_per_s_10_metrics", "10 metrics")):
        check(f"W2 points/s, {label}", EMBEDDED, get(EMBEDDED, "W2", metric), ">= 1,000,000",
              lambda x: x >= 1_000_000)
    best = get(EMBEDDED, "W3", "best5_median")
    check("W3 best-5 / raw sqlite3", EMBEDDED, ratio(best, get(RAW_SQLITE, "W3", "best5_median")), "<= 3",
          lambda x: x <= 3)
    check("W3 best-5 (ms)", EMBEDDED, best, "< 2", lambda x: x < 2)
    check("W4 history / raw sqlite3", EMBEDDED,
          ratio(get(EMBEDDED, "W4", "history_median"), get(RAW_SQLITE, "W4", "history_median")), "<= 2",
          lambda x: x <= 2)
    check("W4 series read (ms)", EMBEDDED, get(EMBEDDED, "W4", "series_median"), "< 150", lambda x: x < 150)
    check("M RSS growth (MB)", EMBEDDED, get(EMBEDDED, "M", "rss_growth"), "< 50", lambda x: x < 50)
    for adapter in JOURNALED:
        if any(key[0] == adapter for key in values):
            check("W1 log_epoch p50 / embedded p50", adapter, ratio(get(adapter, "W1", "log_epoch_p50"), p50),
                  "<= 2", lambda x: x <= 2)
    for adapter in (EMBEDDED, *JOURNALED):
        if (adapter, "T", "overhead_pct") in values:
            check("T training-loop overhead (%)", adapter, get(adapter, "T", "overhead_pct"), "< 1",
                  lambda x: x < 1)
    return found


def _scales(lines: list[dict[str, Any]], adapter: str) -> str:
    """An adapter's scale, and the workloads it ran at another one ("quick; T full")."""
    by_workload: dict[str, str] = {}
    for line in lines:
        if line.get("kind") == "result" and line["adapter"] == adapter:
            by_workload.setdefault(line["workload"], line["scale"])
    main = next(iter(by_workload.values()))
    others = [f"{workload} {scale}" for workload, scale in by_workload.items() if scale != main]
    return "; ".join([main, *others])


def table(lines: list[dict[str, Any]]) -> str:
    values = values_of(lines)
    adapters = [name for name in ADAPTERS if any(key[0] == name for key in values)]
    out = ["| | " + " | ".join(adapters) + " |", "|---" * (len(adapters) + 1) + "|",
           "| scale | " + " | ".join(_scales(lines, adapter) for adapter in adapters) + " |"]
    for workload, metric, label in ROWS:
        cells = [_number(values.get((adapter, workload, metric))) for adapter in adapters]
        if any(cell != "" for cell in cells):
            out.append(f"| {label} | " + " | ".join(cells) + " |")
    errors = [line for line in lines if line.get("kind") == "error"]
    for line in errors:
        out.append(f"\nERROR {line['adapter']} {line['workload']}: {line['error'].strip().splitlines()[-1]}")
    return "\n".join(out)


def check_table(found: list[Check]) -> str:
    out = ["| target | adapter | measured | limit | |", "|---|---|---|---|---|"]
    for item in found:
        out.append(f"| {item.target} | {item.adapter} | {_number(item.measured)} | {item.limit} | {item.status} |")
    return "\n".join(out)


def _number(value: float | None) -> str:
    if value is None:
        return ""
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 0.1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def main() -> None:
    with open(sys.argv[1]) as handle:
        lines = [json.loads(line) for line in handle if line.strip()]
    print(table(lines))
    print()
    print(check_table(checks(values_of(lines))))


if __name__ == "__main__":
    main()
