"""Barriers to spread: /barriers (trends, association with uptake, every assessment), /barriers/new (the form a
national admin, an ICB's analyst or a provider's lead records an assessment with). Downloads:
/barriers/download/{assessments|trends|association}.{csv|xlsx}. API: GET /api/v1/barriers,
GET /api/v1/barriers/association, POST /api/v1/barriers.

Everyone sees the trends, the association and each assessment's ratings; the notes and who recorded an
assessment are for signed-in people.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Body, Depends, FastAPI, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from uptake.catalogue import Catalogue
from uptake.ecosystem.anchors import FieldProblems
from uptake.ecosystem.barriers import (
    FACTORS,
    FIELD_LABELS,
    SCALES,
    assessments_frame,
    association,
    record_assessment,
    trends,
    uptake_percentiles,
    with_uptake,
)
from uptake.ecosystem.local_records import RECORDING_ROLES, Refused, signed_in
from uptake.results import read
from uptake.store.db import session_scope
from uptake.store.ecosystem_network_models import IPPR_BARRIERS, NASSS_DOMAINS
from uptake.web.api.errors import WRITE_CODES, responses
from uptake.web.ecosystem.journeys import (
    add_templates,
    api_caller,
    api_db,
    api_writer,
    download,
    jsonable,
    read_form,
    records,
    render,
    snapshot_cursor,
    web_of,
    who_of,
)
from uptake.web.forms import by_field, save_or_again

router = APIRouter(tags=["barriers pages"], include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["barriers"], dependencies=[Depends(api_caller)])
PRIVATE = ("notes", "created_by")


def mount(app: FastAPI) -> None:
    add_templates(app)
    app.include_router(api)
    app.include_router(router)


def analysis(session: Session, cur: Any, catalogue: Catalogue) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Every assessment, the trends, and the association with uptake (from the results snapshot)."""
    frame = assessments_frame(session)
    polarity = {i.id: i.polarity.value for i in catalogue.indicators.values()}
    values = pd.DataFrame(columns=["indicator", "level", "org_code", "period", "value"])
    if cur is not None and "result_values" in read.tables(cur) and len(frame):
        wanted = [i.id for i in catalogue.indicators.values() if i.innovation in set(frame["innovation"])]
        values = read.spread.latest_values_frame(cur, wanted)
    joined = with_uptake(frame, uptake_percentiles(values, polarity), catalogue)
    return frame, trends(frame), association(joined)


def _public(frame: pd.DataFrame, who: Any) -> pd.DataFrame:
    return frame if signed_in(who) else frame.drop(columns=list(PRIVATE))


@router.get("/barriers")
def barriers_page(request: Request) -> Response:
    who = who_of(request)
    web = web_of(request)
    with session_scope(web.engine) as session, snapshot_cursor(request) as cur:
        frame, trend, assoc = analysis(session, cur, web.catalogue)
    years = sorted(trend["year"].unique()) if len(trend) else []
    table = {}
    for row in trend.to_dict("records"):
        table[(row["factor"], row["level"], row["year"])] = row
    return render(request, "ecosystem/barriers.html", assessments=records(_public(frame, who).iloc[::-1]),
                  association=records(assoc), trend=table, years=years, factors=FACTORS, scales=SCALES,
                  ippr=IPPR_BARRIERS, nasss=NASSS_DOMAINS, may_record=who.role in RECORDING_ROLES,
                  show_private=signed_in(who))


def _form_page(request: Request, form: dict[str, str], errors: list[tuple[str, str]] | None = None,
               status_code: int = 200) -> Response:
    who = who_of(request)
    innovations = sorted(web_of(request).catalogue.innovations.values(), key=lambda i: i.name)
    return render(request, "ecosystem/barrier_form.html", status_code=status_code, form=form, errors=errors or [],
                  field_errors=by_field(errors or []), labels=FIELD_LABELS,
                  innovation_options=[(i.id, i.name) for i in innovations],
                  scale_options={k: [(v, v.capitalize()) for v in levels] for k, levels in SCALES.items()},
                  ippr=IPPR_BARRIERS, nasss=NASSS_DOMAINS, scope=who.scope_org_code)


def _may_record_or_403(who: Any) -> None:
    if who.role not in RECORDING_ROLES:
        raise HTTPException(403, "barrier assessments are recorded by a national admin, an ICB's analyst or a "
                                 "provider's lead")


@router.get("/barriers/new")
def barrier_form(request: Request) -> Response:
    who = who_of(request)
    _may_record_or_403(who)
    return _form_page(request, {"org_code": who.scope_org_code or "", "assessed_on": dt.date.today().isoformat()})


@router.post("/barriers/new")
async def barrier_save(request: Request) -> Response:
    form = await read_form(request)
    who = await run_in_threadpool(who_of, request)
    _may_record_or_403(who)

    def save() -> int:
        web = web_of(request)
        with session_scope(web.engine, write=True) as session, snapshot_cursor(request) as cur:
            return record_assessment(session, who, cur, web.catalogue, form).id

    _, again = await save_or_again(
        save, lambda problems, status: _form_page(request, form, problems, status_code=status),
        problems=FieldProblems, refused=Refused)
    if again:
        return again
    return RedirectResponse("/barriers#assessments", status_code=303)


@router.get("/barriers/download/{name}.{fmt}")
def barriers_download(request: Request, name: str, fmt: str) -> Response:
    if name not in ("assessments", "trends", "association"):
        raise HTTPException(404, f"there is no barriers download {name!r}; downloads: assessments, trends, association")
    who = who_of(request)
    web = web_of(request)
    with session_scope(web.engine) as session, snapshot_cursor(request) as cur:
        frame, trend, assoc = analysis(session, cur, web.catalogue)
    chosen = {"assessments": _public(frame, who), "trends": trend, "association": assoc}[name]
    return download(chosen, f"barriers-{name}", fmt, f"Barriers to spread: {name} (association, not effect)")


# --- API ---------------------------------------------------------------------------------------------------

Barrier = Literal["absent", "present", "major"]
Nasss = Literal["simple", "complicated", "complex"]


class AssessmentIn(BaseModel):
    org_code: Annotated[str, Field(min_length=1, max_length=64)]
    innovation: Annotated[str, Field(min_length=1, max_length=64)]
    assessed_on: dt.date
    risk_averse_culture: Barrier
    complexity_not_invented_here: Barrier
    lack_of_resource: Barrier
    nasss_condition: Nasss
    nasss_technology: Nasss
    nasss_value_proposition: Nasss
    nasss_adopters: Nasss
    nasss_organisation: Nasss
    nasss_wider_system: Nasss
    nasss_embedding: Nasss
    notes: Annotated[str | None, Field(max_length=5000)] = None


@api.get("/barriers", summary="Barrier assessments (notes and who recorded them for signed-in callers)")
def api_barriers(request: Request) -> list[dict[str, Any]]:
    who = who_of(request)
    with api_db(request) as session:
        return jsonable(records(_public(assessments_frame(session), who)))


@api.get("/barriers/association", summary="Trends of barriers and their association with uptake")
def api_association(request: Request) -> dict[str, Any]:
    web = web_of(request)
    with api_db(request) as session, snapshot_cursor(request) as cur:
        _, trend, assoc = analysis(session, cur, web.catalogue)
    return jsonable({"note": "an association, not an effect", "trends": records(trend),
                     "association": records(assoc)})


@api.post("/barriers", status_code=201, summary="Record a barrier assessment",
          responses=responses(*WRITE_CODES, d404="Not used by this route"))
def api_barrier_add(request: Request, who: Annotated[Any, Depends(api_writer)],
                    body: Annotated[AssessmentIn, Body()]) -> dict[str, Any]:
    if who.role not in RECORDING_ROLES:
        raise HTTPException(403, "barrier assessments are recorded by a national admin, an ICB's analyst or a "
                                 "provider's lead")
    web = web_of(request)
    with api_db(request, write=True) as session, snapshot_cursor(request) as cur:
        row = record_assessment(session, who, cur, web.catalogue, body.model_dump())
        return jsonable({"id": row.id, "org_code": row.org_code, "innovation": row.innovation_id,
                         "assessed_on": row.assessed_on, **{k: getattr(row, k) for k in FACTORS}})
