"""The innovation page's forecast section: England's Bass forecast with its 95% band, and each organisation's
fitted curve, fitted adoption date and adopter category beside today's."""

from __future__ import annotations

from typing import Any

from uptake.catalogue.schemas import Indicator
from uptake.levels import ENGLAND_CODE
from uptake.results import read
from uptake.web import charts
from uptake.web.formatting import indicator_value, interval, level_label
from uptake.web.pages.common import how
from uptake.web.tables.base import Context
from uptake.web.tables.forecasts import forecast_trajectory, forecasts, org_forecast_targets, org_forecasts


def forecast_section(cur, tctx: Context, ind: Indicator, level: str, inputs: dict) -> dict[str, Any]:
    national = read.forecasts.fit(cur, ind.id, "england", ENGLAND_CODE)
    if national is None:
        return {}
    if national["status"] != "fitted":
        return {"forecast_status": national["status"], "forecast_points": national["points"]}
    rows = read.forecasts.trajectory(cur, ind.id, "england", ENGLAND_CODE)
    ahead = [r for r in rows if r["forecast"]]
    end = ahead[-1] if ahead else None
    m_text = f"{indicator_value(ind, national['m'])} ({interval(ind, national['m_low'], national['m_high'])})"
    details = {
        **inputs,
        "Take-off (time origin)": f"{national['origin']:%B %Y}" if national["origin"] else "-",
        "England's curve levels off at (m, 95% interval)": m_text,
        "Coefficient of innovation p per month (95% interval)":
            f"{national['p']:.4f} ({national['p_low']:.4f} to {national['p_high']:.4f})",
        "Coefficient of imitation q per month (95% interval)":
            f"{national['q']:.4f} ({national['q_low']:.4f} to {national['q_high']:.4f})",
        "Fitted to": f"{national['points']} values, {national['first_period']:%B %Y} to "
                     f"{national['last_period']:%B %Y}",
    }
    return {
        "forecast_chart": charts.forecast(ind, f"{ind.title}: England, fitted Bass curve and forecast", rows),
        "forecast_national": national,
        "forecast_end": end,
        "forecast_m": m_text,
        "forecast_table": forecasts(tctx, ind.id, level, per_page=25),
        "forecast_level": level_label(level, plural=True),
        "how_forecast": how(cur, ind, ["forecast"], details, None),
        "how_forecast_categories": how(cur, ind, ["forecast", "forecast_categories"], {
            **inputs, "Adoption threshold": indicator_value(ind, ind.adoption_threshold)
            if ind.adoption_threshold is not None else "not set"}, None),
    }


def org_forecast_section(cur, tctx: Context, org: dict, ind: Indicator, inputs: dict) -> dict[str, Any]:
    """An organisation page: its forecast of the chosen indicator (chart, band, time to each target), and its
    forecasts of every indicator and commitment (tables)."""
    out: dict[str, Any] = {}
    fits = org_forecasts(tctx, org["code"])
    if fits.rows:
        out["org_forecasts"] = fits
    targets = org_forecast_targets(tctx, org["code"])
    if targets.rows:
        out["org_forecast_targets"] = targets
        out["how_org_targets"] = how(cur, ind, ["forecast", "forecast_target"], inputs, None)
    fit = next((r for r in fits.rows if r["indicator"] == ind.id and r["level"] == org["level"]), None)
    if fit is None:
        return out
    out["org_forecast_fit"] = fit
    if fit["status"] != "fitted":
        return out
    rows = read.forecasts.trajectory(cur, ind.id, org["level"], org["code"])
    mine = [t for t in targets.rows if t["indicator"] == ind.id]
    first = mine[0] if mine else None
    out["org_forecast_chart"] = charts.forecast(
        ind, f"{ind.title}: {org['name']}, fitted Bass curve and forecast", rows,
        target=first["target"] if first else None, deadline=first["deadline"] if first else None)
    out["org_forecast_table"] = forecast_trajectory(tctx, ind.id, org["level"], org["code"])
    details = {
        **inputs,
        "Levels off at (m, 95% interval)": f"{indicator_value(ind, fit['m'])} "
                                           f"({interval(ind, fit['m_low'], fit['m_high'])})",
        "Pooled towards": f"{fit['parent_code']} ({level_label(fit['parent_level'] or '')})"
                          if fit["parent_code"] else "nothing (England's own curve)",
        "Share of the fit from its own data": f"{100 * float(fit['data_weight']):.0f}%"
                                              if fit["data_weight"] is not None else "-",
        "Fitted to": f"{fit['points']} values, {fit['first_period']:%B %Y} to {fit['last_period']:%B %Y}",
    }
    out["how_org_forecast"] = how(cur, ind, ["forecast"], details, None)
    return out
