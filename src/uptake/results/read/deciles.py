"""result_deciles: the decile lines of each indicator, level and period (the innovation page's spread and
its league table's decile bands)."""

from __future__ import annotations

import datetime as dt

from uptake.results.read._sql import Cursor, Row, one, rows

_LINES = "p10, p20, p30, p40, p50, p60, p70, p80, p90"


def deciles(cur: Cursor, indicator: str, level: str) -> list[Row]:
    return rows(
        cur,
        f"SELECT period, {_LINES} FROM result_deciles WHERE indicator = ? AND level = ? ORDER BY period",
        [indicator, level],
    )


def deciles_at(cur: Cursor, indicator: str, level: str, period: dt.date) -> Row | None:
    return one(
        cur,
        f"SELECT period, {_LINES} FROM result_deciles WHERE indicator = ? AND level = ? AND period = ?",
        [indicator, level, period],
    )
