"""result_outcomes and result_impact: what closing each gap is worth (the innovation and organisation pages'
outcome columns, the health and wealth page, the API's /outcomes and /impact), and the gaps they are
computed from (``gaps_frame``, for uptake.models.publish)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd

from uptake.results.read._sql import Cursor, Row, equal_to, in_list, rows
from uptake.results.schema import IMPACT, OUTCOMES

NATIONAL = "ENG"
_OUTCOME_COLUMNS = ", ".join(f'"{c}"' for c in OUTCOMES.column_names)
_IMPACT_COLUMNS = ", ".join(f'"{c}"' for c in IMPACT.column_names)


def gaps_frame(cur: Cursor, indicators: Sequence[str]) -> pd.DataFrame:
    """Every gap of the given indicators, one row per organisation (or England: org_code 'ENG'), period and
    benchmark: indicator, level, org_code, period, benchmark, extra_units (the gap in the indicator's own
    unit, NULL where the benchmark has no value), synthetic."""
    if not indicators:
        return pd.DataFrame(columns=["indicator", "level", "org_code", "period", "benchmark", "extra_units",
                                     "synthetic"])
    marks = ", ".join("?" for _ in indicators)
    sql = f"""
        WITH wide AS (SELECT * FROM result_opportunity WHERE indicator IN ({marks}))
        SELECT indicator, level, org_code, period, 'median' AS benchmark, gap_median AS extra_units, synthetic FROM wide
        UNION ALL SELECT indicator, level, org_code, period, 'top-decile', gap_top_decile, synthetic FROM wide
        UNION ALL SELECT indicator, level, org_code, period, 'peers', gap_peers, synthetic FROM wide
        UNION ALL SELECT indicator, level, org_code, period, 'target', gap_target, synthetic FROM wide
        UNION ALL
        SELECT indicator, level, '{NATIONAL}', period, benchmark, gap_patients, synthetic
        FROM result_opportunity_totals WHERE area_level = 'england' AND indicator IN ({marks})
    """
    return cur.execute(sql, [*indicators, *indicators]).df()


def outcomes(
    cur: Cursor,
    *,
    indicator: str | None = None,
    level: str | None = None,
    period: dt.date | None = None,
    org_codes: Sequence[str] | None = None,
    benchmark: str | None = None,
    outcome: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[Row], int]:
    """Outcome rows (largest first within each indicator, level, period, benchmark and outcome)."""
    conditions, params = equal_to(("indicator", indicator), ("level", level), ("period", period),
                                  ("benchmark", benchmark), ("outcome", outcome))
    cond, extra = in_list("org_code", org_codes)
    conditions.append(cond)
    params += extra
    sql = f"SELECT {_OUTCOME_COLUMNS} FROM result_outcomes WHERE {' AND '.join(conditions)}"
    ordered = sql + " ORDER BY indicator, level, period, benchmark, outcome, mean DESC NULLS LAST, org_code"
    if limit is None:
        found = rows(cur, ordered, params)
        return found, len(found)
    total = cur.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()[0]
    return rows(cur, ordered + " LIMIT ? OFFSET ?", params + [limit, offset]), int(total)


def national_outcomes(cur: Cursor, indicator: str, period: dt.date | None = None,
                      exclude_periods: Sequence[dt.date] = ()) -> list[Row]:
    """England's outcomes of closing the gap, for ``period`` (default: the latest not in
    ``exclude_periods``), one row per level, benchmark and outcome."""
    if period is None:
        skip, params = in_list("period", list(exclude_periods))
        sql = (f"SELECT {_OUTCOME_COLUMNS} FROM result_outcomes WHERE indicator = ? AND org_code = '{NATIONAL}' "
               f"AND period = (SELECT max(period) FROM result_outcomes WHERE indicator = ? AND org_code = "
               f"'{NATIONAL}' AND NOT {skip}) ORDER BY level, benchmark, outcome")
        return rows(cur, sql, [indicator, indicator, *params])
    return rows(cur, f"SELECT {_OUTCOME_COLUMNS} FROM result_outcomes WHERE indicator = ? AND org_code = "
                     f"'{NATIONAL}' AND period = ? ORDER BY level, benchmark, outcome", [indicator, period])


def org_outcomes(cur: Cursor, code: str, indicators: Sequence[str] | None = None,
                 benchmark: str | None = "top-decile") -> list[Row]:
    """One organisation's outcomes on each indicator (of ``indicators``), latest period of each, with England's
    figure for the same level, period, benchmark and outcome (``national_mean``) and the organisation's share
    of it (``share``): one query."""
    cond, params = in_list("o.indicator", indicators)
    bench = "o.benchmark = ?" if benchmark else "TRUE"
    return rows(
        cur,
        f"""SELECT {", ".join(f'o."{c}"' for c in OUTCOMES.column_names)}, n.mean AS national_mean,
                   CASE WHEN n.mean > 0 THEN o.mean / n.mean END AS share
            FROM result_outcomes o LEFT JOIN result_outcomes n
              ON n.indicator = o.indicator AND n.level = o.level AND n.period = o.period
             AND n.benchmark = o.benchmark AND n.outcome = o.outcome AND n.org_code = '{NATIONAL}'
            WHERE o.org_code = ? AND {cond} AND {bench}
              AND o.period = (SELECT max(period) FROM result_outcomes x WHERE x.indicator = o.indicator
                              AND x.level = o.level AND x.org_code = o.org_code)
            ORDER BY o.indicator, o.benchmark, o.outcome""",
        [code, *params, *([benchmark] if benchmark else [])],
    )


def impact(cur: Cursor, condition: str | None = None) -> list[Row]:
    conditions, params = equal_to(("condition", condition))
    return rows(cur, f"SELECT {_IMPACT_COLUMNS} FROM result_impact WHERE {' AND '.join(conditions or ['TRUE'])} "
                     "ORDER BY condition, indicator, measure", params)


def gaps_by_icb(cur: Cursor, indicator: str, benchmark: str = "top-decile",
                period: dt.date | None = None) -> list[Row]:
    """Each ICB's gap for one indicator (the value-across-organisations page): the organisations' extra units
    in result_outcomes (finest level present; latest period unless given) summed per current parent ICB
    (an ICB-level row counts for itself): icb_code, icb_name, level, period, extra_units, organisations,
    synthetic. Largest gap first."""
    levels = [r[0] for r in cur.execute(
        "SELECT DISTINCT level FROM result_outcomes WHERE indicator = ? AND org_code <> ?",
        [indicator, NATIONAL]).fetchall()]
    level = next((lv for lv in ("practice", "sub-icb", "icb") if lv in levels), None)
    if level is None:
        return []
    if period is None:
        period = cur.execute("SELECT max(period) FROM result_outcomes WHERE indicator = ? AND level = ? AND "
                             "benchmark = ?", [indicator, level, benchmark]).fetchone()[0]
    sql = """
        WITH g AS (
            SELECT org_code, max(extra_units) AS extra_units, bool_or(synthetic) AS synthetic
            FROM result_outcomes WHERE indicator = ? AND level = ? AND benchmark = ? AND period = ?
              AND org_code <> ? AND extra_units IS NOT NULL
            GROUP BY org_code),
        p AS (
            SELECT g.*, CASE WHEN ? = 'icb' THEN g.org_code ELSE r.parent_code END AS icb_code
            FROM g LEFT JOIN relationships r
              ON r.child_code = g.org_code AND r.parent_level = 'icb' AND r.valid_to IS NULL)
        SELECT p.icb_code, coalesce(any_value(o.name), p.icb_code) AS icb_name, ? AS level, ?::DATE AS period,
               sum(p.extra_units) AS extra_units, count(*) AS organisations, bool_or(p.synthetic) AS synthetic
        FROM p LEFT JOIN organisations o ON o.code = p.icb_code AND o.valid_to IS NULL
        WHERE p.icb_code IS NOT NULL
        GROUP BY p.icb_code ORDER BY extra_units DESC, p.icb_code
    """
    return rows(cur, sql, [indicator, level, benchmark, period, NATIONAL, level, level, period])
