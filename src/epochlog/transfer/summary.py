"""What a push did, per collection: the summary `push` returns and the CLI prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..schema import ALERTS, BLOBS, CHECKPOINTS, CONSOLE, EPOCHS, EXPERIMENTS, SERIES, SUBJECTS

ORDER = (EXPERIMENTS, EPOCHS, CHECKPOINTS, SERIES, CONSOLE, BLOBS, SUBJECTS, ALERTS)


@dataclass
class Counts:
    """Documents of one collection a push wrote new, replaced, and found already there."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class PushSummary:
    """What a push did (or, with `dry_run`, would do), per collection; `series` counts buckets."""

    source: str
    destination: str
    counts: dict[str, Counts] = field(default_factory=lambda: {name: Counts() for name in ORDER})
    chosen: int = 0  # experiments the filter chose
    visited: int = 0  # of them, those the watermark could not rule out
    merged: int = 0  # experiments changed on both sides, merged field by field
    conflicts: int = 0  # values that lost a merge, newly kept under `conflicts`
    dry_run: bool = False
    shipped: bool = True  # False when a journaled destination still holds writes it could not send yet
    refused: list[dict[str, str]] = field(default_factory=list)  # {"document", "reason"} the destination refused
    files: Any = None  # artifacts.Carried: the stored checkpoint copies carried across, when both have a store

    @property
    def changed(self) -> int:
        """Documents written (or that would be): 0 when the destination already had everything."""
        return sum(counts.new + counts.updated for counts in self.counts.values())

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "destination": self.destination, "dry_run": self.dry_run,
                "chosen": self.chosen, "visited": self.visited, "changed": self.changed, "merged": self.merged,
                "conflicts": self.conflicts, "shipped": self.shipped, "refused": list(self.refused),
                "collections": {name: vars(counts).copy() for name, counts in self.counts.items()},
                "files": vars(self.files).copy() if self.files is not None else None}
