"""Importing runs from the tools users leave: MLflow (`mlflow.py`) and TensorBoard (`tensorboard.py`).

Each reader turns the other tool's runs into `ImportedRun`s with its own real library (imported lazily);
`records.load` writes them. Ids are derived from the source's own run identity, so importing again updates
what changed and duplicates nothing. Every import reports what it could not map.
"""

from __future__ import annotations

from .records import ImportedRun, ImportReport

__all__ = ["ImportReport", "ImportedRun"]
