"""`epochlog logs`: a run's console as it printed it, its tail, and a live run followed to its end."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from epochlog import Tracker
from tests.cli.helpers import Cli

SRC = str(Path(__file__).parents[2] / "src")


def _printed_run(uri: str) -> str:
    tracker = Tracker(uri)
    with tracker.start_run("printed", 1, console=True) as run:
        for epoch in range(5):
            print(f"epoch {epoch}")
        print("a warning", file=sys.stderr)
    tracker.close()
    return run.id


def test_logs_prints_each_stream_where_it_came_from_and_the_tail(cli: Cli, uri: str) -> None:
    run_id = _printed_run(uri)
    result = cli.ok("logs", run_id)
    assert result.stdout == "".join(f"epoch {epoch}\n" for epoch in range(5))
    assert result.stderr == "a warning\n"
    assert cli.ok("logs", "printed", "--tail", "2").stdout == "epoch 4\n"
    stamped = cli.ok("logs", run_id, "-n", "1", "--timestamps")
    assert stamped.stderr.endswith("Z a warning\n") and stamped.stderr[:2] == "20"


def test_logs_of_an_unknown_run_is_an_error_naming_it(cli: Cli) -> None:
    result = cli("logs", "no-such-run")
    assert result.exit_code == 1 and "no-such-run" in result.stderr


CHILD = textwrap.dedent("""
    import sys, time
    from epochlog import Tracker
    tracker = Tracker(sys.argv[1])
    with tracker.start_run("live", 1, console=True) as run:
        print(run.id, flush=True)
        for second in range(4):
            print(f"second {second}", flush=True)
            time.sleep(0.8)
""")


def test_follow_prints_new_lines_until_the_run_ends(cli: Cli, uri: str) -> None:
    with subprocess.Popen([sys.executable, "-c", CHILD, uri], stdout=subprocess.PIPE, text=True,
                          env={**os.environ, "PYTHONPATH": SRC}) as child:
        assert child.stdout is not None
        run_id = child.stdout.readline().strip()
        result = cli.ok("logs", run_id, "--follow")  # returns once the run is no longer running
        child.wait(timeout=30)
    assert result.stdout == run_id + "\n" + "".join(f"second {second}\n" for second in range(4))
