"""result_equity: the slope and relative index of inequality across deprivation quintiles (the innovation
page's equity section, the API's /equity)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from uptake.results.read._sql import Cursor, Row, equal_to, rows, select_list
from uptake.results.schema import EQUITY_ROW

#: ``EQUITY_ROW``: the columns of result_equity.
EQUITY_COLUMNS = select_list(EQUITY_ROW)
#: Columns added after the first release of result_equity: a store computed before them reads them as NULL
#: until the next ``uptake compute``.
_EQUITY_LATER = ("sii_ci95_low", "sii_ci95_high", "rii_ci95_low", "rii_ci95_high")


def _equity_select(cur: Cursor) -> str:
    have = {r[0] for r in cur.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'result_equity'").fetchall()}
    return ", ".join(name if name in have or name not in _EQUITY_LATER else f"CAST(NULL AS DOUBLE) AS {name}"
                     for name in EQUITY_ROW.column_names)


def equity(
    cur: Cursor,
    *,
    indicator: str | None = None,
    level: str | None = None,
    period: dt.date | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[Row], int]:
    """The slope index of inequality across IMD quintiles (result_equity), per indicator, level and period."""
    conditions, params = equal_to(("indicator", indicator), ("level", level), ("period", period))
    where = " AND ".join(conditions) or "TRUE"
    total = cur.execute(f"SELECT count(*) FROM result_equity WHERE {where}", params).fetchone()[0]
    sql = f"SELECT {_equity_select(cur)} FROM result_equity WHERE {where} ORDER BY indicator, level, period"
    tail: list[Any] = []
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        tail = [limit, offset]
    return rows(cur, sql, params + tail), int(total)


def equity_levels(cur: Cursor, indicator: str) -> list[str]:
    """The levels with an equity result for the indicator."""
    rows = cur.execute(
        "SELECT DISTINCT level FROM result_equity WHERE indicator = ? ORDER BY level", [indicator]
    ).fetchall()
    return [r[0] for r in rows]


def equity_groups(cur: Cursor, indicator: str, level: str, period: dt.date) -> list[Row]:
    """Each IMD quintile's organisations, population (summed denominators) and pooled value, from the values
    and the organisations' quintiles, as the pipeline pools them for the slope index (only to place the
    quintiles on the chart's population axis; result_equity does not store the populations)."""
    return rows(
        cur,
        f"""
        WITH org AS (
            SELECT code, imd_quintile FROM organisations
            QUALIFY row_number() OVER (PARTITION BY code ORDER BY valid_to IS NULL DESC, valid_from DESC) = 1
        )
        SELECT CAST(o.imd_quintile AS INTEGER) AS quintile, count(*) AS organisations,
               sum(v.denominator) AS population, sum(v.value * v.denominator) / sum(v.denominator) AS value
        FROM result_values v JOIN org o ON o.code = v.org_code
        WHERE v.indicator = ? AND v.level = ? AND v.period = ? AND v.value IS NOT NULL
          AND v.ci95_low IS NOT NULL AND v.denominator > 0 AND o.imd_quintile IS NOT NULL
        GROUP BY 1 ORDER BY 1
        """,
        [indicator, level, period],
    )
