"""ls, show, best, compare, history on a simulated study, as a user reads them."""

from __future__ import annotations

import json
import math

from bson import ObjectId

from epochlog import Tracker
from epochlog.demo import run_demo

from .helpers import Cli, assert_user_error


def names(uri: str, query: dict | None = None) -> dict[str, dict]:
    with Tracker(uri) as tracker:
        return {d["experiment_name"]: d for d in tracker.search_experiments(query)}


def test_ls_lists_newest_first(cli: Cli, uri: str, demo_ids: list[str]) -> None:
    out = cli.ok("ls").stdout
    assert "12 experiments" in out
    everything = names(uri)
    for name in everything:
        assert name in out
    positions = [out.index(str(ObjectId(eid))) for eid in demo_ids]
    assert positions == sorted(positions, reverse=True)  # the newest run is listed first
    assert "running" in out and "failed" in out and "NaN" in out


def test_ls_filters(cli: Cli, uri: str, demo_ids: list[str]) -> None:
    failed = cli.json("ls", "--status", "failed")
    assert failed and all(d["status"] == "failed" for d in failed)
    both = cli.json("ls", "--status", "failed", "--status", "running")
    assert {d["status"] for d in both} == {"failed", "running"}
    second = cli.json("ls", "--challenge", "2")
    assert len(second) == 6 and all(d["challenge"] == 2 for d in second)
    tagged = cli.json("ls", "--tag", "cuda", "--tag", "challenge1")
    assert tagged and all({"cuda", "challenge1"} <= set(d["tags"]) for d in tagged)
    cheap = cli.json("ls", "--query", '{"config.batch_size": {"$lte": 32}, "status": "completed"}')
    assert cheap and all(d["config"]["batch_size"] <= 32 for d in cheap)
    by_id = cli.json("ls", "-q", f'{{"_id": {{"$oid": "{demo_ids[0]}"}}}}')
    assert [str(d["_id"]) for d in by_id] == [demo_ids[0]]


def test_ls_query_takes_expr_on_every_backend(backend_uri: str) -> None:
    """Runs whose best epoch was their last: two fields of one document compared; a run that never had a
    best epoch (its losses are NaN) has none to compare and is left out."""
    with Tracker(backend_uri) as tracker:
        run_demo(tracker, seed=0, experiments=6, epochs=4)
        documents = tracker.search_experiments({})
    last = {str(d["_id"]) for d in documents
            if "best_epoch" in d["metrics"] and d["metrics"]["best_epoch"] == d["metrics"]["total_epochs"] - 1}
    assert 0 < len(last) < len(documents)
    query = '{"$expr": {"$eq": ["$metrics.best_epoch", {"$subtract": ["$metrics.total_epochs", 1]}]}}'
    found = Cli(backend_uri).json("ls", "--query", query)
    assert {str(d["_id"]) for d in found} == last


def test_ls_sort_and_limit(cli: Cli, demo_ids: list[str]) -> None:
    ranked = cli.json("ls", "--sort", "metrics.best_epoch,-start_time", "--limit", "5")
    assert len(ranked) == 5
    epochs = [d["metrics"].get("best_epoch", -1) for d in ranked]
    assert epochs == sorted(epochs)
    oldest = cli.json("ls", "--sort", "start_time:asc", "-n", "1")
    assert str(oldest[0]["_id"]) == demo_ids[0]
    assert "showing 3" in cli.ok("ls", "--limit", "3").stdout
    assert len(cli.json("ls", "--limit", "0")) == 12


def test_ls_json_is_extended_json(cli: Cli, demo_ids: list[str]) -> None:
    raw = cli.ok("ls", "--json", "-n", "1").stdout
    assert '"$oid"' in raw and '"$date"' in raw


def test_ls_bad_query(cli: Cli, demo_ids: list[str]) -> None:
    assert_user_error(cli("ls", "--query", "{status: completed"), "--query is not valid JSON")
    assert_user_error(cli("ls", "--query", "[1, 2]"), "must be a JSON object")
    assert_user_error(cli("ls", "--query", '{"status": {"$frobnicate": 1}}'), "$frobnicate")
    assert_user_error(cli("ls", "--sort", "start_time:sideways"), "--sort")
    assert cli("ls", "--status", "exploded").exit_code == 2


def test_a_query_has_the_dashboards_limits(cli: Cli, demo_ids: list[str]) -> None:
    """--query is parsed as the dashboard's filter box is (query.filter_text): nesting and length are bounded."""
    deep = '{"a": ' * 150 + "1" + "}" * 150
    for command in (("ls",), ("export", "experiments"), ("best",), ("groups", "--by", "challenge")):
        assert_user_error(cli(*command, "--query", deep), "--query is nested deeper than 100 levels")
    long = json.dumps({"experiment_name": {"$in": [f"run-{n}" for n in range(3000)]}})
    assert_user_error(cli("ls", "--query", long), "--query is longer than 20000 characters")


def test_field_paths_are_checked_as_the_dashboard_checks_them(cli: Cli, demo_ids: list[str]) -> None:
    """dotted.check_field: the dashboard refused `a..b` as a sort, metric or grouping; the CLI sorted by it."""
    assert_user_error(cli("ls", "--sort", "a..b"), "--sort must be a dotted field path")
    assert_user_error(cli("best", "--metric", "metrics..x"), "--metric must be a dotted field path")
    grouped = cli("groups", "--by", "config.")
    assert grouped.exit_code == 2 and "by must be a dotted field path" in grouped.stderr


def test_ls_empty_store(cli: Cli) -> None:
    assert "No experiments yet" in cli.ok("ls").stdout


def test_show(cli: Cli, uri: str, demo_ids: list[str]) -> None:
    with Tracker(uri) as tracker:
        experiment = tracker.get_experiment(demo_ids[0])
    out = cli.ok("show", demo_ids[0]).stdout
    assert experiment["experiment_name"] in out
    assert "batch_size" in out and "learning_rate" in out  # the config tree
    assert "Summary metrics" in out and "best_val_loss" in out
    assert "Epochs (8)" in out and "Checkpoints" in out and "sha256:" in out
    by_name = cli.ok("show", experiment["experiment_name"]).stdout
    assert demo_ids[0] in by_name
    shown = cli.json("show", demo_ids[0])
    assert shown["experiment"]["_id"] == ObjectId(demo_ids[0])
    assert len(shown["epochs"]) == 8 and shown["checkpoints"]


def test_show_failed_run_names_the_error(cli: Cli, uri: str, demo_ids: list[str]) -> None:
    failed = next(iter(names(uri, {"status": "failed"})))
    assert "error" in cli.ok("show", failed).stdout


def test_unknown_ids(cli: Cli, demo_ids: list[str]) -> None:
    assert_user_error(cli("show", "0123456789abcdef01234567"), "no experiment", "0123456789abcdef01234567")
    assert_user_error(cli("show", "no-such-run"), "no experiment with id or name 'no-such-run'")
    assert_user_error(cli("history", "no-such-run"), "no-such-run")
    assert_user_error(cli("compare", demo_ids[0], "nope"), "nope")
    assert_user_error(cli("verify", "nope"), "nope")


def test_best(cli: Cli, uri: str, demo_ids: list[str]) -> None:
    ranked = cli.json("best", "--challenge", "2", "-n", "5")
    losses = [d["metrics"]["best_val_loss"] for d in ranked]
    assert losses == sorted(losses) and all(math.isfinite(value) for value in losses)
    assert all(d["challenge"] == 2 and d["status"] == "completed" for d in ranked)
    out = cli.ok("best", "--challenge", "2", "-n", "5").stdout
    assert "Best by metrics.best_val_loss (challenge 2)" in out and ranked[0]["experiment_name"] in out
    diverged = [n for n, d in names(uri).items() if d["config"]["learning_rate"] == 0.05]
    assert diverged and all(name not in cli.ok("best", "-n", "100").stdout for name in diverged)
    accurate = cli.json("best", "--challenge", "1", "--metric", "best_val_accuracy", "--max")
    values = [d["metrics"]["best_val_accuracy"] for d in accurate]
    assert values and values == sorted(values, reverse=True)
    assert not {d["experiment_name"] for d in accurate} & set(diverged)


def test_compare(cli: Cli, demo_ids: list[str]) -> None:
    out = cli.ok("compare", demo_ids[0], demo_ids[1], demo_ids[2]).stdout
    assert "Summary" in out and "config keys differ" in out
    assert "config.learning_rate" in out and "metrics.best_val_loss" in out
    found = cli.json("compare", demo_ids[0], demo_ids[1])
    assert [str(d["_id"]) for d in found["experiments"]] == demo_ids[:2]
    assert "config.seed" in found["config_diff"]
    assert cli("compare", demo_ids[0]).exit_code == 2


def test_history(cli: Cli, uri: str, demo_ids: list[str]) -> None:
    eid = demo_ids[1]
    out = cli.ok("history", eid).stdout
    assert "8 epochs" in out and "val_loss" in out and "learning_rate" in out and "★ best" in out
    epochs = cli.json("history", eid)
    assert [e["epoch"] for e in epochs] == list(range(8))
    assert all(e["experiment_id"] == ObjectId(eid) for e in epochs)
