"""Documents the seed's code could have written (wrong types everywhere) show in every command that shows
experiments, on every backend: a dash or the raw value, never a traceback. And a pipe closed early
(`epochlog export | head -1`) ends the command quietly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from bson import ObjectId
from typer.testing import Result

from epochlog import Tracker
from epochlog.store import open_store
from tests.cli.helpers import Cli, loads
from tests.seed_era import seed_era_epochs, write_seed_era


def _quiet(result: Result) -> Result:
    assert result.exit_code == 0, f"exit {result.exit_code}: {result.output}\n{result.exception!r}"
    assert "Traceback" not in result.output and "Error" not in result.stderr
    return result


def _seeded(uri: str) -> dict[str, ObjectId]:
    store = open_store(uri, journal=False)
    try:
        return write_seed_era(store, duplicates=uri.startswith("mongodb"))  # the embedded store's index refuses them
    finally:
        store.close()


def test_every_browsing_command_shows_seed_era_documents(backend_uri: str) -> None:
    ids = _seeded(backend_uri)
    cli = Cli(backend_uri)
    listing = _quiet(cli("ls", "-n", "0")).stdout
    assert "seed,eegnex" in listing and "seed, 7" in listing and "crashed" in listing
    assert len(loads(_quiet(cli("ls", "-n", "0", "--json")).stdout)) == len(ids)

    shown: dict[str, str] = {}
    for name, oid in ids.items():
        shown[name] = _quiet(cli("show", str(oid))).stdout
        assert loads(_quiet(cli("show", str(oid), "--json")).stdout)["experiment"]["_id"] == oid
        _quiet(cli("history", str(oid)))
        _quiet(cli("history", str(oid), "--json"))
    assert "— (no end time)" in shown["no-end-time"]  # not counted to now
    assert "running for" in shown["running-without-heartbeat"]
    assert "CUDA out of memory" in shown["error-a-string"]
    assert "EEGNeX" in shown["model-a-string"] and "lr=0.1" in shown["config-a-string"]
    assert "last tuesday" in shown["start-time-a-string"] and "first, second" in shown["notes-a-list"]
    assert "Summary metrics (not a document): 0.5" in shown["metrics-a-string"]
    assert "/tmp/seed/epoch1.pt" in shown["tags-with-a-number"]  # a checkpoint whose file is its path alone

    epochs = loads(_quiet(cli("history", str(ids["tags-with-a-number"]), "--json")).stdout)
    expected = seed_era_epochs(ids["tags-with-a-number"], duplicates=backend_uri.startswith("mongodb"))
    assert sorted(map(repr, (e["epoch"] for e in epochs))) == sorted(map(repr, (e["epoch"] for e in expected)))

    every = [str(oid) for oid in ids.values()]
    _quiet(cli("compare", *every))
    chosen = [ids[name] for name in ("no-end-time", "running-without-heartbeat", "config-a-string")]
    summary = _quiet(cli("compare", *chosen)).stdout
    assert "— (no end time)" in summary and "running for" in summary
    assert len(loads(_quiet(cli("compare", *every, "--json")).stdout)["experiments"]) == len(ids)
    _quiet(cli("best"))
    _quiet(cli("best", "--status", "any", "-n", "100"))
    _quiet(cli("best", "--status", "any", "--json"))

    for kind in ("experiments", "epochs", "series"):
        for fmt in ("csv", "json", "jsonl"):
            _quiet(cli("export", kind, "-f", fmt))
    assert len(loads(_quiet(cli("export", "experiments", "-f", "json")).stdout)) == len(ids)
    assert len(loads(_quiet(cli("export", "epochs", "-f", "json")).stdout)) == len(expected)
    verified = cli("verify")
    assert verified.exit_code in (0, 1) and "Traceback" not in verified.output


def _many_experiments(uri: str) -> None:
    with Tracker(uri) as tracker:
        for index in range(2000):  # far more than a pipe buffers (64 KiB), in every format
            tracker.create_experiment(f"run-{index:04d}", 1, config={"lr": 0.001, "note": "x" * 40}, tags=["t"],
                                      capture=False)  # the environment is not what this test is about


def _piped_into_head(uri: str, *args: str) -> tuple[int, str, bytes]:
    """`epochlog ARGS --uri URI | head -1` through real pipes: the command's exit code and stderr, head's line."""
    command = subprocess.Popen([sys.executable, "-m", "epochlog", *args, "--uri", uri], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env={"PATH": "/usr/bin:/bin", "COLUMNS": "200"})
    head = subprocess.Popen(["head", "-1"], stdin=command.stdout, stdout=subprocess.PIPE)
    assert command.stdout is not None and command.stderr is not None
    command.stdout.close()  # head alone holds the pipe: when it exits, the command's next write fails
    line, _ = head.communicate(timeout=60)
    errors = command.stderr.read().decode()
    command.stderr.close()
    return command.wait(timeout=60), errors, line


def test_a_pipe_closed_early_ends_the_command_quietly(uri: str, tmp_path: Path) -> None:
    _many_experiments(uri)
    cases: list[tuple[Any, ...]] = [("export", "experiments"), ("export", "experiments", "-f", "jsonl"),
                                    ("export", "epochs"), ("ls", "-n", "0"), ("ls", "-n", "0", "--json")]
    for args in cases:
        code, errors, line = _piped_into_head(uri, *args)
        assert (code, errors) == (0, ""), (args, code, errors)
        assert line  # head got its line
