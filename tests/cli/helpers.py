"""Driving `epochlog` as a user does: CliRunner on the installed app, against one tmp store per test."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bson import json_util
from typer.testing import CliRunner, Result

from epochlog.cli import app

JSON_OPTIONS = json_util.RELAXED_JSON_OPTIONS.with_options(tz_aware=True)


class Cli:
    """`cli("ls", "--status", "failed")` runs `epochlog ls --status failed --uri <the test's store>`."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.runner = CliRunner()

    def __call__(self, *args: Any, uri: bool = True, env: Mapping[str, str] | None = None,
                 input: str | None = None) -> Result:
        argv = [str(arg) for arg in args] + (["--uri", self.uri] if uri else [])
        return self.runner.invoke(app, argv, env={"COLUMNS": "220", **(env or {})}, input=input)

    def ok(self, *args: Any, **kwargs: Any) -> Result:
        """Run and insist on exit code 0."""
        result = self(*args, **kwargs)
        assert result.exit_code == 0, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}" \
                                      f"\nexception: {result.exception!r}"
        return result

    def json(self, *args: Any, **kwargs: Any) -> Any:
        """Run a read command with --json and parse its Extended JSON."""
        return json_util.loads(self.ok(*args, "--json", **kwargs).stdout, json_options=JSON_OPTIONS)


def assert_user_error(result: Result, *fragments: str) -> str:
    """Exit code 1, one line on stderr that says what is wrong, no traceback."""
    assert result.exit_code == 1, f"exit {result.exit_code}: {result.stdout}{result.stderr}"
    assert isinstance(result.exception, SystemExit), f"a traceback escaped: {result.exception!r}"
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert message.startswith("error: "), message
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


def loads(text: str) -> Any:
    return json_util.loads(text, json_options=JSON_OPTIONS)
