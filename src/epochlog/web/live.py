"""Live updates by server-sent events: while experiments run, what changed in them, checked about every second.

An event names what changed (`status`, `epochs`, `series`, `console`) and for which experiment (`{"id": ...}`),
so the page fetches exactly that through the JSON API it already reads. `end` says none of them runs any
longer, and the stream closes. Streams are bounded (`StreamSlots`): beyond the limit the answer is 503 with
`Retry-After`, and the page polls instead.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import AsyncIterator, Sequence
from typing import Annotated, Any

from bson import ObjectId
from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from ..documents import to_object_id
from ..errors import InvalidArgument, NotFound, StoreUnavailable
from ..schema import CONSOLE, EPOCHS, EXPERIMENTS
from ..tracker import Tracker
from .jsonable import DocumentResponse
from .listing import split_list
from .settings import Settings, settings_of
from .slots import StreamSlots

CHECK_SECONDS = 1.0  # how often the store is asked what changed
KEEPALIVE_SECONDS = 15.0  # a comment after this long without an event, so proxies keep the stream open
RETRY_AFTER_SECONDS = 30  # what a refused client is told to wait
MAX_IDS = 10  # as many as the compare page shows
SERIES_WINDOW = dt.timedelta(minutes=10)  # how far back new step-series buckets are looked for
Snapshot = dict[str, Any]  # what the page could fetch anew: "status", "epochs", "series", "console"

router = APIRouter(prefix="/api", tags=["live"])
SettingsDep = Annotated[Settings, Depends(settings_of)]


@router.get("/experiments/{experiment_id}/events", summary="Server-sent events naming what changed in a running "
            "experiment (status, epochs, series, console), then `end`; 503 beyond the dashboard's stream limit",
            responses={200: {"content": {"text/event-stream": {}}}})
async def experiment_events(experiment_id: str, request: Request, settings: SettingsDep) -> Any:
    return await _stream(request, settings.tracker, settings.streams, [experiment_id])


@router.get("/events", summary="Server-sent events for several experiments (as the compare page follows them)",
            responses={200: {"content": {"text/event-stream": {}}}})
async def events(request: Request, settings: SettingsDep,
                 ids: Annotated[str, Query(description="1 to 10 comma-separated experiment ids")]) -> Any:
    wanted = list(dict.fromkeys(split_list(ids)))
    if not 1 <= len(wanted) <= MAX_IDS:
        raise InvalidArgument(f"events follow 1 to {MAX_IDS} experiments, got {len(wanted)}")
    return await _stream(request, settings.tracker, settings.streams, wanted)


async def _stream(request: Request, tracker: Tracker, slots: StreamSlots, ids: Sequence[str]) -> Any:
    eids = [to_object_id(value, "id") for value in ids]
    found = await asyncio.to_thread(tracker.find, EXPERIMENTS, {"_id": {"$in": eids}}, projection={"_id": 1})
    missing = set(eids) - {document["_id"] for document in found}
    if missing:
        raise NotFound(f"no experiment with id {sorted(missing)[0]}")
    if not slots.take():
        return DocumentResponse({"error": f"too many live streams ({slots.limit}); poll the JSON API instead"},
                                status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    return EventStream(_events(request, tracker, slots, eids), slots)


class EventStream(StreamingResponse):
    """A text/event-stream response that gives its slot back however it ends."""

    def __init__(self, content: AsyncIterator[str], slots: StreamSlots) -> None:
        super().__init__(content, media_type="text/event-stream",
                         headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        self.slots = slots

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.slots.give_back()


async def _events(request: Request, tracker: Tracker, slots: StreamSlots, eids: list[ObjectId]) -> AsyncIterator[str]:
    try:
        before = await asyncio.to_thread(snapshots, tracker, eids)
        yield ": following\n\n"  # headers and a first byte now, so the page knows the stream is open
        quiet_since = time.monotonic()
        while any(snapshot["status"][0] == "running" for snapshot in before.values()):
            await asyncio.sleep(CHECK_SECONDS)
            if slots.closing or await request.is_disconnected():
                return
            now = await asyncio.to_thread(snapshots, tracker, eids)
            for eid in eids:
                for what in changes(before[eid], now[eid]):
                    yield _event(what, {"id": str(eid)})
                    quiet_since = time.monotonic()
            before = now
            if time.monotonic() - quiet_since >= KEEPALIVE_SECONDS:
                yield ": keepalive\n\n"
                quiet_since = time.monotonic()
        yield _event("end", {})
    except StoreUnavailable:
        return  # closed without `end`: the page polls, backing off, until the store answers again


def snapshots(tracker: Tracker, eids: list[ObjectId]) -> dict[ObjectId, Snapshot]:
    """Per experiment, the marks that move when something new can be fetched (a deleted one reads as ended)."""
    states = {d["_id"]: d for d in tracker.find(EXPERIMENTS, {"_id": {"$in": eids}},
                                               projection={"status": 1, "heartbeat": 1, "end_time": 1})}
    # every append is a new bucket, its id made on the writer's clock: the recent ones, with a wide margin for skew
    since = ObjectId.from_datetime(dt.datetime.now(dt.timezone.utc) - SERIES_WINDOW)
    buckets: dict[ObjectId, set[ObjectId]] = {eid: set() for eid in eids}
    for bucket, eid in tracker.series_bucket_ids(eids, since=since):
        buckets[eid].add(bucket)
    return {eid: {"status": tuple(states.get(eid, {}).get(key) for key in ("status", "heartbeat", "end_time")),
                  "epochs": _newest(tracker, EPOCHS, eid, "epoch"), "series": frozenset(buckets[eid]),
                  "console": _newest(tracker, CONSOLE, eid, "seq")} for eid in eids}


def changes(before: Snapshot, now: Snapshot) -> list[str]:
    """What the page lacks: a new bucket id is a new series or points (old ones leave the window unnoticed)."""
    return [what for what in ("status", "epochs", "series", "console")
            if (now[what] - before[what] if what == "series" else now[what] != before[what])]


def _newest(tracker: Tracker, collection: str, eid: ObjectId, key: str) -> Any:
    found = tracker.find(collection, {"experiment_id": eid}, projection={key: 1}, sort=[(key, -1)], limit=1)
    return found[0].get(key) if found else None


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"
