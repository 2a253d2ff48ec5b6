"""An account with only MongoDB's `read` role: every read command and the dashboard work, and ask the server for
nothing the role refuses; every write fails loudly, with the server's reason, and is never called a success.

The test server has no roles, so `readonly_proxy` stands in for them: it answers what `read` may not run as
MongoDB 7 does (code 13, "not authorized on <db> to execute command ...") and forwards the rest.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymongo
import pytest
from bson import json_util

from epochlog import Tracker
from epochlog.demo import run_demo
from epochlog.errors import StoreUnavailable, Unauthorized
from epochlog.store.mongo import MongoStore
from epochlog.web import create_app
from tests.cli.helpers import Cli, assert_user_error, loads
from tests.mongo.readonly_proxy import ReadOnlyProxy, read_only_proxy

with warnings.catch_warnings():  # Starlette >= 1.10 prefers httpx2 and warns when it falls back to httpx
    warnings.filterwarnings("ignore", message=".*`httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.mongo


@dataclass
class Study:
    """The demo study, written through a direct (read-write) connection, and a read-only way to it."""

    database: str
    proxy: ReadOnlyProxy
    ids: list[str]
    names: dict[str, str]  # id -> experiment_name
    statuses: dict[str, str]
    epochs: dict[str, int]  # id -> how many epochs it logged
    journals: Path

    @property
    def uri(self) -> str:
        return self.proxy.uri(self.database)

    def cli(self, *args: Any) -> Any:
        """Run `epochlog ARGS --uri <read-only>`; insist on exit 0, no traceback, no log line, nothing refused."""
        before = len(self.proxy.refused)
        result = Cli(self.uri)(*args, env={"EPOCHLOG_JOURNAL_DIR": str(self.journals)})
        assert result.exit_code == 0, f"{args}: exit {result.exit_code}\n{result.output}\n{result.exception!r}"
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        assert result.stderr == "", f"{args} logged: {result.stderr}"
        assert self.proxy.refused[before:] == [], f"{args} asked for what `read` may not do"
        return result


@pytest.fixture(scope="module")
def study(mongo_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Study]:
    folder = tmp_path_factory.mktemp("read_only")
    database = f"test_ro_{uuid.uuid4().hex[:10]}"
    writer = Tracker(store=MongoStore(mongo_uri, database=database))
    ids = run_demo(writer, seed=2, experiments=8, epochs=5, checkpoint_dir=folder / "checkpoints")
    documents = {str(d["_id"]): d for d in writer.search_experiments({})}
    epochs = {i: len(writer.get_experiment_history(i)["epochs"]) for i in ids}
    writer.close()
    with read_only_proxy(mongo_uri) as proxy:
        yield Study(database, proxy, ids, {i: d["experiment_name"] for i, d in documents.items()},
                    {i: d["status"] for i, d in documents.items()}, epochs, folder / "journals")
    with MongoStore(mongo_uri, database=database) as store:
        store.drop_database()


def test_every_read_command_works(study: Study) -> None:
    first, second = study.ids[:2]
    names = set(study.names.values())
    assert {row["experiment_name"] for row in loads(study.cli("ls", "--json").stdout)} == names
    assert f"{len(names)} experiments" in study.cli("ls").stdout
    assert study.names[first] in study.cli("show", first).stdout
    assert study.names[first] in loads(study.cli("show", first, "--json").stdout)["experiment"]["experiment_name"]
    completed = {name for i, name in study.names.items() if study.statuses[i] == "completed"}
    ranked = {row["experiment_name"] for row in loads(study.cli("best", "--json", "-n", "50").stdout)}
    assert ranked and ranked <= completed
    running = next(name for i, name in study.names.items() if study.statuses[i] == "running")
    assert running in {row["experiment_name"]
                       for row in loads(study.cli("best", "--status", "any", "--json", "-n", "50").stdout)}
    assert study.cli("best").stdout.strip()
    compared = loads(study.cli("compare", first, second, "--json").stdout)
    assert [str(e["_id"]) for e in compared["experiments"]] == [first, second]
    assert study.names[second] in study.cli("compare", first, second).stdout
    assert [e["epoch"] for e in loads(study.cli("history", first, "--json").stdout)] == list(range(study.epochs[first]))
    assert f"{study.epochs[first]} epochs" in study.cli("history", first).stdout


def test_every_export_format_works(study: Study) -> None:
    rows = list(csv.DictReader(io.StringIO(study.cli("export", "experiments").stdout)))
    assert {row["experiment_name"] for row in rows} == set(study.names.values()) and len(rows) == len(study.ids)
    exported = json_util.loads(study.cli("export", "experiments", "-f", "json").stdout)
    assert {d["experiment_name"] for d in exported} == set(study.names.values())
    epochs = study.cli("export", "epochs", "-f", "jsonl").stdout.splitlines()
    assert len(epochs) == sum(study.epochs.values())
    points = json_util.loads(study.cli("export", "series", "-f", "json", "-q", '{"status": "running"}').stdout)
    assert "batch_loss" in {point["name"] for point in points}
    assert study.cli("export", "subjects").stdout.startswith("_id,subject_id")
    assert "subjects" in study.cli("subjects", "ls").stdout


def test_maintenance_commands_only_read(study: Study) -> None:
    assert "No problems found." in study.cli("doctor").stdout
    report = loads(study.cli("doctor", "--json").stdout)
    assert report["index_problems"] == {} and report["duplicates"] == []
    states = {row["state"] for row in loads(study.cli("verify", "--json").stdout)}
    assert states == {"ok"}
    assert "0 write(s) sent from 0 journal(s); 0 left, 0 refused" in study.cli("sync").stdout


def test_the_dashboard_answers_every_page_and_endpoint(study: Study) -> None:
    first, second = study.ids[:2]
    running = next(i for i in study.ids if study.statuses[i] == "running")
    tracker = Tracker(study.uri, journal=False)
    gets = ["/", f"/experiments/{first}", f"/experiments/{running}", f"/compare?ids={first},{second}",
            "/leaderboard", "/leaderboard?status=any", "/subjects", f"/subjects?experiment={first}",
            "/api/status", "/api/experiments?sort=metrics.best_val_loss&order=1&limit=5", "/api/facets",
            f"/api/experiments/export?ids={first},{second}&format=csv", "/api/experiments/export?format=json",
            f"/api/experiments/{first}", f"/api/experiments/{running}/epochs?after=0",
            f"/api/experiments/{running}/series", f"/api/experiments/{running}/series/batch_loss?points=50",
            f"/api/experiments/{first}/checkpoints", f"/api/compare?ids={first},{second}",
            "/api/leaderboard", "/api/leaderboard?status=any", "/api/subjects", "/api/subjects/breakdown?by=age"]
    with TestClient(create_app(tracker), base_url="http://127.0.0.1") as client:
        answers = {path: client.get(path) for path in gets}
    tracker.close()
    assert {path: answer.status_code for path, answer in answers.items() if answer.status_code != 200} == {}
    assert answers["/api/experiments?sort=metrics.best_val_loss&order=1&limit=5"].json()["total"] == len(study.ids)
    assert answers[f"/api/experiments/{running}/series/batch_loss?points=50"].json()["total"] > 0
    assert study.proxy.refused == []


def test_editing_notes_on_the_dashboard_fails_with_the_servers_reason(study: Study) -> None:
    first = study.ids[0]
    tracker = Tracker(study.uri, journal=False)
    with TestClient(create_app(tracker, token="t0ken"), base_url="http://127.0.0.1",
                    headers={"Authorization": "Bearer t0ken"}) as client:
        answer = client.put(f"/api/experiments/{first}/notes", json={"notes": "edited"})
        assert answer.status_code == 403 and "not authorized on" in answer.json()["error"]
        assert client.get(f"/api/experiments/{first}").json()["experiment"].get("notes") != "edited"
    tracker.close()


def test_a_write_is_refused_with_the_servers_reason(study: Study) -> None:
    tracker = Tracker(study.uri, journal=False)
    with pytest.raises(Unauthorized, match="not authorized on") as refused:
        tracker.create_experiment("through-a-read-only-account", 1)
    assert not isinstance(refused.value, StoreUnavailable)  # a refusal, never an outage to wait out
    tracker.close()
    client: pymongo.MongoClient[Any] = pymongo.MongoClient(f"mongodb://127.0.0.1:{study.proxy.upstream[1]}/")
    assert client[study.database].experiments.count_documents({"experiment_name": "through-a-read-only-account"}) == 0
    client.close()


def test_a_journaled_write_is_refused_and_never_a_success(study: Study, monkeypatch: pytest.MonkeyPatch,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("EPOCHLOG_JOURNAL_DIR", str(study.journals))
    tracker = Tracker(study.uri, journal=True)
    run = tracker.create_experiment("journaled-on-a-read-only-account", 1)  # accepted by the journal...
    tracker.log_epoch(run, 0, {"val_loss": 0.5})
    assert tracker.sync() is False  # ...but never reported delivered
    reasons = [reason for _, reason, _ in tracker.store.refused_rows()]  # type: ignore[attr-defined]
    assert reasons and all("not authorized on" in reason for reason in reasons)
    with caplog.at_level(logging.WARNING):
        tracker.close()
    assert "refused" in caplog.text and "not authorized" in caplog.text
    result = Cli(study.uri)("sync", env={"EPOCHLOG_JOURNAL_DIR": str(study.journals)})
    assert_user_error(result, "refused by the server")
    assert "not authorized on" in result.stdout


def test_a_database_without_our_indexes_is_read_without_asking_to_create_them(mongo_uri: str,
                                                                            tmp_path: Path) -> None:
    """A seed-era database (plain pymongo documents, no index of ours, a duplicate epoch): reads and `doctor`
    send no createIndexes; `doctor --fix` fails with the server's reason and changes nothing."""
    database = f"test_ro_seed_{uuid.uuid4().hex[:10]}"
    client: pymongo.MongoClient[Any] = pymongo.MongoClient(mongo_uri)
    db = client[database]
    run = db.experiments.insert_one({"experiment_name": "seed_era", "challenge": 2, "status": "completed",
                                     "start_time": dt.datetime(2025, 10, 20, tzinfo=dt.timezone.utc),
                                     "metrics": {"best_val_loss": 0.4}}).inserted_id
    for epoch in [0, 1, 1]:
        db.epochs.insert_one({"experiment_id": run, "epoch": epoch, "metrics": {"val_loss": 1 - epoch / 10}})
    try:
        with read_only_proxy(mongo_uri) as proxy:
            study = Study(database, proxy, [str(run)], {str(run): "seed_era"}, {str(run): "completed"},
                          {str(run): 3}, tmp_path / "journals")
            assert "seed_era" in study.cli("ls").stdout
            assert "seed_era" in study.cli("show", str(run)).stdout
            assert "seed_era" in study.cli("best").stdout
            cli = Cli(study.uri)
            result = cli("doctor")  # reports, without trying to repair
            assert_user_error(result, "epochlog doctor --fix")
            assert "duplicate epochs" in result.stdout
            assert "missing index epochs.experiment_id_1_epoch_1: not created yet" in result.stdout
            assert proxy.refused == []
            result = cli("doctor", "--fix", "--backup", str(tmp_path / "backup.jsonl"))
            assert_user_error(result, "not authorized on")  # the delete, refused
            assert proxy.refused and set(proxy.refused) <= {"delete", "createIndexes"}
        assert db.epochs.count_documents({"experiment_id": run}) == 3
        assert [index["name"] for index in db.epochs.list_indexes()] == ["_id_"]
    finally:
        client.drop_database(database)
        client.close()
