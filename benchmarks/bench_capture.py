"""Environment capture benchmark: what `create_experiment` spends recording `env` (git, packages, machine).

    python benchmarks/bench_capture.py [--repo PATH] [--runs 30]

Times, in `--repo` (a git repository; this one by default): the first capture of a fresh process (packages and
hardware are read then, and cached), the following captures (git is asked every time), and
`create_experiment` on an embedded store with and without capture. Next to them, in the same run, the peers'
way of reading the same facts: `importlib.metadata` for the packages (MLflow, W&B) and GitPython for the git
state (W&B, MLflow, Sacred), when installed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_FIRST = """
import json, time
from epochlog.context import capture_environment, capture_groups
start = time.perf_counter()
capture_environment(capture_groups(True))
print(json.dumps((time.perf_counter() - start) * 1000))
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", type=Path, default=ROOT, help="a git repository to capture in (default: this one)")
    parser.add_argument("--runs", type=int, default=30, help="captures to time after the first (default 30)")
    args = parser.parse_args(argv)
    os.chdir(args.repo)

    from epochlog import Tracker
    from epochlog.context import capture_environment, capture_groups

    firsts = [json.loads(subprocess.run([sys.executable, "-c", _FIRST], capture_output=True, text=True,
                                        check=True).stdout) for _ in range(3)]
    groups = capture_groups(True)
    rows = [("first capture in a process (3 processes)", statistics.median(firsts), max(firsts))]
    rows.append(_timed("capture, later in the process", lambda: capture_environment(groups), args.runs))
    rows.append(_timed("capture without git", lambda: capture_environment(groups - {"git", "git_diff"}), args.runs))
    with tempfile.TemporaryDirectory() as directory:
        with Tracker(f"sqlite:///{directory}/e.db") as tracker:
            tracker.create_experiment("warm-up")
            rows.append(_timed("create_experiment, capture on", lambda: tracker.create_experiment("on"), args.runs))
            rows.append(_timed("create_experiment, capture=False",
                               lambda: tracker.create_experiment("off", capture=False), args.runs))
    rows.extend(_peers(args.runs))
    print(f"{'':44} {'median ms':>10} {'max ms':>10}")
    for name, median, worst in rows:
        print(f"{name:44} {median:10.1f} {worst:10.1f}")


def _timed(name: str, call: Callable[[], object], runs: int) -> tuple[str, float, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return name, statistics.median(times), max(times)


def _peers(runs: int) -> list[tuple[str, float, float]]:
    import importlib.metadata

    def listed() -> dict[str, str]:
        return {dist.metadata["Name"]: dist.version for dist in importlib.metadata.distributions()}

    rows = [_timed("peer: importlib.metadata, every package", listed, min(runs, 5))]
    try:
        import git  # GitPython
    except ImportError:
        return rows

    def state() -> object:
        repo = git.Repo(search_parent_directories=True)
        return repo.head.commit.hexsha, repo.is_dirty(), repo.git.diff("HEAD"), [r.url for r in repo.remotes]

    rows.append(_timed("peer: GitPython commit, dirty, diff, remotes", state, runs))
    return rows


if __name__ == "__main__":
    main()
