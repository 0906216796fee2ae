"""The deciles of a level in every period (public)."""

from __future__ import annotations

from uptake.results import read
from uptake.web.formatting import indicator_value, level_label, period_label
from uptake.web.tables.base import Column, Context, DataTable


def deciles(ctx: Context, indicator: str, level: str):
    ind = ctx.indicator(indicator)
    rows = read.deciles.deciles(ctx.cur, indicator, level)
    columns = [Column("period", "Period", fmt=lambda r: period_label(r["period"], ind))] + [
        Column(f"p{k}", f"{k}th percentile", fmt=lambda r, k=k: indicator_value(ind, r[f"p{k}"]), numeric=True)
        for k in (10, 20, 30, 40, 50, 60, 70, 80, 90)
    ]
    return DataTable("deciles", f"Deciles of {level_label(level, plural=True)}", columns, rows,
                     {"indicator": indicator, "level": level})
