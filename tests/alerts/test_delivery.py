"""A failing webhook is retried with backoff and never holds up the others; what a stopped watcher did not
deliver is sent by the next; secrets stay out of logs and documents."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from epochlog import Tracker
from epochlog.alerts import Retry, Webhook
from epochlog.alerts.state import alert_id
from epochlog.errors import InvalidArgument
from epochlog.schema import ALERTS
from tests.alerts.helpers import FAST, watched_since, watcher
from tests.alerts.receivers import TOKEN, Receiver, free_port, refused_url


@pytest.fixture
def local(tmp_path: Path) -> Iterator[Tracker]:
    """An embedded store, watched for an hour already, with one failed run in it."""
    tracker = Tracker(f"sqlite:///{tmp_path / 'e.db'}")
    watched_since(tracker, 3600)
    run = tracker.create_experiment("broken", 1, capture=False)
    tracker.update_experiment_status(run, "failed", error={"type": "RuntimeError", "message": "CUDA out of memory"})
    yield tracker
    tracker.close()


def outcome(tracker: Tracker) -> dict[str, dict[str, object]]:
    [document] = tracker.store.find(ALERTS, {"event": "failed"})
    return {part: document.get(part, {}) for part in ("pending", "delivered", "failed")}


def test_backoff_grows_to_its_cap() -> None:
    assert [Retry().delay(failures) for failures in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    with pytest.raises(InvalidArgument, match="attempts"):
        Retry(attempts=0)


def test_a_500_is_retried_while_another_webhook_receives(local: Tracker, receiver: Callable[..., Receiver]) -> None:
    flaky, good = receiver(500, 503), receiver()
    with watcher(local, flaky.url, good.url) as watching:
        [alert] = watching.check()
        assert watching.drain(30)
    assert flaky.hits == 3 and good.hits == 1
    assert flaky.payloads == good.payloads == [alert.payload]
    delivered = outcome(local)["delivered"]
    assert {Webhook(flaky.url).name: 3, Webhook(good.url).name: 1} == {
        name: record["attempts"] for name, record in delivered.items()}  # type: ignore[index]


def test_a_refused_connection_is_given_up_after_its_attempts(local: Tracker, receiver: Callable[..., Receiver],
                                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="epochlog.alerts")
    good, dead = receiver(), refused_url()
    with watcher(local, dead, good.url) as watching:
        watching.check()
        assert watching.drain(30)
    assert good.hits == 1
    state = outcome(local)
    assert state["pending"] == {} and list(state["delivered"]) == [Webhook(good.url).name]
    failure = state["failed"][Webhook(dead).name]  # type: ignore[index]
    assert failure["attempts"] == FAST.attempts and "refused" in failure["error"].lower()
    assert "gave up" in caplog.text and "127.0.0.1" in caplog.text
    assert TOKEN not in caplog.text and TOKEN not in repr(local.store.find(ALERTS))


def test_a_hanging_webhook_does_not_hold_up_another(local: Tracker, receiver: Callable[..., Receiver]) -> None:
    stuck, good = receiver(hang=True), receiver()
    watching = watcher(local, stuck.url, good.url)
    watching.check()
    stuck.wait_for("waiting", 1)
    good.wait_for("payloads", 1)  # while the first destination still waits for its answer
    assert stuck.waiting == 1 and stuck.payloads == []
    stuck.release.set()
    assert watching.drain(30)
    watching.close()
    assert len(stuck.payloads) == 1


def test_what_a_stopped_watcher_did_not_deliver_the_next_one_sends(local: Tracker,
                                                                   receiver: Callable[..., Receiver]) -> None:
    port = free_port()
    patient = Retry(attempts=3, first=600.0)
    first = watcher(local, refused_url(port), retry=patient)
    [alert] = first.check()  # refused, then waits 600 s to try again
    first.close()  # ends the wait: the alert stays pending
    assert outcome(local)["pending"] == {Webhook(refused_url(port)).name: True}
    back = Receiver(port=port)  # the webhook is back
    try:
        with watcher(local, refused_url(port)) as second:
            assert second.check() == []  # not a new alert: the pending one is sent
            back.wait_for("payloads", 1)
            assert second.drain(30)
        with watcher(local, refused_url(port)) as third:
            assert third.check() == [] and third.drain(30)
        assert back.hits == 1 and back.payloads[0]["key"] == alert.key
        assert outcome(local)["pending"] == {}
    finally:
        back.close()


def test_a_destination_added_later_gets_no_old_alerts(local: Tracker, receiver: Callable[..., Receiver]) -> None:
    old, new = receiver(), receiver()
    with watcher(local, old.url) as first:
        first.check()
        assert first.drain(30)
    with watcher(local, old.url, new.url) as second:
        assert second.check() == [] and second.drain(30)
    assert (old.hits, new.hits) == (1, 0)
    assert local.store.find_one(ALERTS, {"_id": alert_id(old.payloads[0]["key"])}) is not None


def test_run_keeps_watching_until_stopped(local: Tracker, receiver: Callable[..., Receiver]) -> None:
    hook = receiver()
    seen: list[str] = []
    stop = threading.Event()
    with watcher(local, hook.url) as watching:
        thread = threading.Thread(target=watching.run, args=(0.05, stop),
                                  kwargs={"on_alert": lambda alert: seen.append(alert.key)})
        thread.start()
        hook.wait_for("payloads", 1)  # the failed run of the fixture
        later = local.create_experiment("later", 1, capture=False)
        local.update_experiment_status(later, "failed")
        hook.wait_for("payloads", 2)
        stop.set()
        thread.join(30)
    assert not thread.is_alive() and seen[1:] == [f"failed:{later}"] and len(seen) == 2


def test_the_public_names_are_sorted_and_importable() -> None:
    import epochlog.alerts as alerts

    assert alerts.__all__ == sorted(alerts.__all__)
    assert all(hasattr(alerts, name) for name in alerts.__all__)
