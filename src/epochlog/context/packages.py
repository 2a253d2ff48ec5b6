"""The installed distributions (name -> version), and the versions worth a column of their own.

`importlib.metadata` parses every METADATA file to tell a name and a version (a second or more for a
large environment); the installation layout already holds both in the directory's name
(`{name}-{version}.dist-info`), so the sys.path entries are scanned for those, the same distributions
importlib.metadata finds, in the same order, and a METADATA header is read only for an old `.egg-info`
without a version in its name. Computed once per process: what is importable does not change under a run.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from typing import Any

#: Distributions whose versions are copied onto the experiment (`env.versions`), keyed as named there.
FRAMEWORKS = {"torch": "torch", "braindecode": "braindecode", "mne": "mne", "numpy": "numpy",
              "lightning": "lightning", "pytorch-lightning": "pytorch_lightning", "transformers": "transformers",
              "skorch": "skorch", "keras": "keras", "scikit-learn": "scikit_learn"}
_SEPARATORS = re.compile(r"[-_.]+")
_EGG_PYTHON = re.compile(r"-py\d[\d.]*(-.*)?$")  # `name-1.0-py3.11.egg-info`, `...-py3.11-linux.egg-info`


def canonical_name(name: str) -> str:
    """PEP 503's normalized name (`Zope.Interface` -> `zope-interface`): no dot, so it can be a stored key."""
    return _SEPARATORS.sub("-", name).lower()


@functools.cache
def installed_packages() -> dict[str, str]:
    """Every installed distribution on sys.path, canonical name -> version, sorted by name; where one is
    installed twice, the first on sys.path wins (it is the one imported)."""
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = sorted(os.listdir(entry or "."))
        except OSError:  # a zip file, a directory gone
            continue
        for name in names:
            stem, dot, suffix = name.rpartition(".")
            if not dot or suffix not in ("dist-info", "egg-info"):
                continue
            if suffix == "egg-info":
                stem = _EGG_PYTHON.sub("", stem)
            project, _, version = stem.rpartition("-")
            if not version[:1].isdigit() or not project:  # an old name without its version, or a misreading
                header = _metadata_header(os.path.join(entry or ".", name))
                project, version = header.get("name", project or stem), header.get("version", "")
            if project and version:
                found.setdefault(canonical_name(project), version)
    return dict(sorted(found.items()))


def framework_versions(packages: dict[str, str]) -> dict[str, str]:
    """The versions of the frameworks in `FRAMEWORKS` that are installed."""
    return {key: packages[name] for name, key in FRAMEWORKS.items() if name in packages}


def accelerator_versions() -> dict[str, Any]:
    """CUDA and cuDNN as torch was built with them: asked only of a torch already imported (importing torch
    takes seconds and initialises much), and only what it knows (nothing on a CPU build)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return {}
    versions: dict[str, Any] = {}
    cuda = getattr(getattr(torch, "version", None), "cuda", None)
    if cuda:
        versions["cuda"] = str(cuda)
    cudnn = getattr(getattr(torch, "backends", None), "cudnn", None)
    version = cudnn.version() if cudnn is not None and cudnn.is_available() else None
    if version:
        versions["cudnn"] = int(version)
    return versions


def _metadata_header(path: str) -> dict[str, str]:
    """Name and Version from the header of a distribution's METADATA (or PKG-INFO, or the file itself)."""
    candidates = [os.path.join(path, "METADATA"), os.path.join(path, "PKG-INFO"), path]
    for candidate in candidates:
        try:
            with open(candidate, encoding="utf-8", errors="replace") as file:
                header: dict[str, str] = {}
                for line in file:
                    if not line.strip():
                        break
                    key, _, value = line.partition(":")
                    if key.lower() in ("name", "version"):
                        header.setdefault(key.lower(), value.strip())
                return header
        except OSError:  # not there, or a directory
            continue
    return {}
