"""The mission's JSON API under /api/v1 (a FastAPI router for the web app to mount: ``app.include_router``).

It reads ``request.app.state.web`` (uptake.web.app.Web) for the workflow database engine, the workspace and
the signed-in principal, so it answers exactly as the rest of the app does:

- public: published frameworks, attainment, published ratings, published filings, assessments and gaps;
- writes (filings, steps, assessments) need a signed-in user: a bearer token, or a session cookie with
  the ``X-CSRF-Token`` header; the role and scope rules are uptake.mission.permissions;
- a refusal answers 403 with the reason; a filing the caller may not see answers 404 (its existence does
  not leak), to a write as to a read; a change made to a stale copy (``expected_version`` is not the
  filing's ``version``, or someone else changed or created it at the same moment) answers 409 "someone
  else changed this; reload" and changes nothing; other problems with the request answer 400 with the
  message;
- every route reads the caller first (an unknown API token is 401 on every route), and every error is the
  one model of uptake.web.api.errors, ``{"detail": ...}``, with the statuses each route may answer in the
  OpenAPI document.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import duckdb
import pandas as pd
from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from uptake.errors import Conflict, NotFound, UptakeError
from uptake.mission.assessments import add_assessment, assessments_frame, availability_gap_report, due_date
from uptake.mission.framework_repository import framework_history, framework_version, list_frameworks
from uptake.mission.permissions import NotPermitted, Who, may_see_framework, who_for
from uptake.mission.plans import (
    PEOPLE_FIELDS,
    actor_role,
    filing_history,
    filings,
    get_filing,
    icbs_with_nothing_filed,
    plan_against_actual,
    save_filing,
    transition,
)
from uptake.mission.ratings import ratings_table
from uptake.mission.results import no_results, no_store
from uptake.results import read
from uptake.store.db import session_scope
from uptake.web.api.common import respond
from uptake.web.api.errors import ETAG_RESPONSES, WRITE_CODES, responses
from uptake.web.mission.common import mission_stamp
from uptake.web.security import CSRF_HEADER, csrf_ok


def _caller(request: Request) -> None:
    """Every route reads the caller first, so an unknown, revoked or malformed API token answers 401 on every
    route alike (uptake.web.api.errors)."""
    _who(request)


router = APIRouter(prefix="/api/v1", tags=["mission"], dependencies=[Depends(_caller)])

MAX_PER_PAGE = 1000


Slug = Annotated[str, Field(min_length=1, max_length=64)]
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


class FilingIn(BaseModel):
    framework: Slug
    commitment: Slug
    icb: Slug
    kind: Annotated[str, Field(max_length=16)]
    content: dict[str, Any]
    #: the filing's `version` the change was made to (0: create only); omitted: no check
    expected_version: Annotated[int | None, Field(ge=0, le=2**31 - 1)] = None


class StepIn(BaseModel):
    comment: Annotated[str | None, Field(max_length=10000)] = None
    #: the filing's `version` the step was taken on; omitted: no check
    expected_version: Annotated[int | None, Field(ge=0, le=2**31 - 1)] = None


#: What a write may answer besides its success (the OpenAPI document lists them, with the standard ones).
WRITE_RESPONSES = responses(
    *WRITE_CODES,
    d400="The change cannot be made as asked (the detail says why), or the request is malformed",
    d401="Not signed in (send Authorization: Bearer TOKEN), or the API token is unknown, revoked or malformed",
    d404="Not found (a filing or framework the caller may not see is not found either)",
)


class AssessmentIn(BaseModel):
    innovation: Slug
    body: Annotated[str, Field(min_length=1, max_length=255)]
    scope: Annotated[str, Field(max_length=16)] = "national"
    decision: Annotated[str, Field(max_length=32)]
    decided_on: dt.date
    icer: Annotated[float | None, Field(ge=0, le=1e12)] = None
    threshold: Annotated[float | None, Field(ge=0, le=1e12)] = None
    conditions: Annotated[str | None, Field(max_length=10000)] = None
    reference: Annotated[str | None, Field(max_length=64)] = None
    org_code: Annotated[str | None, Field(max_length=64)] = None


# --- plumbing ---------------------------------------------------------------------------------------------


def _web(request: Request) -> Any:
    return request.app.state.web


def _who(request: Request) -> Who:
    return who_for(_web(request).principal(request))


@contextmanager
def _db(request: Request, *, write: bool = False) -> Iterator[Session]:
    """A workflow-database session; ``write=True`` for a change (writers queue on SQLite: session_scope)."""
    try:
        with session_scope(_web(request).engine, write=write) as session:
            yield session
    except NotPermitted as exc:
        raise HTTPException(403, str(exc)) from None
    except Conflict as exc:
        raise HTTPException(409, str(exc)) from None
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except UptakeError as exc:
        status = 404 if str(exc).startswith("no framework") else 400
        raise HTTPException(status, str(exc)) from None


@contextmanager
def _results(request: Request) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor on the web's snapshot of the results (the API never opens the analytics store file);
    404 when the workspace has no analytics store yet."""
    web = _web(request)
    path = web.workspace.analytics_path
    if not path.exists():
        raise HTTPException(404, str(no_store(path)))
    with web.snapshots.cursor() as (_, cur):
        yield cur


def _writer(request: Request) -> Who:
    """The signed-in person making a change; CSRF-checked when they come with a session cookie."""
    who = _who(request)
    if who.role == "public":
        raise HTTPException(401, "sign in, or send Authorization: Bearer TOKEN")
    if "authorization" not in request.headers:
        if not csrf_ok(request, request.headers.get(CSRF_HEADER)):
            raise HTTPException(403, f"missing or wrong {CSRF_HEADER} header")
    return who


def _json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def _page(rows: list[dict[str, Any]], page: int, per_page: int) -> dict[str, Any]:
    total = len(rows)
    start = (page - 1) * per_page
    return {"items": [_json(r) for r in rows[start:start + per_page]], "page": page, "per_page": per_page,
            "total": total, "pages": max(1, math.ceil(total / per_page))}


def _sql_page(items: list[dict[str, Any]], total: int, page: int, per_page: int) -> dict[str, Any]:
    """A page already cut in SQL, as ``_page`` answers."""
    return {"items": [_json(r) for r in items], "page": page, "per_page": per_page, "total": total,
            "pages": max(1, math.ceil(total / per_page))}


Page = Annotated[int, Query(ge=1, le=2**31 - 1)]
PerPage = Annotated[int, Query(ge=1, le=MAX_PER_PAGE)]


def _frame_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


# --- frameworks and attainment ---------------------------------------------------------------------------


@router.get("/nsf", summary="National Service Frameworks", responses=ETAG_RESPONSES,
            response_model=list[dict[str, Any]])
async def nsf_list(request: Request) -> Response:
    def build(_principal) -> tuple[list[dict[str, Any]], dict]:
        who = _who(request)
        with _db(request) as session:
            return [_json(vars(s)) for s in list_frameworks(session) if may_see_framework(who, s.status)], {}

    return await respond(request, build, variant=_stamp_of(request))


@router.get("/nsf/{framework_id}", summary="A framework version and the history of its versions",
            responses={**responses(404), **ETAG_RESPONSES}, response_model=dict[str, Any])
async def nsf_show(request: Request, framework_id: str,
                   version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> Response:
    def build(_principal) -> tuple[dict[str, Any], dict]:
        who = _who(request)
        with _db(request) as session:
            row = framework_version(session, framework_id, version)
            if not may_see_framework(who, row.status):
                raise HTTPException(404, f"no framework {framework_id!r}")
            history = [
                {"version": v.version, "status": v.status, "loaded_at": v.loaded_at.isoformat(),
                 "loaded_by": v.loaded_by, "changes": v.changes}
                for v in framework_history(session, framework_id) if may_see_framework(who, v.status)
            ]
            return {"definition": row.definition, "versions": history}, {}

    return await respond(request, build, variant=_stamp_of(request))


def _stamp_of(request: Request) -> Callable[[], str]:
    """The mission's published state (uptake.web.mission.common.mission_stamp), for ``respond``'s key: an answer
    from the workflow database is kept for anonymous callers until that state changes."""
    web = _web(request)
    return lambda: mission_stamp(web)


async def _cached(request: Request, build: Callable[[], Any]) -> Response:
    """A public answer from the results snapshot through the web's cache (uptake.web.api.common.respond): kept
    per snapshot and per stamp of the mission's published state (frameworks, ratings), so an anonymous
    caller's repeat costs no query and a change in either is seen on the next request."""
    return await respond(request, lambda _principal: (build(), {}), variant=_stamp_of(request))


@router.get("/nsf/{framework_id}/attainment", summary="Attainment of a framework's commitments (result_attainment)",
            responses={**responses(404), **ETAG_RESPONSES}, response_model=dict[str, Any])
async def nsf_attainment(
    request: Request, framework_id: str, commitment: str | None = None, level: str | None = None,
    org_code: str | None = None, period: dt.date | None = None, page: Page = 1, per_page: PerPage = 100,
) -> Response:
    def build() -> dict[str, Any]:
        _published_or_404(request, framework_id)
        with _results(request) as cur:  # one page read in SQL, never the whole framework
            frame, total = read.attainment.attainment_page(cur, framework=framework_id, commitment=commitment,
                                                           level=level, org_code=org_code, period=period, page=page,
                                                           per_page=per_page)
        return _sql_page(_frame_rows(frame), total, page, per_page)

    return await _cached(request, build)


@router.get("/nsf/{framework_id}/progress", summary="Organisations by status, per commitment, level and period",
            responses={**responses(404), **ETAG_RESPONSES}, response_model=list[dict[str, Any]])
async def nsf_progress(request: Request, framework_id: str, level: str | None = None,
                       by_region: bool = False) -> Response:
    def build() -> list[dict[str, Any]]:
        _published_or_404(request, framework_id)
        try:
            with _results(request) as cur:
                frame = read.attainment.progress(cur, framework_id, level=level or None, by_region=by_region)
        except duckdb.Error as exc:  # no attainment yet
            raise HTTPException(404, f"no attainment computed yet ({exc.__class__.__name__}); "
                                "run `uptake ratings compute`") from None
        return [_json(r) for r in _frame_rows(frame)]

    return await _cached(request, build)


def _published_or_404(request: Request, framework_id: str) -> None:
    who = _who(request)
    with _db(request) as session:
        row = framework_version(session, framework_id)
        if not may_see_framework(who, row.status):
            raise HTTPException(404, f"no framework {framework_id!r}")


# --- ratings ------------------------------------------------------------------------------------------------


@router.get("/ratings", summary="Innovation ratings with their traces (published unless a national admin asks)",
            responses={**responses(400, 403, d400="The status is not one of published, reviewed, draft or all",
                                   d403="Only a national admin sees ratings that are not published"),
                       **ETAG_RESPONSES}, response_model=dict[str, Any])
async def ratings(
    request: Request, level: str | None = None, period: dt.date | None = None, org_code: str | None = None,
    status: str = "published", run: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None, page: Page = 1,
    per_page: PerPage = 100,
) -> Response:
    def build(_principal) -> tuple[dict[str, Any], dict]:
        with _db(request) as session, _web(request).snapshots.cursor() as (_, shown):
            # one page cut in SQL, and the count (a run whose publication never was: hidden)
            frame, total = ratings_table(session, _who(request), status=status, run_id=run, level=level,
                                         period=period, org_code=org_code, results=shown, limit=per_page,
                                         offset=(page - 1) * per_page, with_total=True)
        return _sql_page(_frame_rows(frame), total, page, per_page), {}

    # kept per snapshot and mission stamp for anonymous callers (the stamp changes when ratings are published)
    return await respond(request, build, variant=_stamp_of(request))


@router.get("/ratings/watch-list", summary="The decertification watch list", responses={**responses(404), **ETAG_RESPONSES},
            response_model=list[dict[str, Any]])
async def watch_list(request: Request) -> Response:
    def build() -> list[dict[str, Any]]:
        with _results(request) as cur:
            frame = read.attainment.watch_list(cur, ordered=True)
        return [_json(r) for r in _frame_rows(frame)]

    return await _cached(request, build)


@router.get("/ratings/missed-opportunities", summary="Commitments most similar peers met and the organisation did not",
            responses={**responses(404), **ETAG_RESPONSES}, response_model=dict[str, Any])
async def missed_opportunities(request: Request, level: str | None = None, org_code: str | None = None,
                               page: Page = 1, per_page: PerPage = 100) -> Response:
    def build() -> dict[str, Any]:
        with _results(request) as cur:
            frame, total = read.attainment.missed_opportunities_page(cur, level=level or None,
                                                                     org_code=org_code or None, page=page,
                                                                     per_page=per_page)
        return _sql_page(_frame_rows(frame), total, page, per_page)

    return await _cached(request, build)


# --- comply or justify ------------------------------------------------------------------------------------


def _filing_json(filing: Any, who: Who) -> dict[str, Any]:
    """A filing as JSON; the public sees no email addresses (the people fields are null)."""
    fields = ("id", "framework_id", "commitment_key", "icb_code", "kind", "status", "revision", "version", "content",
              "created_by", "created_at", "updated_by", "updated_at", "submitted_at", "reviewed_by", "reviewed_at",
              "review_comment", "published_by", "published_at")
    hide = who.role == "public"
    return _json({name: None if hide and name in PEOPLE_FIELDS else getattr(filing, name) for name in fields})


@router.get("/plans", summary="Comply-or-justify filings the caller may see")
def plans(request: Request, icb: str | None = None, status: str | None = None,
          framework: str | None = None) -> list[dict[str, Any]]:
    with _db(request) as session:
        who = _who(request)
        return [_filing_json(f, who) for f in filings(session, who, icb_code=icb, status=status,
                                                       framework_id=framework)]


@router.get("/plans/missing", summary="ICBs with nothing filed per commitment, as far as the caller may know "
            "(the public: nothing published)")
def plans_missing(request: Request) -> list[dict[str, Any]]:
    who = _who(request)
    with _db(request) as session:
        return [vars(m) for m in icbs_with_nothing_filed(session, who=who)]


@router.get("/plans/{filing_id}", summary="A filing, its history and (for a plan) the plan against actual",
            responses=responses(404))
def plan(request: Request, filing_id: Id) -> dict[str, Any]:
    who = _who(request)
    with _db(request) as session:
        filing = get_filing(session, who, filing_id)
        out = _filing_json(filing, who)
        out["history"] = [_json({"revision": r.revision, "action": r.action, "status": r.status, "kind": r.kind,
                                 "content": r.content, "comment": r.comment,
                                 "actor": r.actor if who.role != "public" else actor_role(r.action),
                                 "occurred_at": r.occurred_at}) for r in filing_history(session, who, filing_id)]
        if filing.kind == "plan":
            try:
                with _results(request) as cur:
                    tracked = _frame_rows(plan_against_actual(session, cur, who, filing_id))
                out["plan_against_actual"] = [_json(r) for r in tracked]
            except (UptakeError, HTTPException):
                out["plan_against_actual"] = None
        return out


@router.post("/plans", status_code=201, summary="Create or edit a draft plan or justification (the ICB's analyst)",
             responses=WRITE_RESPONSES)
def plan_save(request: Request, who: Annotated[Who, Depends(_writer)],
              filing: Annotated[FilingIn, Body()]) -> dict[str, Any]:
    with _db(request, write=True) as session:
        return _filing_json(save_filing(session, who, filing.framework, filing.commitment, filing.icb, filing.kind,
                                        filing.content, expected_version=filing.expected_version), who)


def _step(action: str) -> Callable[..., dict[str, Any]]:
    def step(request: Request, who: Annotated[Who, Depends(_writer)], filing_id: Id,
             body: Annotated[StepIn | None, Body()] = None) -> dict[str, Any]:
        with _db(request, write=True) as session:
            return _filing_json(transition(session, who, filing_id, action, body.comment if body else None,
                                           expected_version=body.expected_version if body else None), who)

    step.__name__ = f"plan_{action}"
    return step


for _action in ("submit", "accept", "challenge", "resubmit", "publish"):
    router.add_api_route(f"/plans/{{filing_id}}/{_action}", _step(_action), methods=["POST"],
                         summary=f"{_action.capitalize()} a filing", responses=WRITE_RESPONSES)


# --- value assessment -------------------------------------------------------------------------------------


@router.get("/assessments", summary="Value assessments, with due dates and duplicates", responses=ETAG_RESPONSES,
            response_model=list[dict[str, Any]])
async def assessments(request: Request) -> Response:
    def build(_principal) -> tuple[list[dict[str, Any]], dict]:
        with _db(request) as session:
            return [_json(r) for r in _frame_rows(assessments_frame(session))], {}

    return await respond(request, build, variant=_stamp_of(request))


@router.post("/assessments", status_code=201, summary="Record a value assessment",
             responses=responses(400, 401, 403, d400="The assessment cannot be recorded as asked (the detail "
                                 "says why), or the request is malformed", d401=WRITE_RESPONSES[401]["description"]))
def assessment_add(request: Request, who: Annotated[Who, Depends(_writer)],
                   assessment: Annotated[AssessmentIn, Body()]) -> dict[str, Any]:
    with _db(request, write=True) as session:
        added = add_assessment(
            session, who, innovation_id=assessment.innovation, body=assessment.body, scope=assessment.scope,
            decision=assessment.decision, decided_on=assessment.decided_on, icer=assessment.icer,
            threshold=assessment.threshold, conditions=assessment.conditions, reference=assessment.reference,
            org_code=assessment.org_code,
        )
        a = added.assessment
        return _json({
            "id": a.id, "innovation": a.innovation_id, "scope": a.scope, "decision": a.decision,
            "decided_on": a.decided_on,
            "due_date": due_date(a.decided_on) if a.scope == "national" and a.decision in ("recommended", "optimised")
            else None,
            "duplicate_of": a.duplicate_of_id, "flagged_duplicates": [x.id for x in added.flagged],
        })


@router.get("/assessments/gaps", summary="The availability-gap report", responses=responses(404))
def gaps(request: Request, include_caught_up: bool = False, innovation: str | None = None,
         page: Page = 1, per_page: PerPage = 100) -> dict[str, Any]:
    with _db(request) as session, _results(request) as cur:
        if "result_values" not in read.tables(cur):  # as the report says it, with the store's file
            raise HTTPException(404, str(no_results(_web(request).workspace.analytics_path)))
        frame = availability_gap_report(session, cur, include_caught_up=include_caught_up)
    if innovation:
        frame = frame.loc[frame["innovation"] == innovation]
    return _page(_frame_rows(frame), page, per_page)
