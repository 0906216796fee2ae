"""One organisation's SPC chart as a table: values, mean, process limits and special causes (public)."""

from __future__ import annotations

from uptake.results import read
from uptake.web.formatting import indicator_value, period_label
from uptake.web.tables.base import Column, Context, DataTable


def spc(ctx: Context, code: str, indicator: str):
    org = ctx.organisation(code)
    ind = ctx.indicator(indicator)
    rows = read.spc.spc(ctx.cur, indicator, org["level"], code)
    columns = [
        Column("period", "Period", fmt=lambda r: period_label(r["period"], ind)),
        Column("value", "Value", fmt=lambda r: indicator_value(ind, r["value"]), numeric=True),
        Column("centre", "Mean", fmt=lambda r: indicator_value(ind, r["centre"]), numeric=True),
        Column("lower", "Lower process limit", fmt=lambda r: indicator_value(ind, r["lower"]), numeric=True),
        Column("upper", "Upper process limit", fmt=lambda r: indicator_value(ind, r["upper"]), numeric=True),
        Column("special_cause", "Special cause",
               fmt=lambda r: "-" if r["special_cause"] in (None, "common-cause")
               else f"{r['special_cause'].capitalize()} ({r['rule'] or 'rule'})"),
    ]
    return DataTable("spc", f"SPC: {org['name']}, {ind.title}", columns, rows, {"code": code, "indicator": indicator})
