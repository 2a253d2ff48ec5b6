"""Schemathesis against the OpenAPI document: no generated request may cause a server error."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from epochlog.web import create_app

from tests.fuzzing import examples
from .conftest import TOKEN, Demo, LiveServer

EXAMPLES = 12  # per operation: the whole run stays well under a minute


def test_no_generated_request_causes_a_server_error(demo: Demo) -> None:
    # The demo behind a token, so that the editing operations are reachable too. (Schemathesis' pytest
    # plugin does not run on this pytest, so each operation's strategy is driven here directly.)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with LiveServer(create_app(demo.tracker, token=TOKEN)) as server:
        schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json", headers=headers)
        labels = []
        for result in schema.get_all_operations():
            operation = result.ok()
            labels.append(operation.label)

            @given(case=operation.as_strategy())
            @settings(max_examples=examples(EXAMPLES), deadline=None, suppress_health_check=list(HealthCheck))
            def check(case: Any) -> None:
                case.call_and_validate(headers=headers, checks=[not_a_server_error])

            check()
    assert len(labels) >= 12 and "GET /api/experiments" in labels
