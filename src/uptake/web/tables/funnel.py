"""The funnel plot's points as a table: each organisation's value, denominator and funnel position (public)."""

from __future__ import annotations

from typing import Any

from uptake.results import read
from uptake.web.formatting import band_label, indicator_value, level_label, number, period_label
from uptake.web.params import date_param
from uptake.web.tables.base import Column, Context, DataTable
from uptake.web.tables.cells import org_link


def funnel(ctx: Context, indicator: str, level: str, period: Any = None):
    ind = ctx.indicator(indicator)
    day = date_param(period) or read.values.latest_period(ctx.cur, indicator, level)
    rows = read.funnel.funnel_points(ctx.cur, indicator, level, day) if day else []
    columns = [
        Column("org_name", "Organisation", fmt=lambda r: f"{r['org_name'] or r['org_code']} ({r['org_code']})",
               href=org_link),
        Column("value", "Value", fmt=lambda r: indicator_value(ind, r["value"]), numeric=True),
        Column("denominator", "Denominator", fmt=lambda r: number(r["denominator"]), numeric=True),
        Column("band", "Funnel position", fmt=lambda r: band_label(r["band"], r.get("side"))),
    ]
    return DataTable("funnel", f"Funnel plot data: {level_label(level, plural=True)}, {period_label(day, ind)}",
                     columns, rows, {"indicator": indicator, "level": level,
                                     "period": day.isoformat() if day else None})
