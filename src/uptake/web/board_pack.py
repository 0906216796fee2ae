"""The board pack: one organisation's document for a board or a regulator, printed to PDF (uptake.web.pdf)
from the same templates, tables and charts as the pages. The web serves it at /organisations/{code}/pack.pdf
and ``uptake pack ORG`` writes it.

Its sections, in order (``SECTIONS``; each says plainly when it has nothing, never disappears):

1. Summary: what is worse than England and getting worse, worse, improving.
2. Area profile: every indicator against England, the spine chart and the trend.
3. Deciles charts: the organisation over the national deciles of its level, one chart per indicator.
4. Tartan rug (an area: ICB, region): its organisations on every indicator.
5. Commitments: each NSF commitment's latest status for the organisation (result_attainment).
6. Forecasts: each commitment's forecast (value at the deadline, when the target is reached, the probability
   of meeting the deadline) and the fitted curve on each indicator, when the forecasts' results exist (else
   "not yet available").
7. Innovation rating: the published rating with its explanation and the evidence (the rules as evaluated).
8. Plan: the comply-or-justify filings of its ICB that the reader may see.
9. Opportunity: what matching each benchmark would mean, in what each indicator counts and in pounds, and
   what closing the gap is worth in outcomes where the outcome models' results exist (for those whose role
   covers the organisation's innovation pack; others are told how to get it).

The pack is built for a principal (what they may see); the command line builds it as a national admin (the
operator of the workspace sees everything). A group's pack (issue 16's custom groups) will pass a group in
place of an organisation: every section reads through functions that take a code and a benchmark.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from fastapi import HTTPException

from uptake import ATTRIBUTION
from uptake.errors import UptakeError
from uptake.mission.framework_repository import framework_version
from uptake.mission.permissions import who_for
from uptake.mission.plans import filings
from uptake.mission.schemas import Framework
from uptake.mission.ratings import ratings_table
from uptake.results import read
from uptake.store.db import session_scope
from uptake.web import svg
from uptake.web.access import Principal
from uptake.web.methods import METHODS
from uptake.web.profile_context import profile_context
from uptake.web.pdf import css_string, print_styles
from uptake.web.tables.base import Context
from uptake.web.tables.forecasts import org_forecast_targets, org_forecasts
from uptake.web.tables.opportunity import org_opportunity
from uptake.web.tables.profile import with_benchmark_series
from uptake.web.tables.outcomes import org_outcomes

#: (anchor, heading) of every section, in order: the template writes these headings, the tests look for them
SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "Summary"),
    ("profile", "Area profile"),
    ("deciles", "Deciles charts"),
    ("rug", "Tartan rug"),
    ("commitments", "Commitments"),
    ("forecasts", "Forecasts"),
    ("rating", "Innovation rating"),
    ("plan", "Plan"),
    ("opportunity", "Opportunity"),
)
#: the sections of a custom group's pack (``render_group_pack``), in order
GROUP_SECTIONS: tuple[tuple[str, str], ...] = (
    ("members", "Members"),
    ("pooled", "Pooled figures against England"),
    ("per-member", "Each member on every indicator"),
)
#: the forecasts' result tables (issue 13); until they are computed the section says "not yet available"
FORECAST_TABLES = ("result_forecast_fits", "result_forecasts", "result_forecast_targets")
#: an operator at the command line sees every section
OPERATOR = Principal(role="national-admin", user_id=0, name="uptake pack (command line)", org_scope=None)


def pack_filename(code: str, benchmark: str | None = None) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in code)
    if benchmark and benchmark != "england":
        safe += "-vs-" + "".join(ch if ch.isalnum() else "-" for ch in benchmark)
    return f"uptake-board-pack-{safe}.pdf"


def render_board_pack(web: Any, code: str, principal: Principal, *, now: dt.datetime | None = None,
                      benchmark: str | None = None, any_group: bool = False) -> str:
    """The board pack's HTML (a whole, self-contained document for uptake.web.pdf.html_to_pdf), against the
    benchmark chosen (uptake.results.benchmark; England by default)."""
    with web.snapshots.cursor() as (snapshot, cur):
        tctx = Context(cur, web.catalogue, principal, web.engine, any_group=any_group)
        ctx = profile_context(snapshot, tctx, code, benchmark=benchmark)
        org = ctx["org"]
        ctx["deciles"] = _deciles(snapshot, tctx, org, ctx.get("profile_rows") or [], ctx["bench"])
        ctx["commitments"] = _commitments(snapshot, cur, code)
        ctx["forecasts"] = _forecasts(snapshot, tctx, code)
        ctx["opportunity"] = _opportunity(snapshot, tctx, principal, org)
        ctx["publication"] = snapshot.publication
        runs = read.runs.pipeline_runs(cur, limit=1) if snapshot.has("pipeline_runs") else []
        ctx["run"] = runs[0] if runs else None
        ratings, plans = _workflow(web, principal, org, ctx["parents"], ctx["commitments"])
    template = web.templates.get_template("board_pack.html")
    title = f"Uptake board pack: {org['name']} ({code})"  # the footer: short, so "Page N of M" stays whole
    return template.render(
        **ctx, ratings=ratings, plans=plans, sections=SECTIONS, principal=principal,
        doc_title=title, print_styles=print_styles(web.assets), css_string=css_string,
        generated=(now or dt.datetime.now(dt.timezone.utc)), attribution=ATTRIBUTION,
        pack_methods={k: METHODS[k] for k in ("deciles_chart", "opportunity", "forecast", "outcomes")
                      if k in METHODS},
        synthetic_anywhere=_synthetic_anywhere(ctx, ratings))


def group_pack_filename(group_id: int, title: str) -> str:
    safe = "".join(ch if ch.isalnum() else "-" for ch in title.lower()).strip("-")[:40] or "group"
    return f"uptake-group-pack-{group_id}-{safe}.pdf"


def render_group_pack(web: Any, group: Any, figures: list[dict], principal: Principal, *,
                      now: dt.datetime | None = None) -> str:
    """A custom group's pack (issue 16 item 7, "and per group"): its members, its pooled figures against
    England (uptake.results.pooling, compared by the interval rule) and each member on every indicator, from
    the group page's own figures (uptake.web.groups.figures_of). Sections: ``GROUP_SECTIONS``."""
    codes = [m.org_code for m in group.members]
    with web.snapshots.cursor() as (snapshot, cur):
        names = read.organisations.organisation_names(cur, codes) if snapshot.has("organisations") else {}
        publication = snapshot.publication
        runs = read.runs.pipeline_runs(cur, limit=1) if snapshot.has("pipeline_runs") else []
    members = [{"code": c, "name": names.get(c, c)} for c in codes]
    title = f"Uptake board pack: {group.title} (custom group of {len(codes)})"
    template = web.templates.get_template("groups/pack.html")
    return template.render(
        group=group, members=members, figures=figures, sections=GROUP_SECTIONS, principal=principal,
        doc_title=title, print_styles=print_styles(web.assets), css_string=css_string,
        generated=(now or dt.datetime.now(dt.timezone.utc)), attribution=ATTRIBUTION,
        publication=publication, run=runs[0] if runs else None,
        synthetic_anywhere=any(f.get("synthetic") for f in figures))


def _deciles(snapshot, tctx: Context, org: dict, profile_rows: list[dict], bench: Any = None) -> list[dict]:
    """A deciles chart per indicator of the profile (one query for them all; and one per indicator for the
    benchmark's line when it is not England)."""
    if not snapshot.has("result_deciles") or org["level"] == "england":
        return []
    found = read.profile.org_deciles(tctx.cur, org["code"], org["level"])
    by_indicator: dict[str, list[dict]] = {}
    for row in found:
        by_indicator.setdefault(row["indicator"], []).append(row)
    out = []
    for row in profile_rows:
        ind = tctx.catalogue.indicators.get(row["indicator"])
        series = by_indicator.get(row["indicator"])
        if ind is None or not series:
            continue
        line = None
        if bench is not None and not bench.is_england:
            series, line = with_benchmark_series(tctx, ind, series, bench), bench.label
        out.append({"indicator": ind, "latest": row, "chart": svg.deciles_chart(
            ind, org["name"], org["level"], series, chart_id=f"deciles-{ind.id}", width=520, height=250,
            benchmark_line=line)})
    return out


def _commitments(snapshot, cur, code: str) -> list[dict]:
    """Each commitment's latest attainment row for the organisation (empty until ratings are computed)."""
    if not snapshot.has("result_attainment"):
        return []
    frame = read.attainment.attainment(cur, org_code=code, ordered=True)
    if frame.empty:
        return []
    latest = frame.sort_values("period").groupby(["framework", "commitment", "level"], as_index=False).tail(1)
    latest = latest.astype(object).where(latest.notna(), None)
    return latest.sort_values(["framework", "commitment"]).to_dict("records")


def _forecasts(snapshot, tctx: Context, code: str) -> dict[str, Any] | None:
    """The organisation's forecast for each commitment it is in and its curve on each indicator (the
    organisation page's tables), or None while the forecasts are not computed."""
    if not all(snapshot.has(t) for t in FORECAST_TABLES):
        return None
    return {"targets": org_forecast_targets(tctx, code), "fits": org_forecasts(tctx, code)}


def _opportunity(snapshot, tctx: Context, principal: Principal, org: dict) -> dict[str, Any]:
    if not snapshot.has("result_opportunity"):
        return {"state": "none"}
    if not principal.may_see_org_pack(org["code"]) and principal.role != "innovator":
        return {"state": "restricted"}
    table = org_opportunity(tctx, org["code"])
    outcomes = None
    if snapshot.has("result_outcomes"):
        try:
            outcomes = org_outcomes(tctx, org["code"])
        except HTTPException:  # no indicator of the pack the principal may see
            outcomes = None
    return {"state": "shown" if table.rows else "none", "table": table, "outcomes": outcomes}


def _workflow(web: Any, principal: Principal, org: dict, parents: list[dict],
              commitments: list[dict]) -> tuple[list[dict], list[dict]]:
    """The published ratings of the organisation, and the filings of its ICB the principal may see, from the
    workflow database; the titles of the frameworks and commitments of the filings and of ``commitments``
    (written into their rows as ``framework_title`` and ``commitment_title``)."""
    who = who_for(principal)
    icb = org["code"] if org["level"] == "icb" else next((p["code"] for p in parents if p["level"] == "icb"), None)
    with session_scope(web.engine) as session:
        try:
            frame = ratings_table(session, level=org["level"], org_code=org["code"])
        except UptakeError:
            frame = pd.DataFrame()
        ratings = [] if frame.empty else _records(frame.sort_values("period", ascending=False))
        found = filings(session, who, icb_code=icb) if icb else []
        titles: dict[tuple[str, str], tuple[str, str]] = {}

        def title(framework_id: str, key: str) -> tuple[str, str]:
            if (framework_id, key) not in titles:
                try:
                    framework = Framework.model_validate(framework_version(session, framework_id).definition)
                    titles[framework_id, key] = (framework.title, framework.commitment(key).title)
                except (UptakeError, KeyError):
                    titles[framework_id, key] = (framework_id, key)
            return titles[framework_id, key]

        plans = []
        for f in found:
            framework_title, commitment_title = title(f.framework_id, f.commitment_key)
            plans.append({"id": f.id, "framework": f.framework_id, "commitment": f.commitment_key,
                          "framework_title": framework_title, "commitment_title": commitment_title,
                          "kind": f.kind, "status": f.status, "revision": f.revision, "content": f.content,
                          "updated_at": f.updated_at, "icb_code": f.icb_code})
        for row in commitments:
            row["framework_title"], row["commitment_title"] = title(row["framework"], row["commitment"])
    return ratings, plans


def _records(frame: pd.DataFrame) -> list[dict]:
    out = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for row in out:
        for key, value in row.items():
            if isinstance(value, pd.Timestamp):
                row[key] = value.date()
    return out


def _synthetic_anywhere(ctx: dict, ratings: list[dict]) -> bool:
    rows = ctx.get("profile_rows") or []
    return (any(r.get("synthetic") for r in rows) or any(r.get("synthetic") for r in ratings)
            or any(r.get("synthetic") for r in ctx.get("commitments") or []))

