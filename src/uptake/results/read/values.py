"""result_values: each organisation's value with intervals, rank, decile and comparison with England.

Serves the home, innovation, organisation and compare pages, the API's /values and /indicators, and the
mission's inputs (attainment, availability gaps, plans against actual, the demo's filings).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd

from uptake.results.read._sql import Cursor, Row, equal_to, in_list, one, rows, select_list
from uptake.results.read.runs import provisional_periods
from uptake.results.schema import VALUE_ROW, VALUES

#: The columns a value row has (``VALUE_ROW``).
VALUE_COLUMNS = select_list(VALUE_ROW)


def indicator_levels(cur: Cursor) -> list[Row]:
    """Each indicator and level with results, with their first and last period. A fact of the whole snapshot
    (``lasting``: read once per snapshot, when it is loaded): it reads every point, 43 million nationally,
    and nearly every page asks it."""
    return rows(
        cur,
        "SELECT indicator, level, min(period) AS first_period, max(period) AS last_period, "
        "count(DISTINCT org_code) AS organisations FROM result_values GROUP BY indicator, level "
        "ORDER BY indicator, level",
        lasting=True,
    )


def periods(cur: Cursor, indicator: str, level: str) -> list[dt.date]:
    found = cur.execute(
        "SELECT DISTINCT period FROM result_values WHERE indicator = ? AND level = ? ORDER BY period",
        [indicator, level],
    ).fetchall()
    return [r[0] for r in found]


def latest_period(cur: Cursor, indicator: str, level: str | None = None) -> dt.date | None:
    if level is None:
        return one(cur, "SELECT max(period) AS p FROM result_values WHERE indicator = ?", [indicator],
                   lasting=True)["p"]
    return one(cur, "SELECT max(period) AS p FROM result_values WHERE indicator = ? AND level = ?",
               [indicator, level], lasting=True)["p"]


def series(
    cur: Cursor, indicator: str, level: str, org_codes: Sequence[str] | None = None
) -> list[Row]:
    """Every period's value of the organisations of one level (all, or those listed)."""
    cond, params = in_list("org_code", org_codes)
    return rows(
        cur,
        f"SELECT {VALUE_COLUMNS} FROM result_values WHERE indicator = ? AND level = ? AND {cond} "
        "ORDER BY org_code, period",
        [indicator, level, *params],
    )


def headline_series(cur: Cursor, indicator: str, level: str = "england") -> list[Row]:
    """What headline figures use: every period's value at ``level`` (England by default) except the
    provisional periods (loaded with ``uptake ingest --partial``, ``runs.provisional_periods``), so the last
    row is the latest complete period."""
    provisional = set(provisional_periods(cur, indicator))
    return [r for r in series(cur, indicator, level) if r["period"] not in provisional]


def values(
    cur: Cursor,
    *,
    indicator: str | None = None,
    level: str | None = None,
    period: dt.date | None = None,
    org_codes: Sequence[str] | None = None,
    limit: int | None = None,
    offset: int = 0,
    order: str = "default",
) -> tuple[list[Row], int]:
    """Rows of result_values matching the filters, and how many there are in all."""
    conditions, params = equal_to(("indicator", indicator), ("level", level), ("period", period))
    cond, extra = in_list("org_code", org_codes)
    conditions.append(cond)
    params += extra
    where = " AND ".join(conditions)
    order_by = {
        "default": "indicator, level, period, org_code",
        "value-desc": "value DESC NULLS LAST, org_code",
        "value-asc": "value ASC NULLS LAST, org_code",
        "name": "org_name, org_code",
    }[order]
    total = cur.execute(f"SELECT count(*) FROM result_values WHERE {where}", params).fetchone()[0]
    sql = f"SELECT {VALUE_COLUMNS} FROM result_values WHERE {where} ORDER BY {order_by}"
    tail: list[Any] = []
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        tail = [limit, offset]
    return rows(cur, sql, params + tail), int(total)


def value_of(cur: Cursor, indicator: str, level: str, org_code: str, period: dt.date) -> Row | None:
    return one(
        cur,
        f"SELECT {VALUE_COLUMNS} FROM result_values WHERE indicator = ? AND level = ? AND org_code = ? "
        "AND period = ?",
        [indicator, level, org_code, period],
    )


def organisation_latest_values(cur: Cursor, org_code: str) -> list[Row]:
    """The latest value of every indicator for one organisation, beside England's for the same period."""
    return rows(
        cur,
        f"""
        WITH mine AS (
            SELECT {VALUE_COLUMNS}, row_number() OVER (PARTITION BY indicator ORDER BY period DESC) AS k
            FROM result_values WHERE org_code = ?
        )
        SELECT m.* EXCLUDE (k), e.value AS england_value, e.numerator AS england_numerator,
               e.denominator AS england_denominator
        FROM mine m LEFT JOIN result_values e
          ON e.indicator = m.indicator AND e.level = 'england' AND e.period = m.period
        WHERE m.k = 1 ORDER BY m.indicator
        """,
        [org_code],
    )


def comparison_counts(cur: Cursor, indicator: str, level: str, period: dt.date) -> list[Row]:
    return rows(
        cur,
        "SELECT comparison, count(*) AS n FROM result_values WHERE indicator = ? AND level = ? AND period = ? "
        "GROUP BY comparison ORDER BY comparison",
        [indicator, level, period],
    )


def org_codes(cur: Cursor, level: str) -> list[str]:
    """The organisations of a level with results, in code order."""
    found = cur.execute(
        "SELECT DISTINCT org_code FROM result_values WHERE level = ? ORDER BY org_code", [level]).fetchall()
    return [code for (code,) in found]


def latest_value(cur: Cursor, indicator: str, level: str, org_code: str) -> float | None:
    """An organisation's value in its latest period (None if it has no result)."""
    found = cur.execute(
        "SELECT value FROM result_values WHERE indicator = ? AND level = ? AND org_code = ? "
        "ORDER BY period DESC LIMIT 1", [indicator, level, org_code]).fetchall()
    return found[0][0] if found else None


# ---------------------------------------------------------------------- as frames (the mission)
def values_frame(
    cur: Cursor, columns: Sequence[str], indicators: Sequence[str] | None = None
) -> pd.DataFrame:
    """Columns of result_values for every organisation and period (of the given indicators only, if given)."""
    where, params = "", []
    if indicators is not None:
        where, params = "WHERE list_contains(?::VARCHAR[], indicator)", [list(indicators)]
    return cur.execute(f"SELECT {select_list(VALUES, columns)} FROM result_values {where}", params).df()


def value_series_frame(cur: Cursor, indicator: str, level: str, org_code: str) -> pd.DataFrame:
    """One organisation's values over time: period, value, ci95_low, ci95_high."""
    return cur.execute(
        "SELECT period, value, ci95_low, ci95_high FROM result_values "
        "WHERE indicator = ? AND level = ? AND org_code = ? ORDER BY period",
        [indicator, level, org_code],
    ).df()


def values_at_two_periods(cur: Cursor, indicator: str, level: str, start: dt.date, end: dt.date) -> list[Row]:
    """Each organisation of ``level`` with a value in both ``start`` and ``end``: its numerator, denominator
    and value at each (``*_start``, ``*_end``) and whether it is eligible at the end (the improvement ranking).
    England is not included."""
    return rows(
        cur,
        "SELECT e.org_code, e.org_name, s.numerator AS numerator_start, s.denominator AS denominator_start, "
        "s.value AS value_start, e.numerator AS numerator_end, e.denominator AS denominator_end, "
        "e.value AS value_end, e.comparison <> 'not eligible' AND s.comparison <> 'not eligible' AS eligible "
        "FROM result_values e JOIN result_values s ON s.indicator = e.indicator AND s.level = e.level "
        "AND s.org_code = e.org_code AND s.period = ? "
        "WHERE e.indicator = ? AND e.level = ? AND e.period = ? AND e.level <> 'england' "
        "AND e.value IS NOT NULL AND s.value IS NOT NULL ORDER BY e.org_code",
        [start, indicator, level, end],
    )
