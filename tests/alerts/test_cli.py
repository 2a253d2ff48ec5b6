"""`epochlog watch`: one pass with --once, nothing twice across runs of the command, one-line errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from epochlog import Tracker
from tests.alerts.receivers import TOKEN, MailReceiver, Receiver
from tests.cli.helpers import Cli, assert_user_error


@pytest.fixture(autouse=True)
def no_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No webhooks or SMTP settings from the environment or a .env file of the working directory."""
    monkeypatch.chdir(tmp_path)
    for name in ("EPOCHLOG_WEBHOOKS", "EPOCHLOG_SMTP_HOST", "EPOCHLOG_SMTP_PORT", "EPOCHLOG_SMTP_USER",
                 "EPOCHLOG_SMTP_PASSWORD", "EPOCHLOG_SMTP_FROM", "EPOCHLOG_SMTP_SECURITY"):
        monkeypatch.delenv(name, raising=False)


def failed_run(uri: str, name: str = "broken") -> str:
    with Tracker(uri) as tracker:
        run = tracker.create_experiment(name, 1, capture=False)
        tracker.update_experiment_status(run, "failed", error={"type": "ValueError", "message": "boom"})
        return run


def test_once_sends_what_is_new_and_nothing_twice(cli: Cli, receiver: Callable[..., Receiver]) -> None:
    hook = receiver()
    failed_run(cli.uri, "before")  # history: the store was not watched yet
    assert cli.ok("watch", "--once", "--webhook", hook.url).stdout == ""
    run = failed_run(cli.uri)
    out = cli.ok("watch", "--once", "--webhook", hook.url, "--leaderboard", "best_val_loss").stdout
    assert out.strip() == f"failed: run broken ({run}) failed: ValueError: boom"
    assert cli.ok("watch", "--once", "--webhook", hook.url).stdout == ""
    assert [payload["key"] for payload in hook.payloads] == [f"failed:{run}"]
    assert TOKEN not in out


def test_webhooks_and_mail_from_the_environment(cli: Cli, receiver: Callable[..., Receiver],
                                                mail: MailReceiver) -> None:
    first, second = receiver(), receiver()
    cli.ok("watch", "--once", env={"EPOCHLOG_WEBHOOKS": f"{first.url}, {second.url}"})
    Path(".env").write_text(f"EPOCHLOG_SMTP_HOST=127.0.0.1\nEPOCHLOG_SMTP_PORT={mail.port}\n"
                            "EPOCHLOG_SMTP_SECURITY=none\n")
    failed_run(cli.uri)
    cli.ok("watch", "--once", "--email", "ops@example.org", env={"EPOCHLOG_WEBHOOKS": f"{first.url} {second.url}",
                                                                 "EPOCHLOG_SMTP_FROM": "w@example.org"})
    mail.wait_for(1)
    assert (first.hits, second.hits, len(mail.messages)) == (1, 1, 1)


@pytest.mark.parametrize("args, fragments", [
    ((), ("nothing to send alerts to", "--webhook", "EPOCHLOG_WEBHOOKS")),
    (("--webhook", f"ftp://files.example.org/{TOKEN}"), ("--webhook", "http", "files.example.org")),
    (("--webhook", "hooks.example.org/x"), ("--webhook",)),
    (("--webhook", f"http://[::1/{TOKEN}"), ("--webhook", "malformed")),
    (("--webhook", f"http://h:port/{TOKEN}"), ("--webhook", "http://h/")),
    (("--webhook", "http://h/x", "--leaderboard", "best_val_loss:sideways"), ("--leaderboard", "sideways")),
    (("--webhook", "http://h/x", "--leaderboard", ":max"), ("--leaderboard",)),
    (("--email", "ops@example.org"), ("EPOCHLOG_SMTP_HOST",)),
    (("--email", "ops"), ("EPOCHLOG_SMTP_HOST",)),
])
def test_bad_input_is_one_line(cli: Cli, args: tuple[str, ...], fragments: tuple[str, ...]) -> None:
    message = assert_user_error(cli("watch", "--once", *args), *fragments)
    assert TOKEN not in message


def test_a_malformed_address_is_one_line(cli: Cli) -> None:
    env = {"EPOCHLOG_SMTP_HOST": "127.0.0.1", "EPOCHLOG_SMTP_FROM": "w@example.org"}
    assert_user_error(cli("watch", "--once", "--email", "ops", env=env), "--email", "'ops'")


def test_usage_errors(cli: Cli) -> None:
    assert cli("watch", "--once", "--webhook", "http://h/x", "--interval", "0").exit_code == 2
    assert cli("watch", "--once", "--webhook", "http://h/x", "--stale-after", "-1").exit_code == 2
