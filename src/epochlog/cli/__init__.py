"""The `epochlog` command line: one module per command group, all registered on `app`."""

from __future__ import annotations

from . import admin, archive, artifacts, browse, doctor, export, groups, imports, indexes, logs, migrate, push, subjects, sync, ui, watch  # noqa: F401  (registers the commands)
from .app import app


def main() -> None:
    """The `epochlog` entry point."""
    app(prog_name="epochlog")


__all__ = ["app", "main"]
