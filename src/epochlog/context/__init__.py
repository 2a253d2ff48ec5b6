"""Everything about a run beyond its metrics, recorded by epochlog itself. So far: the environment at
creation (`env`: git, argv, python, machine, packages, GPUs), chosen with `capture=` / `EPOCHLOG_CAPTURE`.

    options.py      which groups to record (the keyword and the environment variable)
    environment.py  the `env` document of a new experiment, and the blobs it refers to
    git.py · packages.py · system.py · gpus.py    one source each
    blobs.py        content-addressed documents (diffs, package sets) in the `blobs` collection
    compare.py      how the environments of experiments differ
"""

from .blobs import GIT_DIFF, PACKAGES, read_blob
from .compare import environment_diff
from .environment import Environment, capture_environment
from .options import ENV_VARIABLE, GROUPS, CaptureSpec, capture_groups

__all__ = ["ENV_VARIABLE", "GIT_DIFF", "GROUPS", "PACKAGES", "CaptureSpec", "Environment", "capture_environment",
           "capture_groups", "environment_diff", "read_blob"]
