"""Web pages of the mission, server-rendered with the web app's layout (uptake.web templates, NHS.UK
frontend). Mount them with ``mount(app)`` after ``create_app`` builds the app: it adds the JSON API
(uptake.web.mission.api), these pages and this package's templates to the app's template loader.

Pages: /nsf (frameworks with national and regional progress), /nsf/{id} (a framework), /nsf/{id}/{commitment}
(trajectory chart and attainment table), /ratings and /ratings/{level}/{code} (a rating explained),
/plans (filings), /plans/new (the form an ICB analyst files with), /plans/{id} (a filing, its history and
review buttons), /plans/queue (the national review queue), /availability (availability gaps).
Every table downloads as CSV from /mission/download/{name}.csv with the same filters.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb
import pandas as pd
from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from jinja2 import ChoiceLoader, PackageLoader
from starlette.concurrency import run_in_threadpool

from uptake.errors import Conflict, UptakeError
from uptake.safe_cells import safe_frame
from uptake.mission.assessments import assessments_frame, availability_gap_report
from uptake.mission.framework_files import describe_diff
from uptake.mission.framework_repository import (
    framework_definition,
    framework_history,
    framework_version,
    list_frameworks,
    published_frameworks,
)
from uptake.mission.permissions import (
    FILING_TRANSITIONS,
    NotPermitted,
    Who,
    may_act_on_filing,
    may_see_framework,
    who_for,
)
from uptake.mission.plans import (
    ContentProblems,
    ReasonCategory,
    actor_role,
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
from uptake.mission.ratings import freshness, ratings_table
from uptake.mission.results import no_store
from uptake.mission.schemas import Framework
from uptake.mission.trajectory import trajectory_points
from uptake.results import read
from uptake.store.db import session_scope
from uptake.web.formatting import indicator_value, level_label, period_label
from uptake.web.mission import api
from uptake.web.mission.forms import FIELD_LABELS, content_from_form, field_errors, form_from_content
from uptake.web.params import date_param
from uptake.web.security import CSRF_FIELD, csrf_ok

router = APIRouter(tags=["mission pages"], include_in_schema=False)

STATUS_COLOURS = {"met": "green", "on-trajectory": "blue", "not-distinguishable": "grey",
                  "off-trajectory": "orange", "missed": "red"}
RATING_COLOURS = {"outstanding": "green", "good": "blue", "requires-improvement": "orange", "inadequate": "red"}


def mount(app: FastAPI) -> None:
    """Add the mission's API and pages to the web app, and its templates to the app's loader."""
    web = app.state.web
    web.templates.loader = ChoiceLoader([web.templates.loader, PackageLoader("uptake.web.mission", "templates")])

    web.templates.globals.update(status_colours=STATUS_COLOURS, rating_colours=RATING_COLOURS, actor_role=actor_role)
    app.include_router(api.router)
    app.include_router(router)


# --- plumbing ---------------------------------------------------------------------------------------------


def _web(request: Request) -> Any:
    return request.app.state.web


def _who(request: Request) -> Who:
    return who_for(_web(request).principal(request))


def _render(request: Request, template: str, **context: Any) -> Response:
    response = _web(request).render(request, template, nav="mission", **context)
    response.headers["cache-control"] = "private, no-store"
    return response


@contextmanager
def _results(request: Request) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor on the web's snapshot of the results (the pages never open the analytics store file);
    UptakeError when the workspace has no analytics store yet."""
    web = _web(request)
    path = web.workspace.analytics_path
    if not path.exists():
        raise no_store(path)
    with web.snapshots.cursor() as (_, cur):
        yield cur


def _freshness(request: Request, session) -> Any:
    try:
        with _results(request) as cur:
            return freshness(session, cur)
    except UptakeError:
        return freshness(session, None)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for row in out:
        for key, value in row.items():
            if isinstance(value, pd.Timestamp):
                row[key] = value.date()
    return out


def _csv(frame: pd.DataFrame, name: str) -> Response:
    """A mission table as a CSV download: nested values as JSON text, formula-like text neutralised."""
    buffer = io.StringIO()
    flat = frame.copy()
    for column in flat.columns:
        if flat[column].dtype == object and flat[column].map(lambda v: isinstance(v, (dict, list))).any():
            flat[column] = flat[column].map(lambda v: json.dumps(v, sort_keys=True, default=str))
    safe_frame(flat).to_csv(buffer, index=False)
    return Response(buffer.getvalue(), media_type="text/csv",
                    headers={"content-disposition": f'attachment; filename="{name}.csv"'})


# --- frameworks ---------------------------------------------------------------------------------------------


def _attainment(request: Request, **filters: Any) -> pd.DataFrame:
    """result_attainment rows matching the filters (uptake.results.read.attainment.attainment)."""
    try:
        with _results(request) as cur:
            return read.attainment.attainment(cur, **filters)
    except UptakeError:
        return pd.DataFrame()


def _latest_progress(attainment: pd.DataFrame) -> pd.DataFrame:
    """Per framework, commitment and level: organisations by status in the latest period."""
    if attainment.empty:
        return pd.DataFrame(columns=["framework", "commitment", "level", "period", "status", "organisations"])
    latest = attainment.groupby(["framework", "commitment", "level"])["period"].transform("max")
    rows = attainment.loc[attainment["period"] == latest]
    return (rows.groupby(["framework", "commitment", "level", "period", "status"]).size()
            .rename("organisations").reset_index())


@router.get("/nsf")
def nsf_index(request: Request) -> Response:
    who = _who(request)
    with session_scope(_web(request).engine) as session:
        summaries = [s for s in list_frameworks(session) if may_see_framework(who, s.status)]
        frameworks = [framework_definition(session, s.id) for s in summaries]
    progress = _latest_progress(_attainment(request))
    table: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in _records(progress):
        key = (row["framework"], row["commitment"], row["level"])
        entry = table.setdefault(key, {"period": row["period"], "counts": {}})
        entry["counts"][row["status"]] = row["organisations"]
    return _render(request, "mission/nsf_index.html", summaries=summaries, frameworks=frameworks, progress=table,
                   statuses=list(STATUS_COLOURS))


def _visible_framework(session, who: Who, framework_id: str):
    """The current version of a framework the person may see (404 otherwise: drafts are not public)."""
    try:
        row = framework_version(session, framework_id)
    except UptakeError:
        raise HTTPException(404, f"no framework {framework_id}") from None
    if not may_see_framework(who, row.status):
        raise HTTPException(404, f"no framework {framework_id}")
    return row


@router.get("/nsf/{framework_id}")
def nsf_page(request: Request, framework_id: str) -> Response:
    who = _who(request)
    with session_scope(_web(request).engine) as session:
        row = _visible_framework(session, who, framework_id)
        framework = Framework.model_validate(row.definition)
        history = [(v.version, v.status, v.loaded_at, v.loaded_by, describe_diff(v.changes))
                   for v in framework_history(session, framework_id) if may_see_framework(who, v.status)]
    regional = pd.DataFrame()
    store_rows = _attainment(request, framework=framework_id, level="icb")
    if not store_rows.empty:
        try:
            with _results(request) as cur:
                regions = read.organisations.icb_regions_frame(cur)
        except (UptakeError, duckdb.Error):
            regions = pd.DataFrame(columns=["org_code", "region", "region_name"])
        latest = store_rows.groupby("commitment")["period"].transform("max")
        merged = store_rows.loc[store_rows["period"] == latest].merge(regions, on="org_code", how="left")
        regional = (merged.groupby(["commitment", "region_name", "status"]).size().rename("icbs").reset_index())
    by_region: dict[str, dict[str, dict[str, int]]] = {}
    for item in _records(regional):
        by_region.setdefault(item["commitment"], {}).setdefault(item["region_name"] or "-", {})[item["status"]] = \
            item["icbs"]
    return _render(request, "mission/nsf.html", framework=framework, status=row.status, history=history,
                   by_region=by_region, statuses=list(STATUS_COLOURS))


def _commitment_chart(framework, commitment, attainment: pd.DataFrame, indicator, level: str) -> dict[str, Any]:
    scale = indicator.multiplier
    series = attainment.loc[attainment["level"] == level]
    traces: list[dict[str, Any]] = []
    if not series.empty:
        spread = series.groupby("as_of")["value"].quantile([0.1, 0.5, 0.9]).unstack()
        x = [str(d)[:10] for d in spread.index]
        traces += [
            {"type": "scatter", "mode": "lines", "name": "10th centile", "x": x, "y": list(spread[0.1] * scale),
             "line": {"width": 0}, "showlegend": False},
            {"type": "scatter", "mode": "lines", "name": "10th to 90th centile", "x": x, "y": list(spread[0.9] * scale),
             "fill": "tonexty", "line": {"width": 0}, "fillcolor": "rgba(0,94,184,0.15)"},
            {"type": "scatter", "mode": "lines+markers", "name": "median organisation", "x": x,
             "y": list(spread[0.5] * scale), "line": {"color": "#005eb8"}},
        ]
    points = trajectory_points(framework, commitment)
    traces.append({"type": "scatter", "mode": "lines+markers", "name": "trajectory",
                   "x": [p[0].isoformat() for p in points], "y": [p[1] * scale for p in points],
                   "line": {"color": "#007f3b", "dash": "dash"}})
    traces.append({"type": "scatter", "mode": "lines", "name": "minimum standard",
                   "x": [points[0][0].isoformat(), commitment.deadline.isoformat()],
                   "y": [commitment.minimum_standard * scale] * 2, "line": {"color": "#d5281b", "dash": "dot"}})
    return {"data": traces, "layout": {"height": 380, "margin": {"t": 20, "r": 10, "b": 40, "l": 50},
                                       "yaxis": {"title": {"text": indicator.unit}}, "legend": {"orientation": "h"}}}


#: Map colours of the attainment statuses (NHS identity colours, matching the status tags).
STATUS_MAP_COLOURS = {"met": "#007f3b", "on-trajectory": "#005eb8", "not-distinguishable": "#aeb7bd",
                      "off-trajectory": "#ed8b00", "missed": "#d5281b"}
MAP_LEVELS = ("icb", "sub-icb")
#: Rows of the attainment table a commitment page shows (weakest first); the download has them all.
COMMITMENT_ROWS = 300


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _geographic_parents(request: Request, level: str, codes: list[str]) -> pd.DataFrame:
    """For organisations with no boundary of their own (practices, stroke units, trusts): the sub-ICB (where
    the hierarchy reaches one) or ICB each belongs to now, following current relationships upwards."""
    try:
        with _results(request) as cur:
            links = read.organisations.current_links_frame(cur)
            names = read.organisations.names_frame(cur)
    except (UptakeError, duckdb.Error):
        return pd.DataFrame(columns=["org_code", "parent_code", "parent_level", "parent_name"])
    target = "sub-icb" if level in ("practice", "pcn") else "icb"
    frontier = pd.DataFrame({"org_code": codes, "code": codes, "level": level})
    found = []
    for _ in range(4):  # practice -> pcn -> sub-icb -> icb at most
        step = frontier.merge(links, left_on=["code", "level"], right_on=["child_code", "child_level"])
        if step.empty:
            break
        step = step[["org_code", "parent_code", "parent_level"]].rename(
            columns={"parent_code": "code", "parent_level": "level"})
        found.append(step.loc[step["level"] == target])
        frontier = step.loc[step["level"] != target]
    if not found:
        return pd.DataFrame(columns=["org_code", "parent_code", "parent_level", "parent_name"])
    parents = pd.concat(found).drop_duplicates("org_code").rename(
        columns={"code": "parent_code", "level": "parent_level"})
    return parents.merge(names.rename(columns={"code": "parent_code", "level": "parent_level",
                                               "name": "parent_name"}), how="left")


def _attainment_map(request: Request, framework, commitment, indicator, level: str,
                    latest: pd.DataFrame) -> tuple[dict[str, Any] | None, str]:
    """The map on a commitment page and a sentence on how it was drawn. ICBs and sub-ICB locations are
    coloured by their own status; organisations without a boundary (stroke units, practices) are summarised
    in the area that contains them: the share of them that met the commitment or are on trajectory."""
    if latest.empty:
        return None, ""
    period = latest["period"].iloc[0]
    when = period_label(period.date() if hasattr(period, "date") else period, indicator)
    if level in MAP_LEVELS:
        values = {
            r["org_code"]: {"category": r["status"], "name": r["org_name"] or r["org_code"],
                            "label": f"{r['status'].replace('-', ' ')}, {indicator_value(indicator, r['value'])}"}
            for r in _records(latest)
        }
        spec = {"geo": f"/geo/{level}.json", "values": values,
                "categories": [{"key": k, "label": k.replace("-", " ").capitalize(), "colour": c}
                               for k, c in STATUS_MAP_COLOURS.items()],
                "title": f"{_sentence(level_label(level, plural=True))} by status, {when}",
                "link": f"/ratings/{level}/"}
        how = (f"Each {level_label(level)} is coloured by its status in {when} (see the table below); white areas "
               "have no result.")
        return spec, how
    parents = _geographic_parents(request, level, latest["org_code"].tolist())
    if parents.empty:
        return None, ""
    joined = latest.merge(parents, on="org_code")
    joined["good"] = joined["status"].isin(["met", "on-trajectory"])
    area_level = joined["parent_level"].iloc[0]
    summary = joined.groupby(["parent_code", "parent_name"]).agg(good=("good", "sum"), n=("good", "size"))
    values = {
        code: {"v": 100.0 * row.good / row.n, "name": name or code,
               "label": f"{int(row.good)} of {int(row.n)} {level_label(level, plural=row.n != 1)} met or on trajectory"}
        for (code, name), row in summary.iterrows()
    }
    spec = {"geo": f"/geo/{area_level}.json", "values": values, "reverse": False, "suffix": "%", "range": [0, 100],
            "title": f"Share of {level_label(level, plural=True)} met or on trajectory, by {level_label(area_level)}, {when}",
            "link": "/organisations/"}
    how = (f"{_sentence(level_label(level, plural=True))} have no boundaries, so each {level_label(area_level)} is "
           f"shaded by the share of its {level_label(level, plural=True)} (by their current place in the "
           f"hierarchy) whose status in {when} is met or on trajectory; {len(joined):,} of {len(latest):,} "
           f"{level_label(level, plural=True)} are placed. White areas have none in scope.")
    return spec, how


@router.get("/nsf/{framework_id}/{commitment_id}")
def commitment_page(request: Request, framework_id: str, commitment_id: str, level: str | None = None) -> Response:
    who = _who(request)
    with session_scope(_web(request).engine) as session:
        row = _visible_framework(session, who, framework_id)
        fresh = _freshness(request, session)
    framework = Framework.model_validate(row.definition)
    try:
        commitment = framework.commitment(commitment_id)
    except KeyError:
        raise HTTPException(404, f"no commitment {commitment_id} in {framework_id}") from None
    indicator = _web(request).catalogue.indicator(commitment.indicator)
    levels = [lv.value for lv in commitment.scope.levels]
    level = level if level in levels else levels[0]
    attainment = _attainment(request, framework=framework_id, commitment=commitment_id)
    chart = _commitment_chart(framework, commitment, attainment, indicator, level)
    rows = attainment.loc[attainment["level"] == level] if not attainment.empty else attainment
    latest_period = rows["period"].max() if not rows.empty else None
    latest = rows.loc[rows["period"] == latest_period].sort_values(["rank", "value"]) if not rows.empty else rows
    attainment_map, how_map = _attainment_map(request, framework, commitment, indicator, level, latest)
    return _render(request, "mission/commitment.html", framework=framework, commitment=commitment,
                   indicator=indicator, levels=levels, level=level, chart=chart,
                   rows=_records(latest.head(COMMITMENT_ROWS)), total=len(latest),
                   attainment_map=attainment_map, how_map=how_map, freshness=fresh,
                   latest_period=latest_period.date() if latest_period is not None else None)


# --- ratings ----------------------------------------------------------------------------------------------


@router.get("/ratings")
def ratings_page(request: Request, level: str | None = None, period: str | None = None) -> Response:
    chosen = date_param(period)
    with session_scope(_web(request).engine) as session:
        all_published = ratings_table(session, with_trace=False)
        fresh = _freshness(request, session)
    frame = all_published
    if level:
        frame = frame.loc[frame["level"] == level]
    if chosen:
        frame = frame.loc[frame["period"] == chosen]
    years = sorted({p for p in all_published["period"]}, reverse=True) if not all_published.empty else []
    levels = sorted(set(all_published["level"])) if not all_published.empty else []
    summary = (frame.groupby(["level", "rating"]).size().unstack(fill_value=0) if not frame.empty else pd.DataFrame())
    shown = frame.drop(columns=["trace", "explanation"]).head(500) if not frame.empty else frame
    watch, missed = _rating_lists(request, level or None, date_param(period))
    return _render(request, "mission/ratings.html", rows=_records(shown), total=len(frame), level=level,
                   freshness=fresh, watch=_records(watch.head(200)), watch_total=len(watch),
                   missed=_records(missed.head(200)), missed_total=len(missed),
                   period=period, years=years, levels=levels,
                   summary={lv: dict(summary.loc[lv]) for lv in summary.index} if not summary.empty else {})


def _rating_lists(request: Request, level: str | None, rating_year: dt.date | None) -> tuple[pd.DataFrame,
                                                                                               pd.DataFrame]:
    """The decertification watch list (longest run below the minimum first) and the missed opportunities
    (most peers met first), for one level and rating year if given."""
    out = []
    for reader, order in ((read.attainment.watch_list, ["periods_below_minimum", "org_code"]),
                          (read.attainment.missed_opportunities, ["peers_met", "org_code"])):
        try:
            with _results(request) as cur:
                frame = reader(cur, level=level or None, rating_year=rating_year or None)
        except UptakeError:
            frame = pd.DataFrame()
        if not frame.empty:
            frame = frame.sort_values(order, ascending=[False, True]).reset_index(drop=True)
        out.append(frame)
    return out[0], out[1]


@router.get("/ratings/{level}/{org_code}")
def rating_page(request: Request, level: str, org_code: str) -> Response:
    who = _who(request)
    with session_scope(_web(request).engine) as session:
        published = ratings_table(session, level=level, org_code=org_code)
        drafts = pd.DataFrame()
        if who.role == "national-admin":
            try:
                with _web(request).snapshots.cursor() as (_, shown):  # runs of unpublished publications: hidden
                    drafts = ratings_table(session, who, status="all", level=level, org_code=org_code,
                                           results=shown)
            except UptakeError:  # no rating run yet: there are no drafts to show
                drafts = pd.DataFrame()
        fresh = _freshness(request, session)
    if published.empty and drafts.empty:
        raise HTTPException(404, f"no published rating for {level} {org_code}")
    return _render(request, "mission/rating.html", level=level, org_code=org_code, freshness=fresh,
                   ratings=_records(published.sort_values("period", ascending=False)),
                   drafts=_records(drafts.loc[drafts["status"] != "published"]) if not drafts.empty else [])


# --- comply or justify ------------------------------------------------------------------------------------


@router.get("/plans")
def plans_page(request: Request, icb: str | None = None, status: str | None = None) -> Response:
    who = _who(request)
    with session_scope(_web(request).engine) as session:
        visible = filings(session, who, icb_code=icb or None, status=status or None)
        missing = icbs_with_nothing_filed(session)
    nothing = sorted({(m.icb_code, m.icb_name) for m in missing if m.state == "nothing"})
    return _render(request, "mission/plans.html", filings=visible, missing=missing, icb=icb, status=status,
                   who=who, nothing=nothing)


@router.get("/plans/queue")
def queue_page(request: Request) -> Response:
    who = _who(request)
    with session_scope(_web(request).engine) as session:
        try:
            waiting = review_queue(session, who)
        except NotPermitted:
            raise HTTPException(403, "the review queue is for national reviewers") from None
    return _render(request, "mission/queue.html", filings=waiting, today=dt.date.today())


def _filing_choices(session) -> list[tuple[str, str, str]]:
    return [(f.id, c.id, f"{f.title}: {c.title}") for f in published_frameworks(session) for c in f.commitments
            if "icb" in [lv.value for lv in c.scope.levels]]


def _render_plan_form(request: Request, who: Who, choices, *, framework: str | None, commitment: str | None,
                      kind: str, form: dict[str, str], errors: list[tuple[str, str]] | None = None,
                      editing: bool = False, status_code: int = 200, version: int | None = None) -> Response:
    by_field: dict[str, list[str]] = {}
    for field, text in errors or []:
        by_field.setdefault(field, []).append(text)
    response = _render(request, "mission/plan_form.html", choices=choices, framework=framework,
                       commitment=commitment, kind=kind, icb=who.scope_org_code,
                       reasons=[r.value for r in ReasonCategory], errors=errors or [], field_errors=by_field,
                       labels=FIELD_LABELS, form=form, editing=editing, version=version,
                       version_for=f"{framework}/{commitment}")
    response.status_code = status_code
    return response


@router.get("/plans/new")
def plan_form(request: Request, framework: str | None = None, commitment: str | None = None,
              kind: str | None = None) -> Response:
    """The filing form; with a framework and commitment the ICB has already filed for (and may still edit),
    it starts from what was filed."""
    who = _who(request)
    if who.role != "icb-analyst":
        raise HTTPException(403, "plans and justifications are filed by an ICB's analyst")
    form: dict[str, str] = {}
    editing = False
    version = None  # opened for a commitment: the version saving expects (0: nothing filed yet)
    with session_scope(_web(request).engine) as session:
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
    who = await run_in_threadpool(_who, request)
    framework, _, commitment = form.get("commitment", "").partition("/")
    kind = form.get("kind", "plan")
    # The version the form was opened on counts only for the commitment it was opened for.
    expected = _form_version(form) if form.get("version_for") == f"{framework}/{commitment}" else None

    def save() -> int:
        with session_scope(_web(request).engine, write=True) as session:
            return save_filing(session, who, framework, commitment, who.scope_org_code or "", kind,
                               content_from_form(kind, form), expected_version=expected).id

    try:
        filing_id = await run_in_threadpool(save)
    except NotPermitted as exc:
        raise HTTPException(403, str(exc)) from None
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
            with session_scope(_web(request).engine) as session:
                return _filing_choices(session)

        return _render_plan_form(request, who, await run_in_threadpool(choices), framework=framework,
                                 commitment=commitment, kind=kind, form=form, errors=errors, status_code=status_code,
                                 version=expected)
    return RedirectResponse(f"/plans/{filing_id}", status_code=303)


#: The error summary of a form saved from a stale copy (optimistic locking: uptake.errors.Conflict).
STALE_FORM = ("Someone else changed this filing after you opened the form, so your changes were not saved. "
              "Reload to see their version: what you typed is still below, to copy into the new form.")


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
    who = _who(request)
    with session_scope(_web(request).engine) as session:
        try:
            filing = get_filing(session, who, filing_id)
        except UptakeError:
            raise HTTPException(404, f"there is no filing {filing_id}") from None
        history = filing_history(session, who, filing_id)
        tracked = None
        if filing.kind == "plan":
            try:
                with _results(request) as cur:
                    tracked = _records(plan_against_actual(session, cur, who, filing_id))
            except UptakeError:
                tracked = None
        steps = [a for a in FILING_TRANSITIONS if a not in ("create", "edit")
                 and may_act_on_filing(who, a, filing.icb_code, filing.status)]
        editable = may_act_on_filing(who, "edit", filing.icb_code, filing.status)
        titles = _commitment_titles(session, filing.framework_id, filing.commitment_key)
        response = _render(request, "mission/plan.html", filing=filing, history=history, tracked=tracked,
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
    who = await run_in_threadpool(_who, request)

    def step() -> None:
        with session_scope(_web(request).engine, write=True) as session:
            transition(session, who, filing_id, action, form.get("comment") or None,
                       expected_version=_form_version(form))

    try:
        await run_in_threadpool(step)
    except NotPermitted as exc:
        raise HTTPException(403, str(exc)) from None
    except UptakeError as exc:
        error, status_code = f"Could not {action}: {exc}", 400
        if isinstance(exc, Conflict):  # the page below shows the filing as it is now
            error = (f"Someone else changed this filing after you opened it, so your {action} was not recorded. "
                     "Reload: this page now shows their change; check it, then try again.")
            status_code = 409
        return await run_in_threadpool(lambda: _plan_view(request, filing_id, error=error,
                                                          comment=form.get("comment", ""), status_code=status_code))
    return RedirectResponse(f"/plans/{filing_id}", status_code=303)


# --- availability gaps and downloads -----------------------------------------------------------------------


@router.get("/availability")
def availability_page(request: Request, include_caught_up: bool = False) -> Response:
    with session_scope(_web(request).engine) as session:
        assessments = assessments_frame(session)
        try:
            with _results(request) as cur:
                gaps = availability_gap_report(session, cur, include_caught_up=include_caught_up)
        except UptakeError:
            gaps = pd.DataFrame()
    return _render(request, "mission/availability.html", assessments=_records(assessments),
                   gaps=_records(gaps.head(1000)) if not gaps.empty else [], total=len(gaps),
                   include_caught_up=include_caught_up)


@router.get("/mission/download/{name}.csv")
def download(request: Request, name: str, framework: str | None = None, commitment: str | None = None,
             level: str | None = None, period: str | None = None, include_caught_up: bool = False,
             org: str | None = None, queue: bool = False) -> Response:
    """CSV of a mission table, with the filters of the page it came from (what the page shows, no more)."""
    if name == "attainment":
        return _csv(_attainment(request, framework=framework or None, commitment=commitment or None,
                                level=level or None, org_code=org or None), "attainment")
    with session_scope(_web(request).engine) as session:
        if name == "ratings":
            return _csv(ratings_table(session, level=level or None, period=date_param(period), org_code=org or None),
                        "ratings")
        if name in ("watch-list", "missed-opportunities"):
            watch, missed = _rating_lists(request, level or None, date_param(period))
            return _csv(watch if name == "watch-list" else missed, name)
        if name == "gaps":
            with _results(request) as cur:
                return _csv(availability_gap_report(session, cur, include_caught_up=include_caught_up), "gaps")
        if name == "assessments":
            return _csv(assessments_frame(session), "assessments")
        if name == "filings":
            who = _who(request)
            if queue:
                try:
                    chosen = review_queue(session, who)
                except NotPermitted:
                    raise HTTPException(403, "the review queue is for national reviewers") from None
            else:
                chosen = filings(session, who)
            rows = [{"id": f.id, "icb_code": f.icb_code, "framework": f.framework_id, "commitment": f.commitment_key,
                     "kind": f.kind, "status": f.status, "revision": f.revision, "content": f.content,
                     "updated_at": f.updated_at} for f in chosen]
            return _csv(pd.DataFrame(rows, columns=["id", "icb_code", "framework", "commitment", "kind", "status",
                                                    "revision", "content", "updated_at"]), "filings")
    raise HTTPException(404, f"no table {name}")
