"""epochlog archive / restore / purge: hidden from ls, best and export, shown again, deleted after asking."""

from __future__ import annotations

from epochlog import Tracker

from .helpers import Cli, assert_user_error


def _names(cli: Cli, *args: str) -> list[str]:
    return sorted(d["experiment_name"] for d in cli.json("ls", *args))


def test_archive_hides_from_ls_best_and_export_until_restored(cli: Cli, demo_ids: list[str]) -> None:
    first = cli.json("show", demo_ids[0])["experiment"]["experiment_name"]
    assert "Archived 1 experiment" in cli.ok("archive", demo_ids[0]).stdout
    assert first not in _names(cli) and first in _names(cli, "--archived")
    assert demo_ids[0] not in cli.ok("export", "experiments").stdout
    assert demo_ids[0] in cli.ok("export", "experiments", "--archived").stdout
    assert all(str(d["_id"]) != demo_ids[0] for d in cli.json("best", "-s", "any", "-n", "50"))
    assert "already archived" in cli.ok("archive", demo_ids[0]).stdout
    assert "Restored 1 experiment" in cli.ok("restore", "-q", '{"archived": true}').stdout
    assert first in _names(cli)


def test_ls_says_when_only_archived_runs_match(cli: Cli, demo_ids: list[str]) -> None:
    cli.ok("archive", "-q", "{}")
    assert "12 archived ones do (--archived shows them)" in cli.ok("ls").stdout


def test_purge_asks_first_then_deletes(cli: Cli, uri: str, demo_ids: list[str]) -> None:
    refused = cli("purge", demo_ids[1], input="n\n")
    assert refused.exit_code == 1 and "for good?" in refused.stderr
    with Tracker(uri) as tracker:
        assert tracker.count_experiments() == 12
    done = cli.ok("purge", demo_ids[1], input="y\n")
    assert "Purged 1 experiment: 8 epochs" in done.stderr
    assert "Purged 2 experiments" in cli.ok("purge", demo_ids[2], demo_ids[3], "--yes").stderr
    with Tracker(uri) as tracker:
        assert tracker.count_experiments() == 9


def test_purge_refuses_running_and_bad_input(cli: Cli, uri: str, demo_ids: list[str]) -> None:
    with Tracker(uri) as tracker:
        running = tracker.create_experiment("still-going", 1)
    assert_user_error(cli("purge", running, "--yes"), "refusing to purge running", running)
    assert_user_error(cli("archive", "no-such-run"), "no-such-run")
    usage = cli("archive")
    assert usage.exit_code == 2 and "--query" in usage.stderr
    with Tracker(uri) as tracker:
        assert tracker.count_experiments() == 13
