"""result_adoption: first adoption and adopter categories (the innovation page's S-curve and categories, the
API's /adoption)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from uptake.results.read._sql import CURRENT_ORG, Cursor, Row, aliased, equal_to, in_list, rows
from uptake.results.schema import ADOPTION_ROW

#: ``ADOPTION_ROW``: result_adoption with the organisation's current name, its normal category as "category".
ADOPTION_COLUMNS = aliased(ADOPTION_ROW, "a", {"org_name": "o.name", "category": "a.category_normal"})
_ADOPTION_FROM = f"FROM result_adoption a LEFT JOIN organisations o ON o.code = a.org_code AND o.{CURRENT_ORG}"


def adoption(
    cur: Cursor,
    *,
    indicator: str | None = None,
    level: str | None = None,
    org_codes: Sequence[str] | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[Row], int]:
    conditions, params = equal_to(("a.indicator", indicator), ("a.level", level))
    cond, extra = in_list("a.org_code", org_codes)
    conditions.append(cond)
    params += extra
    where = " AND ".join(conditions)
    total = cur.execute(f"SELECT count(*) FROM result_adoption a WHERE {where}", params).fetchone()[0]
    sql = (
        f"SELECT {ADOPTION_COLUMNS} {_ADOPTION_FROM} WHERE {where} "
        "ORDER BY a.indicator, a.level, a.first_adopted NULLS LAST, a.org_code"
    )
    tail: list[Any] = []
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        tail = [limit, offset]
    return rows(cur, sql, params + tail), int(total)


def adoption_categories(cur: Cursor, indicator: str, level: str) -> list[Row]:
    return rows(
        cur,
        "SELECT category_normal AS category, count(*) AS n, min(first_adopted) AS first, "
        "max(first_adopted) AS last FROM result_adoption WHERE indicator = ? AND level = ? "
        "GROUP BY category_normal",
        [indicator, level],
    )


def adoption_curve(cur: Cursor, indicator: str, level: str) -> list[Row]:
    """The cumulative number of adopters per period (the S-curve of adoption)."""
    return rows(
        cur,
        """
        SELECT first_adopted AS period, count(*) AS adopters,
               sum(count(*)) OVER (ORDER BY first_adopted) AS cumulative
        FROM result_adoption WHERE indicator = ? AND level = ? AND first_adopted IS NOT NULL
        GROUP BY first_adopted ORDER BY first_adopted
        """,
        [indicator, level],
    )
