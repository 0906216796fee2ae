"""The mission's tables: result_attainment, result_missed_opportunities and result_watch_list (the NSF,
commitment and ratings pages, their downloads, the API's /nsf/{id}/attainment, /nsf/{id}/progress and
/ratings/..., and ``uptake ratings watch-list`` / ``missed-opportunities``).

They are written by ``uptake ratings compute`` (and after ``uptake compute``); until then they are absent,
and these readers return an empty frame with the table's columns (``progress`` raises, as its callers
expect).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from uptake.results.read._sql import Cursor, equal_to, tables
from uptake.results.schema import ATTAINMENT, MISSED_OPPORTUNITIES, MISSION_BY_NAME, WATCH_LIST

#: The order each table is listed in when a reader asks for it ordered.
ORDER = {
    ATTAINMENT.name: "commitment, level, org_code, period",
    WATCH_LIST.name: "framework, commitment, level, org_code",
    MISSED_OPPORTUNITIES.name: "level, org_code, framework, commitment, period",
}


def table(cur: Cursor, name: str, where: str = "", params: list | None = None) -> pd.DataFrame:
    """A mission table, with an optional SQL ``WHERE ... ORDER BY ...`` tail and its parameters (empty, with its
    columns, if it has not been written yet)."""
    shape = MISSION_BY_NAME[name]
    if name not in tables(cur):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in shape.column_names})
    return cur.execute(f'SELECT * FROM "{name}" {where}', params or []).df()


def _filtered(cur: Cursor, name: str, pairs: tuple[tuple[str, Any], ...], ordered: bool) -> pd.DataFrame:
    conditions, params = equal_to(*pairs)
    where = ("WHERE " + " AND ".join(conditions)) if conditions else ""
    if ordered:
        where += f" ORDER BY {ORDER[name]}"
    return table(cur, name, where, params)


def attainment(
    cur: Cursor,
    *,
    framework: str | None = None,
    commitment: str | None = None,
    level: str | None = None,
    org_code: str | None = None,
    period: dt.date | None = None,
    ordered: bool = False,
) -> pd.DataFrame:
    """Rows of result_attainment matching the filters (as stored, or in ``ORDER`` with ``ordered``)."""
    return _filtered(cur, ATTAINMENT.name, (("framework", framework), ("commitment", commitment), ("level", level),
                                            ("org_code", org_code), ("period", period)), ordered)


def attainment_page(
    cur: Cursor,
    *,
    framework: str | None = None,
    commitment: str | None = None,
    level: str | None = None,
    org_code: str | None = None,
    period: dt.date | None = None,
    page: int = 1,
    per_page: int = 100,
) -> tuple[pd.DataFrame, int]:
    """One page of ``attainment(..., ordered=True)`` and the number of rows matching, paged in SQL (a framework
    has tens of thousands of rows at the practice level: the API's pages never read them all)."""
    return _paged(cur, ATTAINMENT.name, (("framework", framework), ("commitment", commitment), ("level", level),
                                         ("org_code", org_code), ("period", period)), page, per_page)


def _paged(cur: Cursor, name: str, pairs: tuple[tuple[str, Any], ...], page: int,
           per_page: int) -> tuple[pd.DataFrame, int]:
    if page < 1 or per_page < 1:
        raise ValueError("page and per_page start at 1")
    conditions, params = equal_to(*pairs)
    where = ("WHERE " + " AND ".join(conditions)) if conditions else ""
    if name not in tables(cur):
        return table(cur, name), 0
    total = int(cur.execute(f'SELECT count(*) FROM "{name}" {where}', params).fetchone()[0])
    tail = f"{where} ORDER BY {ORDER[name]} LIMIT ? OFFSET ?"
    return table(cur, name, tail, [*params, per_page, (page - 1) * per_page]), total


def watch_list(
    cur: Cursor, *, level: str | None = None, rating_year: dt.date | None = None, ordered: bool = False
) -> pd.DataFrame:
    """The decertification watch list (result_watch_list), for one level and rating year if given."""
    return _filtered(cur, WATCH_LIST.name, (("level", level), ("rating_year", rating_year)), ordered)


def missed_opportunities(
    cur: Cursor,
    *,
    level: str | None = None,
    org_code: str | None = None,
    rating_year: dt.date | None = None,
    ordered: bool = False,
) -> pd.DataFrame:
    """The missed opportunities (result_missed_opportunities), filtered as asked."""
    return _filtered(cur, MISSED_OPPORTUNITIES.name,
                     (("level", level), ("org_code", org_code), ("rating_year", rating_year)), ordered)


def missed_opportunities_page(
    cur: Cursor,
    *,
    level: str | None = None,
    org_code: str | None = None,
    rating_year: dt.date | None = None,
    page: int = 1,
    per_page: int = 100,
) -> tuple[pd.DataFrame, int]:
    """One page of ``missed_opportunities(..., ordered=True)`` and the number of rows matching, paged in SQL."""
    return _paged(cur, MISSED_OPPORTUNITIES.name,
                  (("level", level), ("org_code", org_code), ("rating_year", rating_year)), page, per_page)


def progress(cur: Cursor, framework: str, level: str | None = None, by_region: bool = False) -> pd.DataFrame:
    """Organisations by status per commitment, level and period (and each ICB's region with ``by_region``).
    Raises duckdb.CatalogException when result_attainment has not been written."""
    region = ", r.parent_code AS region" if by_region else ""
    join = ("LEFT JOIN relationships r ON r.child_code = a.org_code AND r.child_level = a.level "
            "AND r.parent_level = 'region' AND r.valid_to IS NULL") if by_region else ""
    sql = (f"SELECT a.commitment, a.level, a.period{region}, a.status, count(*) AS organisations, "
           "bool_or(a.synthetic) AS synthetic "
           f"FROM result_attainment a {join} WHERE a.framework = ?"
           + (" AND a.level = ?" if level else "")
           + f" GROUP BY ALL ORDER BY a.commitment, a.level, a.period{', region' if by_region else ''}, a.status")
    params: list[Any] = [framework] + ([level] if level else [])
    return cur.execute(sql, params).df()
