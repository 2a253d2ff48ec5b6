"""`epochlog index add | ls | drop` as a user types them."""

from __future__ import annotations

from tests.cli.helpers import Cli, assert_user_error


def test_the_index_command_adds_lists_and_drops(cli: Cli) -> None:
    assert "status_1_metrics.best_val_acc_-1" in cli.ok("index", "add", "status", "metrics.best_val_acc:-1").stdout
    listed = cli.json("index", "ls", "--json")
    assert {"name": "status_1_metrics.best_val_acc_-1", "keys": [["status", 1], ["metrics.best_val_acc", -1]],
            "unique": False, "builtin": False} in listed
    assert cli.json("index", "ls", "-c", "epochs", "--json")[0]["builtin"] is True
    assert "Dropped" in cli.ok("index", "drop", "status_1_metrics.best_val_acc_-1").stdout
    assert_user_error(cli("index", "drop", "status_1"), "status_1", "own")
    assert_user_error(cli("index", "add", "a b"), "'a b'")
    assert_user_error(cli("index", "drop", "nope"), "'nope'", "epochlog index ls")
