"""result_funnel, result_funnel_curve and result_funnel_summary: funnel plots (the innovation page and the
API's /funnel)."""

from __future__ import annotations

import datetime as dt

from uptake.results.read._sql import CURRENT_ORG, Cursor, Row, one, rows


def funnel_points(cur: Cursor, indicator: str, level: str, period: dt.date) -> list[Row]:
    return rows(
        cur,
        "SELECT f.org_code, o.name AS org_name, f.numerator, f.denominator, f.value, f.band, f.side, f.z, "
        "f.lower95, f.upper95, f.lower998, f.upper998 FROM result_funnel f "
        f"LEFT JOIN organisations o ON o.code = f.org_code AND o.{CURRENT_ORG} "
        "WHERE f.indicator = ? AND f.level = ? AND f.period = ? ORDER BY f.org_code",
        [indicator, level, period],
    )


def funnel_curve(cur: Cursor, indicator: str, level: str, period: dt.date) -> list[Row]:
    return rows(
        cur,
        "SELECT denominator, lower95, upper95, lower998, upper998 FROM result_funnel_curve "
        "WHERE indicator = ? AND level = ? AND period = ? ORDER BY denominator",
        [indicator, level, period],
    )


def funnel_summary(cur: Cursor, indicator: str, level: str, period: dt.date) -> Row | None:
    """The funnel's centre (England's value), method and overdispersion (phi, tau2)."""
    return one(
        cur,
        "SELECT benchmark, units, method, phi, tau2, overdispersion_adjusted, warnings FROM result_funnel_summary "
        "WHERE indicator = ? AND level = ? AND period = ?",
        [indicator, level, period],
    )
