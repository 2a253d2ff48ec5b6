"""`epochlog push` and `epochlog merge` as a user runs them."""

from __future__ import annotations

from pathlib import Path

from epochlog import Tracker
from tests.cli.helpers import Cli, assert_user_error, loads

from .stores import fill


def store_file(path: Path, prefix: str, runs: int = 2) -> str:
    with Tracker(f"sqlite:///{path}") as tracker:
        fill(tracker, runs=runs, epochs=3, prefix=prefix)
    return str(path)


def test_push_reports_counts_then_says_nothing_changed(cli: Cli, tmp_path: Path) -> None:
    source = store_file(tmp_path / "laptop.db", "laptop")
    dest = str(tmp_path / "shared.db")
    first = cli.ok("push", source, "--to", dest, uri=False)
    assert "copied" in first.stdout and "epochs" in first.stdout
    assert "nothing to push" in cli.ok("push", source, "--to", dest, uri=False).stdout
    report = loads(cli.ok("push", source, "--to", dest, "--json", uri=False).stdout)
    assert report["changed"] == 0 and report["collections"]["epochs"]["unchanged"] == 6


def test_push_with_a_query_dry_run_and_since(cli: Cli, tmp_path: Path) -> None:
    source = store_file(tmp_path / "laptop.db", "laptop")
    dest = tmp_path / "shared.db"
    dry = loads(cli.ok("push", source, "--to", str(dest), "--query", '{"experiment_name": "laptop-0"}',
                       "--dry-run", "--json", uri=False).stdout)
    assert dry["dry_run"] and dry["collections"]["experiments"]["new"] == 1 and dry["chosen"] == 1
    assert not dest.exists()  # a dry run creates no file either
    later = loads(cli.ok("push", source, "--to", str(dest), "--since", "2999-01-01", "--json", uri=False).stdout)
    assert later["chosen"] == 0
    full = loads(cli.ok("push", source, "--to", str(dest), "--full", "--json", uri=False).stdout)
    assert full["collections"]["experiments"]["new"] == 2


def test_merge_several_files_into_one(cli: Cli, tmp_path: Path) -> None:
    nodes = [store_file(tmp_path / f"node{number}.db", f"node{number}") for number in range(3)]
    into = tmp_path / "all.db"
    reports = loads(cli.ok("merge", *nodes, "--into", str(into), "--json", uri=False).stdout)
    assert [report["collections"]["experiments"]["new"] for report in reports] == [2, 2, 2]
    with Tracker(f"sqlite:///{into}") as merged:
        assert merged.count_experiments() == 6


def test_bad_input_is_one_line_error(cli: Cli, tmp_path: Path) -> None:
    source = store_file(tmp_path / "laptop.db", "laptop", runs=1)
    assert_user_error(cli("push", source, "--to", source, uri=False), "same store")
    assert_user_error(cli("push", source, "--to", "ftp://host/x", uri=False), "unknown store URI scheme")
    assert_user_error(cli("push", str(tmp_path / "nope.db"), "--to", source, uri=False), "no store at")
    assert_user_error(cli("push", source, "--to", str(tmp_path / "b.db"), "--since", "last week", uri=False),
                      "--since")
    assert_user_error(cli("push", source, "--to", str(tmp_path / "b.db"), "--query", "[1]", uri=False), "--query")
