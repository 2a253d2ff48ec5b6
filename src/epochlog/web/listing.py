"""The experiments table: filters, sort and one page of rows from one query with a projection.

Nothing here loads every experiment: a page is one `find` with skip/limit plus one `count`, and the
filter choices (challenges, tags, metric names) come from the most recent experiments only.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..csv_cells import cell
from ..dotted import check_field, flatten
from ..display import duration, model_label, tag_list
from ..documents import to_object_id
from ..errors import InvalidArgument
from ..experiment_filter import experiment_filter
from ..liveness import stale_filter, stale_ids
from ..query.filter_text import parse_filter_text
from ..schema import EXPERIMENTS, STATUSES
from ..tracker import Tracker
from ..types import Document, Reader
from . import computed
from .jsonable import jsonable

ROW_FIELDS = ("experiment_name", "challenge", "status", "model", "tags", "start_time", "end_time", "heartbeat",
              "metrics", "config", "error.type", "error.message", "archived")
STATUS_CHOICES = (*STATUSES, "stale")
DEFAULT_LIMIT, MAX_LIMIT = 50, 500
MAX_SKIP = 1_000_000_000
FACET_SAMPLE = 1000  # how many recent experiments the filter choices are drawn from
#: A page counts the matching experiments up to this many (or just past the page), then says "10,000+": a count
#: reads every match, and a page must not wait for 100,000 of them
COUNT_LIMIT = 10_000
EXPORT_LIMIT = 50_000
#: `sort=$computed` orders by the computed column, which SQL cannot: among this many of the newest matches
COMPUTED = "$computed"
COMPUTED_SORT_LIMIT = 10_000


@dataclass
class ListQuery:
    """What the experiments page asks for: filters, a sort on any dotted field, and a page."""

    challenge: int | None = None
    status: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    filter: str = ""
    sort: str = "start_time"
    order: int = -1
    skip: int = 0
    limit: int = DEFAULT_LIMIT
    archived: bool = False  # include archived experiments
    compute: str = ""  # an aggregation expression as JSON: each row's `computed` value

    def validate(self) -> ListQuery:
        for status in self.status:
            if status not in STATUS_CHOICES:
                raise InvalidArgument(f"status must be one of {', '.join(STATUS_CHOICES)}; got {status!r}")
        if self.sort == COMPUTED:
            if not self.compute.strip():
                raise InvalidArgument(f"sort={COMPUTED} orders by the computed column: give compute= too")
        else:
            check_field(self.sort, "sort")
        if self.order not in (1, -1):
            raise InvalidArgument("order must be 1 or -1")
        if not 0 <= self.skip <= MAX_SKIP or not 1 <= self.limit <= MAX_LIMIT:
            raise InvalidArgument(f"skip must be between 0 and {MAX_SKIP} and limit between 1 and {MAX_LIMIT}")
        self.expression()
        return self

    def expression(self) -> Any:
        """The computed column's expression, None without one."""
        return computed.parse_expression(self.compute) if self.compute.strip() else None

    @classmethod
    def from_params(cls, params: Any) -> ListQuery:
        """From a page's query string (a Starlette QueryParams); malformed numbers raise InvalidArgument."""
        query = cls(status=[value for value in params.getlist("status") if value],
                    tags=[tag for value in params.getlist("tag") for tag in split_list(value)],
                    filter=params.get("filter", ""), sort=params.get("sort") or "start_time",
                    compute=params.get("compute", ""))
        query.challenge = _int(params.get("challenge"), "challenge")
        query.order = _int(params.get("order"), "order", -1)
        query.skip = _int(params.get("skip"), "skip", 0)
        query.limit = _int(params.get("limit"), "limit", DEFAULT_LIMIT)
        query.archived = params.get("archived", "") in ("1", "true")
        return query.validate()

    def mongo_filter(self, store: Reader, stale_after: float) -> Document:
        """The filter of the query; `stale` asks `store` which silent runs are stale (see `liveness`)."""
        stale = None
        if "stale" in self.status:
            stale = stale_filter(store, dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=stale_after))
        return experiment_filter(challenge=self.challenge, statuses=[name for name in self.status if name != "stale"],
                                 tags=self.tags, filter=parse_filter_text(self.filter), archived=self.archived,
                                 stale=stale)

    def sort_spec(self) -> list[tuple[str, int]]:
        """The find's sort: the chosen field and `_id`; the newest first for the computed column (sorted after)."""
        if self.sort == COMPUTED:
            return [("start_time", -1), ("_id", -1)]
        spec = [(self.sort, self.order)]
        if self.sort != "_id":  # a total order, so pages never repeat or skip a row
            spec.append(("_id", self.order))
        return spec


def split_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def row(document: Mapping[str, Any], now: dt.datetime, stale: bool) -> Document:
    """One experiment as the table shows it; metrics and config flattened to dotted keys, tags as text and the
    duration in words (`display`), whatever types are stored."""
    error = document.get("error")
    metrics = document.get("metrics")
    config = document.get("config")
    return {
        "id": str(document["_id"]),
        "experiment_name": document.get("experiment_name"),
        "challenge": document.get("challenge"),
        "status": document.get("status"),
        "stale": stale,
        "archived": document.get("archived") is True,
        "model": model_label(document.get("model")),
        "tags": tag_list(document.get("tags")),
        "start_time": document.get("start_time"),
        "end_time": document.get("end_time"),
        "duration": duration(document, now),
        "heartbeat": document.get("heartbeat"),
        "metrics": flatten(metrics) if isinstance(metrics, Mapping) else {},
        "config": flatten(config) if isinstance(config, Mapping) else {},
        "error": {key: error.get(key) for key in ("type", "message")} if isinstance(error, Mapping) else None,
    }


def list_page(tracker: Tracker, query: ListQuery, stale_after: float) -> Document:
    """One page of the experiments table, with the total count and the columns seen on the page."""
    started = time.perf_counter()
    condition = query.mongo_filter(tracker, stale_after)
    expression = query.expression()
    fields = dict.fromkeys(ROW_FIELDS, 1) if expression is None else computed.projection(expression, ROW_FIELDS)
    sorted_within = None
    if query.sort == COMPUTED:  # SQL cannot order by it: the newest matches, ordered here as MongoDB orders values
        candidates = tracker.find(EXPERIMENTS, condition, projection=fields, sort=query.sort_spec(),
                                  limit=COMPUTED_SORT_LIMIT)
        ordered = computed.ordered(expression, candidates, query.order)
        documents = ordered[query.skip:query.skip + query.limit]
        sorted_within = len(candidates) if len(candidates) == COMPUTED_SORT_LIMIT else None
    else:
        documents = tracker.find(EXPERIMENTS, condition, projection=fields, sort=query.sort_spec(),
                                 skip=query.skip, limit=query.limit)
    counted = max(COUNT_LIMIT, query.skip + query.limit + 1)
    total = tracker.count(EXPERIMENTS, condition, limit=counted)
    now = dt.datetime.now(dt.timezone.utc)
    stale = stale_ids(tracker, documents, now, stale_after)
    rows = [row(document, now, document["_id"] in stale) for document in documents]
    if expression is not None:
        for item, document in zip(rows, documents):
            item["computed"] = computed.value(expression, document)
    return {
        "sorted_within": sorted_within,  # a computed sort over only the newest this many matches
        "total": total, "total_exact": total < counted, "skip": query.skip, "limit": query.limit, "sort": query.sort,
        "order": query.order,
        "rows": jsonable(rows),
        "columns": {part: sorted({key for item in rows for key in item[part]}) for part in ("metrics", "config")},
        "server_ms": round((time.perf_counter() - started) * 1000, 2),
    }


def facets(tracker: Tracker) -> Document:
    """Filter choices from the most recent experiments: challenges, tags, metric and config keys."""
    documents = tracker.find(EXPERIMENTS, {}, projection={"challenge": 1, "tags": 1, "metrics": 1, "config": 1},
                             sort=[("start_time", -1)], limit=FACET_SAMPLE)
    challenges = _all_challenges(tracker, {d["challenge"] for d in documents if type(d.get("challenge")) is int})
    tags = {tag for d in documents if isinstance(d.get("tags"), list) for tag in d["tags"] if isinstance(tag, str)}
    metric_keys: set[str] = set()
    config_keys: set[str] = set()
    for document in documents:
        if isinstance(document.get("metrics"), Mapping):
            metric_keys.update(flatten(document["metrics"]))
        if isinstance(document.get("config"), Mapping):
            config_keys.update(flatten(document["config"]))
    return {"challenges": sorted(challenges), "tags": sorted(tags), "statuses": list(STATUS_CHOICES),
            "metrics": sorted(metric_keys), "config": sorted(config_keys), "sampled": len(documents)}


def _all_challenges(tracker: Tracker, seen: set[int], most: int = 100) -> set[int]:
    """Every challenge number in use: the sampled ones, plus one probe per challenge the sample missed."""
    found = set(seen)
    for _ in range(most):
        extra = tracker.find(EXPERIMENTS, {"challenge": {"$nin": sorted(found), "$type": "int"}},
                             projection={"challenge": 1}, limit=1)
        if not extra:
            break
        found.add(extra[0]["challenge"])
    return found


# -- export ----------------------------------------------------------------------------------------

def export_documents(tracker: Tracker, ids: Sequence[str], query: ListQuery | None,
                     stale_after: float) -> list[Document]:
    """The experiments asked for (by id, in that order; else all matching `query`), without per-subject results."""
    projection = {"subject_metrics": 0}
    if ids:
        object_ids = [to_object_id(value, "ids") for value in ids]
        found = {d["_id"]: d for d in tracker.find(EXPERIMENTS, {"_id": {"$in": object_ids}},
                                                   projection=projection)}
        return [found[oid] for oid in object_ids if oid in found]
    query = query or ListQuery()
    condition = query.mongo_filter(tracker, stale_after)
    total = tracker.count(EXPERIMENTS, condition)
    if total > EXPORT_LIMIT:
        raise InvalidArgument(f"{total} experiments match; export at most {EXPORT_LIMIT} at once (narrow the filter)")
    return tracker.find(EXPERIMENTS, condition, projection=projection, sort=query.sort_spec())


def to_csv(documents: Sequence[Mapping[str, Any]]) -> str:
    """One row per experiment, one column per dotted key, each cell as `csv_cells` writes it (as the CLI's export
    does): lists as JSON, NaN as nan, no cell starting a formula."""
    flats = []
    for document in documents:
        flat = flatten({key: value for key, value in document.items() if key != "_id"})
        flats.append({"id": str(document["_id"]), **flat})
    first = ["id", "experiment_name", "challenge", "status", "start_time", "end_time"]
    keys = [key for key in first if any(key in flat for flat in flats)]
    keys += sorted({key for flat in flats for key in flat} - set(keys))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(keys)
    for flat in flats:
        writer.writerow([cell(flat.get(key)) for key in keys])
    return buffer.getvalue()


def _int(text: str | None, what: str, default: int | None = None) -> Any:
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise InvalidArgument(f"{what} must be an integer, got {text!r}") from None


__all__ = ["ListQuery", "export_documents", "facets", "list_page", "row", "to_csv"]
