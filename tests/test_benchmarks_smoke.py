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


def test_tiny_integration_benchmark_fits_eegnex_through_skorch(tmp_path: Path) -> None:
    """TI on one framework (importing torch and braindecode is most of its time), without the MLflow peer
    (a benchmark dependency only)."""
    out = tmp_path / "results.jsonl"
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--scale", "tiny", "--adapters", "epochlog-embedded", "--only", "TI",
         "--frameworks", "skorch", "--peers", "none", "--out", str(out), "--workdir", str(tmp_path / "stores")],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    results = {line["metric"]: line for line in lines if line["kind"] == "result"}
    assert set(results) == {"skorch_fit_ms_per_step", *(f"skorch_epochlog_{metric}" for metric in (
        "step_hooks_pct", "step_hooks_us_per_step", "other_hooks_ms_per_fit", "hooks_pct", "hooks_us_per_step",
        "fit_overhead_pct"))}
    assert all(line["workload"] == "TI" and isinstance(line["value"], float) for line in results.values())
    hooks = results["skorch_epochlog_hooks_pct"]
    assert 0 < hooks["value"] < 100
    assert {"EpochlogCallback.on_batch_end", "EpochlogCallback.on_epoch_begin"} <= hooks["extra"]["by_hook"].keys()
    # the fit was recorded as a user's would be: one epoch, its batch losses as step series
    recorded = hooks["extra"]["recorded"]
    assert recorded["status"] == "completed" and recorded["epochs"] == 1
    assert recorded["series"] == {"train_batch_loss": 1, "valid_batch_loss": 1}
    assert {"train_loss", "valid_loss", "valid_acc"} <= set(recorded["epoch_keys"])
    (check,) = [line for line in lines if line["kind"] == "check" and line["target"].startswith("TI ")]
    assert check["target"] == "TI skorch: epochlog's step hooks (% of step)" and check["status"] in {"PASS", "MISS"}
    assert "| epochlog-embedded | skorch | epochlog |" in completed.stdout


def test_tiny_journal_replay_ships_the_backlog_an_outage_left(tmp_path: Path, mongo_uri: str) -> None:
    """J against the test server: the journal written while the server was unreachable is shipped whole by
    `epochlog sync`'s replay (the workload fails unless every epoch is on the server), next to its peers."""
    out = tmp_path / "results.jsonl"
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--scale", "tiny", "--adapters", "epochlog-mongo-journal", "--only", "J",
         "--mongodb-uri", mongo_uri, "--out", str(out), "--workdir", str(tmp_path / "stores")],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    results = {line["metric"]: line for line in lines if line["kind"] == "result"}
    shippers = ("epochlog", "epochlog-upsert", "pymongo-replace_one", "pymongo-insert_one", "pymongo-insert_many")
    assert set(results) == {f"{shipper}_{metric}" for shipper in shippers for metric in ("s", "epochs_per_s")}
    assert all(line["workload"] == "J" and line["value"] > 0 and line["extra"]["epochs"] == 20
               for line in results.values())
    for shipper in ("epochlog", "epochlog-upsert"):  # the run's creation, its 20 epochs and its completion
        assert results[f"{shipper}_s"]["extra"]["journal_rows"] == results[f"{shipper}_s"]["extra"]["sent"] == 22
    (check,) = [line for line in lines if line["kind"] == "check" and line["target"].startswith("J ")]
    assert check["target"] == "J journal backlog shipped (s)" and check["status"] in {"PASS", "MISS"}
    assert "| 20 | epochlog: `epochlog sync` of the journal |" in completed.stdout  # J's table


def test_tiny_push_benchmark_checks_each_push_it_times(tmp_path: Path) -> None:
    """bench_push at 40 runs: each timed push wrote exactly the new run (the benchmark exits otherwise) and a
    repeated push wrote nothing; every documented row is printed."""
    completed = subprocess.run(
        [sys.executable, "benchmarks/bench_push.py", "--experiments", "40", "--epochs", "3", "--repeats", "2",
         "--workdir", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    rows = {line[:52].strip(): line[52:].split() for line in completed.stdout.splitlines()[2:-1]}
    assert set(rows) == {"push A: a node's new run into the big store", "raw write of the same documents (the floor)",
                         "logging the run live into the big store", "first push of the big store into an empty one",
                         "first push into a copy with the same runs", "push B: the big store again, after one new run"}
    assert all(float(median) > 0 for median, _ in rows.values())
    assert (tmp_path / "big-40x3.db").exists()


def test_tiny_system_metrics_benchmark_times_a_sample_and_stores_a_real_runs(tmp_path: Path) -> None:
    """bench_system_metrics with 50 samples and a 0.3 s run: every documented line, the run's samples stored."""
    completed = subprocess.run(
        [sys.executable, "benchmarks/bench_system_metrics.py", "--samples", "50", "--run-seconds", "0.3"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    out = completed.stdout
    assert "epochlog SystemSampler.sample()" in out and "mlflow CPU+Disk+Network collect_metrics()" in out
    assert "share of a run sampled every 10 s:" in out and ("PASS" in out or "MISS" in out)
    stored = int(out.split("0.3 s: ")[1].split(" samples stored")[0])
    assert stored >= 5  # sampled every 10 ms for 0.3 s


def test_tiny_console_benchmark_prices_a_captured_line_and_stores_every_line() -> None:
    """bench_console with 2,000 lines, once: both timings, the share at 1,000 lines/s, every line stored."""
    completed = subprocess.run([sys.executable, "benchmarks/bench_console.py", "--lines", "2000", "--repeats", "1"],
                               cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    out = completed.stdout
    assert "plain print" in out and "captured (+ writes)" in out
    assert "2000 lines stored of the last run" in out
    assert "share of a run printing 1000 lines/s:" in out and ("PASS" in out or "MISS" in out)


def test_tiny_artifacts_benchmark_compares_the_three_checkpoint_calls() -> None:
    """bench_artifacts with 1 MB checkpoints and short epochs: each kind timed, every copy stored."""
    completed = subprocess.run([sys.executable, "benchmarks/bench_artifacts.py", "--mb", "1", "--epoch-seconds",
                                "0.05", "--epochs", "2", "--blocks", "1"],
                               cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    out = completed.stdout
    for label in ("registered only", "copied in the background", "MLflow log_artifact"):
        assert label in out
    assert "2 files stored, 2 MB" in out
    assert "overhead of store_file=True:" in out and ("PASS" in out or "MISS" in out)


def test_tiny_scale_benchmark_times_every_question(tmp_path: Path) -> None:
    """bench_scale.py at 300 and 600 experiments: every question answered at both sizes, growth reported."""
    completed = subprocess.run(
        [sys.executable, "benchmarks/bench_scale.py", "--sizes", "300,600", "--runs", "1", "--budget-ms", "0",
         "--db", str(tmp_path / "scale.db")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    table = [line for line in completed.stdout.splitlines() if line.startswith("| ") and " ms |" in line]
    assert len(table) == 16 and all(line.count(" ms ") == 2 and line.endswith("x |") for line in table)
    assert "600 experiments, 18,000 epochs" in completed.stdout and "all budgets met" in completed.stdout
