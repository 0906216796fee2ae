"""Custom groups (docs/groups.md): a signed-in user saves a group of organisations of one level (a GP
federation, a PCN cluster, a provider collaborative), sees the group's pooled figure beside each member's on
every indicator, downloads it as CSV, and shares it by a read-only link whose token cannot be guessed.

Pages: /groups (my groups), /groups/new and /groups/{id}/edit (the form: NHS.UK error summary, CSRF; an
unknown organisation code or a mix of levels is answered at the field and nothing is saved),
/groups/{id} (the owner's view, with the share and delete buttons), /groups/shared/{token} (the read-only
view anyone with the link may open), and each as CSV (/groups/{id}/download.csv,
/groups/shared/{token}/download.csv). API: /api/v1/groups, /api/v1/groups/{id}, /api/v1/groups/shared/{token}.
Every write records an audit event. Figures come from the web's snapshot (uptake.results.read.groups) and
are pooled by uptake.results.pooling.
"""

from __future__ import annotations

import io
import re
import secrets
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from uptake.errors import UptakeError
from uptake.results import read
from uptake.results import benchmark as bm
from uptake.results.pooling import pool
from uptake.safe_cells import safe_frame
from uptake.store.db import session_scope
from uptake.store.group_models import OrgGroup, OrgGroupMember
from uptake.store.models import Organisation, utcnow
from uptake.store.repository import record_audit
from uptake.web.access import Principal
from uptake.web.api.errors import responses
from uptake.web.board_pack import group_pack_filename, render_group_pack
from uptake.web.pdf import PdfUnavailable, html_to_pdf
from uptake.web.state import CachedBody
from uptake.web.formatting import indicator_value, level_label, period_label
from uptake.web.security import CSRF_FIELD, csrf_ok

async def _caller(request: Request) -> None:
    """Every API route reads the caller first, so an unknown, revoked or malformed API token answers 401 on
    every route alike (uptake.web.api.errors), a shared group's link included."""
    await request.app.state.web.principal_async(request)


router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1", tags=["groups"], dependencies=[Depends(_caller)])

#: Form fields in the order they appear, with the label the error summary uses.
FIELD_LABELS = {"title": "Name", "members": "Organisation codes", "description": "Description"}
MAX_MEMBERS = 500
#: A group's id in an address: a positive 32-bit integer (the id column's range on every backend).
GroupId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The group's id")]
_CODE = re.compile(r"^[A-Z0-9]{3,12}$")


# --- what the pages share ----------------------------------------------------------------------------------


def _web(request: Request) -> Any:
    return request.app.state.web


def _principal(request: Request) -> Principal:
    return _web(request).principal(request)


def _render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    response = _web(request).render(request, template, status_code=status_code, nav="groups", **context)
    response.headers["cache-control"] = "private, no-store"
    return response


def _owned(session, principal: Principal, group_id: GroupId) -> OrgGroup:
    """The group if this principal owns it; 404 otherwise (another person's group is not even known)."""
    group = session.get(OrgGroup, group_id)
    if group is None or not principal.signed_in or group.owner_id != principal.user_id:
        raise HTTPException(404, f"no group {group_id} of yours")
    return group


def _shared(session, token: str) -> OrgGroup:
    group = session.scalar(select(OrgGroup).where(OrgGroup.share_token == token)) if token else None
    if group is None:
        raise HTTPException(404, "no group is shared with this link (it may have been unshared)")
    return group


def _summary(group: OrgGroup) -> dict[str, Any]:
    return {"id": group.id, "title": group.title, "description": group.description, "level": group.level,
            "members": [m.org_code for m in group.members], "shared": group.share_token is not None,
            "updated_at": group.updated_at}


async def _form(request: Request) -> dict[str, str]:
    form = {k: str(v) for k, v in (await request.form()).items()}
    if not csrf_ok(request, form.get(CSRF_FIELD)):
        raise HTTPException(403, "the form has expired or did not come from this site; go back and try again")
    return form


def _need_signed_in(request: Request) -> Principal:
    principal = _principal(request)
    if not principal.signed_in:
        raise HTTPException(403, "sign in to save and change groups")
    return principal


# --- checking a group's form ------------------------------------------------------------------------------


def parse_codes(text: str) -> list[str]:
    """Organisation codes as typed: separated by commas, spaces or new lines, upper-cased, each once."""
    seen: list[str] = []
    for code in re.split(r"[\s,;]+", text.upper()):
        if code and code not in seen:
            seen.append(code)
    return seen


def check_group(session, form: dict[str, str]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The group a form describes and every problem with it, as (field, message) in the order of the form."""
    errors: list[tuple[str, str]] = []
    title = form.get("title", "").strip()
    if not title:
        errors.append(("title", "Enter a name for the group"))
    elif len(title) > 255:
        errors.append(("title", "Name must be 255 characters or fewer"))
    codes = parse_codes(form.get("members", ""))
    level = None
    if not codes:
        errors.append(("members", "Enter at least one organisation code"))
    elif len(codes) > MAX_MEMBERS:
        errors.append(("members", f"A group has at most {MAX_MEMBERS} organisations; this has {len(codes)}"))
    else:
        found = dict(session.execute(select(Organisation.code, Organisation.level).where(
            Organisation.code.in_(codes), Organisation.valid_to.is_(None))).all())
        unknown = [c for c in codes if c not in found]
        if unknown:
            errors.append(("members", "Organisation codes not known as current organisations: "
                           + ", ".join(unknown) + ". Check each code (ODS) or remove it"))
        levels = sorted({found[c] for c in codes if c in found})
        if len(levels) > 1:
            by_level = {lv: [c for c in codes if found.get(c) == lv] for lv in levels}
            errors.append(("members", "A group's organisations must all be of one level, so they pool: these are "
                           + "; ".join(f"{level_label(lv, plural=True)}: {', '.join(cs)}"
                                       for lv, cs in by_level.items())))
        elif levels:
            level = levels[0]
    group = {"title": title, "description": form.get("description", "").strip(), "members": codes, "level": level}
    return group, errors


# --- the group's figures ----------------------------------------------------------------------------------


def group_figures(request: Request, group: OrgGroup) -> list[dict[str, Any]]:
    """``figures_of`` the request's web."""
    return figures_of(_web(request), group)


def figures_of(web: Any, group: OrgGroup) -> list[dict[str, Any]]:
    """Per indicator with a value for any member: the pooled figure and each member's, in the latest period
    of the indicator at the group's level, with England's value then (``england``, a
    uptake.results.benchmark.BenchmarkValue) and the pooled figure's comparison with it (``comparison``, by the
    interval rule; "not compared" for share-only indicators, which have no interval)."""
    codes = [m.org_code for m in group.members]
    if not web.workspace.analytics_path.exists():
        return []
    with web.snapshots.cursor() as (_, cur):
        found = read.groups.member_values(cur, group.level, codes)
        names = read.organisations.organisation_names(cur, codes)
        periods = {r["indicator"]: r["period"] for r in found}
        england = bm.values(cur, bm.ENGLAND_BENCHMARK, periods, {})
    out = []
    for indicator_id in dict.fromkeys(r["indicator"] for r in found):
        try:
            indicator = web.catalogue.indicator(indicator_id)
        except (KeyError, UptakeError):
            continue
        rows = [r for r in found if r["indicator"] == indicator_id]
        pooled = pool(indicator.measure.value, rows, len(codes))
        by_code = {r["org_code"]: r for r in rows}
        members = [{"org_code": c, "org_name": names.get(c, c), **({k: by_code[c].get(k) for k in (
            "numerator", "denominator", "value", "ci95_low", "ci95_high", "comparison")} if c in by_code else {})}
            for c in codes]
        eng = england.get(indicator_id)
        comparison = bm.judge(indicator.polarity.value, {"value": pooled.value, "ci95_low": pooled.ci95_low,
                                                         "ci95_high": pooled.ci95_high},
                              eng.value if eng else None)
        out.append({"indicator": indicator, "period": rows[0]["period"], "pooled": pooled, "members": members,
                    "england": eng, "comparison": comparison,
                    "synthetic": indicator.synthetic or any(r.get("synthetic") for r in rows)})
    return out


def figures_frame(group: OrgGroup, figures: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per indicator and member, and one per indicator for the group (org_code GROUP)."""
    out = []
    for f in figures:
        ind, p = f["indicator"], f["pooled"]
        common = {"group": group.title, "indicator": ind.id, "indicator_title": ind.title,
                  "period": f["period"], "measure": ind.measure.value, "multiplier": ind.multiplier,
                  "synthetic": f["synthetic"]}
        out.append({**common, "org_code": "GROUP", "org_name": f"{group.title} (pooled)",
                    "numerator": p.numerator, "denominator": p.denominator, "value": p.value,
                    "ci95_low": p.ci95_low, "ci95_high": p.ci95_high,
                    "england_value": f["england"].value if f.get("england") else None,
                    "compared_with_england": f.get("comparison"),
                    "method": p.method + (f" ({p.missing} member(s) without a value left out)" if p.missing else "")})
        for m in f["members"]:
            out.append({**common, "org_code": m["org_code"], "org_name": m["org_name"],
                        "numerator": m.get("numerator"), "denominator": m.get("denominator"),
                        "value": m.get("value"), "ci95_low": m.get("ci95_low"), "ci95_high": m.get("ci95_high"),
                        "method": "member's published value" if "value" in m else "no value in the period"})
    columns = ["group", "indicator", "indicator_title", "period", "measure", "multiplier", "org_code", "org_name",
               "numerator", "denominator", "value", "ci95_low", "ci95_high", "england_value", "compared_with_england",
               "method", "synthetic"]
    return pd.DataFrame(out, columns=columns)


def _csv(frame: pd.DataFrame, name: str) -> Response:
    buffer = io.StringIO()
    safe_frame(frame).to_csv(buffer, index=False)
    return Response(buffer.getvalue(), media_type="text/csv",
                    headers={"content-disposition": f'attachment; filename="{name}.csv"',
                             "cache-control": "private, no-store"})


def comparison_words(comparison: str | None) -> str:
    """'is better than England (95% interval)', ... for the group's pooled figure."""
    words = {"better": "is better than England", "best": "is better than England (99.8%)",
             "worse": "is worse than England", "worst": "is worse than England (99.8%)",
             "similar": "is similar to England", "higher": "is higher than England", "lower": "is lower than England",
             "not eligible": "is not eligible"}
    return words.get(comparison or "", "is not compared with England (no interval)") + " (compared with: England)"


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60] or "group"


def _group_page(request: Request, group: OrgGroup, *, owner: bool) -> Response:
    figures = group_figures(request, group)
    share_url = str(request.base_url).rstrip("/") + f"/groups/shared/{group.share_token}" if group.share_token else None
    download = (f"/groups/{group.id}/download.csv" if owner else f"/groups/shared/{group.share_token}/download.csv")
    pack = f"/groups/{group.id}/pack.pdf" if owner else f"/groups/shared/{group.share_token}/pack.pdf"
    return _render(request, "groups/group.html", group=group, figures=figures, owner=owner, share_url=share_url,
                   download=download, pack=pack, comparison_words=comparison_words, level_name=level_label(group.level, plural=True),
                   indicator_value=indicator_value, period_label=period_label)


# --- pages ------------------------------------------------------------------------------------------------


@router.get("/groups")
def groups_page(request: Request) -> Response:
    principal = _principal(request)
    if not principal.signed_in:
        return RedirectResponse("/sign-in?next=/groups", status_code=303)
    with session_scope(_web(request).engine) as session:
        mine = [_summary(g) for g in session.scalars(
            select(OrgGroup).where(OrgGroup.owner_id == principal.user_id).order_by(OrgGroup.title))]
    return _render(request, "groups/list.html", groups=mine)


def _render_form(request: Request, form: dict[str, str], errors: list[tuple[str, str]], *, action: str,
                 editing: bool, status_code: int = 200) -> Response:
    by_field: dict[str, list[str]] = {}
    for field, text in errors:
        by_field.setdefault(field, []).append(text)
    return _render(request, "groups/form.html", status_code=status_code, form=form, errors=errors,
                   field_errors=by_field, labels=FIELD_LABELS, action=action, editing=editing)


@router.get("/groups/new")
def new_group_form(request: Request) -> Response:
    if not _principal(request).signed_in:
        return RedirectResponse("/sign-in?next=/groups/new", status_code=303)
    return _render_form(request, {}, [], action="/groups/new", editing=False)


@router.post("/groups/new")
async def new_group_save(request: Request) -> Response:
    form = await _form(request)
    principal = _need_signed_in(request)

    def save() -> tuple[int | None, list[tuple[str, str]]]:
        with session_scope(_web(request).engine, write=True) as session:
            group, errors = check_group(session, form)
            if errors:
                return None, errors
            row = OrgGroup(owner_id=principal.user_id, title=group["title"], description=group["description"],
                           level=group["level"], members=[OrgGroupMember(org_code=c) for c in group["members"]])
            session.add(row)
            session.flush()
            record_audit(session, principal.email or "unknown", "group.create", "org_group", str(row.id),
                         {"title": row.title, "level": row.level, "members": group["members"]})
            return row.id, []

    group_id, errors = await run_in_threadpool(save)
    if errors:
        return _render_form(request, form, errors, action="/groups/new", editing=False, status_code=400)
    return RedirectResponse(f"/groups/{group_id}", status_code=303)


@router.get("/groups/shared/{token}")
def shared_group_page(request: Request, token: str) -> Response:
    with session_scope(_web(request).engine) as session:
        group = _shared(session, token)
        _ = group.members
        session.expunge(group)
    return _group_page(request, group, owner=False)


@router.get("/groups/shared/{token}/download.csv")
def shared_group_csv(request: Request, token: str) -> Response:
    with session_scope(_web(request).engine) as session:
        group = _shared(session, token)
        _ = group.members
        session.expunge(group)
    return _csv(figures_frame(group, group_figures(request, group)), _slug(group.title))


@router.get("/groups/{group_id}")
def group_page(request: Request, group_id: GroupId) -> Response:
    with session_scope(_web(request).engine) as session:
        group = _owned(session, _principal(request), group_id)
        _ = group.members
        session.expunge(group)
    return _group_page(request, group, owner=True)


@router.get("/groups/{group_id}/download.csv")
def group_csv(request: Request, group_id: GroupId) -> Response:
    with session_scope(_web(request).engine) as session:
        group = _owned(session, _principal(request), group_id)
        _ = group.members
        session.expunge(group)
    return _csv(figures_frame(group, group_figures(request, group)), _slug(group.title))


@router.get("/groups/{group_id}/edit")
def edit_group_form(request: Request, group_id: GroupId) -> Response:
    with session_scope(_web(request).engine) as session:
        group = _owned(session, _principal(request), group_id)
        form = {"title": group.title, "description": group.description,
                "members": "\n".join(m.org_code for m in group.members)}
    return _render_form(request, form, [], action=f"/groups/{group_id}/edit", editing=True)


@router.post("/groups/{group_id}/edit")
async def edit_group_save(request: Request, group_id: GroupId) -> Response:
    form = await _form(request)
    principal = _need_signed_in(request)

    def save() -> list[tuple[str, str]]:
        with session_scope(_web(request).engine, write=True) as session:
            row = _owned(session, principal, group_id)
            group, errors = check_group(session, form)
            if errors:
                return errors
            before = [m.org_code for m in row.members]
            row.title, row.description, row.level = group["title"], group["description"], group["level"]
            row.members = [OrgGroupMember(org_code=c) for c in group["members"]]
            row.updated_at = utcnow()
            record_audit(session, principal.email or "unknown", "group.update", "org_group", str(row.id),
                         {"title": row.title, "level": row.level, "members": group["members"],
                          "members_before": before})
            return []

    errors = await run_in_threadpool(save)
    if errors:
        return _render_form(request, form, errors, action=f"/groups/{group_id}/edit", editing=True, status_code=400)
    return RedirectResponse(f"/groups/{group_id}", status_code=303)


@router.post("/groups/{group_id}/share")
async def share_group(request: Request, group_id: GroupId) -> Response:
    form = await _form(request)
    principal = _need_signed_in(request)
    share = form.get("share", "on") != "off"

    def save() -> None:
        with session_scope(_web(request).engine, write=True) as session:
            row = _owned(session, principal, group_id)
            row.share_token = secrets.token_urlsafe(24) if share else None
            row.updated_at = utcnow()
            record_audit(session, principal.email or "unknown", "group.share" if share else "group.unshare",
                         "org_group", str(row.id), {})

    await run_in_threadpool(save)
    return RedirectResponse(f"/groups/{group_id}", status_code=303)


@router.post("/groups/{group_id}/delete")
async def delete_group(request: Request, group_id: GroupId) -> Response:
    await _form(request)
    principal = _need_signed_in(request)

    def save() -> None:
        with session_scope(_web(request).engine, write=True) as session:
            row = _owned(session, principal, group_id)
            record_audit(session, principal.email or "unknown", "group.delete", "org_group", str(row.id),
                         {"title": row.title, "members": [m.org_code for m in row.members]})
            session.delete(row)

    await run_in_threadpool(save)
    return RedirectResponse("/groups", status_code=303)


async def _pack(request: Request, group: OrgGroup) -> Response:
    """The group's pack as a PDF, kept per snapshot, group version and reader kind."""
    web = _web(request)
    principal = await web.principal_async(request)
    key = (f"group-pack|{web.snapshots.current.version}|{principal.cache_key}|{group.id}|"
           f"{group.updated_at.isoformat() if group.updated_at else ''}")
    hit = web.fresh_cache().get(key)
    if hit is None:
        figures = await run_in_threadpool(figures_of, web, group)
        html = await run_in_threadpool(lambda: render_group_pack(web, group, figures, principal))
        try:
            body = await run_in_threadpool(html_to_pdf, html)
        except PdfUnavailable as exc:
            raise HTTPException(503, f"The group's pack cannot be made here: {exc}") from None
        hit = CachedBody.of(body, "application/pdf", '"' + key.replace('"', "") + '"')
        web.cache.put(key, hit)
    return Response(hit.body, media_type="application/pdf", headers={
        "content-disposition": f'attachment; filename="{group_pack_filename(group.id, group.title)}"',
        "cache-control": "private, no-store"})


@router.get("/groups/{group_id}/pack.pdf")
async def group_pack(request: Request, group_id: GroupId) -> Response:
    """The board pack of one of your groups (PDF)."""
    def load() -> OrgGroup:
        with session_scope(_web(request).engine) as session:
            group = _owned(session, _principal(request), group_id)
            _ = group.members
            session.expunge(group)
            return group

    return await _pack(request, await run_in_threadpool(load))


@router.get("/groups/shared/{token}/pack.pdf")
async def shared_group_pack(request: Request, token: str) -> Response:
    """The board pack of a group shared with you by link (PDF)."""
    def load() -> OrgGroup:
        with session_scope(_web(request).engine) as session:
            group = _shared(session, token)
            _ = group.members
            session.expunge(group)
            return group

    return await _pack(request, await run_in_threadpool(load))


# --- API --------------------------------------------------------------------------------------------------


def _api_figures(group: OrgGroup, figures: list[dict[str, Any]]) -> dict[str, Any]:
    out = {k: v for k, v in _summary(group).items() if k != "updated_at"}
    out["indicators"] = []
    for f in figures:
        p = f["pooled"]
        out["indicators"].append({
            "indicator": f["indicator"].id, "period": f["period"].isoformat(), "measure": p.measure,
            "multiplier": f["indicator"].multiplier, "synthetic": f["synthetic"],
            "pooled": {"numerator": p.numerator, "denominator": p.denominator, "value": p.value,
                       "ci95_low": p.ci95_low, "ci95_high": p.ci95_high, "members": p.members,
                       "missing": p.missing, "method": p.method, "why": p.why},
            "benchmark": "england", "benchmark_label": "England",
            "benchmark_value": f["england"].value if f.get("england") else None,
            "comparison": f.get("comparison"),
            "members": f["members"]})
    return out


def _json(body: Any) -> JSONResponse:
    return JSONResponse(body, headers={"cache-control": "private, no-store"})


@api_router.get("/groups", summary="Your custom groups (signed in)", responses=responses(401))
def api_groups(request: Request) -> JSONResponse:
    principal = _principal(request)
    if not principal.signed_in:
        raise HTTPException(401, "sign in (or send an API token) to list your groups")
    with session_scope(_web(request).engine) as session:
        mine = session.scalars(select(OrgGroup).where(OrgGroup.owner_id == principal.user_id).order_by(OrgGroup.id))
        return _json([{k: v for k, v in _summary(g).items() if k != "updated_at"} for g in mine])


@api_router.get("/groups/shared/{token}", summary="A shared group with its pooled figures", responses=responses(404))
def api_shared_group(request: Request, token: str) -> JSONResponse:
    with session_scope(_web(request).engine) as session:
        group = _shared(session, token)
        _ = group.members
        session.expunge(group)
    return _json(_api_figures(group, group_figures(request, group)))


@api_router.get("/groups/{group_id}", summary="One of your groups with its pooled figures", responses=responses(404))
def api_group(request: Request, group_id: GroupId) -> JSONResponse:
    with session_scope(_web(request).engine) as session:
        group = _owned(session, _principal(request), group_id)
        _ = group.members
        session.expunge(group)
    return _json(_api_figures(group, group_figures(request, group)))


def mount(app: FastAPI) -> None:
    app.include_router(api_router)
    app.include_router(router)
