"""The benchmark command runs end to end at a tiny scale and writes the JSON lines it documents.

Timings are not asserted: this is a test that the benchmarks work, not a benchmark.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADAPTERS = ("epochlog-embedded", "raw-sqlite3")
EXPECTED = {
    ("W1", "log_epoch_p50"), ("W1", "log_epoch_p99"), ("W1", "runs_per_s"),
    ("W2", "points_per_s_1_metric"), ("W2", "points_per_s_10_metrics"),
    ("W3", "best5_median"), ("W3", "search_median"),
    ("W4", "history_median"), ("W4", "series_median"),
}


def test_tiny_benchmark_writes_results(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--scale", "tiny", "--adapters", ",".join(ADAPTERS),
         "--only", "W1,W2,W3,W4", "--out", str(out), "--workdir", str(tmp_path / "stores")],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    results = [line for line in lines if line["kind"] == "result"]
    for adapter in ADAPTERS:
        measured = {(line["workload"], line["metric"]) for line in results if line["adapter"] == adapter}
        assert measured == EXPECTED, adapter
    for line in results:
        assert {"adapter", "workload", "metric", "value", "unit", "versions", "machine", "scale", "scale_counts",
                "run", "time", "extra"} <= line.keys()
        assert line["scale"] == "tiny" and line["scale_counts"]["runs"] == 3
        assert isinstance(line["value"], float) and line["value"] >= 0
        assert {"python", "epochlog", "sqlite", "numpy"} <= line["versions"].keys()
        assert {"cpu", "cores", "memory_gb", "platform"} <= line["machine"].keys()
    best = {line["adapter"]: line["extra"]["answer"] for line in results if line["metric"] == "best5_median"}
    assert best["epochlog-embedded"] == best["raw-sqlite3"]  # the same data, the same leaderboard
    checks = [line for line in lines if line["kind"] == "check"]
    assert checks and {check["status"] for check in checks} <= {"PASS", "MISS", "N/A"}
    assert "| W1 log_epoch p50 (ms) |" in completed.stdout
