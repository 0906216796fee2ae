"""The innovation page's opportunity sections: the national totals (public) with their headline, and each
organisation's opportunity for a signed-in user who may see the innovation (restricted to the organisations
the role covers)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from uptake.catalogue.schemas import Indicator
from uptake.models.outcomes.registry import model_for
from uptake.results import read
from uptake.web.formatting import count_plural, denominator_plural, unit_cost_text
from uptake.web.pages.common import how
from uptake.web.tables.base import Context
from uptake.web.tables.opportunity import opportunity, opportunity_totals


def opportunity_totals_section(cur, tctx: Context, ind: Indicator, day: dt.date | None, inputs: dict,
                               level: str | None = None) -> dict[str, Any]:
    return {
        "opportunity_totals": opportunity_totals(tctx, ind.id),
        **national_headline(cur, ind, level),
        "how_opportunity": how(cur, ind, ["opportunity", *(["outcomes"] if model_for(ind.id) else [])], {
            **inputs,
            "Counted in": f"{count_plural(ind)} (the numerator; the denominator counts {denominator_plural(ind)})",
            "Unit cost": unit_cost_text(ind)}, day),
    }


def national_headline(cur, ind: Indicator, level: str | None) -> dict[str, Any]:
    """The headline national opportunity, as the home page gives it: the top-decile benchmark in the latest
    complete period (never a provisional one), at ``level`` when it has one, else at the indicator's own."""
    provisional = read.runs.provisional_periods(cur, ind.id)
    rows = [r for r in read.opportunity.latest_national_opportunity(cur, ind.id, provisional)
            if r["benchmark"] == "top-decile"]
    by_level = {r["level"]: r for r in rows}
    for candidate in (level, *(lv.value for lv in ind.levels)):
        if candidate in by_level:
            return {"opportunity_headline": by_level[candidate], "opportunity_headline_level": candidate}
    return {}


def opportunity_section(tctx: Context, ind: Indicator, level: str, day: dt.date | None) -> dict[str, Any]:
    principal = tctx.principal
    if not (principal.signed_in and day and principal.may_see_innovation(ind.innovation)):
        return {}
    return {"opportunity": opportunity(tctx, ind.id, level, day, benchmark="top-decile", per_page=25)}
