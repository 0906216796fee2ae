"""Property-based API testing from the OpenAPI document (schemathesis): for every operation, valid and invalid
requests, anonymously and with a national admin's API token, and every answer must be what the document says:
no server error, a documented status code, a documented content type and a body matching its schema
(uptake.web.api.errors: one error model for every error).

schemathesis's own pytest plugin does not work with the pytest in use here, so each operation's Hypothesis
strategy is driven directly: a fixed number of examples per operation and mode, derandomized (the same
requests on every run), each sent twice (anonymously and with the token); an answer with an ETag is asked for
again with If-None-Match (304), and each operation once with an unknown token (401)."""

from __future__ import annotations

from collections import Counter

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import checks  # noqa: E402
from schemathesis.core.failures import Failure, FailureGroup  # noqa: E402
from schemathesis.generation import GenerationMode  # noqa: E402

from web_support import make_app  # noqa: E402

#: examples per operation and generation mode (each sent anonymously and with the token)
EXAMPLES = 12
CHECKS = [getattr(checks, name) for name in (
    "not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance",
    "response_headers_conformance")]


@pytest.fixture(scope="module")
def admin_token(demo) -> str:
    from sqlalchemy import select

    from uptake.store.db import make_engine, session_scope
    from uptake.store.models import User
    from uptake.store.repository import issue_api_token

    engine = make_engine(demo.workspace.database_url)
    try:
        with session_scope(engine) as db:
            admin = db.scalars(select(User).where(User.email == demo.users["national-admin"].email)).one()
            return issue_api_token(db, admin, "schemathesis", actor="test")
    finally:
        engine.dispose()


def _failures(error: BaseException) -> list[Failure]:
    if isinstance(error, FailureGroup):
        return list(error.exceptions)
    return [error]  # type: ignore[list-item]


def test_every_answer_is_what_the_openapi_document_says(demo, admin_token) -> None:
    app = make_app(demo)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30
    failures: Counter[str] = Counter()
    examples: dict[str, str] = {}
    statuses: Counter[tuple[str, int]] = Counter()
    callers = {"anonymous": {}, "token": {"authorization": f"Bearer {admin_token}"}}
    tried_bad_token: set[str] = set()
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)

            @given(case=strategy)
            @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            def run(case) -> None:
                sends = list(callers.items())
                if operation.label not in tried_bad_token:  # once per operation: an unknown token is 401
                    tried_bad_token.add(operation.label)
                    sends.append(("a bad token", {"authorization": "Bearer upt_not-a-token"}))
                for caller, extra in sends:
                    headers = {**(case.headers or {}), **extra}
                    response = check(case, caller, headers)
                    etag = response.headers.get("etag")  # a list of the values (schemathesis's Response)
                    if response.status_code == 200 and etag:  # asked again while it has not changed: 304
                        check(case, caller, {**headers, "if-none-match": etag[0]})

            def check(case, caller: str, headers: dict[str, str]):
                response = case.call(headers=headers)
                statuses[(caller, response.status_code)] += 1
                try:
                    case.validate_response(response, checks=CHECKS, headers=headers)
                except (Failure, FailureGroup) as error:
                    for failure in _failures(error):
                        key = f"{operation.label} as {caller}: {failure.title} ({response.status_code})"
                        failures[key] += 1
                        examples.setdefault(key, f"{case.method} {case.formatted_path} query={case.query!r}"
                                                 f" -> {response.text[:300]}")
                return response

            try:
                run()
            except Unsatisfiable:  # no invalid request can be made (an operation without parameters)
                assert mode == GenerationMode.NEGATIVE
    report = "\n".join(f"{count} x {key}\n    e.g. {examples[key]}" for key, count in failures.most_common())
    assert not failures, f"{sum(failures.values())} failures, {len(failures)} distinct:\n{report}"
    for caller in callers:  # valid and invalid requests were made, and answered, by both callers
        answered = {status for (who, status) in statuses if who == caller}
        assert {200, 304, 400, 404, 422} <= answered, (caller, sorted(answered))
    bad_token = Counter({status: n for (who, status), n in statuses.items() if who == "a bad token"})
    assert set(bad_token) <= {400, 401} and bad_token[401] >= len(operations) - bad_token[400], bad_token
    assert sum(statuses.values()) >= 2 * 10 * len(operations)
