"""Bringing data in from elsewhere: the legacy SQLite tracker's files, and BIDS participants.tsv files."""

from .legacy import MigrationReport, migrate_legacy, open_legacy
from .participants import ParticipantsReport, import_participants, read_participants

__all__ = ["MigrationReport", "ParticipantsReport", "import_participants", "migrate_legacy", "open_legacy",
           "read_participants"]
