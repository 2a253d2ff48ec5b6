"""The watermark: what one source store has already pushed into a destination, kept in the destination's
`transfers` collection, one document per source.

    {_id, source: <store key>, since: <date or null>, pushed_at: <date>,
     experiments: {<experiment id hex>: [<source digest>, <destination digest>]}}

Each experiment's pair is set in the same batch as the experiment's documents, after them, so it only ever
names what the destination holds. `since` (the start of the last complete, unfiltered push, less a margin for
clocks) lets the next push find the epochs, checkpoints and buckets added to runs whose document did not change.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from bson import ObjectId

from ..schema import TRANSFERS
from ..store import Store
from ..store.base import Put, Update, Write
from ..types import Document

#: How far before a push's start the next one looks for new epochs, checkpoints and buckets (clock skew
#: between the machines that write a store).
CLOCK_MARGIN = dt.timedelta(minutes=10)


def store_key(store: Store) -> str:
    """A store's identity, whatever the URI's spelling: the absolute path of an embedded file; the servers
    and database of a MongoDB one, without credentials or options."""
    inner = getattr(store, "inner", store)  # the journal's target
    path = getattr(inner, "path", None)
    if isinstance(path, str):
        return "sqlite:///" + (path if path == ":memory:" else str(Path(path).resolve()))
    from ..store.journal import target_key

    return target_key(inner.uri, inner.database_name)


@dataclass
class Watermark:
    """One (source, destination) watermark, as read at the start of a push."""

    source: str
    id: ObjectId
    since: dt.datetime | None = None
    experiments: dict[str, list[str]] = field(default_factory=dict)
    exists: bool = False

    @classmethod
    def load(cls, holder: Store, source: str) -> Watermark:
        """The watermark `holder` keeps for pushes from `source` (an empty one when none was recorded)."""
        oid = ObjectId(hashlib.sha256(source.encode()).hexdigest()[:24])
        document = holder.find_one(TRANSFERS, {"_id": oid}) or {}
        since = document.get("since")
        experiments = document.get("experiments")
        pairs = {key: [str(item) for item in value] for key, value in experiments.items()
                 if isinstance(value, list)} if isinstance(experiments, dict) else {}
        return cls(source, oid, since if isinstance(since, dt.datetime) else None, pairs, bool(document))

    def digests(self, experiment: ObjectId) -> list[str]:
        """The (source, destination) digests recorded for an experiment, empty if none."""
        return self.experiments.get(str(experiment), [])

    def create(self, now: dt.datetime) -> list[Write]:
        """The write that starts this watermark when the destination has none yet."""
        if self.exists:
            return []
        self.exists = True
        return [Put(TRANSFERS, {"_id": self.id, "source": self.source, "since": None, "pushed_at": now,
                                "experiments": {}})]

    def record(self, pairs: dict[ObjectId, tuple[str, str]]) -> list[Write]:
        """The write saying the destination holds these versions of experiments (experiment -> source and
        destination digests) and all they recorded: one update, however many experiments."""
        changes = {f"experiments.{experiment}": list(pair) for experiment, pair in pairs.items()}
        return [Update(TRANSFERS, {"_id": self.id}, changes)] if changes else []

    def finish(self, started: dt.datetime, now: dt.datetime, *, complete: bool) -> Write:
        """The write closing a push: `since` moves on only after a complete, unfiltered one."""
        changes: Document = {"pushed_at": now}
        if complete:
            changes["since"] = started - CLOCK_MARGIN
        return Update(TRANSFERS, {"_id": self.id}, changes)
