"""benchmarks/bench_dashboard.py runs end to end at a tiny scale (its timings are not asserted here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_dashboard_benchmark_runs() -> None:
    script = ROOT / "benchmarks" / "bench_dashboard.py"
    completed = subprocess.run([sys.executable, str(script), "--experiments", "300"], cwd=ROOT, capture_output=True,
                               text=True, timeout=240)
    assert "Traceback" not in completed.stderr, completed.stderr
    assert "wrote 300 experiments" in completed.stdout
    assert "full view -> 2000 points" in completed.stdout
    assert completed.returncode in (0, 1), completed.stdout + completed.stderr  # 1: a budget missed, not a bug
