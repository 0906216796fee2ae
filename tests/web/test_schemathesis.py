"""Property-based API testing from the OpenAPI document (schemathesis): for every operation, whatever a
client sends, the API answers without a server error (no 5xx).

schemathesis's own pytest plugin does not work with the pytest in use here, so each operation's
Hypothesis strategy is driven directly."""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis.generation import GenerationMode  # noqa: E402

from web_support import make_app  # noqa: E402

EXAMPLES = 30


def test_api_never_fails_with_a_server_error(demo):
    app = make_app(demo)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 14
    failures: list[str] = []
    statuses: list[int] = []
    runs = [(operation, mode) for operation in operations for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]
    for operation, mode in runs:
        try:
            strategy = operation.as_strategy(generation_mode=mode)
        except Exception:  # an operation with nothing to make invalid (no parameters)
            continue

        @given(case=strategy)
        @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def run(case) -> None:
            response = case.call()
            statuses.append(response.status_code)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} {case.query}: {response.status_code}")

        try:
            run()
        except Unsatisfiable:  # no invalid request can be made (e.g. an operation without parameters)
            assert mode == GenerationMode.NEGATIVE
    assert not failures, "\n".join(failures[:20])
    assert len(statuses) >= 10 * len(operations)
    assert 200 in statuses and 422 in statuses  # both valid and invalid requests were generated
