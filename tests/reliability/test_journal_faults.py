"""The journal's sender against a fault-injecting store: it never dies, never stalls, never calls a refusal a
success. The wrapped store is a real embedded store behind a shim that fails on command (as sacred's tests do)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId

from epochlog import InvalidArgument, InvalidDocument, StoreUnavailable, Tracker
from epochlog.store import journal as journal_module
from epochlog.store.base import Store, Write
from epochlog.store.index_keys import IndexInfo
from epochlog.types import IndexSpec
from epochlog.store.journal import JournaledStore, JournalFile, backoff_delay, journal_directory, sync, target_key
from epochlog.store.sqlite import SQLiteStore


class FaultyStore(Store):
    """A real SQLiteStore whose writes fail while told to: unreachable, refusing one experiment, or crashing."""

    def __init__(self, path: Path) -> None:
        self.real = SQLiteStore(path)
        self.uri = "mongodb://faulty.invalid:27017/"
        self.database_name = "eeg2025"
        self.down = threading.Event()
        self.refuse_name: str | None = None
        self.crash_times = 0  # this many writes raise an error no store should raise (a bug, say)
        self.failed_attempts = 0

    def write(self, writes: Sequence[Write]) -> None:
        if self.down.is_set():
            self.failed_attempts += 1
            raise StoreUnavailable("faulty.invalid:27017: connection refused")
        if self.crash_times:
            self.crash_times -= 1
            raise RuntimeError("injected crash in the wrapped store")
        for write in writes:
            document = getattr(write, "document", {})
            if self.refuse_name is not None and document.get("experiment_name") == self.refuse_name:
                raise InvalidDocument("injected refusal: the server's validator rejects this experiment")
        self.real.write(writes)

    def find(self, collection: str, filter: Any = None, **options: Any) -> list[Any]:
        if self.down.is_set():
            raise StoreUnavailable("faulty.invalid:27017: connection refused")
        return self.real.find(collection, filter, **options)

    def count(self, collection: str, filter: Any = None, *, limit: int = 0) -> int:
        return self.real.count(collection, filter, limit=limit)

    def read_series(self, experiment_id: ObjectId, name: str) -> Any:
        return self.real.read_series(experiment_id, name)

    def series_names(self, experiment_id: ObjectId) -> list[str]:
        return self.real.series_names(experiment_id)

    def ensure_indexes(self) -> None:
        self.real.ensure_indexes()

    def create_index(self, collection: str, spec: IndexSpec) -> str:
        return self.real.create_index(collection, spec)

    def list_indexes(self, collection: str) -> list[IndexInfo]:
        return self.real.list_indexes(collection)

    def drop_index(self, collection: str, name: str) -> None:
        self.real.drop_index(collection, name)

    def close(self) -> None:
        pass  # the test reads the real store afterwards


@pytest.fixture
def faulty(tmp_path: Path) -> FaultyStore:
    store = FaultyStore(tmp_path / "target.db")
    yield store
    store.real.close()


def test_thousands_of_failed_attempts_then_every_write_delivered_once(faulty: FaultyStore, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EPOCHLOG_JOURNAL_MAX_BACKOFF", "0.0005")  # a weekend of retries in seconds
    faulty.down.set()
    tracker = Tracker(store=JournaledStore(faulty, tmp_path / "journal"))
    exp_id = tracker.create_experiment("soak", 1)
    for epoch in range(50):
        tracker.log_metrics(exp_id, {"batch_loss": 1.0 / (epoch + 1)}, step=epoch)
        tracker.log_epoch(exp_id, epoch, {"val_loss": 1.0 / (epoch + 1)})
    tracker.flush()
    deadline = time.monotonic() + 60
    while faulty.failed_attempts < 3000 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert faulty.failed_attempts >= 3000  # well past the ~1,020 attempts at which 2 ** attempt overflowed
    assert tracker.store.unreachable
    faulty.down.clear()
    assert tracker.sync(60.0)
    real = Tracker(store=faulty.real)
    history = real.get_experiment_history(exp_id)
    assert [epoch["epoch"] for epoch in history["epochs"]] == list(range(50))
    assert real.get_metric_series(exp_id, "batch_loss").steps.tolist() == list(range(50))
    assert faulty.real.count("experiments") == 1
    tracker.close()


def test_the_backoff_is_capped_for_any_number_of_attempts() -> None:
    for attempt in (1, 10, 1_000, 1_100, 10**9):
        assert 0 < backoff_delay(attempt, 30.0) <= 30.0
    assert backoff_delay(1, 30.0) <= 0.1


@pytest.mark.parametrize("value", ["0", "-1", "soon", "nan", "inf"])
def test_a_bad_backoff_setting_is_named(value: str, faulty: FaultyStore, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EPOCHLOG_JOURNAL_MAX_BACKOFF", value)
    with pytest.raises(InvalidArgument, match="EPOCHLOG_JOURNAL_MAX_BACKOFF"):
        JournaledStore(faulty, tmp_path / "journal")


def test_an_unexpected_error_is_logged_once_and_retried(faulty: FaultyStore, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("EPOCHLOG_JOURNAL_MAX_BACKOFF", "0.001")
    caplog.set_level(logging.ERROR, logger="epochlog.journal")
    faulty.crash_times = 200
    tracker = Tracker(store=JournaledStore(faulty, tmp_path / "journal"))
    exp_id = tracker.create_experiment("crashy", 1)
    assert tracker.sync(60.0)
    assert faulty.crash_times == 0
    assert len([r for r in caplog.records if "sender failed" in r.getMessage()]) == 1
    assert Tracker(store=faulty.real).get_experiment(exp_id)["experiment_name"] == "crashy"
    tracker.close()


def test_a_dead_sender_is_restarted_by_the_next_write(faulty: FaultyStore, tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    store = JournaledStore(faulty, tmp_path / "journal")
    store._sender = threading.Thread(target=lambda: None)  # a sender that died (as a bug could make it)
    store._sender.start()
    store._sender.join()
    tracker = Tracker(store=store)
    with caplog.at_level(logging.ERROR, logger="epochlog.journal"):
        exp_id = tracker.create_experiment("revived", 1)
    assert tracker.sync(30.0)
    assert "starting a new one" in caplog.text
    assert faulty.real.count("experiments", {"_id": ObjectId(exp_id)}) == 1
    tracker.close()


def test_an_undecodable_row_is_quarantined_and_the_rows_after_it_ship(faulty: FaultyStore, tmp_path: Path) -> None:
    store = JournaledStore(faulty, tmp_path / "journal")
    faulty.down.set()
    tracker = Tracker(store=store)
    exp_id = tracker.create_experiment("before", 1)
    store._own.append('[{"op": "put", "collection": "experiments"')  # a torn row
    store._own.append('[{"op": "teleport"}]')  # a row of a future version
    tracker.log_epoch(exp_id, 0, {"val_loss": 1.0})
    faulty.down.clear()
    assert tracker.sync(30.0) is False  # delivered what could be, but two rows are refused
    assert faulty.real.count("epochs") == 1 and faulty.real.count("experiments") == 1
    reasons = [reason for _, reason, _ in store.refused_rows()]
    assert len(reasons) == 2 and all(reason.startswith("undecodable journal row") for reason in reasons)
    tracker.close()


def test_a_refused_write_is_never_a_success_and_is_sent_again_once_fixed(faulty: FaultyStore, tmp_path: Path,
                                                                          caplog: pytest.LogCaptureFixture) -> None:
    directory = tmp_path / "journal"
    faulty.refuse_name = "rejected"
    tracker = Tracker(store=JournaledStore(faulty, directory))
    kept = tracker.create_experiment("kept", 1)
    rejected = tracker.create_experiment("rejected", 1)
    assert tracker.sync(30.0) is False
    with caplog.at_level(logging.ERROR, logger="epochlog.journal"):
        tracker.close()
    assert "1 tracker write(s) were refused" in caplog.text and "injected refusal" in caplog.text
    assert faulty.real.count("experiments", {"_id": ObjectId(kept)}) == 1

    report = sync(faulty, directory, timeout=30)  # what `epochlog sync` runs: the refusal is still there
    assert report["refused"] == 1 and report["sent"] == 0 and not report["drained"]
    assert "injected refusal" in report["refused_reasons"][0]["reason"]
    faulty.refuse_name = None  # the cause is fixed
    report = sync(faulty, directory, timeout=30, retry_refused=True)
    assert report == {**report, "retried": 1, "sent": 1, "refused": 0, "left": 0, "drained": True}
    assert faulty.real.count("experiments", {"_id": ObjectId(rejected)}) == 1
    assert not list(directory.glob("*.journal"))  # nothing left: the journal files are gone


def test_calls_on_a_foreign_experiment_journal_without_waiting_during_an_outage(faulty: FaultyStore,
                                                                                tmp_path: Path) -> None:
    exp_id = Tracker(store=faulty.real).create_experiment("from-another-process", 1)
    store = JournaledStore(faulty, tmp_path / "journal", read_wait=5.0)
    faulty.down.set()
    tracker = Tracker(store=store)
    other = tracker.create_experiment("own", 1)
    tracker.flush()
    deadline = time.monotonic() + 10
    while not store.unreachable and time.monotonic() < deadline:
        time.sleep(0.01)
    start = time.monotonic()
    run = tracker.resume_run(exp_id)
    run.log_epoch(3, {"val_loss": 0.5})
    tracker.log_epoch(other, 0, {"val_loss": 0.1})
    assert time.monotonic() - start < 1.0  # no read waited for the server
    faulty.down.clear()
    assert tracker.sync(30.0)
    real = Tracker(store=faulty.real)
    assert real.get_experiment(exp_id)["status"] == "running"
    assert [e["epoch"] for e in real.get_experiment_history(exp_id)["epochs"]] == [3]
    tracker.close()


@pytest.mark.parametrize("spellings", [
    ("mongodb://db.example:27017/", "mongodb://db.example:27017/eeg2025", "mongodb://db.example/eeg2025?w=1",
     "mongodb://user:secret@DB.example:27017/eeg2025?authSource=admin"),
    ("mongodb://a:1,b:2/runs", "mongodb://b:2,a:1/runs?replicaSet=rs0"),
])
def test_journals_are_found_by_server_and_database_whatever_the_spelling(spellings: tuple[str, ...]) -> None:
    assert len({target_key(uri) for uri in spellings}) == 1
    assert len({journal_directory(uri) for uri in spellings}) == 1
    assert "secret" not in target_key(spellings[-1])


def test_a_database_given_apart_from_the_uri_is_its_own_target() -> None:
    assert target_key("mongodb://h:1/", "other") == target_key("mongodb://h:1/other")
    assert target_key("mongodb://h:1/", "other") != target_key("mongodb://h:1/")
    assert journal_module.DEFAULT_MAX_BACKOFF == 30.0


def test_a_row_appended_after_the_last_was_refused_never_takes_its_place(tmp_path: Path) -> None:
    """The newest pending row refused, the next append must not reuse its seq: the refused row would be
    overwritten by the next refusal, and lost (seen when a torn row and a future one were refused in turn)."""
    journal = JournalFile.create(tmp_path / "journal")
    journal.append("[first]")
    journal.append("[torn")
    [(_, _), (torn_seq, _)] = journal.oldest(10)
    journal.refuse(torn_seq, "[torn", "undecodable journal row: torn")
    journal.append("[teleport]")
    [(_, _), (next_seq, _)] = journal.oldest(10)
    assert next_seq > torn_seq
    journal.refuse(next_seq, "[teleport]", "undecodable journal row: future")
    assert [reason for _, reason, _ in journal.refused_rows()] == ["undecodable journal row: torn",
                                                                   "undecodable journal row: future"]
    journal.close()
