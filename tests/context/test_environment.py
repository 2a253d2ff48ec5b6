"""env at creation: what is recorded, queryable on every backend, the package set stored once, the capture
opt-outs (keyword and EPOCHLOG_CAPTURE), and the environment first in compare's diff."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import platform
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import numpy
import pytest
from bson import json_util

from epochlog import InvalidArgument, Tracker
from epochlog.context.blobs import packages_blob
from epochlog.context.packages import canonical_name, installed_packages
from epochlog.schema import BLOBS
from epochlog.store.base import Put

from .conftest import git

FRAMEWORKS = ["torch", "skorch", "braindecode", "lightning", "pytorch_lightning", "transformers", "keras"]


def _env(tracker: Tracker, experiment_id: str) -> dict:
    tracker.sync()
    return tracker.get_experiment(experiment_id).get("env", {})


def test_a_run_records_its_interpreter_machine_and_command_line(tracker: Tracker, repo: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_API_KEY", "k3y-never-stored")
    (repo / "train.py").write_text("lr = 0.4\n")
    with tracker.start_run("run") as run:
        pass
    env = _env(tracker, run.id)
    assert env["argv"] == sys.argv and env["cwd"] == str(repo)
    assert env["python"] == {"version": platform.python_version(), "implementation": platform.python_implementation(),
                             "executable": sys.executable}
    assert env["platform"] == platform.platform() and env["hostname"] == socket.gethostname()
    assert env["cpu"]["cores"] == os.cpu_count() and env["memory"]["total_bytes"] > 2**20
    assert env["versions"]["numpy"] == numpy.__version__
    assert tracker.count_experiments({"env.versions.numpy": numpy.__version__,
                                      "env.python.version": platform.python_version()}) == 1
    stored = json_util.dumps([tracker.get_experiment(run.id), tracker.store.find(BLOBS)])
    assert "k3y-never-stored" not in stored and "WANDB_API_KEY" not in stored  # no environment variable


def test_the_package_set_is_every_distribution_stored_once(tracker: Tracker, repo: Path) -> None:
    first = tracker.create_experiment("a")
    second = Tracker(store=tracker.store).create_experiment("b")
    tracker.sync()
    packages = tracker.get_packages(first)
    expected: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        expected.setdefault(canonical_name(dist.metadata["Name"]), dist.version)
    assert packages == expected
    assert tracker.get_packages(second) == packages
    assert tracker.store.count(BLOBS, {"kind": "packages"}) == 1
    digest = _env(tracker, first)["packages_sha256"]
    assert tracker.count_experiments({"env.packages_sha256": digest}) == 2


def _capture_in_a_child(prelude: str, cwd: Path) -> dict:
    """A fresh process that runs `prelude` (whose JSON lines come back as `printed`), creates an experiment
    and reports what it recorded (`env`) and which frameworks it imported."""
    code = (f"{prelude}\nimport json, sys, tempfile, epochlog\n"
            "tracker = epochlog.Tracker(tempfile.mkdtemp() + '/e.db')\n"
            "env = tracker.get_experiment(tracker.create_experiment('x'))['env']\n"
            f"print(json.dumps({{'imported': [name for name in {FRAMEWORKS!r} if name in sys.modules], 'env': env}}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=cwd)
    *printed, report = (json.loads(line) for line in result.stdout.strip().splitlines())
    return {**report, "printed": printed}


def test_creating_a_run_imports_no_framework_and_makes_up_no_gpu(tmp_path: Path) -> None:
    child = _capture_in_a_child("", tmp_path)
    assert child["imported"] == []
    assert child["env"]["versions"]["torch"] == installed_packages()["torch"]
    assert "cuda" not in child["env"]["versions"] and "cudnn" not in child["env"]["versions"]
    if importlib.util.find_spec("pynvml") is None:  # no NVML, and a torch that never used CUDA: nothing to tell
        assert "gpus" not in child["env"]


def test_cuda_and_cudnn_come_from_a_torch_the_program_imported(tmp_path: Path) -> None:
    prelude = ("import json, torch\n"
               "cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None\n"
               "print(json.dumps({k: v for k, v in {'cuda': torch.version.cuda, 'cudnn': cudnn}.items() if v}))")
    child = _capture_in_a_child(prelude, tmp_path)
    versions = child["env"]["versions"]
    assert {key: versions[key] for key in ("cuda", "cudnn") if key in versions} == child["printed"][0]
    assert child["imported"] == ["torch"]


def test_capture_turns_groups_off_one_by_one(tracker: Tracker, repo: Path) -> None:
    (repo / "train.py").write_text("lr = 0.7\n")
    run = tracker.create_experiment("private", capture={"argv": False, "git_diff": False})
    env = _env(tracker, run)
    assert "argv" not in env and env["git"]["dirty"] is True and "diff_sha256" not in env["git"]
    assert tracker.get_git_diff(run) is None and tracker.store.count(BLOBS, {"kind": "git_diff"}) == 0
    only = tracker.create_experiment("python only", capture={"python"})
    assert list(_env(tracker, only)) == ["python"]
    nothing = tracker.create_experiment("nothing", capture=False)
    assert "env" not in tracker.get_experiment(nothing)
    assert tracker.get_packages(nothing) is None


def test_epochlog_capture_is_the_default_the_keyword_overrides(tracker: Tracker, repo: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EPOCHLOG_CAPTURE", "-argv, -cwd,-packages")
    env = _env(tracker, tracker.create_experiment("from the variable"))
    assert {"argv", "cwd", "packages_sha256"}.isdisjoint(env) and "git" in env and "python" in env
    env = _env(tracker, tracker.create_experiment("argv back", capture={"argv": True}))
    assert "argv" in env and "cwd" not in env
    monkeypatch.setenv("EPOCHLOG_CAPTURE", "git,python")
    assert sorted(_env(tracker, tracker.create_experiment("two groups"))) == ["git", "python"]
    monkeypatch.setenv("EPOCHLOG_CAPTURE", "none")
    assert "env" not in tracker.get_experiment(tracker.create_experiment("none"))
    assert "argv" in _env(tracker, tracker.create_experiment("everything", capture=True))


def test_an_unknown_group_is_refused_before_anything_is_written(tracker: Tracker,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidArgument, match="unknown capture group 'gitdiff'"):
        tracker.create_experiment("typo", capture={"gitdiff": False})
    with pytest.raises(InvalidArgument, match="must be True, False"):
        tracker.create_experiment("a string", capture="argv")  # type: ignore[arg-type]
    monkeypatch.setenv("EPOCHLOG_CAPTURE", "-argv,-envvars")
    with pytest.raises(InvalidArgument, match="EPOCHLOG_CAPTURE: unknown capture group 'envvars'"):
        tracker.create_experiment("typo in the variable")
    tracker.sync()
    assert tracker.count_experiments() == 0


def test_an_env_given_is_stored_as_given(tracker: Tracker) -> None:
    run = tracker.create_experiment("imported", env={"git": {"commit": "abc"}, "argv": ["old.py"]})
    assert _env(tracker, run) == {"git": {"commit": "abc"}, "argv": ["old.py"]}


def test_compare_shows_the_commits_then_the_differing_packages_first(tracker: Tracker, repo: Path) -> None:
    before = tracker.create_experiment("before", config={"lr": 0.1})
    (repo / "model.py").write_text("depth = 4\n")
    git(repo, "add", "model.py")
    git(repo, "commit", "-q", "-m", "deeper")
    after = tracker.create_experiment("after", config={"lr": 0.2})
    tracker.sync()
    diff = tracker.config_diff([before, after])
    assert list(diff)[0] == "env.git.commit" and list(diff)[-1] == "config.lr"
    assert diff["env.git.commit"] == [_env(tracker, before)["git"]["commit"], git(repo, "rev-parse", "HEAD")]

    # a run elsewhere, with an older numpy and one more package (its set stored as a capture would store it)
    other = {**installed_packages(), "numpy": "1.26.4", "mne-connectivity": "0.7"}
    blob = packages_blob(other)
    tracker.store.write([Put(BLOBS, blob)])
    env = {**_env(tracker, after), "packages_sha256": blob["sha256"]}
    elsewhere = tracker.create_experiment("elsewhere", config={"lr": 0.2}, env=env)
    tracker.sync()
    diff = tracker.config_diff([after, elsewhere])
    assert diff == {"env.packages.mne-connectivity": [None, "0.7"],
                    "env.packages.numpy": [numpy.__version__, "1.26.4"]}
    lost = tracker.create_experiment("set not stored", config={"lr": 0.2}, env={**env, "packages_sha256": "0" * 64})
    tracker.sync()
    assert tracker.config_diff([after, lost]) == {"env.packages_sha256": [_env(tracker, after)["packages_sha256"],
                                                                            "0" * 64]}


def test_the_cli_and_the_dashboard_compare_environments(tmp_path: Path, repo: Path) -> None:
    from typer.testing import CliRunner

    from epochlog.cli import app
    from epochlog.web import create_app

    uri = f"sqlite:///{tmp_path / 'e.db'}"
    with Tracker(uri) as tracker:
        first = tracker.create_experiment("first")
        git(repo, "commit", "-q", "--allow-empty", "-m", "second")
        second = tracker.create_experiment("second")
        result = CliRunner().invoke(app, ["compare", first, second, "--uri", uri], env={"COLUMNS": "220"})
        assert result.exit_code == 0, result.stdout
        assert "env.git.commit" in result.stdout and git(repo, "rev-parse", "HEAD") in result.stdout
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*`httpx` with `starlette.testclient` is deprecated")
            from fastapi.testclient import TestClient
        with TestClient(create_app(tracker), base_url="http://127.0.0.1") as client:
            body = client.get("/api/compare", params={"ids": f"{first},{second}"}).json()
    assert body["environment"][0] == {"key": "env.git.commit",
                                      "values": [git(repo, "rev-parse", "HEAD~1"), git(repo, "rev-parse", "HEAD")]}
