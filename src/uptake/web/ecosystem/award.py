"""The Innovation Award's pages and API (uptake.ecosystem.award):

- /award: the scheme (budget, levels, criteria with weights), the awards (decided: public; the proposed ranking
  of every nomination: the national admin), the person's own nominations (a provider lead), and the decide
  button (the national admin);
- /award/nominate: the nomination form (a provider lead for their organisation; a national admin);
- /award/nominations/{id}: a nomination explained: each criterion's score, weight, points and source, and its
  rank and award (the national admin and the organisation's provider lead; anyone once it is awarded, without
  the groups recorded on it);
- /award/fairness: the fairness audit (award rates by group with Wilson 95% intervals and the four-fifths
  rule; public: totals by group only);
- /award/download/{awards|nominations|fairness}.{csv|xlsx};
- API: GET /api/v1/award/scheme, /api/v1/award/awards, /api/v1/award/nominations, /api/v1/award/fairness.
"""

from __future__ import annotations

from html import escape
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Body, Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel, Field
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from uptake.ecosystem.award import (
    CRITERIA,
    GROUP_TITLES,
    NOMINATION_FIELDS,
    Scheme,
    allocate,
    all_nominations,
    awarded_frame,
    current_scheme,
    decide,
    fairness_audit,
    latest_round,
    may_decide,
    may_see_nomination,
    nominate,
    nominate_problem,
    nominations_frame,
    score_nominations,
)
from uptake.ecosystem.frontline_rules import FieldProblems, NotAllowed, may_record_for_some_org
from uptake.store.db import session_scope
from uptake.store.ecosystem_award_models import GROUPS, AwardNomination
from uptake.web.api.errors import responses
from uptake.web.ecosystem.frontline import (
    WRITE_RESPONSES,
    add_templates,
    api_errors,
    download,
    optional_results,
    records,
    render,
    units_of,
    web_of,
    who_of,
    writer,
)
from uptake.web.forms import by_field, posted_form, save_or_again

router = APIRouter(tags=["ecosystem pages"], include_in_schema=False)


def _caller(request: Request) -> None:
    who_of(request)  # an unknown API token answers 401 on every route (uptake.web.api.errors)


api = APIRouter(prefix="/api/v1", tags=["innovation award"], dependencies=[Depends(_caller)])

GROUP_OPTION_TEXT = {"prefer-not-to-say": "Prefer not to say"}


def mount(app: FastAPI) -> None:
    """Add the award's pages, API and templates to the web app."""
    add_templates(app)
    app.include_router(api)
    app.include_router(router)


# --- what the pages compute ---------------------------------------------------------------------------------


def _scheme(session) -> Scheme:
    scheme = current_scheme(session)
    if scheme is None:
        raise HTTPException(404, "no Innovation Award scheme is loaded yet: a national admin loads one with "
                                 "`uptake award load-scheme`")
    return scheme


def ranking(request: Request, session, scheme: Scheme) -> pd.DataFrame:
    """Every nomination of the scheme version with its score, criteria and proposed (or decided) award, in
    rank order (all rows; callers show each person only what they may see)."""
    nominations = all_nominations(session, scheme)
    with optional_results(request) as cur:
        if cur is None or nominations.empty:
            scored = []
        else:
            scored = score_nominations(cur, scheme, nominations, units_of(web_of(request).catalogue))
    round_ = latest_round(session, scheme)
    if round_ is not None:
        decided = {d.nomination_id: d for d in round_.decisions}
        rows = []
        for n in nominations.itertuples(index=False):
            d = decided.get(n.id)
            rows.append({"id": n.id, "rank": d.rank if d else None, "score": d.score if d else None,
                         "level": d.level if d else None, "amount_pounds": d.amount_pounds if d else 0.0,
                         "reason": (d.explanation or {}).get("reason") if d else "nominated after the decision",
                         "criteria": (d.explanation or {}).get("criteria") if d else None, "basis": "decided"})
    else:
        by_id = {s.nomination_id: s for s in scored}
        allocations = allocate(scheme, [(s.nomination_id, s.score) for s in scored])
        rows = [{"id": a.nomination_id, "rank": a.rank, "score": a.score, "level": a.level,
                 "amount_pounds": a.amount_pounds, "reason": a.reason, "criteria": by_id[a.nomination_id].criteria,
                 "basis": "proposed"} for a in allocations]
    frame = pd.DataFrame(rows, columns=["id", "rank", "score", "level", "amount_pounds", "reason", "criteria",
                                        "basis"])
    merged = nominations.merge(frame, on="id", how="left")
    for c in CRITERIA:
        merged[f"{c}_score"] = merged["criteria"].map(lambda v, c=c: v[c]["score"] if isinstance(v, dict) else None)
    return merged.sort_values(["rank", "id"], na_position="last").reset_index(drop=True)


PUBLIC_AWARD_COLUMNS = ["rank", "nominee_name", "nominee_kind", "org_code", "framework", "commitment", "score",
                        *(f"{c}_score" for c in CRITERIA), "level", "amount_pounds", "basis", "synthetic"]


def public_awards(frame: pd.DataFrame) -> pd.DataFrame:
    """Decided awards only, without the groups recorded on nominations."""
    awarded = frame[(frame["basis"] == "decided") & frame["level"].notna()]
    return awarded[["id", *PUBLIC_AWARD_COLUMNS]].reset_index(drop=True)


def audit(session, scheme: Scheme, frame: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    proposed = None
    if latest_round(session, scheme) is None:
        proposed = [_Allocated(int(r.id), r.level) for r in frame.itertuples(index=False)]
    marked, basis = awarded_frame(session, scheme, proposed)
    return fairness_audit(marked), basis


class _Allocated:
    def __init__(self, nomination_id: int, level: Any):
        self.nomination_id = nomination_id
        self.level = level if isinstance(level, str) else None


def rates_chart(rows: list[dict[str, Any]], attribute: str, title: str) -> Markup:
    """An SVG of each group's award rate (a dot) and its Wilson 95% interval (a line), with a dashed line at four
    fifths of the highest rate; groups nobody was nominated in are left out. The table beside it gives the same
    figures."""
    groups = [r for r in rows if r["attribute"] == attribute and r["nominated"]]
    if not groups:
        return Markup("")
    width, row_h, left, right = 560, 26, 190, 40
    height = row_h * len(groups) + 40
    span = width - left - right

    def x(value: float) -> float:
        return left + span * value

    parts = []
    reference = next((r["reference_rate"] for r in groups if r["reference_rate"] is not None), None)
    if reference:
        parts.append(f'<line x1="{x(0.8 * reference):.1f}" y1="8" x2="{x(0.8 * reference):.1f}" y2="{height - 28}" '
                     'stroke="#d5281b" stroke-dasharray="4 3"><title>Four fifths of the highest rate</title></line>')
    for i, r in enumerate(groups):
        y = 20 + i * row_h
        label = escape(str(r["group"]).replace("-", " ").capitalize())
        parts.append(f'<text x="{left - 8}" y="{y + 4}" text-anchor="end" font-size="12">{label} '
                     f'({r["awarded"]}/{r["nominated"]})</text>')
        parts.append(f'<line x1="{x(r["ci95_low"]):.1f}" y1="{y}" x2="{x(r["ci95_high"]):.1f}" y2="{y}" '
                     'stroke="#425563" stroke-width="2"/>')
        flagged = r["four_fifths"] == "below four fifths"
        shape = (f'<rect x="{x(r["rate"]) - 5:.1f}" y="{y - 5}" width="10" height="10" fill="#d5281b"/>' if flagged
                 else f'<circle cx="{x(r["rate"]):.1f}" cy="{y}" r="5" fill="#005eb8"/>')
        parts.append(shape.replace("/>", f'><title>{label}: {r["rate"] * 100:.0f}% '
                                        f'({r["ci95_low"] * 100:.0f}% to {r["ci95_high"] * 100:.0f}%)</title></'
                                        + ("rect>" if flagged else "circle>"), 1))
    axis_y = height - 22
    parts.append(f'<line x1="{left}" y1="{axis_y}" x2="{left + span}" y2="{axis_y}" stroke="#425563"/>')
    for tick in (0, 0.25, 0.5, 0.75, 1):
        parts.append(f'<text x="{x(tick):.1f}" y="{axis_y + 15}" text-anchor="middle" font-size="11">'
                     f'{tick * 100:.0f}%</text>')
    desc = escape(f"Award rate by {title.lower()}: each group's rate (dot; a red square when below four fifths of "
                  "the highest group's rate) and its 95% interval (line); the dashed red line is four fifths of the "
                  "highest rate.")
    return Markup(f'<svg class="uptake-svg" viewBox="0 0 {width} {height}" width="100%" style="max-width:{width}px" '
                  f'role="img" aria-labelledby="chart-{attribute}-title chart-{attribute}-desc">'
                  f'<title id="chart-{attribute}-title">Award rate by {escape(title.lower())}</title>'
                  f'<desc id="chart-{attribute}-desc">{desc}</desc>{"".join(parts)}</svg>')


# --- pages ------------------------------------------------------------------------------------------------------


@router.get("/award")
def award_page(request: Request) -> Response:
    who = who_of(request)
    with session_scope(web_of(request).engine) as session:
        scheme = current_scheme(session)
        if scheme is None:
            return render(request, "ecosystem/award.html", scheme=None, who=who)
        frame = ranking(request, session, scheme)
        round_ = latest_round(session, scheme)
    mine = frame[frame["org_code"].map(lambda code: may_see_nomination(who, code))] if who.role != "public" else \
        frame.iloc[0:0]
    return render(request, "ecosystem/award.html", scheme=scheme, who=who, awards=records(public_awards(frame)),
                  ranked=records(mine), decided=round_ is not None, round=round_, may_decide=may_decide(who),
                  may_nominate=may_record_for_some_org(who), any_synthetic=bool(frame["synthetic"].any()),
                  criteria=CRITERIA, nominations=len(frame))


def _nominate_form(request: Request, who, scheme: Scheme, form: dict[str, str], errors=None,
                   status_code: int = 200) -> Response:
    options = {name: [(v, GROUP_OPTION_TEXT.get(v, v.replace("-", " ").capitalize())) for v in values]
               for name, values in GROUPS.items()}
    response = render(request, "ecosystem/award_nominate.html", scheme=scheme, form=form, errors=errors or [],
                      field_errors=by_field(errors or []), labels=NOMINATION_FIELDS, group_options=options,
                      group_titles=GROUP_TITLES, who=who,
                      commitment_options=[(c, c) for c in scheme.commitments])
    response.status_code = status_code
    return response


def _may_open_form(who) -> None:
    if not may_record_for_some_org(who):
        raise HTTPException(403, "nominations are made by a provider lead for their organisation (or a national "
                                 "admin)")


@router.get("/award/nominate")
def nominate_page(request: Request) -> Response:
    who = who_of(request)
    _may_open_form(who)
    with session_scope(web_of(request).engine) as session:
        scheme = _scheme(session)
    return _nominate_form(request, who, scheme, {"org_code": who.scope_org_code or ""})


@router.post("/award/nominate")
async def nominate_save(request: Request) -> Response:
    form = await posted_form(request)
    who = await run_in_threadpool(who_of, request)
    _may_open_form(who)

    def save() -> int:
        with session_scope(web_of(request).engine, write=True) as session:
            return nominate(session, who, _scheme(session), form).id

    def form_again(problems, status: int) -> Response:
        with session_scope(web_of(request).engine) as session:
            return _nominate_form(request, who, _scheme(session), form, problems, status)

    nomination_id, again = await save_or_again(save, form_again, problems=FieldProblems, forbidden=NotAllowed)
    if again:
        return again
    return RedirectResponse(f"/award/nominations/{nomination_id}", status_code=303)


@router.get("/award/nominations/{nomination_id}")
def nomination_page(request: Request, nomination_id: int) -> Response:
    who = who_of(request)
    with session_scope(web_of(request).engine) as session:
        nomination = session.get(AwardNomination, nomination_id)
        scheme = current_scheme(session)
        if nomination is None or scheme is None:
            raise HTTPException(404, f"there is no nomination {nomination_id}")
        frame = ranking(request, session, scheme)
        found = frame[frame["id"] == nomination_id]
        private = may_see_nomination(who, nomination.org_code)
        row = records(found)[0] if not found.empty else None
        awarded = row is not None and row["basis"] == "decided" and row["level"] is not None
        if not private and not awarded:
            raise HTTPException(404, f"there is no nomination {nomination_id}")
        return render(request, "ecosystem/award_nomination.html", n=row, scheme=scheme, private=private,
                      groups=GROUP_TITLES, criteria=CRITERIA, level=scheme.level(row["level"]) if row else None)


@router.post("/award/decide")
async def decide_awards(request: Request) -> Response:
    await posted_form(request)
    who = await run_in_threadpool(who_of, request)
    if not may_decide(who):
        raise HTTPException(403, "the awards are decided by a national admin")

    def run() -> None:
        with session_scope(web_of(request).engine, write=True) as session:
            scheme = _scheme(session)
            nominations = all_nominations(session, scheme)
            with optional_results(request) as cur:
                if cur is None:
                    raise HTTPException(409, "there are no results to score the nominations with yet")
                scored = score_nominations(cur, scheme, nominations, units_of(web_of(request).catalogue))
            decide(session, who, scheme, scored, synthetic=bool(nominations["synthetic"].any()))

    try:
        await run_in_threadpool(run)
    except NotAllowed as exc:
        raise HTTPException(403, str(exc)) from None
    except FieldProblems as exc:  # pragma: no cover - decide has no fields
        raise HTTPException(400, str(exc)) from None
    return RedirectResponse("/award", status_code=303)


@router.get("/award/fairness")
def fairness_page(request: Request) -> Response:
    with session_scope(web_of(request).engine) as session:
        scheme = _scheme(session)
        frame = ranking(request, session, scheme)
        table, basis = audit(session, scheme, frame)
    flagged = table[table["four_fifths"] == "below four fifths"]
    rows = records(table)
    return render(request, "ecosystem/award_fairness.html", scheme=scheme, audit=rows, basis=basis,
                  charts_by_group={a: rates_chart(rows, a, t) for a, t in GROUP_TITLES.items()}, groups=GROUP_TITLES, flagged=records(flagged), total=len(frame),
                  any_synthetic=bool(frame["synthetic"].any()))


@router.get("/award/download/{name}.{fmt}")
def award_download(request: Request, name: str, fmt: str) -> Response:
    who = who_of(request)
    with session_scope(web_of(request).engine) as session:
        scheme = _scheme(session)
        frame = ranking(request, session, scheme)
        if name == "awards":
            return download(public_awards(frame), "awards", fmt, f"{scheme.title}: awards")
        if name == "fairness":
            table, basis = audit(session, scheme, frame)
            return download(table.assign(basis=basis), "award-fairness", fmt, f"{scheme.title}: fairness audit")
        if name == "nominations":
            if who.role == "public":
                raise HTTPException(403, "nominations are shown to the national admin and each organisation's "
                                         "provider lead")
            visible = frame[frame["org_code"].map(lambda code: may_see_nomination(who, code))]
            return download(visible.drop(columns=["criteria"]), "nominations", fmt, f"{scheme.title}: nominations")
    raise HTTPException(404, f"no table {name}")


# --- API ----------------------------------------------------------------------------------------------------


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = records(frame)
    for row in out:
        for key, value in row.items():
            if hasattr(value, "isoformat"):
                row[key] = value.isoformat()
    return out


@api.get("/award/scheme", summary="The current Innovation Award scheme (budget, levels, criteria, commitments)",
         responses=responses(404))
def api_scheme(request: Request) -> dict[str, Any]:
    with session_scope(web_of(request).engine) as session:
        return _scheme(session).model_dump(mode="json")


@api.get("/award/awards", summary="Decided Innovation Awards, in rank order, with each criterion's score",
         responses=responses(404))
def api_awards(request: Request) -> list[dict[str, Any]]:
    with session_scope(web_of(request).engine) as session:
        scheme = _scheme(session)
        return _rows(public_awards(ranking(request, session, scheme)))


@api.get("/award/nominations", summary="Nominations the caller may see, with scores, sources and awards",
         responses=responses(403, 404))
def api_nominations(request: Request) -> list[dict[str, Any]]:
    who = who_of(request)
    if who.role == "public":
        raise HTTPException(403, "nominations are shown to the national admin and each organisation's provider "
                                 "lead")
    with session_scope(web_of(request).engine) as session:
        frame = ranking(request, session, _scheme(session))
    return _rows(frame[frame["org_code"].map(lambda code: may_see_nomination(who, code))])


@api.get("/award/fairness", summary="The award's fairness audit: rates by group, Wilson 95% intervals, four-fifths",
         responses=responses(404))
def api_fairness(request: Request) -> dict[str, Any]:
    with session_scope(web_of(request).engine) as session:
        scheme = _scheme(session)
        table, basis = audit(session, scheme, ranking(request, session, scheme))
    return {"basis": basis, "groups": _rows(table)}


class NominationIn(BaseModel):
    """A nomination, as the form takes it; each group is one of its vocabulary or "prefer-not-to-say"."""

    nominee_name: str = Field(max_length=255)
    nominee_kind: str = Field(max_length=16, examples=["team"])
    org_code: str = Field(max_length=64, examples=["RAL"])
    commitment: str = Field(max_length=130, examples=["stroke/thrombolysis"])
    evidence: str = Field(max_length=20000)
    sex: str = Field("prefer-not-to-say", max_length=32)
    ethnic_group: str = Field("prefer-not-to-say", max_length=32)
    profession: str = Field("prefer-not-to-say", max_length=32)
    region: str = Field("prefer-not-to-say", max_length=32)
    trust_type: str = Field("prefer-not-to-say", max_length=32)


@api.post("/award/nominations", status_code=201, summary="Nominate a team or person (a provider lead, for their "
          "organisation)", responses=WRITE_RESPONSES)
def api_nominate(request: Request, who: Annotated[Any, Depends(writer)],
                 nomination: Annotated[NominationIn, Body()]) -> dict[str, Any]:
    with api_errors(), session_scope(web_of(request).engine, write=True) as session:
        row = nominate(session, who, _scheme(session), nomination.model_dump())
        return {"id": row.id, "scheme": f"{row.scheme_id}@{row.scheme_version}", "org_code": row.org_code,
                "commitment": f"{row.framework_id}/{row.commitment_key}"}


__all__ = ["api", "mount", "router", "nominations_frame", "nominate_problem"]
