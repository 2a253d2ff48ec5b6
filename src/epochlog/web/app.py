"""The dashboard application: `create_app` builds it on a tracker or a URI, `serve` runs it with uvicorn."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from ..alerts import WatchSettings
from ..errors import (
    EpochlogError,
    InvalidArgument,
    InvalidDocument,
    NotFound,
    QueryError,
    StoreUnavailable,
    Unauthorized,
)
from ..tracker import Tracker
from . import api, live, pages
from ..loopback import is_loopback
from .auth import TOKEN_ENV, TokenGate, token_from
from .jsonable import DocumentResponse
from .settings import Settings
from .slots import DEFAULT_MAX_STREAMS, StreamSlots

STATIC = Path(__file__).resolve().parent / "static"
_STATUS: list[tuple[type[EpochlogError], int]] = [
    (NotFound, 404), (QueryError, 400), (InvalidArgument, 400), (InvalidDocument, 400), (StoreUnavailable, 503),
    (Unauthorized, 403),
]
_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def create_app(tracker_or_uri: Tracker | str | os.PathLike[str], *, token: str | None = None,
               stale_after: float = 300.0, watch: WatchSettings | None = None,
               max_streams: int = DEFAULT_MAX_STREAMS) -> FastAPI:
    """The dashboard on a tracker (left open) or a store URI (opened here, closed at shutdown).

    With `token`, every page and API call needs it and notes and tags become editable; without, the
    dashboard is read-only and answers on loopback addresses only. With `watch`, a watcher alerts its
    destinations while the dashboard runs (`epochlog ui --watch`), judging staleness as the pages do. At most
    `max_streams` pages follow running experiments by server-sent events at once; the others poll.
    """
    owned = not isinstance(tracker_or_uri, Tracker)
    # the dashboard never opens the write-behind journal: its few writes (notes, tags) go to the store directly
    tracker = tracker_or_uri if isinstance(tracker_or_uri, Tracker) else Tracker(tracker_or_uri, journal=False)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop_watching = watch.watcher(tracker, stale_after).in_background(watch.interval) if watch else None
        yield
        if stop_watching is not None:
            stop_watching()
        if owned:
            tracker.close()

    app = FastAPI(title="epochlog dashboard", version=__version__, lifespan=lifespan, docs_url=None,
                  redoc_url=None, description="Read-only JSON API behind the epochlog dashboard; notes and tags "
                  "are editable when the dashboard runs with a token (send it as `Authorization: Bearer`).")
    alerting = [destination.label for destination in watch.destinations] if watch else []
    app.state.settings = Settings(tracker, token_from(token), stale_after, alerting, StreamSlots(max_streams))
    app.include_router(api.router)
    app.include_router(live.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for kind, code in _STATUS:
        app.add_exception_handler(kind, _handler(code))
    app.add_exception_handler(EpochlogError, _handler(500))
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_middleware(TokenGate, token=token_from(token))
    app.add_middleware(SecurityHeaders)
    return app


def _handler(code: int) -> Any:
    async def handle(request: Request, error: Exception) -> Response:
        return _error_response(request, code, str(error) or type(error).__name__)
    return handle


async def _validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    problems = "; ".join(f"{'.'.join(str(part) for part in item.get('loc', ()))}: {item.get('msg', '')}"
                         for item in error.errors())
    return _error_response(request, 422, problems or "invalid request")


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    return _error_response(request, error.status_code, str(error.detail), getattr(error, "headers", None))


def _error_response(request: Request, code: int, message: str, headers: Any = None) -> Response:
    if request.url.path.startswith("/api/") or request.url.path == "/openapi.json":
        return DocumentResponse({"error": message}, status_code=code, headers=headers)
    return pages.error_page(code, message)


class SecurityHeaders:
    """A strict Content-Security-Policy (no inline scripts) and friends on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"content-security-policy", _CSP.encode()), (b"x-content-type-options", b"nosniff"),
                            (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY")]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def serve(uri: str, host: str = "127.0.0.1", port: int = 8082, token: str | None = None,
          watch: WatchSettings | None = None) -> None:
    """Serve the dashboard on `uri` until interrupted, alerting as `watch` says if given. Off loopback a
    token is required (`token`, else EPOCHLOG_UI_TOKEN)."""
    from .server import DashboardServer

    token = token_from(token) or token_from(os.environ.get(TOKEN_ENV))
    if not is_loopback(host) and token is None:
        raise InvalidArgument(f"serving on {host} (not a loopback address) needs a token: set {TOKEN_ENV} "
                              "or pass one")
    app = create_app(uri, token=token, watch=watch)
    DashboardServer(app, host=host, port=port, log_level="warning").run()
