"""env.git from real repositories: commit, branch, dirty, remote without credentials, the diff, and every way
of having no usable git (no repository, no commit, a detached HEAD, no git, a read-only tree, a hung git)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import time
from pathlib import Path

import pytest
from bson import json_util

from epochlog import Tracker
from epochlog.context.git import git_state, strip_credentials

from .conftest import git, read_only


def _env(tracker: Tracker, experiment_id: str) -> dict:
    tracker.sync()
    return tracker.get_experiment(experiment_id)["env"]


def test_a_run_records_its_commit_branch_clean_tree_and_remote(tracker: Tracker, repo: Path) -> None:
    git(repo, "remote", "add", "origin", "https://alice:ghp_s3cret@example.com/team/eeg.git")
    commit = git(repo, "rev-parse", "HEAD")
    run = tracker.create_experiment("clean")
    assert _env(tracker, run)["git"] == {"commit": commit, "branch": "main", "dirty": False,
                                         "remote": "https://example.com/team/eeg.git"}
    stored = json_util.dumps(tracker.get_experiment(run))
    assert "ghp_s3cret" not in stored and "alice" not in stored
    assert [str(d["_id"]) for d in tracker.search_experiments({"env.git.commit": commit})] == [run]
    assert tracker.count_experiments({"env.git.dirty": False, "env.git.branch": "main"}) == 1
    assert tracker.get_git_diff(run) is None


def test_a_dirty_tree_records_its_diff_once_per_distinct_diff(tracker: Tracker, repo: Path) -> None:
    (repo / "train.py").write_text("lr = 0.2\n")
    expected = git(repo, "diff", "HEAD").encode() + b"\n"
    first = tracker.create_experiment("dirty")
    again = Tracker(store=tracker.store).create_experiment("same diff, another tracker")
    env = _env(tracker, first)
    assert env["git"]["dirty"] is True
    assert env["git"]["diff_sha256"] == hashlib.sha256(expected).hexdigest()
    assert _env(tracker, again)["git"]["diff_sha256"] == env["git"]["diff_sha256"]
    assert "+lr = 0.2" in (tracker.get_git_diff(first) or "")
    assert tracker.get_git_diff(again) == tracker.get_git_diff(first)
    assert tracker.store.count("blobs", {"kind": "git_diff"}) == 1

    (repo / "train.py").write_text("lr = 0.3\n")
    other = tracker.create_experiment("another diff")
    assert "+lr = 0.3" in (tracker.get_git_diff(other) or "")
    tracker.sync()
    assert tracker.store.count("blobs", {"kind": "git_diff"}) == 2
    assert tracker.count_experiments({"env.git.diff_sha256": env["git"]["diff_sha256"]}) == 2


def test_a_diff_over_1_mb_is_truncated_and_marked(tracker: Tracker, repo: Path) -> None:
    (repo / "train.py").write_text("".join(f"line {i} {'x' * 60}\n" for i in range(40_000)))  # 2.6 MB
    run = tracker.create_experiment("huge diff")
    env = _env(tracker, run)
    diff = tracker.get_git_diff(run) or ""
    assert env["git"]["diff_truncated"] is True
    assert diff.startswith("diff --git a/train.py b/train.py")
    assert diff.rstrip().endswith("bytes]") and "epochlog: diff truncated to 1,048,576 of its" in diff
    assert len(diff.encode()) < 1_048_576 + 200
    assert env["git"]["diff_sha256"] == hashlib.sha256(git(repo, "diff", "HEAD").encode() + b"\n").hexdigest()


def test_a_detached_head_has_a_commit_and_no_branch(tracker: Tracker, repo: Path) -> None:
    git(repo, "checkout", "-q", "--detach")
    run = tracker.create_experiment("detached")
    assert _env(tracker, run)["git"] == {"commit": git(repo, "rev-parse", "HEAD"), "dirty": False}


def test_without_a_repository_or_a_commit_git_says_why_and_the_rest_is_recorded(
        tracker: Tracker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    monkeypatch.chdir(plain)
    outside = tracker.create_experiment("no repository")
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q")
    monkeypatch.chdir(empty)
    unborn = tracker.create_experiment("no commit")
    assert _env(tracker, outside)["git"] == {"error": "not a git repository"}
    assert _env(tracker, outside)["cwd"] == str(plain)
    assert _env(tracker, unborn)["git"] == {"error": "the repository has no commit yet"}
    assert tracker.count_experiments({"env.git.error": {"$exists": True}}) == 2


def test_without_git_on_the_path_the_run_starts_and_says_why(tracker: Tracker, repo: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(repo / "no-such-bin"))
    run = tracker.create_experiment("no git")
    env = _env(tracker, run)
    assert env["git"] == {"error": "git is not installed (not on PATH)"}
    assert env["python"]["executable"] and env["packages_sha256"]


def test_a_read_only_tree_is_read_and_left_untouched(tracker: Tracker, repo: Path) -> None:
    (repo / "train.py").write_text("lr = 0.5\n")
    before = sorted(os.listdir(repo / ".git"))
    with read_only(repo):
        with pytest.raises(OSError):
            (repo / "probe").write_text("")
        run = tracker.create_experiment("read-only")
    env = _env(tracker, run)
    assert env["git"]["commit"] == git(repo, "rev-parse", "HEAD") and env["git"]["dirty"] is True
    assert "+lr = 0.5" in (tracker.get_git_diff(run) or "")
    assert sorted(os.listdir(repo / ".git")) == before  # no index.lock, nothing else


def test_a_git_that_hangs_is_abandoned_at_the_deadline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    hung = bin_dir / "git"
    hung.write_text(f"#!/bin/sh\nexec {shutil.which('sleep')} 30\n")
    hung.chmod(hung.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(bin_dir))
    start = time.monotonic()
    state = git_state(str(tmp_path), timeout=0.3)
    assert state.fields == {"error": "git did not answer within 0.3 s"}
    assert time.monotonic() - start < 5


def test_a_diff_too_slow_for_the_deadline_keeps_the_commit(repo: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    slow = bin_dir / "git"  # the real git, but for a diff that takes as long as a huge tree's would
    slow.write_text(f'#!/bin/sh\nif [ "$1" = diff ]; then exec {shutil.which("sleep")} 30; fi\n'
                    f'exec {shutil.which("git")} "$@"\n')
    slow.chmod(slow.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(bin_dir))
    state = git_state(str(repo), timeout=0.5)
    assert state.fields == {"commit": git(repo, "rev-parse", "HEAD"), "branch": "main",
                            "error": "git diff did not answer within 0.5 s"}


def test_asking_only_whether_the_tree_is_dirty_keeps_no_diff(repo: Path) -> None:
    (repo / "train.py").write_text("lr = 0.9\n")
    state = git_state(str(repo), diff=False)
    assert state.fields["dirty"] is True and state.diff is None


@pytest.mark.parametrize(("url", "stored"), [
    ("https://user:token@github.com/team/eeg.git", "https://github.com/team/eeg.git"),
    ("https://ghp_tokenonly@github.com/team/eeg.git", "https://github.com/team/eeg.git"),
    ("https://github.com/team/eeg.git?private_token=abc", "https://github.com/team/eeg.git"),
    ("http://u:p@10.0.0.1:8080/eeg", "http://10.0.0.1:8080/eeg"),
    ("ssh://git:secret@host.org/eeg.git", "ssh://git@host.org/eeg.git"),
    ("ssh://git@host.org:2222/eeg.git", "ssh://git@host.org:2222/eeg.git"),
    ("git@github.com:team/eeg.git", "git@github.com:team/eeg.git"),
    ("/srv/git/eeg.git", "/srv/git/eeg.git"),
    ("file:///srv/git/eeg.git", "file:///srv/git/eeg.git"),
])
def test_remotes_lose_their_credentials_and_keep_the_rest(url: str, stored: str) -> None:
    assert strip_credentials(url) == stored


def test_the_first_remote_stands_in_for_a_missing_origin(repo: Path) -> None:
    git(repo, "remote", "add", "upstream", "https://x:y@example.org/up.git")
    assert git_state(str(repo)).fields["remote"] == "https://example.org/up.git"
    git(repo, "remote", "add", "origin", "git@example.org:me/fork.git")
    assert json.dumps(git_state(str(repo)).fields["remote"]) == '"git@example.org:me/fork.git"'
