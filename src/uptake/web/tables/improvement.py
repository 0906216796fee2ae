"""The improvement ranking (public): organisations ranked by the change in their value between two periods, with
the change's 95% interval (Newcombe's for proportions, the normal approximation for rates; none for share-only
indicators), largest improvement first; shared by the innovation page, its download and /api/v1/improvement."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
from fastapi import HTTPException

from uptake.catalogue.schemas import Indicator, Measure, Polarity
from uptake.results import read
from uptake.stats import improvement_verdict, newcombe_difference, rate_difference
from uptake.web.formatting import indicator_value, level_label, period_label
from uptake.web.params import date_param
from uptake.web.tables.base import Column, Context, DataTable
from uptake.web.tables.cells import org_link, signed

#: how far back the ranking looks by default: a year of periods
DEFAULT_SPAN = {"month": 12, "quarter": 4, "year": 1}
#: the columns of a ranking row (API and downloads), in order
ROW_KEYS = ("rank", "org_code", "org_name", "period_start", "period_end", "value_start", "value_end", "change",
            "change_low", "change_high", "verdict", "numerator_start", "denominator_start", "numerator_end",
            "denominator_end")

METHOD = {
    Measure.PROPORTION: "difference of two proportions, Newcombe's hybrid score interval (95%)",
    Measure.RATE: "difference of two Poisson rates, normal approximation (95%)",
    Measure.SHARE_ONLY: "difference of the published values; no interval (share-only: no counts published)",
}


def default_start(periods: list[dt.date], end: dt.date, ind: Indicator) -> dt.date | None:
    """A year before ``end`` among the periods with results (the earliest if fewer); None when ``end`` is the
    first period."""
    earlier = [p for p in periods if p < end]
    if not earlier:
        return None
    span = DEFAULT_SPAN.get(ind.period.value, 12)
    return earlier[-span] if len(earlier) >= span else earlier[0]


def ranking(ctx: Context, ind: Indicator, level: str, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    """Every organisation of ``level`` with a value in both periods (and eligible in both), ranked by the change
    from ``start`` to ``end``: largest improvement first by polarity (largest rise without one)."""
    if start >= end:
        raise HTTPException(422, f"the ranking's start ({start.isoformat()}) must be before its end "
                                 f"({end.isoformat()})")
    # an organisation whose counts or values are not finite numbers (data that need checking) cannot be ranked
    keys = ("numerator_start", "denominator_start", "numerator_end", "denominator_end", "value_start", "value_end")
    found = [r for r in read.values.values_at_two_periods(ctx.cur, ind.id, level, start, end)
             if r["eligible"] and all(r[k] is not None and math.isfinite(r[k]) for k in keys)]
    if not found:
        return []
    x1, n1, x2, n2 = (np.array([r[k] for r in found], dtype=float) for k in
                      ("numerator_start", "denominator_start", "numerator_end", "denominator_end"))
    if ind.measure == Measure.PROPORTION:
        change, low, high = newcombe_difference(x1, n1, x2, n2)
    elif ind.measure == Measure.RATE:
        change, low, high = rate_difference(x1, n1, x2, n2)
    else:  # share-only: the difference of the published values, no interval
        change = np.array([r["value_end"] - r["value_start"] for r in found], dtype=float)
        low = high = np.full(change.shape, np.nan)
    verdicts = improvement_verdict(low, high, ind.polarity.value)
    sign = -1.0 if ind.polarity == Polarity.LOW_IS_GOOD else 1.0
    order = sorted(range(len(found)), key=lambda i: (-sign * change[i], found[i]["org_code"]))
    out = []
    for rank, i in enumerate(order, start=1):
        r = found[i]
        out.append({
            "rank": rank, "org_code": r["org_code"], "org_name": r["org_name"], "period_start": start,
            "period_end": end, "value_start": r["value_start"], "value_end": r["value_end"],
            "change": float(change[i]), "change_low": _f(low[i]), "change_high": _f(high[i]),
            "verdict": verdicts[i], "numerator_start": r["numerator_start"],
            "denominator_start": r["denominator_start"], "numerator_end": r["numerator_end"],
            "denominator_end": r["denominator_end"],
        })
    return out


def _f(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def change_text(ind: Indicator, value: Any) -> str:
    """A change in the indicator's display units: '+4.9 percentage points', '−1.2 per 1,000 patients'."""
    if value is None:
        return "-"
    unit = "percentage points" if ind.unit == "%" else ind.unit
    return f"{signed(value * ind.multiplier)} {unit}"


def _interval_text(ind: Indicator, row: dict) -> str:
    if row["change_low"] is None:
        return "no interval" if ind.share_only else "-"
    return f"{signed(row['change_low'] * ind.multiplier)} to {signed(row['change_high'] * ind.multiplier)}"


VERDICT_COLOURS = {"clear improvement": "blue", "clear decline": "orange", "clear rise": "grey",
                   "clear fall": "grey", "no clear change": "white", "no interval": "white"}


def improvement(ctx: Context, indicator: str, level: str, start: Any = None, end: Any = None,
                page: int = 1, per_page: int | None = None) -> DataTable:
    """The improvement ranking table (public): ``end`` defaults to the latest period, ``start`` to a year before."""
    ind = ctx.indicator(indicator)
    periods = read.values.periods(ctx.cur, indicator, level)
    day_end = date_param(end) or (periods[-1] if periods else None)
    day_start = date_param(start) or (default_start(periods, day_end, ind) if day_end else None)
    for name, day in (("end", day_end), ("start", day_start)):
        if day is not None and day not in periods:
            raise HTTPException(422, f"{indicator} has no results for {level_label(level, plural=True)} in "
                                     f"{day.isoformat()} (the {name} of the ranking)")
    rows = ranking(ctx, ind, level, day_start, day_end) if day_start and day_end else []
    total = len(rows)
    if per_page:
        rows = rows[(max(page, 1) - 1) * per_page: max(page, 1) * per_page]
    columns = [
        Column("rank", "Rank", numeric=True),
        Column("org_name", "Organisation", fmt=lambda r: f"{r['org_name'] or r['org_code']} ({r['org_code']})",
               href=org_link),
        Column("value_start", period_label(day_start, ind) if day_start else "Start",
               fmt=lambda r: indicator_value(ind, r["value_start"]), numeric=True),
        Column("value_end", period_label(day_end, ind) if day_end else "End",
               fmt=lambda r: indicator_value(ind, r["value_end"]), numeric=True),
        Column("change", "Change", fmt=lambda r: change_text(ind, r["change"]), numeric=True),
        Column("change_interval", "95% interval of the change", fmt=lambda r: _interval_text(ind, r)),
        Column("verdict", "Judgement", fmt=lambda r: "",
               tag=lambda r: (r["verdict"].capitalize(), VERDICT_COLOURS.get(r["verdict"], "grey"))),
    ]
    title = (f"Improvement ranking: {level_label(level, plural=True)}, "
             f"{period_label(day_start, ind)} to {period_label(day_end, ind)}" if day_start and day_end
             else "Improvement ranking: needs two periods")
    note = f"Ranked by the change in value ({METHOD[ind.measure]}); largest " + (
        "improvement" if ind.polarity != Polarity.NO_JUDGEMENT else "rise") + " first. Organisations without a " \
        "value in both periods, or not eligible, are not ranked."
    return DataTable("improvement", title, columns, rows, total=total,
                     params={"indicator": indicator, "level": level,
                             "start": day_start.isoformat() if day_start else None,
                             "end": day_end.isoformat() if day_end else None},
                     note=note, raw_columns=list(ROW_KEYS))
