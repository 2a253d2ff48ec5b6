"""Which artifact store a tracker copies checkpoint files into (`Tracker(artifacts=...)`, `EPOCHLOG_ARTIFACTS`).

    None      $EPOCHLOG_ARTIFACTS if set, else none (checkpoints are registered, not copied)
    True      the store's own: a directory next to an embedded database (`runs.db` -> `runs.db.artifacts/`),
              GridFS in a MongoDB store's database
    "gridfs"  GridFS (a MongoDB store only)
    a path    that directory (local, or a mount every machine shares)
    an ArtifactStore
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

from ..errors import InvalidArgument
from ..store import is_mongodb_uri
from ..store.base import Store
from .stores import ArtifactStore, DirectoryArtifacts, GridFSArtifacts

ArtifactSpec = Union[None, bool, str, "os.PathLike[str]", ArtifactStore]
ENV = "EPOCHLOG_ARTIFACTS"


def open_artifacts(spec: ArtifactSpec, store: Store) -> ArtifactStore | None:
    """The artifact store `spec` names for `store`; InvalidArgument for one that cannot be."""
    if spec is None:
        spec = os.environ.get(ENV) or False
        if isinstance(spec, str) and spec.lower() in ("1", "true", "yes", "on"):
            spec = True
    if spec is False:
        return None
    if isinstance(spec, ArtifactStore):
        return spec
    inner = getattr(store, "inner", store)  # the journal's MongoDB
    mongo = is_mongodb_uri(store.uri)
    if spec is True or spec == "gridfs":
        if mongo and store.database_name is not None:
            return GridFSArtifacts(store.uri, store.database_name)
        if spec == "gridfs":
            raise InvalidArgument("artifacts='gridfs' needs a MongoDB store; give a directory for this one")
        path = getattr(inner, "path", ":memory:")
        if path == ":memory:":
            raise InvalidArgument("an in-memory store has no directory for artifacts: give artifacts=<directory>")
        return DirectoryArtifacts(f"{path}.artifacts")
    if isinstance(spec, (str, os.PathLike)):
        return DirectoryArtifacts(Path(spec))
    raise InvalidArgument(f"artifacts must be True, False, 'gridfs', a directory or an ArtifactStore, got {spec!r}")
