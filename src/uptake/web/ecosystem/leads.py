"""Innovation leads' pages and API (uptake.ecosystem.leads):

- /leads: every organisation's named leads (public), and the form link for those who may name one;
- /leads/new: name a lead (the organisation's provider lead; a national admin);
- /leads/{id}: a lead's portfolio: contributions with their linked results, the competency statements they
  evidence; downloads as CSV, Excel and PDF (for appraisal);
- /leads/{id}/contributions/new: record a contribution (adopted, adapted, taught to a peer);
- /leads/download/leads.{csv|xlsx}, /leads/{id}/portfolio.{csv|xlsx|pdf};
- API: GET /api/v1/leads, /api/v1/leads/{id} (the portfolio).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, HTTPException, Path, Request
from pydantic import BaseModel, Field
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from uptake import ATTRIBUTION, __version__
from uptake.ecosystem.frontline_rules import FieldProblems, NotAllowed, may_record_for_some_org, org_record_problem
from uptake.ecosystem.leads import (
    CONTRIBUTION_FIELDS,
    KIND_TITLES,
    LEAD_FIELDS,
    add_contribution,
    add_lead,
    commitment_choices,
    competencies,
    get_lead,
    leads_frame,
    portfolio,
)
from uptake.errors import NotFound
from uptake.store.db import session_scope
from uptake.web.api.errors import responses
from uptake.web.ecosystem.frontline import (
    WRITE_RESPONSES,
    add_templates,
    api_errors,
    download,
    optional_results,
    records,
    render,
    web_of,
    who_of,
    writer,
)
from uptake.web.forms import by_field, posted_form, save_or_again
from uptake.web.pdf import PdfUnavailable, css_string, html_to_pdf, print_styles

router = APIRouter(tags=["ecosystem pages"], include_in_schema=False)


def _caller(request: Request) -> None:
    who_of(request)


api = APIRouter(prefix="/api/v1", tags=["innovation leads"], dependencies=[Depends(_caller)])
LeadId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def mount(app: FastAPI) -> None:
    """Add the leads' pages, API and templates to the web app."""
    add_templates(app)
    app.include_router(api)
    app.include_router(router)


def _may_name(who) -> None:
    if not may_record_for_some_org(who):
        raise HTTPException(403, "innovation leads are named by their organisation's provider lead (or a national "
                                 "admin)")


@router.get("/leads")
def leads_page(request: Request) -> Response:
    who = who_of(request)
    with session_scope(web_of(request).engine) as session:
        frame = leads_frame(session)
    return render(request, "ecosystem/leads.html", leads=records(frame), may_name=may_record_for_some_org(who),
                  any_synthetic=bool(frame["synthetic"].any()))


def _lead_form(request: Request, form: dict[str, str], errors=None, status_code: int = 200) -> Response:
    response = render(request, "ecosystem/lead_form.html", form=form, errors=errors or [],
                      field_errors=by_field(errors or []), labels=LEAD_FIELDS)
    response.status_code = status_code
    return response


@router.get("/leads/new")
def lead_form(request: Request) -> Response:
    who = who_of(request)
    _may_name(who)
    return _lead_form(request, {"org_code": who.scope_org_code or ""})


@router.post("/leads/new")
async def lead_save(request: Request) -> Response:
    form = await posted_form(request)
    who = await run_in_threadpool(who_of, request)
    _may_name(who)

    def save() -> int:
        with session_scope(web_of(request).engine, write=True) as session:
            return add_lead(session, who, form).id

    lead_id, again = await save_or_again(save, lambda problems, status: _lead_form(request, form, problems, status),
                                         problems=FieldProblems, forbidden=NotAllowed)
    if again:
        return again
    return RedirectResponse(f"/leads/{lead_id}", status_code=303)


def _portfolio(request: Request, lead_id: int):
    with session_scope(web_of(request).engine) as session, optional_results(request) as cur:
        try:
            folio = portfolio(session, cur, lead_id)
        except NotFound:
            raise HTTPException(404, f"there is no innovation lead {lead_id}") from None
        session.expunge_all()
        return folio


@router.get("/leads/{lead_id}")
def lead_page(request: Request, lead_id: int) -> Response:
    who = who_of(request)
    folio = _portfolio(request, lead_id)
    return render(request, "ecosystem/lead.html", folio=folio, lead=folio.lead,
                  contributions=records(folio.contributions), kinds=KIND_TITLES,
                  may_record=org_record_problem(who, folio.lead.org_code, "record") is None)


def _contribution_form(request: Request, lead, form: dict[str, str], errors=None, status_code: int = 200) -> Response:
    with session_scope(web_of(request).engine) as session:
        choices = commitment_choices(session)
    innovations = sorted((i.id, i.name) for i in web_of(request).catalogue.innovations.values())
    response = render(request, "ecosystem/contribution_form.html", lead=lead, form=form, errors=errors or [],
                      field_errors=by_field(errors or []), labels=CONTRIBUTION_FIELDS, commitments=choices,
                      innovations=innovations, kinds=list(KIND_TITLES.items()))
    response.status_code = status_code
    return response


def _lead_for_recording(request: Request, lead_id: int):
    who = who_of(request)
    with session_scope(web_of(request).engine) as session:
        try:
            lead = get_lead(session, lead_id)
        except NotFound:
            raise HTTPException(404, f"there is no innovation lead {lead_id}") from None
        reason = org_record_problem(who, lead.org_code, "record a lead's contribution")
        session.expunge(lead)
    if reason:
        raise HTTPException(403, f"{who.actor} may not record contributions for {lead.org_code}: {reason}")
    return who, lead


@router.get("/leads/{lead_id}/contributions/new")
def contribution_form(request: Request, lead_id: int) -> Response:
    _, lead = _lead_for_recording(request, lead_id)
    return _contribution_form(request, lead, {})


@router.post("/leads/{lead_id}/contributions/new")
async def contribution_save(request: Request, lead_id: int) -> Response:
    form = await posted_form(request)
    who, lead = await run_in_threadpool(_lead_for_recording, request, lead_id)

    def save() -> None:
        with session_scope(web_of(request).engine, write=True) as session:
            add_contribution(session, who, lead_id, form)

    _, again = await save_or_again(
        save, lambda problems, status: _contribution_form(request, lead, form, problems, status),
        problems=FieldProblems, forbidden=NotAllowed)
    if again:
        return again
    return RedirectResponse(f"/leads/{lead_id}", status_code=303)


@router.get("/leads/download/leads.{fmt}")
def leads_download(request: Request, fmt: str) -> Response:
    with session_scope(web_of(request).engine) as session:
        frame = leads_frame(session)
    return download(frame, "innovation-leads", fmt, "Innovation leads")


@router.get("/leads/{lead_id}/portfolio.{fmt}")
def portfolio_download(request: Request, lead_id: int, fmt: str) -> Response:
    folio = _portfolio(request, lead_id)
    name = f"portfolio-{lead_id}"
    if fmt in ("csv", "xlsx"):
        return download(folio.frame(), name, fmt, f"Innovation portfolio of {folio.lead.name}")
    if fmt != "pdf":
        raise HTTPException(404, f"no download format {fmt}: csv, xlsx or pdf")
    web = web_of(request)
    html = web.templates.get_template("ecosystem/portfolio_print.html").render(
        print_styles=print_styles(web.assets), css_string=css_string, doc_title=f"Innovation portfolio: {folio.lead.name}", folio=folio,
        lead=folio.lead, contributions=records(folio.contributions), kinds=KIND_TITLES, attribution=ATTRIBUTION,
        version=__version__)
    try:
        body = html_to_pdf(html)
    except PdfUnavailable as exc:
        raise HTTPException(503, str(exc)) from None
    return Response(body, media_type="application/pdf",
                    headers={"content-disposition": f'attachment; filename="{name}.pdf"'})


# --- API ----------------------------------------------------------------------------------------------------


def _json(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for row in rows:
        for key, value in row.items():
            if hasattr(value, "isoformat"):
                row[key] = value.isoformat()
    return rows


@api.get("/leads", summary="Innovation leads named by each organisation, with their number of contributions")
def api_leads(request: Request) -> list[dict[str, Any]]:
    with session_scope(web_of(request).engine) as session:
        return _json(records(leads_frame(session)))


@api.get("/leads/{lead_id}", summary="A lead's portfolio: contributions with linked results, competencies evidenced",
         responses=responses(404))
def api_portfolio(request: Request, lead_id: LeadId) -> dict[str, Any]:
    folio = _portfolio(request, lead_id)
    lead = folio.lead
    return {"lead": {"id": lead.id, "org_code": lead.org_code, "org_name": folio.org_name, "name": lead.name,
                     "job_title": lead.job_title, "started_on": lead.started_on.isoformat(),
                     "synthetic": bool(lead.synthetic)},
            "contributions": _json(records(folio.contributions)),
            "competencies": [{"id": s.id, "title": s.title, "statement": s.statement, "evidenced_by": ids}
                             for s, ids in folio.statements],
            "statements_available": len(competencies())}


class LeadIn(BaseModel):
    org_code: str = Field(max_length=64, examples=["RAL"])
    name: str = Field(max_length=255)
    job_title: str = Field(max_length=255)
    started_on: str = Field(max_length=32, examples=["2024-04-01"])
    email: str = Field("", max_length=320)


class ContributionIn(BaseModel):
    kind: str = Field(max_length=16, examples=["taught"])
    innovation: str = Field(max_length=64, examples=["thrombolysis"])
    description: str = Field(max_length=20000)
    occurred_on: str = Field(max_length=32, examples=["2024-06-01"])
    commitment: str = Field("", max_length=130, examples=["stroke/thrombolysis"])
    peer_org_code: str = Field("", max_length=64)


@api.post("/leads", status_code=201, summary="Name an innovation lead (the organisation's provider lead)",
          responses=WRITE_RESPONSES)
def api_add_lead(request: Request, who: Annotated[Any, Depends(writer)],
                 lead: Annotated[LeadIn, Body()]) -> dict[str, Any]:
    with api_errors(), session_scope(web_of(request).engine, write=True) as session:
        row = add_lead(session, who, lead.model_dump())
        return {"id": row.id, "org_code": row.org_code, "name": row.name}


@api.post("/leads/{lead_id}/contributions", status_code=201, summary="Record a lead's contribution to spread",
          responses=WRITE_RESPONSES)
def api_add_contribution(request: Request, who: Annotated[Any, Depends(writer)], lead_id: LeadId,
                         contribution: Annotated[ContributionIn, Body()]) -> dict[str, Any]:
    with api_errors(), session_scope(web_of(request).engine, write=True) as session:
        row = add_contribution(session, who, lead_id, contribution.model_dump())
        return {"id": row.id, "lead_id": row.lead_id, "kind": row.kind, "competencies": row.competencies}
