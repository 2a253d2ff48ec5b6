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
from .frameworks import EPOCHLOG, FRAMEWORKS, PEERS
from .replay import SHIPPERS

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
TI_COLUMNS = [  # (metric, label): TI's table has a row per adapter, framework and integration
    ("step_hooks_us_per_step", "step hooks µs / step"),
    ("step_hooks_pct", "step hooks, % of step"),
    ("other_hooks_ms_per_fit", "other hooks ms / fit"),
    ("hooks_pct", "all hooks, % of fit"),
    ("fit_overhead_pct", "fit time +% (noisy)"),
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
    for adapter in ADAPTERS:
        for framework in FRAMEWORKS:
            hooks = get(adapter, "TI", f"{framework}_{EPOCHLOG}_step_hooks_pct")
            if hooks is not None:
                check(f"TI {framework}: epochlog's step hooks (% of step)", adapter, hooks, "< 1", lambda x: x < 1)
    for adapter in JOURNALED:
        if (adapter, "J", "epochlog_s") in values:  # stated for the full scale's 3,000 epochs, as all targets
            check("J journal backlog shipped (s)", adapter, get(adapter, "J", "epochlog_s"), "< 30", lambda x: x < 30)
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


def ti_table(lines: list[dict[str, Any]]) -> str:
    """TI's results: each integration's cost in each framework's fit, next to the fit's time per step."""
    values = values_of(lines)
    out = ["| adapter | framework | integration | fit ms / step | " + " | ".join(label for _, label in TI_COLUMNS)
           + " |", "|---" * (len(TI_COLUMNS) + 4) + "|"]
    for adapter in ADAPTERS:
        for framework in FRAMEWORKS:
            step = values.get((adapter, "TI", f"{framework}_fit_ms_per_step"))
            if step is None:
                continue
            for kind in (EPOCHLOG, *PEERS):
                cells = [_number(values.get((adapter, "TI", f"{framework}_{kind}_{metric}")))
                         for metric, _ in TI_COLUMNS]
                if any(cells):
                    out.append(f"| {adapter} | {framework} | {kind} | {_number(step)} | " + " | ".join(cells) + " |")
    return "\n".join(out) if len(out) > 2 else ""


def j_table(lines: list[dict[str, Any]]) -> str:
    """J's results: each shipper's time for the same backlog, and how many times epochlog's time it took."""
    results = {(line["adapter"], line["metric"]): line for line in lines
               if line.get("kind") == "result" and line["workload"] == "J"}
    out = ["| adapter | server | epochs | shipper | seconds | epochs/s | × epochlog's time |", "|---" * 7 + "|"]
    for adapter in ADAPTERS:
        ours = results.get((adapter, "epochlog_s"))
        for shipper, label in SHIPPERS.items():
            line = results.get((adapter, f"{shipper}_s"))
            if line is None:
                continue
            rate = results.get((adapter, f"{shipper}_epochs_per_s"), {}).get("value")
            times = line["value"] / ours["value"] if ours and ours["value"] else None
            out.append(f"| {adapter} | {line['versions'].get('server', '')} | {line['extra']['epochs']:,} | {label} | "
                       f"{_number(line['value'])} | {_number(rate)} | {_number(times)} |")
    return "\n".join(out) if len(out) > 2 else ""


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
    tables = [table(lines), ti_table(lines), j_table(lines), check_table(checks(values_of(lines)))]
    print("\n\n".join(text for text in tables if text))


if __name__ == "__main__":
    main()
