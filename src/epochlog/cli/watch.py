"""watch: alert webhooks and e-mail when a run fails, goes stale, logs NaN in its objective or leads a board."""

from __future__ import annotations

import os
import threading
from typing import Annotated

import typer

from ..alerts import (
    Alert,
    Destination,
    Email,
    Leaderboard,
    SmtpSettings,
    Watcher,
    Webhook,
)
from ..redaction import redact
from .app import Uri, app, console, fail, open_tracker, resolve_uri

WEBHOOKS_ENV = "EPOCHLOG_WEBHOOKS"
DRAIN_TIMEOUT = 300.0  # most seconds `--once` waits for its deliveries and their retries


WebhookOption = Annotated[list[str] | None, typer.Option(
    "--webhook", "-w", metavar="URL", show_default=False,
    help=f"POST each alert as JSON to this URL (repeat for several). \\[default: ${WEBHOOKS_ENV}, "
         "comma- or space-separated, which keeps tokens out of the process list]")]
EmailOption = Annotated[list[str] | None, typer.Option(
    "--email", "-e", metavar="ADDRESS",
    help="Mail each alert to this address (repeat for several), through $EPOCHLOG_SMTP_HOST and the other "
         "EPOCHLOG_SMTP_* settings, from the environment or ./.env.")]
LeaderboardOption = Annotated[list[str] | None, typer.Option(
    "--leaderboard", "-l", metavar="METRIC[:min|max]",
    help="Alert when a completed run takes first place by this summary metric (under metrics. unless "
         "dotted; lower is better unless :max), e.g. best_val_loss or best_acc:max (repeat for several).")]


@app.command("watch")
def watch(
    webhook: WebhookOption = None,
    email: EmailOption = None,
    interval: Annotated[float, typer.Option("--interval", "-i", metavar="SECONDS", min=0.01,
                                            help="Seconds between two looks at the store.")] = 30.0,
    stale_after: Annotated[float, typer.Option(
        "--stale-after", metavar="SECONDS", min=0.001,
        help="A running run unseen (no heartbeat, no epoch) this long has lost its heartbeat.")] = 300.0,
    leaderboard: LeaderboardOption = None,
    once: Annotated[bool, typer.Option("--once", help="Look once, send what is new, wait for the deliveries, "
                                                      "exit (for cron).")] = False,
    uri: Uri = None,
) -> None:
    """Watch the store and alert when a run fails, loses its heartbeat (killed, its machine lost), logs NaN or
    inf in its objective metric, or takes first place on a leaderboard. Each alert is sent once, also across
    restarts: what was sent is kept in the store."""
    boards = [Leaderboard.parse(text) for text in leaderboard or []]
    destinations = destinations_of(webhook, email)
    with open_tracker(uri) as tracker, Watcher(tracker, destinations, stale_after=stale_after,
                                               leaderboards=boards) as watcher:
        out = console()

        def show(alert: Alert) -> None:
            out.print(f"{alert.event}: {alert.text}")

        if once:
            for alert in watcher.check():
                show(alert)
            if not watcher.drain(DRAIN_TIMEOUT):
                out.print("Some alerts are not delivered yet; the next watch sends them.")
            return
        out.print(f"Watching {redact(resolve_uri(uri))} every {interval:g} s, alerting "
                  f"{', '.join(destination.label for destination in destinations)} (Ctrl-C to stop)")
        try:
            watcher.run(interval, threading.Event(), on_alert=show)
        except KeyboardInterrupt:
            out.print("Stopped; undelivered alerts are sent by the next watch.")


def destinations_of(webhooks: list[str] | None, emails: list[str] | None) -> list[Destination]:
    """The destinations the options (or $EPOCHLOG_WEBHOOKS) name; a user error when there are none."""
    urls = webhooks or os.environ.get(WEBHOOKS_ENV, "").replace(",", " ").split()
    found: list[Destination] = [Webhook(url) for url in dict.fromkeys(urls)]
    if emails:
        found.append(Email(list(dict.fromkeys(emails)), SmtpSettings.from_environment()))
    if not found:
        fail(f"nothing to send alerts to: give --webhook URL (or set ${WEBHOOKS_ENV}) or --email ADDRESS")
    return found


__all__ = ["EmailOption", "LeaderboardOption", "WebhookOption", "destinations_of", "watch"]
