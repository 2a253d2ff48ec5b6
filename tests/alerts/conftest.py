"""Receivers for the alerts tests, closed after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.alerts.receivers import MailReceiver, Receiver


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    """`receiver(answers=(500,), hang=False)` starts a webhook receiver."""
    started: list[Receiver] = []

    def start(*answers: int, **options: Any) -> Receiver:
        started.append(Receiver(answers, **options))
        return started[-1]

    yield start
    for each in started:
        each.close()


@pytest.fixture
def mail() -> Iterator[MailReceiver]:
    server = MailReceiver()
    yield server
    server.close()
