"""One equality of stored values (`stored_equality.same`): NaN equals NaN, 1 and 1.0 differ, for the config diff
of `epochlog compare` and the dashboard's compare page alike, for a push and for a legacy migration."""

from __future__ import annotations

import math
from pathlib import Path

from bson import json_util
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from epochlog import Tracker
from epochlog.cli import app
from epochlog.stored_equality import same
from epochlog.web import create_app


def test_same() -> None:
    assert same(math.nan, math.nan) and same({"a": [math.nan], "b": 1}, {"b": 1, "a": (math.nan,)})
    assert not same(1, 1.0) and not same(1, True) and not same(0.0, -0.0) and not same({"a": 1}, {"a": 1.0})


def test_the_cli_and_the_dashboard_see_the_same_config_differences(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'epochlog.db'}"
    with Tracker(uri) as tracker:
        ids = [str(tracker.create_experiment(f"run-{n}", 1, config={"lr": lr, "x": math.nan, "bands": [math.nan, 4]}))
               for n, lr in enumerate((1, 1.0))]
        with TestClient(create_app(tracker), base_url="http://127.0.0.1") as client:
            rows = client.get("/api/compare", params={"ids": ",".join(ids)}).json()["config"]
    result = CliRunner().invoke(app, ["compare", *ids, "--json", "--uri", uri])
    assert result.exit_code == 0, result.output
    cli_diff = json_util.loads(result.stdout)["config_diff"]
    assert {key for key in cli_diff if key.startswith("config.")} == {"config.lr"}
    assert {row["key"] for row in rows if row["differs"]} == {"config.lr"}
