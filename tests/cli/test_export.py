"""export experiments/epochs/series/subjects as CSV, JSON and JSON Lines."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from pathlib import Path

from bson import ObjectId

from epochlog import Tracker

from .helpers import Cli, assert_user_error, loads


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_experiments_csv_has_dotted_columns(cli: Cli, demo_ids: list[str]) -> None:
    table = rows(cli.ok("export", "experiments").stdout)
    assert len(table) == 12
    first = table[0]
    assert first["_id"] == demo_ids[0]  # oldest first by default
    for column in ("config.batch_size", "config.learning_rate", "model.name", "metrics.best_val_loss",
                   "dataset.releases", "start_time"):
        assert column in first
    assert json.loads(first["dataset.releases"])[0].startswith("R")
    assert first["start_time"].endswith("Z") and dt.datetime.fromisoformat(first["start_time"][:-1])
    assert any(row["metrics.best_val_loss"] == "nan" for row in table)  # the diverged run


def test_experiments_json_and_jsonl_are_extended_json(cli: Cli, demo_ids: list[str]) -> None:
    raw = cli.ok("export", "experiments", "--format", "json").stdout
    assert '{"$oid": "' in raw and '{"$date": "' in raw
    documents = loads(raw)
    assert [str(d["_id"]) for d in documents] == demo_ids
    assert isinstance(documents[0]["start_time"], dt.datetime)
    lines = cli.ok("export", "experiments", "--format", "jsonl").stdout.splitlines()
    assert len(lines) == 12 and loads(lines[0])["_id"] == ObjectId(demo_ids[0])
    diverged = [d for d in documents if d["config"]["learning_rate"] == 0.05]
    assert math.isnan(diverged[0]["metrics"]["best_val_loss"])


def test_export_filters_like_ls(cli: Cli, demo_ids: list[str]) -> None:
    failed = loads(cli.ok("export", "experiments", "-f", "json", "--status", "failed").stdout)
    assert failed and all(d["status"] == "failed" for d in failed)
    two = loads(cli.ok("export", "experiments", "-f", "json", "--challenge", "2", "--limit", "2",
                       "--sort", "-start_time").stdout)
    assert [str(d["_id"]) for d in two] == [demo_ids[11], demo_ids[9]]
    assert_user_error(cli("export", "experiments", "--query", "{nope"), "--query")


def test_epochs(cli: Cli, uri: str, demo_ids: list[str]) -> None:
    with Tracker(uri) as tracker:
        expected = sum(len(tracker.get_experiment_history(eid)["epochs"]) for eid in demo_ids)
    table = rows(cli.ok("export", "epochs").stdout)
    assert len(table) == expected
    assert {"experiment_id", "epoch", "metrics.train_loss", "metrics.val_loss", "timing.duration_seconds"} <= \
        set(table[0])
    assert table[0]["experiment_id"] == demo_ids[0] and table[0]["epoch"] == "0"
    one = cli.ok("export", "epochs", "-f", "jsonl", "-q", f'{{"_id": {{"$oid": "{demo_ids[0]}"}}}}').stdout
    assert [loads(line)["epoch"] for line in one.splitlines()] == list(range(8))


def test_series(cli: Cli, uri: str, demo_ids: list[str]) -> None:
    with Tracker(uri) as tracker:
        logged = {eid: tracker.get_metric_series(eid, "batch_loss") for eid in demo_ids}
    with_points = [eid for eid, series in logged.items() if len(series)]
    assert with_points
    table = rows(cli.ok("export", "series", "--name", "batch_loss").stdout)
    assert list(table[0]) == ["experiment_id", "name", "step", "value"]
    assert len(table) == sum(len(series) for series in logged.values())
    eid = with_points[0]
    mine = [row for row in table if row["experiment_id"] == eid]
    assert [int(row["step"]) for row in mine] == logged[eid].steps.tolist()
    assert float(mine[5]["value"]) == logged[eid].values[5]
    assert cli.ok("export", "series", "--name", "no_such_metric").stdout.strip() == "experiment_id,name,step,value"
    assert cli("export", "epochs", "--name", "batch_loss").exit_code == 2


def test_output_file_and_format_from_suffix(cli: Cli, tmp_path: Path, demo_ids: list[str]) -> None:
    target = tmp_path / "out" / "experiments.jsonl"
    target.parent.mkdir()
    result = cli.ok("export", "experiments", "-o", target)
    assert result.stdout == ""
    assert "Wrote 12 experiments" in result.stderr
    assert len(target.read_text().splitlines()) == 12
    csv_file = tmp_path / "e.csv"
    cli.ok("export", "experiments", "--output", csv_file, "--format", "csv")
    assert csv_file.read_text().startswith("_id,experiment_name,")
    assert_user_error(cli("export", "experiments", "-o", tmp_path / "missing-dir" / "x.csv"), "missing-dir")


def test_empty_store_exports_nothing(cli: Cli) -> None:
    assert cli.ok("export", "experiments", "-f", "json").stdout.strip() == "[]"
    assert cli.ok("export", "epochs", "-f", "jsonl").stdout == ""


def test_csv_cells_never_start_a_formula_as_the_dashboard_export(cli: Cli, uri: str) -> None:
    with Tracker(uri) as tracker:
        tracker.create_experiment('=HYPERLINK("http://x")', 1, metrics={"delta": -0.5},
                                  config={"note": "@SUM(A1)", "offset": "-3", "flag": True})
    row = rows(cli.ok("export", "experiments").stdout)[0]
    assert row["experiment_name"] == "'=HYPERLINK(\"http://x\")" and row["config.note"] == "'@SUM(A1)"
    assert row["metrics.delta"] == "-0.5" and row["config.offset"] == "-3"  # numbers stay numbers
    assert row["config.flag"] == "true"


def test_csv_cells_are_the_dashboards(cli: Cli, uri: str) -> None:
    """Both exports write each cell by `csv_cells` (NaN as nan, dates in ISO 8601, lists as JSON)."""
    from fastapi.testclient import TestClient

    from epochlog.web import create_app

    with Tracker(uri) as tracker:
        eid = tracker.create_experiment("odd", 1, metrics={"loss": math.nan, "peak": math.inf},
                                        config={"bands": [1, math.nan], "when": dt.datetime(2026, 5, 1, 12)})
        with TestClient(create_app(tracker), base_url="http://127.0.0.1") as client:
            web = next(csv.DictReader(io.StringIO(client.get("/api/experiments/export", params={"ids": eid}).text)))
    row = rows(cli.ok("export", "experiments").stdout)[0]
    for key, text in {"metrics.loss": "nan", "metrics.peak": "inf", "config.bands": '[1, {"$numberDouble": "NaN"}]',
                      "config.when": "2026-05-01T12:00:00.000Z", "start_time": row["start_time"]}.items():
        assert row[key] == web[key] == text, key
