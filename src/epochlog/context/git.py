"""The git state of the working directory: commit, branch, dirty, remote, and the uncommitted diff.

Three git processes run side by side under one short deadline, with optional locks off so that a read-only
tree (or a concurrent `git commit`) is never touched. Whatever goes wrong (no git, no repository, no commit
yet, a timeout) becomes the state's `error`, never an exception: a run starts whatever its directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

TIMEOUT = 1.0  # seconds for all of git's answers together
#: git must neither prompt, nor write its index (GIT_OPTIONAL_LOCKS), nor translate what we parse
_GIT_ENVIRONMENT = {"GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
_SSH_SCHEMES = frozenset({"ssh", "git+ssh", "ssh+git"})


@dataclass(frozen=True)
class GitState:
    """`fields` go to the experiment's `env.git`; `diff` is the uncommitted diff, when asked for and dirty."""

    fields: dict[str, Any]
    diff: bytes | None = field(default=None, repr=False)


def git_state(directory: str, *, diff: bool = True, timeout: float = TIMEOUT) -> GitState:
    """The state of the repository holding `directory`; `diff=False` only tells whether the tree is dirty."""
    git = shutil.which("git")
    if git is None:
        return GitState({"error": "git is not installed (not on PATH)"})
    changes = ["diff", "HEAD", "--no-color", "--no-ext-diff", "--no-textconv", "--exit-code" if diff else "--quiet"]
    commands = {"head": ["rev-parse", "HEAD", "--symbolic-full-name", "HEAD"],
                "remotes": ["config", "--get-regexp", r"^remote\..*\.url$"],
                "diff": changes}
    try:
        answers = _run_all(git, commands, directory, timeout)
    except OSError as error:
        return GitState({"error": f"cannot run git in {directory}: {error.strerror or error}"})
    late = f"did not answer within {timeout:g} s"
    if answers["head"] is None:
        return GitState({"error": f"git {late}"})
    code, out, err = answers["head"]
    if code != 0:
        return GitState({"error": _reason(err)})
    commit, _, ref = out.decode(errors="replace").strip().partition("\n")
    fields: dict[str, Any] = {"commit": commit.strip()}
    if ref.startswith("refs/heads/"):
        fields["branch"] = ref[len("refs/heads/"):]  # a detached HEAD has none
    code, out, _ = answers["remotes"] or (-1, b"", b"")  # a late answer: no remote
    if code == 0:
        remote = _remote(out.decode(errors="replace"))
        if remote is not None:
            fields["remote"] = strip_credentials(remote)
    if answers["diff"] is None:  # a huge tree: the commit is still worth having
        fields["error"] = f"git diff {late}"
        return GitState(fields)
    code, out, err = answers["diff"]
    if code not in (0, 1):
        fields["error"] = f"git diff failed: {_reason(err)}"
        return GitState(fields)
    fields["dirty"] = code == 1
    return GitState(fields, out if diff and code == 1 else None)


def strip_credentials(url: str) -> str:
    """A remote URL without what could be a secret: `https://user:<token>@host/x` -> `https://host/x` (a lone
    user name may be a token too, and so may a query); ssh keeps its user (`ssh://git@host/x`, `git@host:x`)."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return url
    if not parts.scheme or not parts.netloc:  # a local path, or scp-like `git@host:x`: nothing secret in it
        return url
    host = parts.netloc.rpartition("@")[2]
    if parts.scheme.lower() in _SSH_SCHEMES:
        user = parts.netloc.rpartition("@")[0].partition(":")[0]
        return urllib.parse.urlunsplit((parts.scheme, f"{user}@{host}" if user else host, parts.path,
                                        parts.query, parts.fragment))
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


def _run_all(git: str, commands: dict[str, list[str]], directory: str,
             timeout: float) -> dict[str, tuple[int, bytes, bytes] | None]:
    """Each command's (exit code, stdout, stderr), all started at once; None for one still running at the
    deadline (it is killed)."""
    environment = {**os.environ, **_GIT_ENVIRONMENT}
    running: dict[str, subprocess.Popen[bytes]] = {}
    deadline = time.monotonic() + timeout
    try:
        for name, arguments in commands.items():
            running[name] = subprocess.Popen([git, *arguments], cwd=directory, env=environment,
                                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                             stderr=subprocess.PIPE)
        answers: dict[str, tuple[int, bytes, bytes] | None] = {}
        for name, process in running.items():
            try:
                out, err = process.communicate(timeout=max(deadline - time.monotonic(), 0.001))
            except subprocess.TimeoutExpired:
                answers[name] = None
            else:
                answers[name] = (process.returncode, out, err)
        return answers
    finally:
        for process in running.values():
            if process.returncode is None:  # timed out (or never waited for): its pipes are still open
                process.kill()
                process.communicate()


def _remote(config: str) -> str | None:
    """`origin`'s URL, else the first remote's, from `git config --get-regexp` lines."""
    urls: dict[str, str] = {}
    for line in config.splitlines():
        key, _, url = line.partition(" ")
        name = key[len("remote."):-len(".url")]
        urls.setdefault(name, url.strip())
    return urls.get("origin") or next(iter(urls.values()), None)


def _reason(stderr: bytes) -> str:
    text = stderr.decode(errors="replace").strip()
    if "not a git repository" in text:
        return "not a git repository"
    if "unknown revision" in text or "ambiguous argument 'HEAD'" in text or "bad revision 'HEAD'" in text:
        return "the repository has no commit yet"
    first = text.splitlines()[0] if text else "git failed"
    return first.removeprefix("fatal: ").removeprefix("error: ")
