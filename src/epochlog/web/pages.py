"""The HTML pages: a static shell per page plus the data it starts with, as JSON the page script reads.

No user data is ever written into HTML here: it travels in `<script type="application/json">` (with
`<`, `>` and `&` escaped) and the page scripts put it into the DOM with textContent.
"""

from __future__ import annotations

import datetime as dt
import html
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from .. import __version__
from ..display import duration, error_text, tag_list
from ..errors import EpochlogError
from ..liveness import stale_ids
from . import listing
from .jsonable import script_json
from .listing import ListQuery
from .settings import settings_of

TEMPLATES = Path(__file__).resolve().parent / "templates"
NAV = (("experiments", "/", "Experiments"), ("leaderboard", "/leaderboard", "Leaderboard"),
       ("groups", "/groups", "Groups"), ("explore", "/explore", "Explore"), ("subjects", "/subjects", "Subjects"))

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


@cache
def _template(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


def render(page: str, title: str, data: dict[str, Any], *, status_code: int = 200,
           nav: str | None = None) -> HTMLResponse:
    """The page shell around `templates/<page>.html`, with `data` for the page script."""
    current = nav or page
    links = "".join(f'<a href="{href}"{" aria-current=page" if key == current else ""}>{label}</a>'
                    for key, href, label in NAV)
    text = (_template("page.html").replace("%%BODY%%", _template(f"{page}.html"))
            .replace("%%TITLE%%", html.escape(title)).replace("%%PAGE%%", page).replace("%%NAV%%", links)
            .replace("%%VERSION%%", __version__).replace("%%DATA%%", script_json(data)))
    return HTMLResponse(text, status_code=status_code)


def error_page(code: int, message: str) -> HTMLResponse:
    return render("error", f"Error {code}", {"status": code, "error": message}, status_code=code, nav="")


def _common(request: Request) -> dict[str, Any]:
    settings = settings_of(request)
    return {"editable": settings.editable, "stale_after": settings.stale_after}


@router.get("/")
def experiments_page(request: Request) -> HTMLResponse:
    settings = settings_of(request)
    data = _common(request)
    try:
        query = ListQuery.from_params(request.query_params)
        data["page"] = listing.list_page(settings.tracker, query, settings.stale_after)
    except EpochlogError as error:  # a bad filter is shown next to the filter box, not as an error page
        data["error"] = str(error)
    return render("experiments", "Experiments", data)


@router.get("/experiments/{experiment_id}")
def experiment_page(request: Request, experiment_id: str) -> HTMLResponse:
    settings = settings_of(request)
    document = settings.tracker.get_experiment(experiment_id)
    subject_metrics = document.pop("subject_metrics", None)  # can be large; the Subjects page shows it
    if isinstance(subject_metrics, dict):
        document["subject_metrics_count"] = len(subject_metrics)
    now = dt.datetime.now(dt.timezone.utc)
    data = {**_common(request), "experiment": document,
            "stale": bool(stale_ids(settings.tracker, [document], now, settings.stale_after)),
            "tags": tag_list(document.get("tags")), "duration": duration(document, now),
            "error": error_text(document.get("error")),
            "series": settings.tracker.get_metric_names(document["_id"])}
    name = document.get("experiment_name")
    return render("experiment", name if isinstance(name, str) else "Experiment", data, nav="experiments")


@router.get("/compare")
def compare_page(request: Request) -> HTMLResponse:
    return render("compare", "Compare", _common(request), nav="experiments")


@router.get("/leaderboard")
def leaderboard_page(request: Request) -> HTMLResponse:
    return render("leaderboard", "Leaderboard", _common(request))


@router.get("/groups")
def groups_page(request: Request) -> HTMLResponse:
    return render("groups", "Groups", _common(request))


@router.get("/explore")
def explore_page(request: Request) -> HTMLResponse:
    return render("explore", "Explore", _common(request))


@router.get("/subjects")
def subjects_page(request: Request) -> HTMLResponse:
    return render("subjects", "Subjects", _common(request))
