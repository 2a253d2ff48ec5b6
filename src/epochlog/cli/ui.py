"""ui: serve the dashboard (epochlog.web), on loopback unless a token guards it."""

from __future__ import annotations

from typing import Annotated

import typer

from ..alerts import Leaderboard, WatchSettings
from ..loopback import is_loopback
from ..redaction import redact
from .app import Uri, app, console, fail, resolve_uri
from .watch import EmailOption, LeaderboardOption, WebhookOption, destinations_of

@app.command("ui")
def ui(host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
       port: Annotated[int, typer.Option("--port", "-p", min=1, max=65535, help="Port to listen on.")] = 8082,
       token: Annotated[str | None, typer.Option("--token", envvar="EPOCHLOG_UI_TOKEN", show_default=False,
                                                 help="Require this token (needed off loopback).")] = None,
       watch: Annotated[bool, typer.Option("--watch", help="Also alert as `epochlog watch` does, while the "
                                                           "dashboard runs (--webhook, --email, --leaderboard).")]
       = False,
       webhook: WebhookOption = None, email: EmailOption = None, leaderboard: LeaderboardOption = None,
       watch_interval: Annotated[float, typer.Option("--watch-interval", metavar="SECONDS", min=0.01,
                                                     help="Seconds between two looks at the store.")] = 30.0,
       uri: Uri = None) -> None:
    """Serve the dashboard on http://HOST:PORT until Ctrl-C; with --watch, alert on failed, stale and NaN
    runs and new leaders too."""
    if not is_loopback(host) and not token:
        fail(f"refusing to serve on {host} without a token: set EPOCHLOG_UI_TOKEN or pass --token "
             "(or keep the default --host 127.0.0.1)")
    if not watch and (webhook or email or leaderboard):
        fail("--webhook, --email and --leaderboard say where `ui --watch` alerts: add --watch")
    alerts = WatchSettings(tuple(destinations_of(webhook, email)), watch_interval,
                           tuple(Leaderboard.parse(text) for text in leaderboard or [])) if watch else None
    try:
        from ..web import serve
    except ImportError as error:
        fail(f"the dashboard is not available: {error}")
    target = resolve_uri(uri)
    shown = f"[{host}]" if ":" in host else host
    out = console()
    out.print(f"Dashboard for {redact(target)} on http://{shown}:{port}" + (" (token required)" if token else "")
              + "  (Ctrl-C to stop)")
    if alerts is not None:
        out.print(f"Alerting {', '.join(destination.label for destination in alerts.destinations)} every "
                  f"{watch_interval:g} s")
    serve(target, host, port, token or None, alerts)


__all__ = ["ui"]
