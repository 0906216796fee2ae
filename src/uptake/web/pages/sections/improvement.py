"""The innovation page's improvement ranking: organisations ranked by the change in their value from a chosen
start period to the page's period, with the change's interval."""

from __future__ import annotations

import datetime as dt
from typing import Any

from uptake.catalogue.schemas import Indicator
from uptake.web.pages.common import how
from uptake.web.tables.base import Context
from uptake.web.tables.improvement import METHOD, default_start, improvement

PAGE_ROWS = 25


def improvement_section(cur, tctx: Context, ind: Indicator, level: str, periods: list[dt.date], day: dt.date | None,
                        since: dt.date | None, inputs: dict) -> dict[str, Any]:
    if day is None:
        return {}
    choices = [p for p in periods if p < day]
    start = since if since in choices else default_start(periods, day, ind)
    out: dict[str, Any] = {"improvement_choices": choices, "improvement_start": start}
    if start is None:
        out["improvement"] = None
        return out
    table = improvement(tctx, ind.id, level, start.isoformat(), day.isoformat(), per_page=PAGE_ROWS)
    out["improvement"] = table
    out["how_improvement"] = how(cur, ind, ["improvement", "value"],
                                 {**inputs, "From": start.isoformat(), "To": day.isoformat(),
                                  "Method": METHOD[ind.measure]}, day)
    return out
