"""result_values as the networks, barriers and adopters need them (uptake.ecosystem): only the periods they read,
so a practice-level indicator's every month is not copied out to use two of them.

``latest_values_frame``: each indicator's and level's latest period (who does it now; uptake percentiles).
``quartile_ends_frame``: each indicator's and level's first and last period with at least ``min_orgs``
results (the case library's risers from the bottom to the top quartile).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from uptake.results.read._sql import Cursor

_COLUMNS = "v.indicator, v.level, v.org_code, v.org_name, v.period, v.value, v.ci95_low, v.ci95_high, v.synthetic"


def latest_values_frame(cur: Cursor, indicators: Sequence[str], level: str | None = None) -> pd.DataFrame:
    """Rows of result_values in the latest period of each (indicator, level) of ``indicators`` (one level if
    given): indicator, level, org_code, org_name, period, value, ci95_low, ci95_high, synthetic."""
    where, params = "list_contains(?::VARCHAR[], indicator)", [list(indicators)]
    if level is not None:
        where += " AND level = ?"
        params.append(level)
    return cur.execute(
        f"""
        WITH latest AS (SELECT indicator, level, max(period) AS period FROM result_values WHERE {where}
                        GROUP BY indicator, level)
        SELECT {_COLUMNS} FROM result_values v JOIN latest l
          ON v.indicator = l.indicator AND v.level = l.level AND v.period = l.period
        ORDER BY v.indicator, v.level, v.org_code
        """, params).df()


def quartile_ends_frame(cur: Cursor, indicators: Sequence[str], min_orgs: int = 8) -> pd.DataFrame:
    """Rows of result_values (below region) in the first and the last period of each (indicator, level) of
    ``indicators`` in which at least ``min_orgs`` organisations have a value; nothing for a pair with fewer
    than two such periods."""
    return cur.execute(
        f"""
        WITH counts AS (
            SELECT indicator, level, period, count(value) AS n FROM result_values
            WHERE list_contains(?::VARCHAR[], indicator) AND level NOT IN ('england', 'region')
            GROUP BY indicator, level, period
        ), ends AS (
            SELECT indicator, level, min(period) AS first_period, max(period) AS last_period FROM counts
            WHERE n >= ? GROUP BY indicator, level HAVING count(*) >= 2
        )
        SELECT {_COLUMNS} FROM result_values v JOIN ends e ON v.indicator = e.indicator AND v.level = e.level
          AND (v.period = e.first_period OR v.period = e.last_period)
        ORDER BY v.indicator, v.level, v.period, v.org_code
        """, [list(indicators), min_orgs]).df()
