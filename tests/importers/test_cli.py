"""epochlog import mlflow / tensorboard from the command line: a summary, what was not mapped, and JSON."""

from __future__ import annotations

import json
from pathlib import Path

from ..cli.helpers import Cli, assert_user_error


def test_import_mlflow_twice(cli: Cli, mlflow_uri: str) -> None:
    first = cli.ok("import", "mlflow", mlflow_uri, "-e", "eegnex-sweep")
    assert "3 created, 0 updated, 0 unchanged" in first.stdout
    assert "'optimizer.name' stored as 'optimizer_name'" in first.stderr
    again = json.loads(cli.ok("import", "mlflow", mlflow_uri, "--json").stdout)
    assert (again["created"], again["unchanged"], again["epochs"]) == (1, 3, 0)
    assert len(cli.json("ls")) == 4


def test_import_tensorboard(cli: Cli, tensorboard_logdir: Path, tmp_path: Path) -> None:
    result = cli.ok("import", "tensorboard", tensorboard_logdir, "--steps-are-epochs")
    assert "3 created" in result.stdout and "histograms not imported" in result.stderr
    tf2 = next(d for d in cli.json("ls") if d["experiment_name"] == "tf2")
    assert len(cli.json("history", str(tf2["_id"]))) == 6  # every step an epoch
    assert_user_error(cli("import", "tensorboard", tmp_path), "no TensorBoard event files")
