"""The JSON API under /api that backs every page. Read-only unless the dashboard runs with a token."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import numpy as np
from bson import ObjectId
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from .. import __version__
from ..checkpoints import CheckpointState
from ..context import environment_diff
from ..dotted import check_field, differing_keys, flatten, get_path
from ..display import duration, model_label, tag_list
from ..documents import to_object_id
from ..errors import InvalidArgument, NotFound
from ..experiment_filter import all_of, experiment_filter
from ..finite_numbers import finite_filter
from ..groups import parse_grouping
from ..liveness import stale_ids
from ..query.filter_text import MAX_FILTER_LENGTH, parse_filter_text
from ..schema import CHECKPOINTS, EPOCHS, EXPERIMENTS, SUBJECTS
from ..tracker import BEST_MODEL_FIELDS, Tracker, leaderboard_statuses
from ..types import Document
from . import breakdown as subject_breakdown
from . import explore as explore_data
from . import listing
from .downsample import DEFAULT_POINTS, MAX_POINTS, min_max, to_json_values, window
from .jsonable import DocumentResponse, dumps, jsonable
from .listing import ListQuery, split_list
from .settings import Settings, settings_of

MAX_COMPARE = 10
LEADERBOARD_FIELDS = (*BEST_MODEL_FIELDS, "heartbeat")  # the heartbeat tells a stale running run
MAX_EPOCHS = 10_000
DEFAULT_CONSOLE_LINES = 1_000  # the console panel's first view: the last lines
MAX_CONSOLE_LINES = 10_000
FilterText = Annotated[str, Query(description="a MongoDB filter as JSON", max_length=MAX_FILTER_LENGTH)]


class ErrorBody(BaseModel):
    error: str


class NotesBody(BaseModel):
    notes: str = Field(max_length=100_000)


class ArchivedBody(BaseModel):
    archived: bool


class TagsBody(BaseModel):
    tags: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(max_length=200)


ERRORS: dict[int | str, dict[str, Any]] = {400: {"model": ErrorBody, "description": "Bad request"},
                                           404: {"model": ErrorBody, "description": "Not found"}}

router = APIRouter(prefix="/api", default_response_class=DocumentResponse, responses=ERRORS)


def tracker_of(request: Request) -> Tracker:
    return settings_of(request).tracker


TrackerDep = Annotated[Tracker, Depends(tracker_of)]
SettingsDep = Annotated[Settings, Depends(settings_of)]


@router.get("/status", tags=["meta"], summary="What this dashboard serves and whether it is editable")
def status(settings: SettingsDep) -> DocumentResponse:
    scheme = settings.tracker.uri.split(":", 1)[0]
    backend = "mongodb" if scheme.startswith("mongodb") else scheme
    return DocumentResponse({"version": __version__, "backend": backend, "editable": settings.editable,
                             "stale_after": settings.stale_after, "alerting": settings.alerting})


# -- experiments -----------------------------------------------------------------------------------

def list_query(challenge: int | None = None,
               status: Annotated[list[str] | None, Query(description="a status, or stale")] = None,
               tag: Annotated[list[str] | None, Query(description="experiments with all these tags")] = None,
               filter: FilterText = "",
               sort: Annotated[str, Query(description="any dotted field, e.g. metrics.best_val_loss, or $computed: "
                                          "the computed column, among the newest 10,000 matches")] = "start_time",
               order: Annotated[int, Query(description="1 ascending, -1 descending")] = -1,
               skip: Annotated[int, Query(ge=0, le=listing.MAX_SKIP)] = 0,
               limit: Annotated[int, Query(ge=1, le=listing.MAX_LIMIT)] = listing.DEFAULT_LIMIT,
               archived: Annotated[bool, Query(description="include archived experiments")] = False,
               compute: Annotated[str, Query(description="an aggregation expression as JSON, e.g. "
                                             '{"$subtract": ["$metrics.best_val_loss", "$metrics.best_train_loss"]}: '
                                             "each row's `computed`", max_length=20_000)] = "") -> ListQuery:
    tags = [item for value in tag or [] for item in split_list(value)]
    return ListQuery(challenge, list(status or []), tags, filter, sort, order, skip, limit, archived,
                     compute).validate()


ListQueryDep = Annotated[ListQuery, Depends(list_query)]


@router.get("/experiments", tags=["experiments"], summary="One page of experiments, filtered and sorted")
def experiments(query: ListQueryDep, settings: SettingsDep) -> DocumentResponse:
    return DocumentResponse(listing.list_page(settings.tracker, query, settings.stale_after))


@router.get("/facets", tags=["experiments"], summary="Filter choices drawn from the most recent experiments")
def facets(settings: SettingsDep) -> DocumentResponse:
    return DocumentResponse(settings.cached("facets", lambda: listing.facets(settings.tracker)))


@router.get("/experiments/export", tags=["experiments"], summary="Experiments as CSV or JSON",
            responses={200: {"content": {"text/csv": {}, "application/json": {}}}})
def export(query: ListQueryDep, settings: SettingsDep,
           ids: Annotated[str, Query(description="comma-separated ids; empty exports what the filter matches")] = "",
           format: Annotated[str, Query(pattern="^(csv|json)$")] = "csv") -> Response:
    documents = listing.export_documents(settings.tracker, split_list(ids), query, settings.stale_after)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    disposition = {"Content-Disposition": f'attachment; filename="experiments-{stamp}.{format}"'}
    if format == "json":
        return Response(dumps(jsonable(documents)), media_type="application/json", headers=disposition)
    return Response(listing.to_csv(documents), media_type="text/csv; charset=utf-8", headers=disposition)


@router.get("/experiments/{experiment_id}", tags=["experiments"], summary="One experiment's document")
def experiment(experiment_id: str, settings: SettingsDep) -> DocumentResponse:
    document = settings.tracker.get_experiment(experiment_id)
    now = _now()
    return DocumentResponse({"experiment": document,
                             "stale": bool(stale_ids(settings.tracker, [document], now, settings.stale_after)),
                             "tags": tag_list(document.get("tags")), "duration": duration(document, now),
                             "series": settings.tracker.get_metric_names(document["_id"]),
                             "editable": settings.editable})


@router.get("/experiments/{experiment_id}/epochs", tags=["experiments"],
            summary="Epochs after a given one (for live updates), with the experiment's current state")
def epochs(experiment_id: str, settings: SettingsDep,
           after: Annotated[int, Query(description="only epochs greater than this")] = -1,
           limit: Annotated[int, Query(ge=1, le=MAX_EPOCHS)] = MAX_EPOCHS) -> DocumentResponse:
    tracker = settings.tracker
    eid = to_object_id(experiment_id, "experiment_id")
    found = tracker.find(EXPERIMENTS, {"_id": eid}, limit=1,
                         projection={"status": 1, "heartbeat": 1, "start_time": 1, "end_time": 1, "metrics": 1})
    state = found[0] if found else None
    if state is None:
        return _not_found(eid)
    # from the start, every epoch: also those other code numbered with a string or nothing
    condition: Document = {"experiment_id": eid} if after < 0 else {"experiment_id": eid, "epoch": {"$gt": after}}
    documents = tracker.find(EPOCHS, condition, sort=[("epoch", 1)], limit=limit)
    rows = [{"epoch": d.get("epoch"), "timestamp": d.get("timestamp"),
             "metrics": flatten(d["metrics"]) if isinstance(d.get("metrics"), dict) else {},
             "timing": d.get("timing")} for d in documents]
    now = _now()
    current = {"status": state.get("status"), "heartbeat": state.get("heartbeat"), "end_time": state.get("end_time"),
               "metrics": state.get("metrics", {}), "duration": duration(state, now),
               "stale": bool(stale_ids(tracker, [state], now, settings.stale_after))}
    return DocumentResponse({"experiment": current, "epochs": rows, "last_epoch": rows[-1]["epoch"] if rows else after})


@router.get("/experiments/{experiment_id}/series", tags=["series"], summary="Names of the step series logged")
def series_names(experiment_id: str, tracker: TrackerDep) -> DocumentResponse:
    return DocumentResponse({"series": tracker.get_metric_names(experiment_id)})


@router.get("/experiments/{experiment_id}/series/{name:path}", tags=["series"],
            summary="A step series, min/max-downsampled to at most `points` points over [start, end]")
def series(experiment_id: str, name: str, tracker: TrackerDep,
           start: Annotated[int | None, Query(description="first step of the view")] = None,
           end: Annotated[int | None, Query(description="last step of the view")] = None,
           after: Annotated[int | None, Query(description="only points after this step (live tail)")] = None,
           points: Annotated[int, Query(ge=4, le=MAX_POINTS)] = DEFAULT_POINTS) -> DocumentResponse:
    data = tracker.get_metric_series(experiment_id, name)
    steps, values = data.steps, data.values
    if after is not None:
        start = after + 1 if start is None else max(start, after + 1)
    view_steps, view_values = window(steps, values, start, end)
    shown_steps, shown_values = min_max(view_steps, view_values, points)
    return DocumentResponse({
        "name": name, "total": int(len(steps)), "count": int(len(view_steps)),
        "downsampled": len(shown_steps) < len(view_steps),
        "first_step": int(steps[0]) if len(steps) else None, "last_step": int(steps[-1]) if len(steps) else None,
        "steps": shown_steps.tolist(), "values": to_json_values(np.asarray(shown_values)),
    })


@router.get("/experiments/{experiment_id}/checkpoints", tags=["experiments"],
            summary="Checkpoints with the best one marked and each file's checksum state")
def checkpoints(experiment_id: str, tracker: TrackerDep) -> DocumentResponse:
    states = {row["checkpoint_id"]: row["state"] for row in tracker.verify_checkpoints(experiment_id)}
    eid = to_object_id(experiment_id, "experiment_id")
    documents = tracker.find(CHECKPOINTS, {"experiment_id": eid}, sort=[("epoch", 1)])
    return DocumentResponse({"checkpoints": [
        {"id": d["_id"], "epoch": d.get("epoch"), "is_best": bool(d.get("is_best")), "file": d.get("file", {}),
         "metrics": d.get("metrics", {}), "timestamp": d.get("timestamp"), "state": states.get(d["_id"], "unchecked")}
        for d in documents]})


@router.get("/experiments/{experiment_id}/console", tags=["context"],
            summary="The captured console: the last `tail` lines, or those written after `after` (a last_seq)")
def console(experiment_id: str, tracker: TrackerDep,
            after: Annotated[int, Query(ge=0, description="only lines written after this last_seq")] = 0,
            tail: Annotated[int, Query(ge=1, le=MAX_CONSOLE_LINES)] = DEFAULT_CONSOLE_LINES) -> DocumentResponse:
    log = tracker.get_console(experiment_id, tail=tail, after=after)
    return DocumentResponse({
        "lines": [{"time": line.time, "stream": line.stream, "text": line.text} for line in log.lines],
        "dropped_lines": log.dropped_lines, "dropped_at": log.dropped_at, "last_seq": log.last_seq})


@router.get("/experiments/{experiment_id}/packages", tags=["context"],
            summary="The installed distributions the run had (name -> version), or null when not recorded")
def packages(experiment_id: str, tracker: TrackerDep) -> DocumentResponse:
    return DocumentResponse({"packages": tracker.get_packages(experiment_id)})


@router.get("/experiments/{experiment_id}/diff", tags=["context"],
            summary="The uncommitted git diff the run had, or null (a clean tree, or not recorded)")
def git_diff(experiment_id: str, tracker: TrackerDep) -> DocumentResponse:
    return DocumentResponse({"diff": tracker.get_git_diff(experiment_id)})


@router.put("/experiments/{experiment_id}/notes", tags=["editing"], summary="Replace the notes (token needed)")
def put_notes(experiment_id: str, body: NotesBody, settings: SettingsDep) -> DocumentResponse:
    settings.tracker.set_notes(experiment_id, body.notes)
    settings.forget("facets")
    return DocumentResponse({"notes": settings.tracker.get_experiment(experiment_id).get("notes", "")})


@router.put("/experiments/{experiment_id}/tags", tags=["editing"], summary="Replace the tags (token needed)")
def put_tags(experiment_id: str, body: TagsBody, settings: SettingsDep) -> DocumentResponse:
    settings.tracker.set_tags(experiment_id, [tag.strip() for tag in body.tags if tag.strip()])
    settings.forget("facets")
    return DocumentResponse({"tags": settings.tracker.get_experiment(experiment_id).get("tags", [])})


@router.put("/experiments/{experiment_id}/archived", tags=["editing"],
            summary="Archive (true) or restore (false) an experiment (token needed)")
def put_archived(experiment_id: str, body: ArchivedBody, settings: SettingsDep) -> DocumentResponse:
    tracker = settings.tracker
    (tracker.archive_experiments if body.archived else tracker.restore_experiments)([experiment_id])
    settings.forget("facets")
    return DocumentResponse({"archived": tracker.get_experiment(experiment_id).get("archived") is True})


# -- groups ---------------------------------------------------------------------------------------

MAX_GROUPS = 500  # groups in one answer (best mean first)
MAX_GROUP_RUNS = 1000  # runs behind one group curve


@router.get("/groups", tags=["groups"],
            summary="Runs grouped by fields, or by the config except some keys (seeds, folds), with n, mean, sd, "
                    "sem, 95% CI, min, max, best run and how many were excluded; best mean first")
def groups(settings: SettingsDep,
           by: Annotated[list[str] | None, Query(description="a field to group by (repeat)")] = None,
           config_except: Annotated[str | None, Query(alias="except", description="comma-separated config keys "
                                                      "to leave out, e.g. seed,fold")] = None,
           metric: Annotated[str, Query(description="a dotted field")] = "metrics.best_val_loss",
           mode: Annotated[str, Query(pattern="^(min|max)$")] = "min",
           status: Annotated[list[str] | None, Query(description="completed (the default), any, or statuses")] = None,
           challenge: int | None = None,
           filter: FilterText = "",
           archived: bool = False) -> DocumentResponse:
    check_field(metric, "metric")
    grouping = parse_grouping([path for path in by or [] if path], config_except)
    found = settings.tracker.group_stats(grouping, metric, mode, challenge=challenge,
                                         filter=parse_filter_text(filter) or None,
                                         status=leaderboard_statuses(status), archived=archived)
    return DocumentResponse({"metric": metric, "mode": mode, "total": len(found),
                             "groups": [group.to_dict() for group in found[:MAX_GROUPS]]})


@router.get("/groups/curve", tags=["groups"],
            summary="A group's learning curve: per epoch n, mean, sd, min and max of an epoch metric over its runs")
def group_curve(settings: SettingsDep,
                ids: Annotated[str, Query(description="the group's experiment ids, comma-separated")],
                metric: Annotated[str, Query(description="an epoch metric, e.g. val_loss")] = "val_loss",
                ) -> DocumentResponse:
    chosen = split_list(ids)
    if len(chosen) > MAX_GROUP_RUNS:
        raise InvalidArgument(f"a curve is drawn over at most {MAX_GROUP_RUNS} runs, got {len(chosen)}")
    curve = settings.tracker.group_curve(chosen, metric)
    return DocumentResponse(curve.to_dict())


@router.get("/explore", tags=["groups"],
            summary="Chosen fields of the runs a filter matches (newest first), for scatter plots and parallel axes")
def explore(settings: SettingsDep,
            fields: Annotated[str, Query(description="comma-separated dotted fields, e.g. config.lr,metrics.best_val_loss")],
            filter: FilterText = "",
            status: Annotated[list[str] | None, Query(description="only runs of these statuses")] = None,
            limit: Annotated[int, Query(ge=1, le=explore_data.MAX_RUNS)] = 5000) -> DocumentResponse:
    query = ListQuery(status=list(status or []), filter=filter).validate()
    condition = query.mongo_filter(settings.tracker, settings.stale_after)
    return DocumentResponse(explore_data.explore_rows(settings.tracker, split_list(fields), condition, limit))


# -- compare, leaderboard, subjects ----------------------------------------------------------------

@router.get("/compare", tags=["compare"],
            summary="2-10 experiments side by side: summaries, metrics, config and environment diffs")
def compare(settings: SettingsDep,
            ids: Annotated[str, Query(description="2 to 10 comma-separated experiment ids")]) -> DocumentResponse:
    wanted = list(dict.fromkeys(split_list(ids)))
    if not 2 <= len(wanted) <= MAX_COMPARE:
        raise InvalidArgument(f"compare takes 2 to {MAX_COMPARE} different experiment ids, got {len(wanted)}")
    documents = settings.tracker.compare_experiments(wanted)
    beats = {d["_id"]: d.get("heartbeat") for d in settings.tracker.find(
        EXPERIMENTS, {"_id": {"$in": [d["_id"] for d in documents]}}, projection={"heartbeat": 1})}
    now = _now()
    stale = stale_ids(settings.tracker, [{**d, "heartbeat": beats.get(d["_id"])} for d in documents], now,
                      settings.stale_after)
    parts: list[dict[str, Any]] = [
        {part: d.get(part) if isinstance(d.get(part), dict) else {} for part in ("config", "model", "dataset")}
        for d in documents]
    differing = differing_keys(parts)
    flats = [flatten(part) for part in parts]
    keys = sorted({key for flat in flats for key in flat})
    metric_flats = [flatten(d["metrics"]) if isinstance(d.get("metrics"), dict) else {} for d in documents]
    return DocumentResponse({
        "experiments": [{"id": d["_id"], "experiment_name": d.get("experiment_name"), "status": d.get("status"),
                         "challenge": d.get("challenge"), "model": model_label(d.get("model")),
                         "tags": tag_list(d.get("tags")), "start_time": d.get("start_time"),
                         "end_time": d.get("end_time"), "stale": d["_id"] in stale}
                        for d in documents],
        "config": [{"key": key, "differs": key in differing, "values": [flat.get(key) for flat in flats]}
                   for key in keys],
        "metrics": [{"key": key, "values": [flat.get(key) for flat in metric_flats]}
                    for key in sorted({key for flat in metric_flats for key in flat})],
        "environment": [{"key": key, "values": values}
                        for key, values in environment_diff(documents, settings.tracker).items()],
    })


@router.get("/leaderboard", tags=["leaderboard"],
            summary="The best experiments per challenge by a metric (completed ones unless `status` says otherwise), "
                    "each with its status and best checkpoint's state; NaN and missing values never rank")
def leaderboard(settings: SettingsDep,
                metric: Annotated[str, Query(description="a dotted field")] = "metrics.best_val_loss",
                mode: Annotated[str, Query(pattern="^(min|max)$")] = "min",
                n: Annotated[int, Query(ge=1, le=100)] = 10,
                challenge: int | None = None,
                status: Annotated[list[str] | None, Query(
                    description="completed (the default), any, or statuses to rank (repeat or comma-separate); "
                                "unfinished runs rank by the best epoch they reached")] = None) -> DocumentResponse:
    tracker = settings.tracker
    check_field(metric, "metric")
    statuses = leaderboard_statuses(status)
    if challenge is not None:
        challenges: list[int | None] = [challenge]
    else:
        challenges = list(settings.cached("facets", lambda: listing.facets(tracker))["challenges"]) or [None]
    found = [(number, tracker.get_best_models(number, n, metric=metric, mode=mode, status=statuses,
                                              projection=dict.fromkeys(LEADERBOARD_FIELDS, 1)))
             for number in challenges]
    ranked = [d for _, best in found for d in best]
    states = tracker.best_checkpoint_states(d["_id"] for d in ranked)
    stale = stale_ids(tracker, ranked, _now(), settings.stale_after)
    boards = [_board(tracker, number, best, states, metric, statuses, stale) for number, best in found]
    return DocumentResponse({"metric": metric, "mode": mode, "status": statuses, "boards": boards})


@router.get("/subjects", tags=["subjects"], summary="Subjects' metadata, one page at a time")
def subjects(tracker: TrackerDep,
             filter: FilterText = "",
             sort: str = "subject_id", order: Annotated[int, Query(ge=-1, le=1)] = 1,
             skip: Annotated[int, Query(ge=0, le=listing.MAX_SKIP)] = 0,
             limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> DocumentResponse:
    check_field(sort, "sort")
    if order == 0:
        raise InvalidArgument("order must be 1 or -1")
    condition = parse_filter_text(filter)
    rows = tracker.find(SUBJECTS, condition, sort=[(sort, order), ("_id", order)], skip=skip, limit=limit)
    sample = rows or tracker.find(SUBJECTS, {}, limit=50)
    return DocumentResponse({"total": tracker.count(SUBJECTS, condition), "skip": skip, "limit": limit,
                             "attributes": subject_breakdown.subject_attributes(sample),
                             "rows": [{key: value for key, value in row.items() if key != "_id"} for row in rows]})


@router.get("/subjects/breakdown", tags=["subjects"],
            summary="A per-subject metric grouped by a subject attribute (bands for numbers)")
def breakdown(tracker: TrackerDep, metric: str | None = None, by: str | None = None,
              experiment: Annotated[str, Query(description="comma-separated experiment ids; default all")] = "",
              challenge: int | None = None, bands: Annotated[int, Query(ge=1, le=50)] = 6) -> DocumentResponse:
    result = subject_breakdown.breakdown(tracker, metric, by, experiment_ids=split_list(experiment),
                                         challenge=challenge, bands=bands)
    return DocumentResponse(result)


# -- helpers ---------------------------------------------------------------------------------------

def _board(tracker: Tracker, challenge: int | None, best: list[Document],
           checkpoints: dict[ObjectId, CheckpointState | None], metric: str, statuses: str | list[str],
           stale: set[Any]) -> Document:
    """One challenge's leaderboard, and how many runs of the statuses asked could not rank (NaN, inf or missing);
    `completed` counts the completed runs whatever was asked; archived runs count nowhere, as they rank nowhere."""
    scope = experiment_filter(challenge=challenge, statuses=None if statuses == "any" else statuses)
    rows = [{"rank": index + 1, "id": d["_id"], "experiment_name": d.get("experiment_name"),
             "model": model_label(d.get("model")), "status": d.get("status"),
             "stale": d["_id"] in stale, "heartbeat": d.get("heartbeat"), "value": get_path(d, metric),
             "best_epoch": get_path(d, "metrics.best_epoch"),
             "metrics": flatten(d["metrics"]) if isinstance(d.get("metrics"), dict) else {},
             "checkpoint": checkpoints.get(d["_id"]),
             "tags": d.get("tags", []), "end_time": d.get("end_time")} for index, d in enumerate(best)]
    completed = experiment_filter(challenge=challenge, statuses=["completed"])
    return {"challenge": challenge, "completed": tracker.count(EXPERIMENTS, completed),
            "considered": tracker.count(EXPERIMENTS, scope),
            "ranked": tracker.count(EXPERIMENTS, all_of([scope, finite_filter(metric)])), "rows": rows}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)




def _not_found(eid: Any) -> Any:
    raise NotFound(f"no experiment with id {eid}")
