"""result_opportunity and result_opportunity_totals: the gap to each benchmark in patients and pounds (the
home and innovation pages, the organisation's innovation pack, the API's /opportunity)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from uptake.results.read._sql import CURRENT_ORG, Cursor, Row, aliased, equal_to, in_list, rows
from uptake.results.schema import OPPORTUNITY_ROW

#: result_opportunity is wide (one row per organisation and period, a gap per benchmark); readers get it
#: long, one row per benchmark (``OPPORTUNITY_ROW``). Gaps are extra patients (positive: below the benchmark).
OPPORTUNITY_LONG = f"""
    WITH wide AS (SELECT * FROM result_opportunity WHERE {{where}}),
    long AS (
        SELECT *, 'median' AS benchmark, median_value AS benchmark_value, gap_median AS extra_patients,
               gap_median_pounds AS extra_pounds FROM wide
        UNION ALL
        SELECT *, 'top-decile', top_decile_value, gap_top_decile, gap_top_decile_pounds FROM wide
        UNION ALL
        SELECT *, 'peers', peer_value, gap_peers, gap_peers_pounds FROM wide
        UNION ALL
        SELECT *, 'target', target_value, gap_target, gap_target_pounds FROM wide
    )
    SELECT {aliased(OPPORTUNITY_ROW, "l", {"org_name": "o.name"})}
    FROM long l LEFT JOIN organisations o ON o.code = l.org_code AND o.{CURRENT_ORG}
    WHERE l.benchmark_value IS NOT NULL AND {{benchmark}}
"""


def opportunity(
    cur: Cursor,
    *,
    indicator: str | None = None,
    level: str | None = None,
    period: dt.date | None = None,
    org_codes: Sequence[str] | None = None,
    indicators: Sequence[str] | None = None,
    benchmark: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[Row], int]:
    conditions, params = equal_to(("indicator", indicator), ("level", level), ("period", period))
    for name, values_ in (("org_code", org_codes), ("indicator", indicators)):
        cond, extra = in_list(name, values_)
        conditions.append(cond)
        params += extra
    bench_sql = "l.benchmark = ?" if benchmark else "TRUE"
    if benchmark:
        params.append(benchmark)
    sql = OPPORTUNITY_LONG.format(where=" AND ".join(conditions), benchmark=bench_sql)
    ordered = sql + (" ORDER BY l.indicator, l.level, l.period, l.benchmark, l.extra_patients DESC NULLS LAST, "
                     "l.org_code")
    if limit is None:  # every row: the count is the rows' number, no second query
        found = rows(cur, ordered, params)
        return found, len(found)
    total = cur.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()[0]
    return rows(cur, ordered + " LIMIT ? OFFSET ?", params + [limit, offset]), int(total)


def opportunity_totals(
    cur: Cursor, indicator: str | None = None, period: dt.date | None = None,
    area_level: str = "england",
) -> list[Row]:
    """National (area_level 'england') or per-ICB ('icb') totals of the positive gaps."""
    conditions, params = ["area_level = ?"], [area_level]
    if indicator is not None:
        conditions.append("indicator = ?")
        params.append(indicator)
    if period is not None:
        conditions.append("period = ?")
        params.append(period)
    return rows(
        cur,
        "SELECT indicator, level, period, benchmark, area_level, area_code, organisations, "
        "gap_patients AS extra_patients, gap_pounds AS extra_pounds, synthetic "
        f"FROM result_opportunity_totals WHERE {' AND '.join(conditions)} "
        "ORDER BY indicator, level, period, benchmark, area_code",
        params,
    )


def latest_national_opportunity(cur: Cursor, indicator: str,
                                exclude_periods: Sequence[dt.date] = ()) -> list[Row]:
    """The national totals of the latest period for one indicator (one row per level and benchmark),
    leaving out ``exclude_periods`` (the provisional ones, for headline figures)."""
    skip, params = in_list("period", list(exclude_periods))  # FALSE when there are none
    return rows(
        cur,
        f"""
        SELECT indicator, level, period, benchmark, organisations, gap_patients AS extra_patients,
               gap_pounds AS extra_pounds, synthetic
        FROM result_opportunity_totals
        WHERE indicator = ? AND area_level = 'england'
          AND period = (SELECT max(period) FROM result_opportunity_totals WHERE indicator = ? AND NOT {skip})
        ORDER BY level, benchmark
        """,
        [indicator, indicator, *params],
    )
