"""Alerts from `epochlog watch`: rules read from the store, a sent-once log in it, webhooks and e-mail.

    rules.py         the four events (failed, stale, nan, leader) and their payloads
    state.py         the alert log in the `alerts` collection: nothing is sent twice
    destinations.py  webhooks and SMTP e-mail
    delivery.py      one thread per destination, retried with backoff
    watcher.py       the loop
"""

from __future__ import annotations

from .delivery import Retry
from .destinations import DeliveryError, Destination, Email, SmtpSettings, Webhook
from .rules import EVENTS, Alert, Leaderboard
from .state import AlertLog
from .watcher import WatchSettings, Watcher

__all__ = ["Alert", "AlertLog", "DeliveryError", "Destination", "EVENTS", "Email",
           "Leaderboard", "Retry", "SmtpSettings", "WatchSettings", "Watcher", "Webhook"]
