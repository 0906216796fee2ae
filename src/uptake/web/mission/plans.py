"""Comply or justify: /plans (the filings the person may see, and the ICBs with nothing filed), /plans/queue
(the national review queue), /plans/new (the form an ICB's analyst files a plan or a justification with) and
/plans/{id} (a filing, its history, the plan against actual, and the review steps the person may take)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from uptake.errors import Conflict, NotFound, UptakeError
from uptake.mission.framework_repository import framework_version, published_frameworks
from uptake.mission.permissions import FILING_TRANSITIONS, NotPermitted, Who, may_act_on_filing
from uptake.mission.plans import (
    DRAFT_ONLY,
    ContentProblems,
    ReasonCategory,
    filing_history,
    filings,
    find_filing,
    get_filing,
    icbs_with_nothing_filed,
    plan_against_actual,
    review_queue,
    save_filing,
    transition,
)
from uptake.mission.schemas import Framework
from uptake.store.db import session_scope
from uptake.web.forms import by_field
from uptake.web.mission.common import records, render, results_cursor, web_of, who_of
from uptake.web.mission.forms import FIELD_LABELS, content_from_form, field_errors, form_from_content
from uptake.web.security import CSRF_FIELD, csrf_ok

router = APIRouter(tags=["mission pages"], include_in_schema=False)

#: The error summary of a form saved from a stale copy (optimistic locking: uptake.errors.Conflict).
STALE_FORM = ("Someone else changed this filing after you opened the form, so your changes were not saved. "
              "Reload to see their version: what you typed is still below, to copy into the new form.")


@router.get("/plans")
def plans_page(request: Request, icb: str | None = None, status: str | None = None) -> Response:
    who = who_of(request)
    with session_scope(web_of(request).engine) as session:
        visible = filings(session, who, icb_code=icb or None, status=status or None)
        missing = icbs_with_nothing_filed(session, who=who)  # only what this person may know
    nothing = sorted({(m.icb_code, m.icb_name) for m in missing if m.state != DRAFT_ONLY})
    return render(request, "mission/plans.html", filings=visible, missing=missing, icb=icb, status=status,
                  who=who, nothing=nothing, nothing_means=_nothing_means(who))


def _nothing_means(who: Who) -> str:
    """What "nothing" means in the list of ICBs that have filed nothing, for this person."""
    if who.role == "national-admin":
        return "filed nothing (beyond a draft)"
    if who.role == "icb-analyst":
        return f"filed nothing (beyond a draft; for ICBs other than {who.scope_org_code}: published nothing)"
    return "published nothing (drafts and filings under review are not public)"


@router.get("/plans/queue")
def queue_page(request: Request) -> Response:
    who = who_of(request)
    with session_scope(web_of(request).engine) as session:
        try:
            waiting = review_queue(session, who)
        except NotPermitted:
            raise HTTPException(403, "the review queue is for national reviewers") from None
    return render(request, "mission/queue.html", filings=waiting, today=dt.date.today())


def _filing_choices(session) -> list[tuple[str, str, str]]:
    return [(f.id, c.id, f"{f.title}: {c.title}") for f in published_frameworks(session) for c in f.commitments
            if "icb" in [lv.value for lv in c.scope.levels]]


def _render_plan_form(request: Request, who: Who, choices, *, framework: str | None, commitment: str | None,
                      kind: str, form: dict[str, str], errors: list[tuple[str, str]] | None = None,
                      editing: bool = False, status_code: int = 200, version: int | None = None) -> Response:
    response = render(request, "mission/plan_form.html", choices=choices, framework=framework,
                      commitment=commitment, kind=kind, icb=who.scope_org_code,
                      reasons=[r.value for r in ReasonCategory], errors=errors or [],
                      field_errors=by_field(errors or []),
                      labels=FIELD_LABELS, form=form, editing=editing, version=version,
                      version_for=f"{framework}/{commitment}")
    response.status_code = status_code
    return response


@router.get("/plans/new")
def plan_form(request: Request, framework: str | None = None, commitment: str | None = None,
              kind: str | None = None) -> Response:
    """The filing form; with a framework and commitment the ICB has already filed for (and may still edit),
    it starts from what was filed."""
    who = who_of(request)
    if who.role != "icb-analyst":
        raise HTTPException(403, "plans and justifications are filed by an ICB's analyst")
    form: dict[str, str] = {}
    editing = False
    version = None  # opened for a commitment: the version saving expects (0: nothing filed yet)
    with session_scope(web_of(request).engine) as session:
        choices = _filing_choices(session)
        filing = find_filing(session, framework, commitment, who.scope_org_code or "") \
            if framework and commitment else None
        if framework and commitment:
            version = 0 if filing is None else filing.version
        if filing is not None and may_act_on_filing(who, "edit", filing.icb_code, filing.status):
            editing = True
            form = form_from_content(filing.kind, filing.content)
            kind = kind or filing.kind
    return _render_plan_form(request, who, choices, framework=framework, commitment=commitment,
                             kind=kind if kind in ("plan", "justification") else "plan", form=form, editing=editing,
                             version=version)


async def _form(request: Request) -> dict[str, str]:
    form = {k: str(v) for k, v in (await request.form()).items()}
    if "authorization" not in request.headers and not csrf_ok(request, form.get(CSRF_FIELD)):
        raise HTTPException(403, "the form has expired or did not come from this site; go back and try again")
    return form


@router.post("/plans/new")
async def plan_save(request: Request) -> Response:
    form = await _form(request)
    who = await run_in_threadpool(who_of, request)
    framework, _, commitment = form.get("commitment", "").partition("/")
    kind = form.get("kind", "plan")
    # The version the form was opened on counts only for the commitment it was opened for.
    expected = _form_version(form) if form.get("version_for") == f"{framework}/{commitment}" else None

    def save() -> int:
        with session_scope(web_of(request).engine, write=True) as session:
            return save_filing(session, who, framework, commitment, who.scope_org_code or "", kind,
                               content_from_form(kind, form), expected_version=expected).id

    try:
        filing_id = await run_in_threadpool(save)
    except NotPermitted as exc:
        raise HTTPException(403, str(exc)) from None
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except UptakeError as exc:
        status_code = 400
        if isinstance(exc, ContentProblems):
            errors = field_errors(exc)
        elif isinstance(exc, Conflict):  # what they typed stays in the form below; nothing was saved
            status_code = 409
            errors = [("commitment", STALE_FORM)]
        else:
            errors = [("commitment", str(exc))]

        def choices():
            with session_scope(web_of(request).engine) as session:
                return _filing_choices(session)

        return _render_plan_form(request, who, await run_in_threadpool(choices), framework=framework,
                                 commitment=commitment, kind=kind, form=form, errors=errors, status_code=status_code,
                                 version=expected)
    return RedirectResponse(f"/plans/{filing_id}", status_code=303)


def _form_version(form: dict[str, str]) -> int | None:
    try:
        return int(form.get("version", ""))
    except ValueError:
        return None


def _commitment_titles(session, framework_id: str, commitment_key: str) -> tuple[str, str] | None:
    """The framework's and the commitment's titles (None if either is no longer defined)."""
    try:
        framework = Framework.model_validate(framework_version(session, framework_id).definition)
        return framework.title, framework.commitment(commitment_key).title
    except (UptakeError, KeyError):
        return None


def _plan_view(request: Request, filing_id: int, *, error: str | None = None, comment: str = "",
               status_code: int = 200) -> Response:
    who = who_of(request)
    with session_scope(web_of(request).engine) as session:
        try:
            filing = get_filing(session, who, filing_id)
        except UptakeError:
            raise HTTPException(404, f"there is no filing {filing_id}") from None
        history = filing_history(session, who, filing_id)
        tracked = None
        if filing.kind == "plan":
            try:
                with results_cursor(request) as cur:
                    tracked = records(plan_against_actual(session, cur, who, filing_id))
            except UptakeError:
                tracked = None
        steps = [a for a in FILING_TRANSITIONS if a not in ("create", "edit")
                 and may_act_on_filing(who, a, filing.icb_code, filing.status)]
        editable = may_act_on_filing(who, "edit", filing.icb_code, filing.status)
        titles = _commitment_titles(session, filing.framework_id, filing.commitment_key)
        response = render(request, "mission/plan.html", filing=filing, history=history, tracked=tracked,
                          titles=titles,
                          steps=steps, editable=editable, step_error=error, comment=comment,
                          # the public sees who acted by role, not by email address
                          show_people=who.role != "public")
    response.status_code = status_code
    return response


@router.get("/plans/{filing_id}")
def plan_page(request: Request, filing_id: int) -> Response:
    return _plan_view(request, filing_id)


@router.post("/plans/{filing_id}/{action}")
async def plan_step(request: Request, filing_id: int, action: str) -> Response:
    if action not in ("submit", "accept", "challenge", "resubmit", "publish"):
        raise HTTPException(404, f"no step {action}")
    form = await _form(request)
    who = await run_in_threadpool(who_of, request)

    def step() -> None:
        with session_scope(web_of(request).engine, write=True) as session:
            transition(session, who, filing_id, action, form.get("comment") or None,
                       expected_version=_form_version(form))

    try:
        await run_in_threadpool(step)
    except NotPermitted as exc:  # a filing they may see, and a reason they may not take this step
        raise HTTPException(403, str(exc)) from None
    except NotFound as exc:  # a filing they may not see: as its page answers
        raise HTTPException(404, str(exc)) from None
    except UptakeError as exc:
        error, status_code = f"Could not {action}: {exc}", 400
        if isinstance(exc, Conflict):  # the page below shows the filing as it is now
            error = (f"Someone else changed this filing after you opened it, so your {action} was not recorded. "
                     "Reload: this page now shows their change; check it, then try again.")
            status_code = 409
        return await run_in_threadpool(lambda: _plan_view(request, filing_id, error=error,
                                                          comment=form.get("comment", ""), status_code=status_code))
    return RedirectResponse(f"/plans/{filing_id}", status_code=303)
