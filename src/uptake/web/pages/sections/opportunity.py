"""The innovation page's opportunity sections: the national totals (public), and each organisation's
opportunity for a signed-in user who may see the innovation (restricted to the organisations the role covers)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from uptake.catalogue.schemas import Indicator
from uptake.web.pages.common import how
from uptake.web.tables.base import Context
from uptake.web.tables.opportunity import opportunity, opportunity_totals


def opportunity_totals_section(cur, tctx: Context, ind: Indicator, day: dt.date | None,
                               inputs: dict) -> dict[str, Any]:
    return {
        "opportunity_totals": opportunity_totals(tctx, ind.id),
        "how_opportunity": how(cur, ind, ["opportunity"], {
            **inputs, "Unit cost": f"£{ind.unit_cost:,.0f} per patient" if ind.unit_cost else "not defined"}, day),
    }


def opportunity_section(tctx: Context, ind: Indicator, level: str, day: dt.date | None) -> dict[str, Any]:
    principal = tctx.principal
    if not (principal.signed_in and day and principal.may_see_innovation(ind.innovation)):
        return {}
    return {"opportunity": opportunity(tctx, ind.id, level, day, benchmark="top-decile", per_page=25)}
