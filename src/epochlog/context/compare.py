"""How the environments of experiments differ, most telling first: the code (commit, branch, dirty, diff),
then the packages (the differing packages themselves, resolved from the stored sets, not the sets' hashes),
then the framework versions, then the rest (python, machine, argv, ...)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..dotted import differing_keys, get_path
from ..types import Reader
from .blobs import PACKAGES, read_blob

_GIT_FIRST = ("env.git.commit", "env.git.branch", "env.git.dirty", "env.git.diff_sha256")
_PACKAGES_KEY = "env.packages_sha256"


def environment_diff(documents: Sequence[Mapping[str, Any]], store: Reader) -> dict[str, list[Any]]:
    """Dotted `env.*` keys whose values differ between the experiments, with each one's value (None where
    missing), ordered as the module says; a package that differs shows as `env.packages.<name>`."""
    envs = [{"env": document.get("env")} if isinstance(document.get("env"), Mapping) else {} for document in documents]
    diff = differing_keys(envs)
    ordered: dict[str, list[Any]] = {key: diff.pop(key) for key in _GIT_FIRST if key in diff}
    ordered.update({key: diff.pop(key) for key in sorted(diff) if key.startswith("env.git.")})
    if _PACKAGES_KEY in diff:
        packages = _package_diff([get_path(env, _PACKAGES_KEY) for env in envs], store)
        if packages is not None:
            del diff[_PACKAGES_KEY]
            ordered.update(packages)
        else:  # a set is not stored (or not recorded): its hash is all there is to show
            ordered[_PACKAGES_KEY] = diff.pop(_PACKAGES_KEY)
    ordered.update({key: diff.pop(key) for key in sorted(diff) if key.startswith("env.versions.")})
    ordered.update(diff)
    return ordered


def _package_diff(digests: list[Any], store: Reader) -> dict[str, list[Any]] | None:
    """`env.packages.<name>` -> each experiment's version of the packages that differ, or None when a set
    cannot be read."""
    sets: dict[str, Mapping[str, Any]] = {}
    for digest in dict.fromkeys(digests):
        content = read_blob(store, digest, PACKAGES)
        if not isinstance(content, Mapping):
            return None
        sets[digest] = content
    names = sorted({name for content in sets.values() for name in content})
    rows = {}
    for name in names:
        versions = [sets[digest].get(name) for digest in digests]
        if len(set(versions)) > 1:
            rows[f"env.packages.{name}"] = versions
    return rows
