"""One ISO 8601 rule for dates written (the CLI's CSV, the dashboard's JSON, alerts, `$toString`) and read
(`push --since`, legacy timestamps)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest

from epochlog.cli.push import parse_since
from epochlog.cli.render import when
from epochlog.csv_cells import cell
from epochlog.iso_dates import iso, parse_iso
from epochlog.query.aggregate.expressions import evaluate, root_variables
from epochlog.web.jsonable import jsonable

UTC = dt.timezone.utc


@pytest.fixture
def far_from_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A local zone other than UTC, where reading a naive datetime as local time would show."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(("value", "text"), [
    (dt.datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=UTC), "2026-05-01T12:00:00.123Z"),
    (dt.datetime(2026, 5, 1, 14, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))), "2026-05-01T12:00:00.000Z"),
    (dt.datetime(2026, 5, 1, 12, 0), "2026-05-01T12:00:00.000Z"),  # naive: UTC, as stores give them
    (dt.datetime(5, 1, 1, tzinfo=UTC), "0005-01-01T00:00:00.000Z"),  # four-digit years
])
def test_the_cli_and_the_dashboard_write_a_date_alike(far_from_utc: None, value: dt.datetime, text: str) -> None:
    to_string = evaluate({"$toString": "$when"}, root_variables({"when": value}))
    assert iso(value) == cell(value) == jsonable(value) == to_string == text


def test_the_terminal_shows_a_naive_date_as_utc(far_from_utc: None) -> None:
    naive, aware = dt.datetime(2026, 5, 1, 12, 0), dt.datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert when(naive) == when(aware) == "2026-05-01 12:00"


@pytest.mark.parametrize(("text", "moment"), [
    ("2026-05-01", dt.datetime(2026, 5, 1)),
    ("2026-05-01 12:00", dt.datetime(2026, 5, 1, 12)),
    ("2026-05-01T12:00:00.5Z", dt.datetime(2026, 5, 1, 12, 0, 0, 500000, tzinfo=UTC)),
    ("2026-05-01T14:00+02:00", dt.datetime(2026, 5, 1, 12, tzinfo=UTC)),
])
def test_one_reading_of_iso_text(text: str, moment: dt.datetime) -> None:
    assert parse_iso(text) == moment
    assert parse_since(text) == (moment if moment.tzinfo else moment.replace(tzinfo=UTC))
