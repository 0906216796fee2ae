"""Tables of changes detected by CUSUM on organisations' percentiles (public): each organisation's latest
change, one organisation's every change, and one organisation's percentile series with its CUSUMs; and how a
change reads (improving or worsening, by the indicator's polarity), shared with the charts."""

from __future__ import annotations

from typing import Any

from uptake.catalogue.schemas import Indicator, Polarity
from uptake.results import read
from uptake.results.schema import CHANGE_ROW
from uptake.web.formatting import indicator_value, level_label, number, period_label
from uptake.web.params import date_param
from uptake.web.tables.base import Column, Context, DataTable
from uptake.web.tables.cells import innovation_href, ordinal, org_link, signed

CHANGE_LABELS = {"up": "Up", "down": "Down", "both": "Up and down"}


def change_meaning(indicator: Indicator | None, direction: str | None) -> str:
    """'improving' / 'worsening' for a change in the organisation's percentile, by the indicator's polarity
    (empty when the indicator has no polarity or the direction is mixed)."""
    if indicator is None or direction not in ("up", "down") or indicator.polarity == Polarity.NO_JUDGEMENT:
        return ""
    good = "up" if indicator.polarity == Polarity.HIGH_IS_GOOD else "down"
    return "improving" if direction == good else "worsening"


def change_colour(indicator: Indicator | None, direction: str | None) -> str:
    """Making Data Count colours: blue improving, orange worsening, grey otherwise."""
    return {"improving": "blue", "worsening": "orange"}.get(change_meaning(indicator, direction), "grey")


def _change_columns(ctx: Context, with_org: bool) -> list[Column]:
    def ind_of(r):
        return ctx.catalogue.indicators.get(r["indicator"])

    first = (Column("org_name", "Organisation", fmt=lambda r: f"{r['org_name'] or r['org_code']} ({r['org_code']})",
                    href=org_link) if with_org else
             Column("indicator", "Indicator", fmt=lambda r: ind_of(r).title if ind_of(r) else r["indicator"],
                    href=lambda r: innovation_href(ctx, r["indicator"])))
    return [
        first,
        Column("direction", "Direction", fmt=lambda r: change_meaning(ind_of(r), r["direction"]),
               tag=lambda r: (CHANGE_LABELS.get(r["direction"], r["direction"]),
                              change_colour(ind_of(r), r["direction"]))),
        Column("change_started", "Started", fmt=lambda r: period_label(r["change_started"], ind_of(r))),
        Column("last_alert", "Alerts", fmt=lambda r: _alerts_text(r, ind_of(r)),
               tag=lambda r: ("Ongoing", "aqua-green") if r["ongoing"] else None),
        Column("percentile", "Percentile",
               fmt=lambda r: f"{ordinal(r['percentile_before'])}\u00a0\u2192\u00a0{ordinal(r['percentile_latest'])}"),
        Column("percentile_change", "Change (percentile points)", fmt=lambda r: signed(r["percentile_change"]),
               numeric=True),
        Column("value", "Value",
               fmt=lambda r: f"{indicator_value(ind_of(r), r['value_before'])}\u00a0\u2192\u00a0"
                             f"{indicator_value(ind_of(r), r['value_latest'])}"),
    ]


def _alerts_text(row: dict, ind: Indicator | None) -> str:
    first, last = period_label(row["first_alert"], ind), period_label(row["last_alert"], ind)
    return first if first == last else f"{first} to {last}"


def changes(ctx: Context, indicator: str, level: str, period: Any = None, page: int = 1,
            per_page: int | None = None):
    """Each organisation's latest change detected by CUSUM up to the period, newest first (public)."""
    ind = ctx.indicator(indicator)
    day = date_param(period) or read.values.latest_period(ctx.cur, indicator, level)
    rows, total = read.changes.changes(ctx.cur, indicator=indicator, level=level, period=day, latest_only=True,
                                       limit=per_page, offset=(max(page, 1) - 1) * per_page if per_page else 0)
    return DataTable(
        "changes", f"Changes detected: {level_label(level, plural=True)}, up to {period_label(day, ind)}",
        _change_columns(ctx, True), rows, total=total,
        params={"indicator": indicator, "level": level, "period": day.isoformat() if day else None},
        note="Each organisation's latest change, newest first. Up and down are its percentile among "
             + level_label(level, plural=True) + " (100 = the highest value); the percentile and value are those "
             "before the change started and at its latest alert.",
        raw_columns=CHANGE_ROW.column_names,
    )


def org_changes(ctx: Context, code: str):
    """Every change detected by CUSUM for one organisation, on every indicator, newest first (public)."""
    org = ctx.organisation(code)
    rows, _ = read.changes.changes(ctx.cur, org_code=code, level=org["level"], latest_only=False)
    return DataTable("org-changes", f"Changes detected for {org['name']}", _change_columns(ctx, False), rows,
                     {"code": code}, raw_columns=CHANGE_ROW.column_names)


def change_series(ctx: Context, code: str, indicator: str, rows: list[dict] | None = None):
    """One organisation's percentile series with its CUSUMs and alerts (the changes chart's figures; ``rows``
    when the page has them already)."""
    org = ctx.organisation(code)
    ind = ctx.indicator(indicator)
    if rows is None:
        rows = read.changes.change_series(ctx.cur, indicator, org["level"], code)
    columns = [
        Column("period", "Period", fmt=lambda r: period_label(r["period"], ind)),
        Column("percentile", "Percentile", fmt=lambda r: number(r["percentile"], 1), numeric=True),
        Column("cusum_increase", "CUSUM up", fmt=lambda r: number(r["cusum_increase"], 1), numeric=True),
        Column("cusum_decrease", "CUSUM down", fmt=lambda r: number(r["cusum_decrease"], 1), numeric=True),
        Column("threshold_increase", "Threshold", fmt=lambda r: number(r["threshold_increase"], 1), numeric=True),
        Column("alert", "Alert", fmt=lambda r: {"increase": "Up", "decrease": "Down", "both": "Up and down"}.get(
            r["alert"], "-")),
    ]
    return DataTable("change-series", f"Percentile and CUSUM: {org['name']}, {ind.title}", columns, rows,
                     {"code": code, "indicator": indicator})
