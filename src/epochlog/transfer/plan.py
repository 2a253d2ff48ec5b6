"""What a push visits: the source's experiments the filter chooses that may hold something the destination
lacks, judged from the watermarks without reading the destination."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bson import ObjectId

from ..documents import to_utc
from ..errors import InvalidArgument, QueryError
from ..schema import CHECKPOINTS, CONSOLE, EPOCHS, EXPERIMENTS
from ..store import Store
from ..types import Document, Filter
from .resolve import digest
from .watermark import Watermark


@dataclass
class Plan:
    """The source experiments to visit (`_id` order), with their digests, and how many the filter chose."""

    visit: list[Document]
    digests: dict[ObjectId, str]
    chosen: int
    filtered: bool


def experiment_filter(query: Filter | None, since: dt.datetime | dt.date | None) -> Filter | None:
    """The experiments a push takes: those matching `query`, and with `since`, those started, ended or last
    seen alive (heartbeat) at or after it."""
    if query is not None and not isinstance(query, Mapping):
        raise QueryError(f"a push's query is a MongoDB filter (a dict), got {query!r}")
    conditions: list[Filter] = [dict(query)] if query else []
    if since is not None:
        if not isinstance(since, (dt.datetime, dt.date)):
            raise InvalidArgument(f"since must be a date or datetime, got {since!r}")
        moment = to_utc(since)
        conditions.append({"$or": [{field: {"$gte": moment}} for field in ("start_time", "heartbeat", "end_time")]})
    if not conditions:
        return None
    return conditions[0] if len(conditions) == 1 else {"$and": conditions}


def plan(source: Store, forward: Watermark, backward: Watermark, chosen: Filter | None, *, full: bool) -> Plan:
    """Experiments whose document differs from the version last exchanged with the destination (either way),
    plus those that gained an epoch, checkpoint, console chunk or bucket since the last complete push."""
    experiments = source.find(EXPERIMENTS, chosen, sort=[("_id", 1)])
    digests = {document["_id"]: digest(document) for document in experiments}
    if full:
        return Plan(experiments, digests, len(experiments), chosen is not None)
    known = {eid for eid, value in digests.items()
             if value in (forward.digests(eid)[:1] + backward.digests(eid)[1:2])}
    grown = _grown(source, forward.since) if forward.since is not None else set()
    visit = [document for document in experiments if document["_id"] not in known or document["_id"] in grown]
    return Plan(visit, digests, len(experiments), chosen is not None)


def _grown(source: Store, since: dt.datetime) -> set[Any]:
    """Experiments with a child document or bucket written at or after `since` (by the writer's clock)."""
    grown: set[Any] = set()
    for collection in (EPOCHS, CHECKPOINTS):
        grown.update(document.get("experiment_id") for document in
                     source.find(collection, {"timestamp": {"$gte": since}}, projection={"experiment_id": 1}))
    first = ObjectId.from_datetime(since)
    grown.update(document.get("experiment_id") for document in
                 source.find(CONSOLE, {"_id": {"$gte": first}}, projection={"experiment_id": 1}))
    grown.update(experiment for _, experiment in source.series_bucket_ids(since=first))
    return grown
