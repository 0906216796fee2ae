"""The organisations directory: organisations found by name or code, of one level or every level (public)."""

from __future__ import annotations

from uptake.results import read
from uptake.web.formatting import level_label, number
from uptake.web.tables.base import Column, Context, DataTable


def organisations(ctx: Context, text: str | None = None, level: str | None = None, page: int = 1,
                  per_page: int | None = None):
    limit = per_page or 100_000
    rows, total = read.organisations.search_organisations(ctx.cur, text, level, limit,
                                                          (max(page, 1) - 1) * (per_page or 0))
    columns = [
        Column("name", "Name", href=lambda r: f"/organisations/{r['code']}"),
        Column("code", "Code"),
        Column("level", "Type", fmt=lambda r: level_label(r["level"])),
        Column("imd_quintile", "Deprivation quintile (1 = most deprived)", numeric=True),
        Column("population", "Population or list size", fmt=lambda r: number(r["population"]), numeric=True),
    ]
    return DataTable("organisations", "Organisations", columns, rows, {"q": text, "level": level}, total)
