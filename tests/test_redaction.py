"""One `redact` for every URI epochlog shows: the journal's log lines, the CLI's messages, the dashboard's
errors, the cache's and the artifact stores' labels."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from epochlog.cli import app
from epochlog.errors import StoreError
from epochlog.redaction import redact
from epochlog.web import create_app


@pytest.mark.parametrize(("uri", "shown"), [
    ("mongodb://alice:hunter2@db1:27017,db2:27017/eeg?replicaSet=rs",
     "mongodb://alice:***@db1:27017,db2:27017/eeg?replicaSet=rs"),
    ("mongodb://alice@db1/eeg", "mongodb://alice:***@db1/eeg"),  # whether a password is set is not shown either
    ("redis://:hunter2@[::1]:6379/0", "redis://:***@[::1]:6379/0"),  # IPv6 brackets kept
    ("mongodb://db1/?tls=true&tlsCertificateKeyFilePassword=hunter2",
     "mongodb://db1/?tls=true&tlsCertificateKeyFilePassword=***"),
    ("mongodb://db1/eeg?authMechanismProperties=AWS_SESSION_TOKEN:hunter2&w=1",
     "mongodb://db1/eeg?authMechanismProperties=***&w=1"),
    ("sqlite:///runs/me@work.db", "sqlite:///runs/me@work.db"),
    ("runs/epochlog.db", "runs/epochlog.db"),
])
def test_secrets_are_masked(uri: str, shown: str) -> None:
    assert redact(uri) == shown
    assert "hunter2" not in redact(uri, keep_user=False) and "alice" not in redact(uri, keep_user=False)


BAD = "mongodb://alice:hunter2@db1:99999/eeg"  # a port pymongo refuses: the message names the URI


def test_a_refused_uri_is_shown_without_its_password_by_the_cli() -> None:
    result = CliRunner().invoke(app, ["ls", "--uri", BAD])
    assert result.exit_code == 1
    assert "invalid MongoDB URI" in result.stderr and "alice:***@db1" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout


def test_a_refused_uri_is_shown_without_its_password_by_the_dashboard() -> None:
    with pytest.raises(StoreError, match="invalid MongoDB URI") as raised:
        create_app(BAD)
    assert "hunter2" not in str(raised.value) and "alice:***@db1" in str(raised.value)
