"""Copies of checkpoint files that follow the run: a content-addressed artifact store, filled in the background.

    stores.py    DirectoryArtifacts (a local or shared directory) and GridFSArtifacts (MongoDB), by sha256
    uploads.py   the durable queue and the thread that copies files in, across outages and restarts
    copies.py    fetching a stored copy, checking the copies, and what `gc` frees
    options.py   `Tracker(artifacts=...)`: which artifact store a tracker uses
"""

from __future__ import annotations

from .copies import Carried, CheckpointCopies, Collection, carry
from .options import ArtifactSpec, open_artifacts
from .stores import ArtifactError, ArtifactStore, DirectoryArtifacts, GridFSArtifacts

__all__ = ["ArtifactError", "ArtifactSpec", "ArtifactStore", "Carried", "CheckpointCopies", "Collection", "DirectoryArtifacts", "GridFSArtifacts",
           "carry", "open_artifacts"]
