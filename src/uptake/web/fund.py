"""The transformation fund on the web (docs/fund.md): /fund (the fund's budget per year, the applications,
the allocation with each decision explained, its sensitivity to the benefit estimates, downloads and "how was
this calculated"), /fund/apply (an ICB's analyst or a trust's provider lead applies for their own
organisation), /fund/applications/{id} (an application, its history and the steps the person may take:
submit or justify for the applicant; review, approve or decline with a reason for a national reviewer).
Forms carry the CSRF token and the row version read (a stale one answers 409 and changes nothing); every step
writes an audit event (uptake.models.fund_applications). API: /api/v1/fund/applications,
/api/v1/fund/applications/{id}, /api/v1/fund/allocation.
"""

from __future__ import annotations

import io
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from uptake.errors import NotFound, UptakeError
from uptake.models import fund_applications as fa
from uptake.safe_cells import safe_frame
from uptake.store.db import session_scope
from uptake.store.fund_models import BENEFIT_SOURCES
from uptake.store.models import Innovation
from uptake.web.access import Principal
from uptake.web.api.errors import responses
from uptake.web.security import CSRF_FIELD, csrf_ok


async def _caller(request: Request) -> None:
    """Read the caller first, so a bad API token answers 401 on every route alike."""
    await request.app.state.web.principal_async(request)


router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1", tags=["fund"], dependencies=[Depends(_caller)])

ApplicationId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The application's id")]
TABLES = ("decisions", "years", "summary")
FIELD_LABELS = {"org_code": "Organisation (ODS code)", "innovation_id": "Innovation", "title": "Title",
                "summary": "What the money is for", "first_year": "First year", "last_year": "Last year",
                "benefit": "Expected benefit", "benefit_low": "Lower limit (95%)",
                "benefit_high": "Upper limit (95%)", "benefit_source": "Where the benefit comes from",
                "benefit_reference": "Outcome model's commitment or simulator scenario", "comment": "Comment"}
HOW = ("Each application's costs per year (implementation, double running and decommissioning) and its expected "
       "benefit with its 95% interval come from the applicant. The allocation picks the set of applications with "
       "the largest total expected benefit such that, in every year, the money awarded stays within that year's "
       "budget; each region with a floor gets at least its minimum; and at least the equity share of the money "
       "awarded goes to applicants in the most deprived IMD quintile (a trust: its ICB's quintile). It is solved "
       "exactly as a mixed-integer programme (SciPy milp, HiGHS), checked in the tests against trying every "
       "subset. Each decision is explained by the constraint that binds: removing a funded application would "
       "break a floor or the equity share, or adding an unfunded one would break a year's budget; otherwise the "
       "money buys more benefit elsewhere. Sensitivity: each application's benefit is moved to the end of its "
       "interval that could change its decision (a funded one to its lower limit, an unfunded one to its upper) "
       "and the programme solved again; 'flips' means the decision changes. Applications in the competition: "
       "submitted, under review, justified and approved (not drafts, not declined).")


def _web(request: Request) -> Any:
    return request.app.state.web


def _principal(request: Request) -> Principal:
    return _web(request).principal(request)


def _render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    response = _web(request).render(request, template, status_code=status_code, nav="fund", **context)
    response.headers["cache-control"] = "private, no-store"
    return response


async def _form(request: Request) -> dict[str, str]:
    form = {k: str(v) for k, v in (await request.form()).items()}
    if not csrf_ok(request, form.get(CSRF_FIELD)):
        raise HTTPException(403, "the form has expired or did not come from this site; go back and try again")
    return form


def _may_apply(principal: Principal) -> bool:
    return principal.signed_in and principal.role in fa.APPLICANT_ROLES.values() and bool(principal.scope_org_code)


def _allocation(request: Request) -> tuple[fa.FundResult, list[dict[str, Any]]]:
    principal = _principal(request)
    setup = fa.fund_setup()
    with session_scope(_web(request).engine) as session:
        apps = [_summary(a) for a in fa.applications(session, principal)]
        result = fa.run_allocation(session, principal, setup)
    return result, apps


def _summary(a: Any) -> dict[str, Any]:
    return {"id": a.id, "org_code": a.org_code, "org_level": a.org_level, "innovation_id": a.innovation_id,
            "title": a.title, "status": a.status, "costs_per_year": a.costs_per_year(),
            "total_cost": sum(a.costs_per_year()), "benefit": a.benefit, "benefit_low": a.benefit_low,
            "benefit_high": a.benefit_high, "benefit_source": a.benefit_source,
            "benefit_reference": a.benefit_reference, "synthetic": a.synthetic, "version": a.version,
            "updated_at": a.updated_at.isoformat()}


# --- pages ------------------------------------------------------------------------------------------------


@router.get("/fund")
async def fund_page(request: Request) -> Response:
    result, apps = await run_in_threadpool(_allocation, request)
    principal = _principal(request)
    frames = fa.result_frames(result)
    return _render(request, "fund/page.html", result=result, apps=apps, setup=result.setup,
                   summary=frames["summary"].to_dict("records"), how=HOW, may_apply=_may_apply(principal),
                   reviewer=principal.role == fa.REVIEWER, tables=TABLES,
                   sensitivity_limit=fa.SENSITIVITY_LIMIT)


@router.get("/fund/download/{table}.{fmt}")
async def fund_download(request: Request, table: str, fmt: str) -> Response:
    if table not in TABLES or fmt not in ("csv", "xlsx"):
        raise HTTPException(404, f"no fund table {table}.{fmt}; tables: {', '.join(TABLES)} as .csv or .xlsx")
    result, _ = await run_in_threadpool(_allocation, request)
    frame = safe_frame(fa.result_frames(result)[table])
    headers = {"content-disposition": f'attachment; filename="fund-{table}.{fmt}"', "cache-control": "private, no-store"}
    if fmt == "csv":
        return Response(frame.to_csv(index=False), media_type="text/csv", headers=headers)
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        frame.to_excel(writer, sheet_name=table, index=False)
    return Response(buffer.getvalue(), headers=headers,
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _innovations(request: Request) -> list[tuple[str, str]]:
    with session_scope(_web(request).engine) as session:
        return [(i.id, i.name) for i in session.scalars(select(Innovation).order_by(Innovation.name))]


def _render_form(request: Request, form: dict[str, str], errors: list[tuple[str, str]], status_code: int = 200, *,
                 action: str = "/fund/apply", editing: bool = False):
    by_field: dict[str, list[str]] = {}
    for field, text in errors:
        by_field.setdefault(field, []).append(text)
    setup = fa.fund_setup()
    return _render(request, "fund/form.html", status_code=status_code, form=form, errors=errors,
                   field_errors=by_field, labels=FIELD_LABELS, setup=setup, innovations=_innovations(request),
                   sources=BENEFIT_SOURCES, kinds=fa.COST_KINDS, action=action, editing=editing)


@router.get("/fund/apply")
def apply_form(request: Request) -> Response:
    principal = _principal(request)
    if not principal.signed_in:
        return RedirectResponse("/sign-in?next=/fund/apply", status_code=303)
    if not _may_apply(principal):
        raise HTTPException(403, "only an ICB's analyst or a trust's provider lead applies to the fund, for their "
                                 "own organisation")
    return _render_form(request, {"org_code": principal.scope_org_code or ""}, [])


@router.post("/fund/apply")
async def apply_save(request: Request) -> Response:
    form = await _form(request)
    principal = _principal(request)
    if not _may_apply(principal):
        raise HTTPException(403, "only an ICB's analyst or a trust's provider lead applies to the fund, for their "
                                 "own organisation")

    def save() -> tuple[int | None, list[tuple[str, str]]]:
        with session_scope(_web(request).engine, write=True) as session:
            try:
                return fa.apply(session, principal, fa.fund_setup(), form).id, []
            except fa.FieldProblems as exc:
                return None, exc.problems
            except fa.NotAllowed as exc:
                return None, [("org_code", str(exc))]

    app_id, errors = await run_in_threadpool(save)
    if errors:
        return _render_form(request, form, errors, status_code=400)
    return RedirectResponse(f"/fund/applications/{app_id}", status_code=303)


def _as_form(app: Any) -> dict[str, str]:
    form = {k: str(getattr(app, k)) for k in ("org_code", "innovation_id", "title", "summary", "first_year",
                                               "last_year", "benefit", "benefit_low", "benefit_high",
                                               "benefit_source", "benefit_reference", "version")}
    for kind in fa.COST_KINDS:
        for n, value in enumerate(getattr(app, f"{kind}_costs"), start=1):
            form[f"cost_{kind}_{n}"] = f"{value:.0f}" if value else ""
    return form


def _editable(session: Any, principal: Principal, application_id: int) -> Any:
    try:
        app = fa.get_application(session, principal, application_id)
    except NotFound:
        raise HTTPException(404, f"there is no fund application {application_id}") from None
    problem = fa.step_problem(principal, "edit", app.org_code, app.org_level, app.status)
    if problem:
        raise HTTPException(403, f"you may not change application {application_id}: {problem}")
    return app


@router.get("/fund/applications/{application_id}/edit")
def edit_form(request: Request, application_id: ApplicationId) -> Response:
    principal = _principal(request)
    if not principal.signed_in:
        return RedirectResponse(f"/sign-in?next=/fund/applications/{application_id}/edit", status_code=303)
    with session_scope(_web(request).engine) as session:
        form = _as_form(_editable(session, principal, application_id))
    return _render_form(request, form, [], action=f"/fund/applications/{application_id}/edit", editing=True)


@router.post("/fund/applications/{application_id}/edit")
async def edit_save(request: Request, application_id: ApplicationId) -> Response:
    form = await _form(request)
    principal = _principal(request)
    try:
        version = int(form.get("version", ""))
    except ValueError:
        raise HTTPException(400, "the form is missing the application's version; reload the page") from None

    def save() -> list[tuple[str, str]]:
        with session_scope(_web(request).engine, write=True) as session:
            _editable(session, principal, application_id)
            try:
                fa.edit(session, principal, fa.fund_setup(), application_id, form, expected_version=version)
            except fa.FieldProblems as exc:
                return exc.problems
            return []

    errors = await run_in_threadpool(save)
    if errors:
        return _render_form(request, form, errors, status_code=400,
                            action=f"/fund/applications/{application_id}/edit", editing=True)
    return RedirectResponse(f"/fund/applications/{application_id}", status_code=303)


def _steps_for(principal: Principal, app: Any) -> list[str]:
    return [a for a in ("submit", "justify", "review", "approve", "decline")
            if fa.step_problem(principal, a, app.org_code, app.org_level, app.status) is None]


def _application_page(request: Request, application_id: int, errors: list[tuple[str, str]] | None = None,
                      status_code: int = 200) -> Response:
    principal = _principal(request)
    with session_scope(_web(request).engine) as session:
        try:
            app = fa.get_application(session, principal, application_id)
        except NotFound:
            raise HTTPException(404, f"there is no fund application {application_id}") from None
        summary = _summary(app)
        history = [{"action": r.action, "status": r.status, "comment": r.comment,
                    "actor": r.actor if principal.signed_in else ("a national reviewer" if r.action in
                                                                    fa.REVIEW_ACTIONS else "the applicant"),
                    "occurred_at": r.occurred_at} for r in app.reviews]
        extra = {"summary_text": app.summary, "reviewer_notes": app.reviewer_notes, "justification": app.justification,
                 "costs": {k: getattr(app, f"{k}_costs") for k in fa.COST_KINDS}}
        steps = _steps_for(principal, app)
        may_edit = fa.step_problem(principal, "edit", app.org_code, app.org_level, app.status) is None
    return _render(request, "fund/application.html", status_code=status_code, app=summary, history=history,
                   steps=steps, errors=errors or [], setup=fa.fund_setup(), may_edit=may_edit, **extra)


@router.get("/fund/applications/{application_id}")
def application_page(request: Request, application_id: ApplicationId) -> Response:
    return _application_page(request, application_id)


@router.post("/fund/applications/{application_id}/step")
async def application_step(request: Request, application_id: ApplicationId) -> Response:
    form = await _form(request)
    principal = _principal(request)
    action = form.get("action", "")
    try:
        version = int(form.get("version", ""))
    except ValueError:
        raise HTTPException(400, "the form is missing the application's version; reload the page") from None

    def save() -> list[tuple[str, str]]:
        with session_scope(_web(request).engine, write=True) as session:
            try:
                fa.step(session, principal, application_id, action, form.get("comment"), expected_version=version)
            except fa.FieldProblems as exc:
                return exc.problems
            except fa.NotAllowed as exc:
                raise HTTPException(403, str(exc)) from None
            except NotFound as exc:
                raise HTTPException(404, str(exc)) from None
            return []

    try:
        errors = await run_in_threadpool(save)
    except UptakeError as exc:
        if type(exc) is UptakeError:  # an unknown step
            raise HTTPException(400, str(exc)) from None
        raise
    if errors:
        return _application_page(request, application_id, errors, status_code=400)
    return RedirectResponse(f"/fund/applications/{application_id}", status_code=303)


# --- API --------------------------------------------------------------------------------------------------


def _json(body: Any) -> JSONResponse:
    return JSONResponse(body, headers={"cache-control": "private, no-store"})


@api_router.get("/fund/applications", summary="Fund applications you may see (drafts: your organisation's)",
                responses=responses(401))
def api_applications(request: Request) -> JSONResponse:
    principal = _principal(request)
    setup = fa.fund_setup()
    with session_scope(_web(request).engine) as session:
        return _json({"years": setup.years, "benefit_measure": setup.measure,
                      "applications": [_summary(a) for a in fa.applications(session, principal)]})


@api_router.get("/fund/applications/{application_id}", summary="One fund application with its history",
                responses=responses(401, 404))
def api_application(request: Request, application_id: ApplicationId) -> JSONResponse:
    principal = _principal(request)
    with session_scope(_web(request).engine) as session:
        try:
            app = fa.get_application(session, principal, application_id)
        except NotFound:
            raise HTTPException(404, f"there is no fund application {application_id}") from None
        return _json({**_summary(app), "reviewer_notes": app.reviewer_notes, "justification": app.justification,
                      "history": [{"action": r.action, "status": r.status, "comment": r.comment,
                                   "occurred_at": r.occurred_at.isoformat()} for r in app.reviews]})


@api_router.get("/fund/allocation", summary="The fund's allocation, each decision explained, with its sensitivity",
                responses=responses(401))
def api_allocation(request: Request) -> JSONResponse:
    result, _ = _allocation(request)
    return _json({"years": result.setup.years, "budget_per_year": list(result.setup.fund.budget_per_year),
                  "deprived_share": result.setup.fund.deprived_share, "benefit_measure": result.setup.measure,
                  "benefit": result.benefit, "spend_per_year": list(result.spend_per_year),
                  "status": result.status, "message": result.message, "synthetic": result.synthetic,
                  "sensitivity_run": result.sensitivity_run, "how": HOW, "decisions": result.rows})


def mount(app: FastAPI) -> None:
    app.include_router(api_router)
    app.include_router(router)
