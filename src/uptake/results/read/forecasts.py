"""The Bass forecasts (result_forecast_fits, result_forecasts, result_forecast_targets: the innovation,
organisation and commitment pages' forecasts, the API's /forecasts, ``uptake forecast``), and the inputs the
forecasts are computed from (result_values, result_indicators, result_attainment, relationships).

The forecast tables are written by ``uptake compute`` (uptake.models.forecasts); a store computed before
they existed has none of them: callers ask ``missing_tables`` (the command line) or the snapshot (the web)
first, as the readers of the page tables do not (a page asks few questions).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from uptake.results.read._sql import CURRENT_ORG, Cursor, Row, equal_to, in_list, rows, tables
from uptake.results.schema import FORECAST_FITS, FORECAST_TARGETS, FORECASTS

__all__ = ["fits", "fit", "trajectory", "trajectories", "targets", "organisation_fits", "organisation_targets",
           "commitment_map", "fits_with_categories", "parameters_frame", "inputs_frame", "indicator_settings",
           "commitment_targets", "icb_links_frame", "missing_tables"]

_FITS_ORDER = "indicator, level, org_code"


def missing_tables(cur: Cursor) -> set[str]:
    """The forecast tables that are not there (a store computed before them has none): empty when all are."""
    return {t.name for t in (FORECAST_FITS, FORECASTS, FORECAST_TARGETS)} - tables(cur)


def _where(pairs: tuple[tuple[str, Any], ...], codes: tuple[str, Sequence[str] | None] | None = None
           ) -> tuple[str, list[Any]]:
    conditions, params = equal_to(*pairs)
    if codes is not None:
        cond, extra = in_list(*codes)
        conditions.append(cond)
        params += extra
    return (" WHERE " + " AND ".join(conditions)) if conditions else "", params


def fits(
    cur: Cursor,
    *,
    indicator: str | None = None,
    level: str | None = None,
    org_codes: Sequence[str] | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[Row], int]:
    """Rows of result_forecast_fits with the organisation's current name (org_name), and the total."""
    where, params = _where((("f.indicator", indicator), ("f.level", level)), ("f.org_code", org_codes))
    total = cur.execute(f"SELECT count(*) FROM result_forecast_fits f{where}", params).fetchone()[0]
    sql = (f"SELECT f.*, o.name AS org_name FROM result_forecast_fits f LEFT JOIN organisations o "
           f"ON o.code = f.org_code AND o.{CURRENT_ORG}{where} ORDER BY f.indicator, f.level, f.org_code")
    tail: list[Any] = []
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        tail = [limit, offset]
    return rows(cur, sql, params + tail), int(total)


def fit(cur: Cursor, indicator: str, level: str, org_code: str) -> Row | None:
    """One organisation's fit (None: no row, or no forecasts in the store)."""
    found, _ = fits(cur, indicator=indicator, level=level, org_codes=[org_code])
    return found[0] if found else None


def trajectory(cur: Cursor, indicator: str, level: str, org_code: str) -> list[Row]:
    """One series' observed values, fitted curve and 95% band, by period (forecast: past the last value)."""
    return rows(cur, "SELECT period, observed, fitted, low, high, forecast, synthetic FROM result_forecasts "
                     "WHERE indicator = ? AND level = ? AND org_code = ? ORDER BY period",
                [indicator, level, org_code])


def trajectories(
    cur: Cursor,
    *,
    indicator: str | None = None,
    level: str | None = None,
    org_codes: Sequence[str] | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[Row], int]:
    """Rows of result_forecasts (the downloads and the API), and the total."""
    where, params = _where((("indicator", indicator), ("level", level)), ("org_code", org_codes))
    total = cur.execute(f"SELECT count(*) FROM result_forecasts{where}", params).fetchone()[0]
    sql = f"SELECT * FROM result_forecasts{where} ORDER BY indicator, level, org_code, period"
    tail: list[Any] = []
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        tail = [limit, offset]
    return rows(cur, sql, params + tail), int(total)


def targets(
    cur: Cursor,
    *,
    framework: str | None = None,
    commitment: str | None = None,
    indicator: str | None = None,
    level: str | None = None,
    org_codes: Sequence[str] | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[Row], int]:
    """Rows of result_forecast_targets with the organisation's current name, and the total (ordered by
    commitment, level, probability; without a limit the total is the rows' number)."""
    where, params = _where((("t.framework", framework), ("t.commitment", commitment),
                            ("t.indicator", indicator), ("t.level", level)), ("t.org_code", org_codes))
    sql = (f"SELECT t.*, o.name AS org_name FROM result_forecast_targets t LEFT JOIN organisations o "
           f"ON o.code = t.org_code AND o.{CURRENT_ORG}{where} "
           "ORDER BY t.framework, t.commitment, t.level, t.probability NULLS LAST, t.org_code")
    if limit is None:
        found = rows(cur, sql, params)
        return found, len(found)
    total = cur.execute(f"SELECT count(*) FROM result_forecast_targets t{where}", params).fetchone()[0]
    return rows(cur, sql + " LIMIT ? OFFSET ?", params + [limit, offset]), int(total)


def organisation_fits(cur: Cursor, org_code: str) -> list[Row]:
    """Every indicator's fit of one organisation (the organisation page)."""
    return rows(cur, "SELECT * FROM result_forecast_fits WHERE org_code = ? ORDER BY indicator, level", [org_code])


def organisation_targets(cur: Cursor, org_code: str) -> list[Row]:
    """Every commitment's forecast for one organisation (the organisation page)."""
    found, _ = targets(cur, org_codes=[org_code])
    return found


def commitment_map(cur: Cursor, framework: str, commitment: str, level: str) -> list[Row]:
    """org_code, probability, status and synthetic of one commitment at one level (the map)."""
    return rows(cur, "SELECT org_code, probability, status, synthetic FROM result_forecast_targets "
                     "WHERE framework = ? AND commitment = ? AND level = ? ORDER BY org_code",
                [framework, commitment, level])


def fits_with_categories(cur: Cursor, indicator: str, level: str) -> list[Row]:
    """Each organisation's adopter category from its fitted curve beside today's (Rogers' category of its
    observed first adoption, result_adoption's normal mode), with both adoption dates."""
    adoption = "result_adoption" in tables(cur)
    join = ("LEFT JOIN result_adoption a ON a.indicator = f.indicator AND a.level = f.level "
            "AND a.org_code = f.org_code") if adoption else ""
    today = ("a.category_normal AS category_today, a.first_adopted" if adoption
             else "CAST(NULL AS VARCHAR) AS category_today, CAST(NULL AS DATE) AS first_adopted")
    return rows(cur, f"SELECT f.org_code, o.name AS org_name, f.status, f.category_fitted, f.fitted_adoption, "
                     f"f.fitted_adoption_low, f.fitted_adoption_high, {today}, f.synthetic "
                     f"FROM result_forecast_fits f {join} LEFT JOIN organisations o ON o.code = f.org_code "
                     f"AND o.{CURRENT_ORG} WHERE f.indicator = ? AND f.level = ? ORDER BY f.fitted_adoption "
                     "NULLS LAST, f.org_code", [indicator, level])


def parameters_frame(cur: Cursor, indicator: str, level: str) -> pd.DataFrame:
    """org_code, origin, m, p, q (and their intervals, data_weight, synthetic) of every fitted organisation
    of one indicator and level: the policy simulator's calibration."""
    cols = ["org_code", "origin", "m", "m_low", "m_high", "p", "p_low", "p_high", "q", "q_low", "q_high",
            "data_weight", "synthetic"]
    if missing_tables(cur):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    return cur.execute(f"SELECT {', '.join(cols)} FROM result_forecast_fits WHERE indicator = ? AND level = ? "
                       "AND status = 'fitted' ORDER BY org_code", [indicator, level]).df()


# ------------------------------------------------------------------------------- the forecasts' inputs
def inputs_frame(cur: Cursor, indicators: Sequence[str] | None = None) -> pd.DataFrame:
    """indicator, level, org_code, period and value (numerator / denominator) of every result point."""
    where, params = "", []
    if indicators is not None:
        where, params = "WHERE list_contains(?::VARCHAR[], indicator)", [list(indicators)]
    return cur.execute("SELECT indicator, level, org_code, period, value FROM result_values "
                       f"{where} ORDER BY indicator, level, org_code, period", params).df()


def indicator_settings(cur: Cursor) -> list[Row]:
    """indicator, measure, polarity, multiplier, unit, adoption_threshold and synthetic of every computed
    indicator (result_indicators)."""
    if "result_indicators" not in tables(cur):
        return []
    return rows(cur, "SELECT indicator, title, measure, polarity, multiplier, unit, adoption_threshold, synthetic "
                     "FROM result_indicators ORDER BY indicator")


def commitment_targets(cur: Cursor) -> pd.DataFrame:
    """Each commitment's target and deadline per level, with the organisations in its scope, from the latest
    framework version in result_attainment (empty when the mission has not computed attainment)."""
    cols = ["framework", "commitment", "indicator", "level", "target", "deadline", "synthetic", "org_codes"]
    if "result_attainment" not in tables(cur):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    return cur.execute(
        "WITH latest AS (SELECT framework, max(framework_version) AS v FROM result_attainment GROUP BY framework) "
        "SELECT a.framework, a.commitment, a.indicator, a.level, max(a.target) AS target, "
        "max(a.deadline) AS deadline, bool_or(a.synthetic) AS synthetic, list(DISTINCT a.org_code) AS org_codes "
        "FROM result_attainment a JOIN latest l ON l.framework = a.framework AND l.v = a.framework_version "
        "WHERE a.target IS NOT NULL AND a.deadline IS NOT NULL GROUP BY a.framework, a.commitment, a.indicator, "
        "a.level ORDER BY a.framework, a.commitment, a.level").df()


def icb_links_frame(cur: Cursor) -> pd.DataFrame:
    """child_code, child_level, parent_code: every organisation's current ICB."""
    return cur.execute("SELECT child_code, child_level, parent_code FROM relationships "
                       "WHERE parent_level = 'icb' AND valid_to IS NULL").df()
