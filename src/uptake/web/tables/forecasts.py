"""The forecast tables (public): each organisation's fitted Bass curve with its intervals and adopter
categories, one series' trajectory with its band, each commitment's time to target and probability per
organisation, and one organisation's forecasts for every indicator. Forecasts of synthetic data say SYNTHETIC."""

from __future__ import annotations

import datetime as dt

from uptake.results import read
from uptake.web.formatting import ADOPTER_LABELS, indicator_value, interval, level_label, missing, period_label
from uptake.web.tables.base import Column, Context, DataTable
from uptake.web.tables.cells import org_link

SYNTHETIC_TAG = ("SYNTHETIC", "orange")


def _org(r: dict) -> str:
    return f"{r.get('org_name') or r['org_code']} ({r['org_code']})"


def _month(value) -> str:
    if missing(value):
        return "-"
    return value.strftime("%B %Y") if isinstance(value, dt.date) else str(value)


def _months(low, high) -> str:
    if missing(low) and missing(high):
        return "-"
    return f"{_month(low)} to {_month(high) if not missing(high) else 'beyond the forecast'}"


def _synthetic(r: dict):
    return SYNTHETIC_TAG if r.get("synthetic") else None


def _share(value) -> str:
    return "-" if missing(value) else f"{100 * float(value):.0f}%"


def _category(value) -> str:
    if missing(value):
        return "-"
    return ADOPTER_LABELS.get(value, str(value).capitalize())


def forecasts(ctx: Context, indicator: str, level: str, page: int = 1, per_page: int | None = None) -> DataTable:
    """Each organisation of a level: where its curve levels off (m, 95% interval), its fitted adoption date
    and category beside today's category, and how much of its fit is its own data."""
    ind = ctx.indicator(indicator)
    rows, total = read.forecasts.fits(ctx.cur, indicator=indicator, level=level, limit=per_page,
                                      offset=(max(page, 1) - 1) * per_page if per_page else 0)
    today = {r["org_code"]: r for r in read.forecasts.fits_with_categories(ctx.cur, indicator, level)}
    for r in rows:
        r["category_today"] = today.get(r["org_code"], {}).get("category_today")
    columns = [
        Column("org_code", "Organisation", fmt=_org, href=org_link, tag=_synthetic),
        Column("status", "Curve", fmt=lambda r: "fitted" if r["status"] == "fitted"
               else f"no curve: {r['status']} ({r['points'] or 0} values)"),
        Column("m", "Levels off at (95% interval)", numeric=True,
               fmt=lambda r: "-" if missing(r["m"]) else
               f"{indicator_value(ind, r['m'])} ({interval(ind, r['m_low'], r['m_high'])})"),
        Column("fitted_adoption", "Fitted adoption (95% interval)",
               fmt=lambda r: "-" if r["status"] != "fitted" else
               (f"{_month(r['fitted_adoption'])} ({_months(r['fitted_adoption_low'], r['fitted_adoption_high'])})"
                if not missing(r["fitted_adoption"]) else "not on the curve")),
        Column("category_fitted", "Category from the fitted curve", fmt=lambda r: _category(r["category_fitted"])),
        Column("category_today", "Category today", fmt=lambda r: _category(r.get("category_today"))),
        Column("data_weight", "Share of the fit from its own data", numeric=True,
               fmt=lambda r: _share(r["data_weight"])),
    ]
    return DataTable("forecasts", f"Forecasts: {level_label(level, plural=True)}", columns, rows,
                     {"indicator": indicator, "level": level}, total,
                     note="Forecasts of a synthetic indicator are SYNTHETIC." if ind.synthetic else None)


def forecast_trajectory(ctx: Context, indicator: str, level: str, code: str) -> DataTable:
    """One series by month: observed, fitted, 95% band, and whether the month is a forecast."""
    ind = ctx.indicator(indicator)
    rows = read.forecasts.trajectory(ctx.cur, indicator, level, code)
    columns = [
        Column("period", "Month", fmt=lambda r: period_label(r["period"], ind)),
        Column("observed", "Observed", numeric=True, fmt=lambda r: indicator_value(ind, r["observed"])),
        Column("fitted", "Fitted curve", numeric=True, fmt=lambda r: indicator_value(ind, r["fitted"])),
        Column("low", "95% band", numeric=True, fmt=lambda r: interval(ind, r["low"], r["high"])),
        Column("forecast", "Forecast", fmt=lambda r: "forecast" if r["forecast"] else "fit to data",
               tag=_synthetic),
    ]
    return DataTable("forecast-trajectory", f"Forecast of {code}", columns, rows,
                     {"indicator": indicator, "level": level, "code": code}, len(rows),
                     raw_columns=["period", "observed", "fitted", "low", "high", "forecast", "synthetic"])


def _target_columns(ctx: Context, with_org: bool, with_commitment: bool) -> list[Column]:
    def ind_of(r: dict):
        return ctx.catalogue.indicators.get(r["indicator"])

    columns = []
    if with_commitment:
        columns.append(Column("commitment", "Commitment", fmt=lambda r: f"{r['framework']}: {r['commitment']}",
                              href=lambda r: f"/nsf/{r['framework']}/{r['commitment']}"))
    if with_org:
        columns.append(Column("org_code", "Organisation", fmt=_org, href=org_link))
    columns += [
        Column("target", "Target by deadline",
               fmt=lambda r: f"{indicator_value(ind_of(r), r['target'])} by {r['deadline']:%d %B %Y}"),
        Column("value_at_deadline", "Forecast for the deadline's month (95% band)", numeric=True,
               fmt=lambda r: "-" if missing(r["value_at_deadline"]) else
               f"{indicator_value(ind_of(r), r['value_at_deadline'])} "
               f"({interval(ind_of(r), r['value_at_deadline_low'], r['value_at_deadline_high'])})"),
        Column("reach_date", "Curve reaches the target (band)",
               fmt=lambda r: (_month(r["reach_date"]) if not missing(r["reach_date"]) else "never: levels off below")
               + f" ({_months(r['reach_low'], r['reach_high'])})"),
        Column("probability", "Probability of meeting the deadline", numeric=True,
               fmt=lambda r: "-" if missing(r["probability"]) else f"{100 * float(r['probability']):.0f}%"),
        Column("status", "Outlook", fmt=lambda r: str(r["status"]).capitalize(), tag=_synthetic),
    ]
    return columns


def forecast_targets(ctx: Context, framework: str, commitment: str, level: str, page: int = 1,
                     per_page: int | None = None) -> DataTable:
    """Every organisation in a commitment's scope at a level, least likely first."""
    rows, total = read.forecasts.targets(ctx.cur, framework=framework, commitment=commitment, level=level,
                                         limit=per_page, offset=(max(page, 1) - 1) * per_page if per_page else 0)
    return DataTable("forecast-targets", f"Forecasts of {commitment}: {level_label(level, plural=True)}",
                     _target_columns(ctx, True, False), rows,
                     {"framework": framework, "commitment": commitment, "level": level}, total)


def org_forecasts(ctx: Context, code: str) -> DataTable:
    """One organisation's curve for every indicator it has a series of."""
    rows = read.forecasts.organisation_fits(ctx.cur, code)

    def ind_of(r: dict):
        return ctx.catalogue.indicators.get(r["indicator"])

    columns = [
        Column("indicator", "Indicator", fmt=lambda r: ind_of(r).title if ind_of(r) else r["indicator"],
               tag=_synthetic),
        Column("status", "Curve", fmt=lambda r: "fitted" if r["status"] == "fitted"
               else f"no curve: {r['status']} ({r['points'] or 0} values)"),
        Column("m", "Levels off at (95% interval)", numeric=True,
               fmt=lambda r: "-" if missing(r["m"]) else
               f"{indicator_value(ind_of(r), r['m'])} ({interval(ind_of(r), r['m_low'], r['m_high'])})"),
        Column("category_fitted", "Category from the fitted curve", fmt=lambda r: _category(r["category_fitted"])),
        Column("data_weight", "Share of the fit from its own data", numeric=True,
               fmt=lambda r: _share(r["data_weight"])),
    ]
    return DataTable("org-forecasts", f"Forecasts for {code}", columns, rows, {"code": code}, len(rows))


def org_forecast_targets(ctx: Context, code: str) -> DataTable:
    """One organisation's forecast for every commitment it is in."""
    rows = read.forecasts.organisation_targets(ctx.cur, code)
    return DataTable("org-forecast-targets", f"Commitment forecasts for {code}", _target_columns(ctx, False, True),
                     rows, {"code": code}, len(rows))
