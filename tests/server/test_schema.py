"""F4: schemathesis against the OpenAPI document the running server serves.

Bounded: a fixed number of examples per operation, derandomised. Every response must be
below 500 and conform to the document (status code, content type, body schema).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pytest

from ._live import failing_log, serving, wait_final

if TYPE_CHECKING:
    from pathlib import Path

schemathesis = pytest.importorskip("schemathesis")
EXAMPLES = 25


@pytest.mark.timeout(600)
@pytest.mark.slow
def test_every_response_conforms_and_none_is_a_server_error(tmp_path: Path) -> None:
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    for server in serving(tmp_path, "--max-upload-mib", "2"):
        with httpx.Client(base_url=server.url, timeout=30) as http:
            # One real finished run, so generated ids sometimes meet a real one's shape too.
            wait_final(http, http.post("/api/v1/runs", content=failing_log()).json()["id"])
        schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
        calls = 0
        for result in schema.get_all_operations():
            operation = result.ok()

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy())
            def check(case: Any) -> None:
                nonlocal calls
                response = case.call(base_url=server.url, timeout=30)  # noqa: B023
                calls += 1
                case.validate_response(response, checks=checks)

            check()
        assert calls >= 8 * 5
