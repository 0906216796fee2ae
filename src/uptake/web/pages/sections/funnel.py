"""The innovation page's funnel plot: each organisation's value against its denominator, with the limits."""

from __future__ import annotations

import datetime as dt
from typing import Any

from uptake.catalogue.schemas import Indicator
from uptake.results import read
from uptake.web import charts
from uptake.web.formatting import indicator_value
from uptake.web.pages.common import how
from uptake.web.tables.base import Context
from uptake.web.tables.funnel import funnel


def funnel_section(cur, snapshot, tctx: Context, ind: Indicator, level: str, day: dt.date,
                   inputs: dict) -> dict[str, Any]:
    points = read.funnel.funnel_points(cur, ind.id, level, day)
    curve = read.funnel.funnel_curve(cur, ind.id, level, day) if snapshot.has("result_funnel_curve") else []
    summary = (read.funnel.funnel_summary(cur, ind.id, level, day) if snapshot.has("result_funnel_summary")
               else None)
    centre = summary["benchmark"] if summary else next(
        (r["value"] for r in read.values.series(cur, ind.id, "england") if r["period"] == day), None)
    out: dict[str, Any] = {}
    out["funnel"] = charts.funnel(ind, level, day, points, curve, centre) if points else None
    out["funnel_summary"] = summary
    out["funnel_table"] = funnel(tctx, ind.id, level, day)
    funnel_inputs = dict(inputs)
    if summary:
        funnel_inputs["Limits"] = summary["method"] + (
            f" (overdispersion adjusted: phi {summary['phi']:.2f}, tau² {summary['tau2']:.2g})"
            if summary["overdispersion_adjusted"] else "")
        funnel_inputs["Centre (England)"] = indicator_value(ind, summary["benchmark"])
        if summary["warnings"]:
            funnel_inputs["Warnings"] = summary["warnings"]
    out["how_funnel"] = how(cur, ind, ["funnel", "value"], funnel_inputs, day)
    return out
