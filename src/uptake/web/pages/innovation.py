"""The innovation page: an indicator of the innovation at one level and period, in sections per family of
results (values, funnel, opportunity, adoption, changes, equity: see ``sections``); filters answer with the
results fragment alone to htmx."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from uptake.catalogue.schemas import Indicator
from uptake.results import read
from uptake.web.formatting import level_label, period_label
from uptake.web.pages.common import SHARE_ONLY_NOTE, levels_with_results, partial, web_of
from uptake.web.pages.sections.adoption import adoption_section
from uptake.web.pages.sections.forecast import forecast_section
from uptake.web.pages.sections.changes import changes_section
from uptake.web.pages.sections.equity import equity_section
from uptake.web.pages.sections.funnel import funnel_section
from uptake.web.pages.sections.improvement import improvement_section
from uptake.web.pages.sections.opportunity import opportunity_section, opportunity_totals_section
from uptake.web.pages.sections.outcomes import outcomes_section
from uptake.web.pages.sections.values import values_sections
from uptake.web.params import date_param
from uptake.web.tables.base import Context

router = APIRouter(include_in_schema=False)


@router.get("/innovations")
def innovations(request: Request) -> Response:
    return RedirectResponse("/", status_code=303)


@router.get("/innovations/{innovation_id}")
async def innovation(
    request: Request,
    innovation_id: str,
    indicator: str | None = None,
    level: str | None = None,
    period: str | None = None,
    since: Annotated[str | None, Query(description="start of the improvement ranking (YYYY-MM-DD)")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    web = web_of(request)
    item = web.catalogue.innovations.get(innovation_id)
    if item is None:
        raise HTTPException(404, f"no innovation {innovation_id!r}")
    own = [i for i in web.catalogue.indicators.values() if i.innovation == innovation_id]
    if indicator is not None and indicator not in {i.id for i in own}:
        raise HTTPException(404, f"innovation {innovation_id} has no indicator {indicator!r}")

    def build() -> Response:
        with web.snapshots.cursor() as (snapshot, cur):
            ctx = _innovation_context(web, request, snapshot, cur, item, own, indicator, level, period, page,
                                      since)
        template = "partials/innovation_results.html" if partial(request) else "innovation.html"
        return web.render(request, template, **ctx)

    return await web.cached_page(request, build)


def _innovation_context(web, request, snapshot, cur, item, own, indicator, level, period, page,
                        since=None) -> dict:
    ctx: dict[str, Any] = {"innovation": item, "indicators": own, "nav": "home", "results": None}
    if not snapshot.has("result_values") or not own:
        return ctx
    with_results = [i for i in own if levels_with_results(cur, i.id)]
    ind = web.catalogue.indicators[indicator] if indicator else (with_results[0] if with_results else own[0])
    levels = [r["level"] for r in levels_with_results(cur, ind.id) if r["level"] != "england"]
    ctx.update(indicator=ind, levels=levels)
    if not levels:
        return ctx
    default_level = next((lv.value for lv in ind.levels if lv.value in levels), levels[0])
    level = level or default_level
    if level not in levels:
        raise HTTPException(404, f"indicator {ind.id} has no results for level {level!r}")
    periods = read.values.periods(cur, ind.id, level)
    day = date_param(period) or (periods[-1] if periods else None)
    if day is not None and day not in periods:  # e.g. the level changed: the nearest earlier period
        day = max((p for p in periods if p <= day), default=periods[-1] if periods else None)
    tctx = Context(cur, web.catalogue, web.principal(request))
    ctx["results"] = _results(snapshot, cur, tctx, ind, level, levels, periods, day, page, date_param(since))
    return ctx


def _results(snapshot, cur, tctx: Context, ind: Indicator, level: str, levels: list[str], periods: list[dt.date],
             day: dt.date | None, page: int, since: dt.date | None = None) -> dict[str, Any]:
    """Every section of the chosen indicator, level and period that the workspace has results for."""
    values_rows, _ = read.values.values(cur, indicator=ind.id, level=level, period=day)
    inputs = {
        "Indicator": f"{ind.title} ({ind.id})",
        "Numerator": ind.numerator,
        "Denominator": ind.denominator,
        "Organisations": f"{len(values_rows):,} {level_label(level, plural=True)}",
        "Period": period_label(day, ind),
    }
    results: dict[str, Any] = {"level": level, "period": day, "periods": periods,
                               "share_only": SHARE_ONLY_NOTE if ind.share_only else None}
    if ind.share_only:
        inputs["Numerator"] = f"{ind.numerator} (share-only: no counts published)"
    results.update(values_sections(cur, snapshot, tctx, ind, level, levels, day, page, values_rows, inputs))
    if snapshot.has("result_funnel") and day and not ind.share_only:
        results.update(funnel_section(cur, snapshot, tctx, ind, level, day, inputs))
    if snapshot.has("result_opportunity_totals") and not ind.share_only:
        results.update(opportunity_totals_section(cur, tctx, ind, day, inputs, level))
    if snapshot.has("result_opportunity") and not ind.share_only:
        results.update(opportunity_section(tctx, ind, level, day))
    if snapshot.has("result_outcomes"):
        results.update(outcomes_section(cur, tctx, ind, level, day, inputs, snapshot.has("result_impact")))
    if snapshot.has("result_adoption"):
        results.update(adoption_section(cur, tctx, ind, level, inputs))
    if snapshot.has("result_forecast_fits"):
        results.update(forecast_section(cur, tctx, ind, level, inputs))
    if snapshot.has("result_changes") and day:
        results.update(changes_section(cur, snapshot, tctx, ind, level, day, inputs))
    results.update(improvement_section(cur, tctx, ind, level, periods, day, since, inputs))
    if snapshot.has("result_equity"):
        results.update(equity_section(cur, tctx, ind, level, levels, day, inputs))
    return results
