"""`merge` of several files, and bad input refused with our errors, leaving the destination unchanged."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from epochlog import InvalidArgument, NotFound, Tracker
from epochlog.errors import QueryError
from epochlog.schema import EPOCHS, EXPERIMENTS, SUBJECTS
from epochlog.store.migrations import SCHEMA_VERSION
from epochlog.store.sqlite import SQLiteStore
from epochlog.transfer import merge, push

from .stores import content, fill


def node(path: Path, prefix: str) -> str:
    with Tracker(f"sqlite:///{path}") as tracker:
        fill(tracker, runs=2, epochs=3, prefix=prefix)
    return f"sqlite:///{path}"


def test_three_files_merged_into_one(tmp_path: Path) -> None:
    nodes = [node(tmp_path / f"node{number}.db", f"node{number}") for number in range(3)]
    into = f"sqlite:///{tmp_path / 'all.db'}"
    summaries = merge(nodes, into)
    assert [summary.counts[EXPERIMENTS].new for summary in summaries] == [2, 2, 2]
    with Tracker(into) as merged:
        assert merged.count_experiments() == 6
        assert merged.store.count(EPOCHS) == 18 and merged.store.count(SUBJECTS) == 6
        assert sorted(document["experiment_name"] for document in merged.search_experiments()) == \
            [f"node{number}-{run}" for number in range(3) for run in range(2)]
    assert all(summary.changed == 0 for summary in merge(nodes, into))


def test_the_same_store_twice_is_refused(tmp_path: Path) -> None:
    uri = node(tmp_path / "a.db", "a")
    with pytest.raises(InvalidArgument, match="same store"):
        push(uri, str(tmp_path / "a.db"))


def test_a_merge_naming_its_destination_or_a_missing_file_copies_nothing(tmp_path: Path) -> None:
    first, into = node(tmp_path / "a.db", "a"), node(tmp_path / "b.db", "b")
    for sources in ([first, into], [first, str(tmp_path / "missing.db")]):
        with pytest.raises((InvalidArgument, NotFound)):
            merge(sources, into)
        with Tracker(into) as merged:
            assert merged.count_experiments() == 2


def test_an_unknown_scheme_and_a_missing_source_are_refused(tmp_path: Path) -> None:
    uri = node(tmp_path / "a.db", "a")
    with pytest.raises(InvalidArgument, match="ftp://"):
        push(uri, "ftp://example.org/store")
    with pytest.raises(NotFound, match="missing.db"):
        push(str(tmp_path / "missing.db"), uri)
    assert not (tmp_path / "missing.db").exists()


def test_a_bad_filter_leaves_the_destination_unchanged(tmp_path: Path) -> None:
    source = node(tmp_path / "a.db", "a")
    dest = SQLiteStore(tmp_path / "b.db")
    before = content(dest)
    with pytest.raises(QueryError):
        push(source, dest, query={"$where": "1"})
    with pytest.raises(InvalidArgument, match="since"):
        push(source, dest, since="yesterday")  # type: ignore[arg-type]
    assert content(dest) == before and dest.count("transfers") == 0
    dest.close()


def test_documents_another_program_wrote_are_reported_not_lost_silently(mongo_uri: str, tmp_path: Path) -> None:
    import uuid

    import pymongo
    from bson import ObjectId

    from epochlog.store.mongo import MongoStore
    from tests.cli.helpers import Cli, assert_user_error

    name = f"test_{uuid.uuid4().hex[:12]}"
    client: pymongo.MongoClient = pymongo.MongoClient(mongo_uri)
    try:
        good, bad = ObjectId(), ObjectId()
        client[name].experiments.insert_many([{"_id": good, "experiment_name": "seed-era", "status": "completed"},
                                             {"_id": bad, "experiment_name": "odd", "status": 3}])
        client[name].epochs.insert_one({"_id": ObjectId(), "experiment_id": good, "epoch": 0, "metrics": {}})
        client[name].subjects.insert_many([{"subject_id": "sub-1"}, {"subject_id": 17}])
        source = MongoStore(mongo_uri, database=name)
        dest = SQLiteStore(tmp_path / "copy.db")
        summary = push(source, dest)
        assert [item["document"] for item in summary.refused] == ["subjects 17", f"experiments {bad}"]
        assert "status" in summary.refused[1]["reason"]
        assert [document["_id"] for document in dest.find(EXPERIMENTS)] == [good]
        assert dest.count(EPOCHS) == 1 and dest.count(SUBJECTS) == 1
        assert summary.counts[EXPERIMENTS].new == 1 and summary.counts[SUBJECTS].new == 1
        dest.close()
        uri = mongo_uri.rstrip("/") + f"/{name}" if "?" not in mongo_uri else mongo_uri
        assert_user_error(Cli("").__call__("push", uri, "--to", str(tmp_path / "cli.db"), uri=False), "refused 2")
        source.close()
    finally:
        client.drop_database(name)
        client.close()


def test_a_schema_4_file_gains_the_transfers_table_and_takes_a_push(tmp_path: Path) -> None:
    """A file written before `transfers` existed (schema 4) is upgraded when pushed into, keeping its runs."""
    old = tmp_path / "old.db"
    with Tracker(f"sqlite:///{old}") as tracker:
        fill(tracker, runs=1, epochs=2, prefix="old")
    db = sqlite3.connect(old)
    db.execute("DROP TABLE transfers")
    db.execute("PRAGMA user_version=4")
    db.commit()
    db.close()
    summary = push(node(tmp_path / "new.db", "new"), str(old))
    assert summary.counts[EXPERIMENTS].new == 2
    with Tracker(f"sqlite:///{old}") as upgraded:
        assert upgraded.count_experiments() == 3
    check = sqlite3.connect(old)
    assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    check.close()
