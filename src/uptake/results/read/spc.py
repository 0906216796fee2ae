"""result_spc and result_spc_series: SPC charts with their icons (the organisation page, the API's /spc) and
the limits the mission's assurance is judged against."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from uptake.results.read._sql import Cursor, Row, one, rows, select_list
from uptake.results.schema import SPC


def spc(cur: Cursor, indicator: str, level: str, org_code: str) -> list[Row]:
    """Each point of an organisation's SPC chart, with its series' icons and target."""
    return rows(
        cur,
        "SELECT p.period, p.value, p.centre, p.lower_limit AS lower, p.upper_limit AS upper, p.segment, "
        "p.special_cause, p.rule, s.variation_icon, s.assurance_icon, s.target, s.warnings "
        "FROM result_spc p LEFT JOIN result_spc_series s "
        "ON s.indicator = p.indicator AND s.level = p.level AND s.org_code = p.org_code "
        "WHERE p.indicator = ? AND p.level = ? AND p.org_code = ? ORDER BY p.period",
        [indicator, level, org_code],
    )


def spc_points(cur: Cursor, indicator: str, level: str, org_code: str) -> list[Row]:
    """The SPC points as stored (for the API)."""
    return rows(
        cur,
        "SELECT * EXCLUDE (indicator, level, org_code) FROM result_spc "
        "WHERE indicator = ? AND level = ? AND org_code = ? ORDER BY period",
        [indicator, level, org_code],
    )


def spc_series(cur: Cursor, indicator: str, level: str, org_code: str) -> Row | None:
    return one(
        cur,
        "SELECT * EXCLUDE (indicator, level, org_code) FROM result_spc_series "
        "WHERE indicator = ? AND level = ? AND org_code = ?",
        [indicator, level, org_code],
    )


def spc_frame(
    cur: Cursor, columns: Sequence[str], indicators: Sequence[str] | None = None
) -> pd.DataFrame:
    """Columns of result_spc for every chart point (of the given indicators only, if given)."""
    where, params = "", []
    if indicators is not None:
        where, params = "WHERE list_contains(?::VARCHAR[], indicator)", [list(indicators)]
    return cur.execute(f"SELECT {select_list(SPC, columns)} FROM result_spc {where}", params).df()
