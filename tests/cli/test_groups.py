"""epochlog groups: the same config over seeds, as a table, CSV and JSON."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import pytest

from epochlog import Tracker

from .helpers import Cli, assert_user_error, loads


@pytest.fixture
def seeds(uri: str) -> None:
    """Two learning rates over three seeds (and one NaN run), plus one accuracy-ranked run."""
    with Tracker(uri) as tracker:
        for seed, (low, high) in enumerate([(0.30, 0.50), (0.20, 0.55), (0.25, 0.60)]):
            for lr, loss in ((0.001, low), (0.01, high)):
                eid = tracker.create_experiment(f"lr{lr}-s{seed}", 1, config={"lr": lr, "seed": seed})
                tracker.update_experiment_status(eid, "completed", metrics={"best_val_loss": loss,
                                                                            "accuracy": 1 - loss})
        eid = tracker.create_experiment("diverged", 1, config={"lr": 0.01, "seed": 9})
        tracker.update_experiment_status(eid, "completed", metrics={"best_val_loss": math.nan})


def test_table_over_seeds(cli: Cli, seeds: None) -> None:
    out = cli.ok("groups", "--config-except", "seed").stdout
    assert "by the same config except seed" in out
    lines = [line for line in out.splitlines() if "│" in line]
    assert len(lines) == 2 and "0.001" in lines[0] and "0.01" in lines[1]  # best mean first
    assert "0.25" in lines[0] and "lr0.001-s1" in lines[0]  # mean and best run
    assert lines[1].rstrip("│ ").endswith("1")  # the NaN run is excluded, and counted


def test_csv_and_json(cli: Cli, seeds: None, tmp_path: Path) -> None:
    table = list(csv.DictReader(io.StringIO(cli.ok("groups", "-b", "config.lr", "-f", "csv").stdout)))
    assert [row["group.config.lr"] for row in table] == ["0.001", "0.01"]
    assert table[1]["n"] == "3" and table[1]["excluded"] == "1" and len(table[1]["experiment_ids"].split()) == 4
    assert float(table[0]["ci95_low"]) < float(table[0]["mean"]) < float(table[0]["ci95_high"])
    output = tmp_path / "groups.json"
    result = cli.ok("groups", "-b", "config.lr", "-m", "accuracy", "--max", "-o", output)
    assert "Wrote 2 groups" in result.stderr
    documents = loads(output.read_text())
    assert [d["group"]["config.lr"] for d in documents] == [0.001, 0.01]
    assert documents[0]["mean"] == pytest.approx(0.75) and documents[0]["best"]["experiment_name"] == "lr0.001-s1"


def test_nothing_matches(cli: Cli, seeds: None) -> None:
    assert "No experiment matches" in cli.ok("groups", "-b", "config.lr", "-c", "2").stdout


def test_bad_input_is_a_clear_error(cli: Cli, seeds: None) -> None:
    for args, fragment in [((), "--by"), (("-b", "config.lr", "-x", "seed"), "--config-except"),
                           (("-b", "config.lr", "-f", "xml"), "--format"),
                           (("-b", "config.lr", "-s", "done"), "--status"),
                           (("-b", "config.lr", "-q", "{nope"), "--query")]:
        result = cli("groups", *args)
        if fragment == "--query":
            assert_user_error(result, fragment)
        else:
            assert result.exit_code == 2 and fragment in result.stderr, (args, result.stderr)
