"""What an experiment records about where it runs, under `env`, when it is created.

Each capture group (`options.GROUPS`) is collected on its own: one that fails leaves its fields out and
says why under `env.errors.<group>`, so that creating an experiment never fails for its environment's sake.
Environment variables are never read into it (they hold tokens).
"""

from __future__ import annotations

import copy
import functools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..types import Document
from .blobs import diff_blob, packages_blob
from .git import git_state
from .gpus import gpus
from .packages import accelerator_versions, framework_versions, installed_packages
from .system import machine, python


@dataclass(frozen=True)
class Environment:
    """`document` is the experiment's `env`; `blobs` the content-addressed documents it refers to."""

    document: dict[str, Any]
    blobs: list[Document] = field(default_factory=list)


def capture_environment(groups: frozenset[str]) -> Environment:
    """The environment's `groups` (see `options.capture_groups`); never raises for what it finds."""
    env: dict[str, Any] = {}
    blobs: list[Document] = []
    for group, collect in _COLLECTORS.items():
        if group not in groups:
            continue
        try:
            collect(env, blobs, groups)
        except Exception as error:  # a capture must not stop the run: the reason is recorded instead
            env.setdefault("errors", {})[group] = f"{type(error).__name__}: {error}"
    return Environment(env, blobs)


def _argv(env: dict[str, Any], blobs: list[Document], groups: frozenset[str]) -> None:
    env["argv"] = [str(argument) for argument in getattr(sys, "argv", [])]


def _cwd(env: dict[str, Any], blobs: list[Document], groups: frozenset[str]) -> None:
    env["cwd"] = os.getcwd()


def _python(env: dict[str, Any], blobs: list[Document], groups: frozenset[str]) -> None:
    env["python"] = dict(python())


def _system(env: dict[str, Any], blobs: list[Document], groups: frozenset[str]) -> None:
    env.update(copy.deepcopy(machine()))


def _versions(env: dict[str, Any], blobs: list[Document], groups: frozenset[str]) -> None:
    versions = {**framework_versions(installed_packages()), **accelerator_versions()}
    if versions:
        env["versions"] = versions


def _packages(env: dict[str, Any], blobs: list[Document], groups: frozenset[str]) -> None:
    blob = _packages_blob()
    env["packages_sha256"] = blob["sha256"]
    blobs.append(blob)


def _gpus(env: dict[str, Any], blobs: list[Document], groups: frozenset[str]) -> None:
    found = gpus()
    if found:
        env["gpus"] = copy.deepcopy(found)


def _git(env: dict[str, Any], blobs: list[Document], groups: frozenset[str]) -> None:
    try:
        directory = os.getcwd()
    except OSError as error:  # the working directory was removed
        env["git"] = {"error": f"no working directory: {error.strerror or error}"}
        return
    state = git_state(directory, diff="git_diff" in groups)
    env["git"] = state.fields
    if state.diff:
        blob = diff_blob(state.diff)
        env["git"]["diff_sha256"] = blob["sha256"]
        if blob["truncated"]:
            env["git"]["diff_truncated"] = True
        blobs.append(blob)


@functools.cache
def _packages_blob() -> Document:
    return packages_blob(installed_packages())


_Collector = Callable[[dict[str, Any], list[Document], frozenset[str]], None]
#: in the order the fields appear in `env` (`git_diff` is collected with `git`)
_COLLECTORS: dict[str, _Collector] = {"git": _git, "argv": _argv, "cwd": _cwd, "python": _python, "system": _system,
                                      "versions": _versions, "packages": _packages, "gpus": _gpus}
