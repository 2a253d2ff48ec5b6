"""demo, init, verify, ui, --help, and `python -m epochlog` as a real process."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import epochlog
from epochlog import Tracker

from .helpers import Cli, assert_user_error, loads

SRC = str(Path(epochlog.__file__).resolve().parent.parent)


def test_demo_simulates_a_study(cli: Cli, uri: str, tmp_path: Path) -> None:
    started = time.perf_counter()
    out = cli.ok("demo", "--experiments", "10", "--epochs", "6", "--seed", "3").stdout
    assert time.perf_counter() - started < 15
    assert "Simulated 10 experiments" in out
    assert "Best by metrics.best_val_loss (challenge 1)" in out and "(challenge 2)" in out
    assert "epochlog ui --uri " + uri in out
    with Tracker(uri) as tracker:
        experiments = tracker.search_experiments()
        statuses = {d["status"] for d in experiments}
        assert statuses == {"completed", "failed", "running", "stopped"}
        assert {d["challenge"] for d in experiments} == {1, 2}
        assert len({d["model"]["name"] for d in experiments}) >= 3
        assert tracker.get_subjects()
        assert all(tracker.verify_checkpoints(d["_id"]) for d in experiments if d["status"] == "completed")
    assert (tmp_path / "checkpoints").is_dir()  # next to the database


def strip(document: Any) -> Any:
    """A document without what legitimately differs between two demos: ids, times, file paths."""
    if isinstance(document, dict):
        return {key: strip(value) for key, value in document.items()
                if key not in ("_id", "experiment_id", "start_time", "end_time", "heartbeat", "timestamp", "path",
                               "host", "pid", "created_by")}
    if isinstance(document, list):
        return [strip(item) for item in document]
    if isinstance(document, float) and math.isnan(document):
        return "NaN"
    return document


def test_demo_is_deterministic_with_a_seed(tmp_path: Path) -> None:
    exports = []
    for name in ("a", "b"):
        cli = Cli(f"sqlite:///{tmp_path / name / 'e.db'}")
        cli.ok("demo", "--experiments", "6", "--epochs", "4", "--seed", "7")
        exports.append((strip(loads(cli.ok("export", "experiments", "-f", "json").stdout)),
                        cli.ok("export", "epochs", "-f", "csv").stdout.count("\n")))
    assert exports[0] == exports[1]
    other = Cli(f"sqlite:///{tmp_path / 'c' / 'e.db'}")
    other.ok("demo", "--experiments", "6", "--epochs", "4", "--seed", "8")
    assert strip(loads(other.ok("export", "experiments", "-f", "json").stdout)) != exports[0][0]


def test_init(cli: Cli, tmp_path: Path) -> None:
    assert "indexes in place" in cli.ok("init").stdout
    assert (tmp_path / "e.db").exists()
    cli.ok("init")  # again: nothing to do


def test_verify(cli: Cli, uri: str, demo_ids: list[str]) -> None:
    results = cli.json("verify")
    assert results and {r["state"] for r in results} == {"ok"}
    assert "0 missing, 0 changed" in cli.ok("verify").stdout
    with Tracker(uri) as tracker:
        paths = [c["file"]["path"] for c in tracker.get_experiment_history(demo_ids[0])["checkpoints"]]
    Path(paths[0]).unlink()
    Path(paths[-1]).write_bytes(b"tampered")
    result = cli("verify", demo_ids[0])
    assert_user_error(result, "2 checkpoint files are missing or changed")
    assert "missing" in result.stdout and "changed" in result.stdout
    problems = cli("verify", "--problems")
    assert problems.stdout.count("\n") < cli("verify").stdout.count("\n")


def test_ui_refuses_a_public_host_without_a_token(cli: Cli) -> None:
    assert_user_error(cli("ui", "--host", "0.0.0.0"), "refusing to serve on 0.0.0.0 without a token")


def test_ui_serves(cli: Cli, uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import epochlog.web

    calls = []
    monkeypatch.setattr(epochlog.web, "serve", lambda *args: calls.append(args), raising=False)
    out = cli.ok("ui").stdout
    assert "http://127.0.0.1:8082" in out
    assert calls == [(uri, "127.0.0.1", 8082, None, None)]
    cli.ok("ui", "--host", "0.0.0.0", "--port", "9000", env={"EPOCHLOG_UI_TOKEN": "s3cret"})
    assert calls[-1] == (uri, "0.0.0.0", 9000, "s3cret", None)
    cli.ok("ui", "--host", "::1", "--port", "9001")
    assert calls[-1] == (uri, "::1", 9001, None, None)


def test_ui_watch_alerts_where_its_options_say(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    import epochlog.web

    calls = []
    monkeypatch.setattr(epochlog.web, "serve", lambda *args: calls.append(args), raising=False)
    out = cli.ok("ui", "--watch", "--webhook", "https://hooks.example.org/T0KEN", "--leaderboard", "best_acc:max",
                 "--watch-interval", "5").stdout
    assert "Alerting webhook https://hooks.example.org/… every 5 s" in out and "T0KEN" not in out
    watch = calls[-1][4]
    assert [d.label for d in watch.destinations] == ["webhook https://hooks.example.org/…"]
    assert watch.interval == 5 and [(b.field, b.mode) for b in watch.leaderboards] == [("metrics.best_acc", "max")]
    cli.ok("ui", "--watch", env={"EPOCHLOG_WEBHOOKS": "http://127.0.0.1:9/a http://127.0.0.1:9/b"})
    assert len(calls[-1][4].destinations) == 2
    assert_user_error(cli("ui", "--watch", env={"EPOCHLOG_WEBHOOKS": ""}), "nothing to send alerts to")
    assert_user_error(cli("ui", "--webhook", "https://hooks.example.org/x"), "add --watch")
    assert len(calls) == 2  # neither error served


def test_uri_defaults_like_get_tracker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EPOCHLOG_URI", raising=False)
    Cli("unused").ok("init", uri=False)
    assert (tmp_path / "epochlog.db").exists()
    Cli("unused").ok("init", uri=False, env={"EPOCHLOG_URI": f"sqlite:///{tmp_path / 'env.db'}"})
    assert (tmp_path / "env.db").exists()
    assert_user_error(Cli("unused")("ls", "--uri", "ftp://nowhere", uri=False), "unknown store URI scheme")


def every_command() -> list[list[str]]:
    import typer.main

    from epochlog.cli import app

    def walk(command: Any, path: list[str]) -> list[list[str]]:
        found = [path] if path else []
        for name, child in getattr(command, "commands", {}).items():
            found.extend(walk(child, [*path, name]))
        return found

    return walk(typer.main.get_command(app), [])


@pytest.mark.parametrize("path", every_command(), ids=" ".join)
def test_help_is_complete(path: list[str], cli: Cli) -> None:
    out = cli.ok(*path, "--help", uri=False).stdout
    assert "Usage: epochlog " + " ".join(path) in out
    is_group = "COMMAND [ARGS]" in out
    if is_group:
        return
    if path[-1] in ("push", "merge"):  # they name every store they touch: SRC and --to / --into DEST
        assert "SRC" in out and ("--to" in out or "--into" in out)
    else:
        assert "--uri" in out


def test_no_arguments_prints_help(cli: Cli) -> None:
    result = cli(uri=False)
    assert "Usage: epochlog" in result.output
    assert cli("frobnicate").exit_code == 2


def run_module(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), "COLUMNS": "200"}
    env.pop("EPOCHLOG_URI", None)
    return subprocess.run([sys.executable, "-m", "epochlog", *args], check=False, cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_python_m_epochlog(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'e.db'}"
    demo = run_module("demo", "--experiments", "4", "--epochs", "3", "--uri", uri, cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    listed = run_module("ls", "--json", "--uri", uri, cwd=tmp_path)
    assert listed.returncode == 0 and len(loads(listed.stdout)) == 4
    bad = run_module("show", "nope", "--uri", uri, cwd=tmp_path)
    assert bad.returncode == 1 and bad.stderr.strip() == "error: no experiment with id or name 'nope'"
    usage = run_module("ls", "--limit", "many", cwd=tmp_path)
    assert usage.returncode == 2 and "Traceback" not in usage.stderr
