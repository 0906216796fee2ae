"""The adoption table: each organisation's first period above the adoption threshold and its adopter
category (public)."""

from __future__ import annotations

from uptake.results import read
from uptake.web.formatting import ADOPTER_LABELS, level_label, period_label
from uptake.web.tables.base import Column, Context, DataTable
from uptake.web.tables.cells import org_link


def adoption(ctx: Context, indicator: str, level: str, page: int = 1, per_page: int | None = None):
    ind = ctx.indicator(indicator)
    rows, total = read.adoption.adoption(ctx.cur, indicator=indicator, level=level, limit=per_page,
                                         offset=(max(page, 1) - 1) * per_page if per_page else 0)
    columns = [
        Column("org_name", "Organisation", fmt=lambda r: f"{r['org_name'] or r['org_code']} ({r['org_code']})",
               href=org_link),
        Column("first_adopted", "First period above the adoption threshold",
               fmt=lambda r: period_label(r["first_adopted"], ind) if r["first_adopted"] else "Not yet"),
        Column("category", "Adopter category", fmt=lambda r: ADOPTER_LABELS.get(r["category"], r["category"] or "-")),
    ]
    return DataTable("adoption", f"Adoption: {level_label(level, plural=True)}", columns, rows,
                     {"indicator": indicator, "level": level}, total)
