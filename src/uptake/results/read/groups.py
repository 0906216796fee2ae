"""A custom group's members on every indicator (uptake.web.groups): each member's value in the latest period
of each indicator at the group's level, read from result_values. Pooling them is uptake.results.pooling."""

from __future__ import annotations

from collections.abc import Sequence

from uptake.results.read._sql import Row, in_list, rows
from uptake.results.read.values import VALUE_COLUMNS


def member_values(cur, level: str, org_codes: Sequence[str]) -> list[Row]:
    """The value rows of ``org_codes`` (organisations of ``level``) in each indicator's latest period at that
    level (the same period for every member, so they pool), ordered by indicator and organisation. A member
    with no row in that period is simply absent."""
    cond, params = in_list("v.org_code", list(org_codes))
    columns = ", ".join(f"v.{name.strip()}" for name in VALUE_COLUMNS.split(","))
    return rows(
        cur,
        f"""
        WITH latest AS (
            SELECT indicator, max(period) AS period FROM result_values WHERE level = ? GROUP BY indicator
        )
        SELECT {columns} FROM result_values v JOIN latest l ON v.indicator = l.indicator AND v.period = l.period
        WHERE v.level = ? AND {cond}
        ORDER BY v.indicator, v.org_code
        """,
        [level, level, *params],
    )
