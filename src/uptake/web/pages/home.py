"""The home page: every innovation, each indicator's latest national value, its spread and its opportunity."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from uptake.catalogue.schemas import Indicator
from uptake.results import read
from uptake.web.pages.common import levels_with_results, web_of

router = APIRouter(include_in_schema=False)


@router.get("/")
async def home(request: Request) -> Response:
    web = web_of(request)

    def build() -> Response:
        with web.snapshots.cursor() as (snapshot, cur):
            has_results = snapshot.has("result_values")
            summaries = []
            for innovation in web.catalogue.innovations.values():
                indicators = [i for i in web.catalogue.indicators.values() if i.innovation == innovation.id]
                rows = [_indicator_summary(cur, snapshot, ind) for ind in indicators] if has_results else []
                summaries.append({"innovation": innovation, "indicators": [r for r in rows if r]})
            counts = ({r["level"]: r["n"] for r in read.organisations.level_counts(cur)}
                      if snapshot.has("organisations") else {})
        return web.render(request, "home.html", summaries=summaries, counts=counts, has_results=has_results,
                          nav="home")

    return await web.cached_page(request, build)


def _indicator_summary(cur, snapshot, ind: Indicator) -> dict | None:
    levels = levels_with_results(cur, ind.id)
    if not levels:
        return None
    england = read.values.headline_series(cur, ind.id)  # the latest complete period, never a partial one
    provisional = read.runs.provisional_periods(cur, ind.id)
    latest = england[-1] if england else None
    earlier = england[-13] if len(england) >= 13 else (england[0] if england else None)
    decile_level = next((lv.value for lv in ind.levels if any(r["level"] == lv.value for r in levels)), None)
    spread = read.deciles.deciles_at(cur, ind.id, decile_level, latest["period"]) if latest and decile_level and \
        snapshot.has("result_deciles") else None
    opportunity = []
    if snapshot.has("result_opportunity_totals"):
        opportunity = [r for r in read.opportunity.latest_national_opportunity(cur, ind.id, provisional)
                       if r["level"] == decile_level and r["benchmark"] == "top-decile"]
    return {
        "indicator": ind, "latest": latest, "earlier": earlier, "spread": spread, "decile_level": decile_level,
        "opportunity": opportunity[0] if opportunity else None,
        "trend": [r["value"] for r in england[-24:]],
        "provisional": [p for p in provisional if latest is None or p > latest["period"]],
    }
