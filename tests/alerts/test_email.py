"""E-mail alerts through a local SMTP server; SMTP settings from the environment or .env, no default password."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from epochlog import Tracker
from epochlog.alerts import Email, SmtpSettings, Watcher
from epochlog.errors import InvalidArgument
from tests.alerts.helpers import FAST, watched_since
from tests.alerts.receivers import MailReceiver


def settings(mail: MailReceiver, **extra: str) -> dict[str, str]:
    return {"EPOCHLOG_SMTP_HOST": "127.0.0.1", "EPOCHLOG_SMTP_PORT": str(mail.port), "EPOCHLOG_SMTP_SECURITY": "none",
            "EPOCHLOG_SMTP_FROM": "watch@example.org", **extra}


def test_an_alert_is_mailed(tmp_path: Path, mail: MailReceiver) -> None:
    with Tracker(f"sqlite:///{tmp_path / 'e.db'}") as tracker:
        watched_since(tracker, 60)
        run = tracker.create_experiment("broken", 2, capture=False)
        tracker.update_experiment_status(run, "failed", error={"type": "ValueError", "message": "boom"})
        smtp = SmtpSettings.from_environment(settings(mail), dotenv=None)
        with Watcher(tracker, [Email(["ops@example.org", "me@example.org"], smtp)], retry=FAST) as watcher:
            [alert] = watcher.check()
            assert watcher.drain(30)
    mail.wait_for(1)
    message = email.message_from_string(mail.messages[0].replace("\r\n", "\n"), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    assert message["Subject"].strip() == f"[epochlog] run broken ({run}) failed: ValueError: boom"
    assert message["From"] == "watch@example.org" and mail.recipients == [["ops@example.org", "me@example.org"]]
    assert f'"key": "failed:{run}"' in message.get_content()
    assert alert.key == f"failed:{run}"


def test_settings_come_from_the_environment_then_dotenv(tmp_path: Path, mail: MailReceiver) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("# mail\nexport EPOCHLOG_SMTP_HOST=mail.example.org\nEPOCHLOG_SMTP_USER='bot@example.org'\n"
                      'EPOCHLOG_SMTP_PASSWORD="pa ss#word"\nOTHER=1\n')
    found = SmtpSettings.from_environment({"EPOCHLOG_SMTP_HOST": "smtp.example.org"}, dotenv)
    assert (found.host, found.port, found.security) == ("smtp.example.org", 587, "starttls")
    assert (found.user, found.password, found.sender) == ("bot@example.org", "pa ss#word", "bot@example.org")
    assert "pa ss" not in repr(found)


@pytest.mark.parametrize("environ, culprit", [
    ({}, "EPOCHLOG_SMTP_HOST"),
    ({"EPOCHLOG_SMTP_HOST": "h", "EPOCHLOG_SMTP_USER": "u@h"}, "EPOCHLOG_SMTP_PASSWORD"),  # no default password
    ({"EPOCHLOG_SMTP_HOST": "h", "EPOCHLOG_SMTP_SECURITY": "tls13"}, "EPOCHLOG_SMTP_SECURITY"),
    ({"EPOCHLOG_SMTP_HOST": "h", "EPOCHLOG_SMTP_PORT": "smtp"}, "EPOCHLOG_SMTP_PORT"),
    ({"EPOCHLOG_SMTP_HOST": "h"}, "EPOCHLOG_SMTP_FROM"),
])
def test_incomplete_settings_name_what_is_missing(environ: dict[str, str], culprit: str) -> None:
    with pytest.raises(InvalidArgument, match=culprit):
        SmtpSettings.from_environment(environ, dotenv=None)


def test_a_malformed_address_is_refused(mail: MailReceiver) -> None:
    with pytest.raises(InvalidArgument, match="not-an-address"):
        Email(["not-an-address"], SmtpSettings.from_environment(settings(mail), dotenv=None))
