"""The API's errors, one model for all of them, and the OpenAPI document that says which answer which route.

Every error the API answers is JSON of one shape, ``Error``::

    {"detail": "a sentence saying what is wrong"}                          400 401 403 404 409 413
    {"detail": [{"where": "query.period", "problem": "..."}, ...]}         422

``detail`` is a sentence, except for 422 (a parameter or the body is not valid), where it lists every
problem with where it is (``query.NAME``, ``path.NAME``, ``body.FIELD.0.FIELD``). A 304 Not Modified (an
ETag sent in If-None-Match still matches) has no body.

Which route answers which status is declared in two places:

- by the route, for what it decides itself: ``responses(403, 404)`` in its decorator (the results API's
  routers add 304 for their ETags: ``ETAG_RESPONSES``; writes add ``WRITE_CODES``);
- here, for what every route of a kind may answer whatever it does (``standard_responses``, applied to the
  OpenAPI document by ``install``): every API route 400 (a malformed address or Content-Length, refused by
  uptake.web.limits before routing), 401 (an unknown, revoked or malformed API token) and 413 (a body over
  UPTAKE_MAX_BODY_BYTES); a route with parameters or a body also 422. Every 4xx is documented with the
  ``Error`` model.

tests/web/test_schemathesis.py checks the document against the app's answers (status codes, content types
and bodies), anonymously and with a token.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field

API_PREFIX = "/api/"


class Problem(BaseModel):
    """One problem with a request that is not valid."""

    where: str = Field(description="Where the problem is: `query.NAME`, `path.NAME`, `header.NAME` or "
                                   "`body.FIELD...` (list positions from 0).", examples=["query.period"])
    problem: str = Field(description="What is wrong, in words.", examples=["period '2024-13-01' is not a date"])


class Error(BaseModel):
    """Every error answer of the API. `detail` is a sentence saying what is wrong, except for 422, where it
    is the list of problems with the request, each with where it is."""

    detail: str | list[Problem] = Field(description="What is wrong: a sentence, or (422) every problem with "
                                                    "where it is.")


#: What each status means, as the OpenAPI document says it.
DESCRIPTIONS: dict[int, str] = {
    304: "Not Modified: the answer is as it was when it had the ETag sent in If-None-Match (no body)",
    400: "The request is malformed (a control character or an over-long address, a Content-Length that is not "
         "a number), or a change cannot be made as asked; the detail says why",
    401: "The API token is unknown, revoked or malformed (send `Authorization: Bearer TOKEN`), or a change "
         "was asked for without signing in",
    403: "Not permitted: the detail says why",
    404: "Not found: the detail says what (a record the caller may not see is not found either)",
    409: "Someone else changed this; reload (nothing was changed)",
    413: "The request body is larger than the limit (UPTAKE_MAX_BODY_BYTES); it was refused before being read",
    422: "A parameter or the body is not valid: the detail lists every problem with where it is",
}

#: What a change (a POST that writes) may answer besides its success.
WRITE_CODES = (400, 401, 403, 404, 409)

_ETAG_HEADER = {"ETag": {"description": "The answer's version: send it in If-None-Match to get 304 while it "
                                        "has not changed", "schema": {"type": "string"}}}

#: The results API's routes answer with an ETag, and 304 to a matching If-None-Match.
ETAG_RESPONSES: dict[int | str, dict[str, Any]] = {304: {"description": DESCRIPTIONS[304], "headers": _ETAG_HEADER}}


def responses(*codes: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route that may answer ``codes`` (besides the standard ones): each with its
    standard description, or the one given as ``d403="..."``; every error with the ``Error`` model."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        entry: dict[str, Any] = {"description": descriptions.get(f"d{code}", DESCRIPTIONS[code])}
        if code >= 400:
            entry["model"] = Error
        out[code] = entry
    return out


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _error_content() -> dict[str, Any]:
    return {"application/json": {"schema": _ref("Error")}}


def standard_responses(operation: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The responses every API operation of this kind may answer, whatever its route does: 400 and 413 (the
    request limits, before routing), 401 (a bad token: every API route reads the caller), and 422 when it
    takes parameters or a body."""
    codes = [400, 401, 413]
    if operation.get("parameters") or operation.get("requestBody"):
        codes.append(422)
    return {str(code): {"description": DESCRIPTIONS[code], "content": _error_content()} for code in codes}


def document_errors(document: dict[str, Any], prefix: str = API_PREFIX) -> dict[str, Any]:
    """``document`` (an OpenAPI document from FastAPI) with every API operation's standard error responses
    added, and every 4xx answer described by the one ``Error`` model (FastAPI's own 422 model, with
    ``loc``/``msg``/``type``, is not what this app answers, and is removed)."""
    document = copy.deepcopy(document)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name, model in (("Problem", Problem), ("Error", Error)):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schema.pop("$defs", None)
        schemas[name] = schema
    for path, item in document.get("paths", {}).items():
        if not path.startswith(prefix):
            continue
        for method, operation in item.items():
            if method not in ("get", "put", "post", "delete", "patch", "head", "options"):
                continue
            answers = operation.setdefault("responses", {})
            for code, response in standard_responses(operation).items():
                if code in answers and code != "422":  # the route's own description (422: FastAPI's, replaced)
                    answers[code]["content"] = response["content"]
                else:
                    answers[code] = response
            etag = "304" in answers
            for code, response in answers.items():
                if code.startswith("4"):
                    response["content"] = _error_content()
                elif code == "304":
                    response.pop("content", None)
                elif code.startswith("2") and etag:
                    response.setdefault("headers", {}).update(_ETAG_HEADER)
            operation["responses"] = dict(sorted(answers.items()))
    if not _mentions(document.get("paths", {}), "HTTPValidationError"):
        schemas.pop("HTTPValidationError", None)
        if not _mentions({k: v for k, v in schemas.items() if k != "ValidationError"}, "/ValidationError"):
            schemas.pop("ValidationError", None)
    return document


def _mentions(value: Any, text: str) -> bool:
    if isinstance(value, dict):
        return any(_mentions(v, text) for v in value.values())
    if isinstance(value, list):
        return any(_mentions(v, text) for v in value)
    return isinstance(value, str) and value.endswith(text)


def install(app: FastAPI) -> None:
    """Make ``app``'s OpenAPI document (/api/v1/openapi.json) say every status and error body its API
    answers (``document_errors`` over FastAPI's own document); built once, on first request."""
    build = app.openapi
    built: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        if not built:
            built.append(document_errors(build()))
        app.openapi_schema = built[0]
        return built[0]

    app.openapi = openapi  # type: ignore[method-assign]


def problems(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Pydantic's (or FastAPI's) validation errors as the API says them: ``[{"where", "problem"}]``."""
    return [{"where": ".".join(str(p) for p in err.get("loc", ())), "problem": str(err.get("msg", ""))}
            for err in errors]
