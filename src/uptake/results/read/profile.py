"""An organisation across every indicator (the area profile, its spine chart and the board pack), the members
of an area on every indicator (the tartan rug), and an organisation's line over the deciles of its level (the
deciles chart): reads of result_values, result_deciles and result_spc_series.

The benchmark is a parameter (an organisation code: ``ENG`` by default). Against England an organisation's
comparison is the pipeline's own (result_values.comparison, by its stated method). Against any other
benchmark (a region, an ICB) it is judged here by the same interval rule the pipeline's plain comparison
uses (docs/methods.md): better when the organisation's 95% interval lies wholly on the better side of the
benchmark's value, best beyond its 99.8% interval, similar when the interval contains it; and the spread
(lowest, quartiles, highest) is that of the organisations of the same level in the benchmark's area.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from uptake.results.read._sql import Cursor, Row, rows

ENGLAND = "ENG"

#: the trend of an organisation's latest periods, from its SPC chart's variation icon (result_spc_series)
TREND_SQL = """CASE
    WHEN sp.variation_icon IS NULL THEN NULL
    WHEN sp.variation_icon = 'common-cause' THEN 'no significant change'
    WHEN starts_with(sp.variation_icon, 'improvement') THEN 'improving'
    WHEN starts_with(sp.variation_icon, 'concern') THEN 'getting worse'
    ELSE 'changing' END"""
TREND_DIRECTION_SQL = """CASE WHEN ends_with(sp.variation_icon, '-high') THEN 'up'
    WHEN ends_with(sp.variation_icon, '-low') THEN 'down' END"""

#: a comparison with a benchmark other than England, by the interval rule (result_values' comparison words)
_INTERVAL_COMPARISON = """CASE
    WHEN m.comparison = 'not eligible' THEN 'not eligible'
    WHEN m.value IS NULL OR b.value IS NULL OR m.ci95_low IS NULL OR m.ci95_high IS NULL THEN 'not compared'
    WHEN list_contains(?::VARCHAR[], m.indicator) THEN CASE
        WHEN m.ci998_low > b.value THEN 'best' WHEN m.ci95_low > b.value THEN 'better'
        WHEN m.ci998_high < b.value THEN 'worst' WHEN m.ci95_high < b.value THEN 'worse' ELSE 'similar' END
    WHEN list_contains(?::VARCHAR[], m.indicator) THEN CASE
        WHEN m.ci998_high < b.value THEN 'best' WHEN m.ci95_high < b.value THEN 'better'
        WHEN m.ci998_low > b.value THEN 'worst' WHEN m.ci95_low > b.value THEN 'worse' ELSE 'similar' END
    ELSE CASE WHEN m.ci95_low > b.value THEN 'higher' WHEN m.ci95_high < b.value THEN 'lower' ELSE 'similar' END
    END"""


def profile(cur: Cursor, org_code: str, level: str, *, benchmark: str = ENGLAND, trends: bool = True,
            polarities: Mapping[str, str] | None = None) -> list[Row]:
    """One row per indicator the organisation has results for, at its latest period: its value, intervals,
    decile and comparison with the benchmark; the benchmark's value that period; the spread of the
    organisations of its level (in the benchmark's area) that period: ``organisations``, ``lowest``, ``q25``,
    ``median``, ``q75``, ``highest``; and, with ``trends`` (result_spc_series is
    there), the SPC ``variation_icon`` and ``spc_basis``, the ``trend`` ('improving', 'getting worse',
    'changing', 'no significant change') and its ``trend_direction`` ('up', 'down'), and
    ``worse_and_getting_worse``. ``polarities`` (indicator id to 'high-is-good', 'low-is-good' or
    'no-judgement', from the catalogue) is needed to judge against a benchmark other than England."""
    england = benchmark == ENGLAND
    area = ("" if england else
            "AND v.org_code IN (SELECT child_code FROM relationships WHERE parent_code = ? AND valid_to IS NULL)")
    comparison = "m.comparison" if england else _INTERVAL_COMPARISON
    method = "m.comparison_method" if england else "'interval'"
    trend_cols = (f"sp.variation_icon, sp.basis AS spc_basis, {TREND_SQL} AS trend, "
                  f"{TREND_DIRECTION_SQL} AS trend_direction" if trends else
                  "NULL AS variation_icon, NULL AS spc_basis, NULL AS trend, NULL AS trend_direction")
    trend_join = ("LEFT JOIN result_spc_series sp ON sp.indicator = m.indicator AND sp.level = m.level "
                  "AND sp.org_code = m.org_code") if trends else ""
    sql = f"""
        WITH mine AS (
            SELECT indicator, level, org_code, org_name, period, numerator, denominator, value, ci95_low, ci95_high,
                   ci998_low, ci998_high, percent_rank, decile, comparison, comparison_method, synthetic
            FROM result_values WHERE org_code = ? AND level = ?
            QUALIFY row_number() OVER (PARTITION BY indicator ORDER BY period DESC) = 1
        ), spread AS (
            SELECT v.indicator, count(v.value) AS organisations, min(v.value) AS lowest,
                   quantile_cont(v.value, 0.25) AS q25, quantile_cont(v.value, 0.5) AS median,
                   quantile_cont(v.value, 0.75) AS q75, max(v.value) AS highest
            FROM result_values v JOIN mine m ON v.indicator = m.indicator AND v.level = m.level
                AND v.period = m.period
            WHERE v.value IS NOT NULL AND isfinite(v.value) AND v.comparison <> 'not eligible' {area}
            GROUP BY v.indicator
        ), judged AS (
            SELECT m.* EXCLUDE (comparison, comparison_method), {comparison} AS comparison,
                   {method} AS comparison_method, b.value AS benchmark_value, b.ci95_low AS benchmark_ci95_low,
                   b.ci95_high AS benchmark_ci95_high, s.organisations, s.lowest, s.q25, s.median, s.q75,
                   s.highest, {trend_cols}
            FROM mine m
            LEFT JOIN result_values b ON b.indicator = m.indicator AND b.org_code = ? AND b.period = m.period
            LEFT JOIN spread s ON s.indicator = m.indicator
            {trend_join}
        )
        SELECT *, coalesce(comparison IN ('worse', 'worst') AND trend = 'getting worse', FALSE)
                  AS worse_and_getting_worse
        FROM judged ORDER BY indicator
    """
    polarities = polarities or {}
    if not england and not polarities:
        raise ValueError("judging against a benchmark other than England needs the indicators' polarities")
    sides = [] if england else [[i for i, p in polarities.items() if p == "high-is-good"],
                                [i for i, p in polarities.items() if p == "low-is-good"]]
    params: list[Any] = [org_code, level] + ([] if england else [benchmark]) + sides + [benchmark]
    return rows(cur, sql, params)


def rug_levels(cur: Cursor, parent_code: str) -> list[Row]:
    """The levels of the organisations under ``parent_code`` that have results: ``level``, how many
    ``organisations`` and ``indicators``, most organisations last."""
    return rows(
        cur,
        "SELECT v.level, count(DISTINCT v.org_code) AS organisations, count(DISTINCT v.indicator) AS indicators "
        "FROM result_values v WHERE v.org_code IN (SELECT child_code FROM relationships WHERE parent_code = ? "
        "AND valid_to IS NULL) AND v.level <> 'england' GROUP BY v.level ORDER BY organisations, v.level",
        [parent_code],
    )


def rug(cur: Cursor, parent_code: str, level: str, *, benchmark: str = ENGLAND) -> list[Row]:
    """The tartan rug of an area: for every indicator with results at ``level``, in its latest period there,
    the value and comparison of the benchmark (``role`` 'benchmark'), the area itself ('area', when it has a
    value) and each organisation of ``level`` under it ('member'). Comparisons are with England as stored
    (the benchmark parameter is there for the benchmarks to come: only England is accepted today)."""
    if benchmark != ENGLAND:
        raise ValueError("the tartan rug compares with England only, for now")
    return rows(
        cur,
        """
        WITH latest AS (
            SELECT indicator, max(period) AS period FROM result_values WHERE level = ? GROUP BY indicator
        ), kids AS (
            SELECT DISTINCT child_code AS org_code FROM relationships
            WHERE parent_code = ? AND child_level = ? AND valid_to IS NULL
        )
        SELECT CASE WHEN v.org_code = ? THEN 'benchmark' WHEN v.org_code = ? THEN 'area' ELSE 'member' END AS role,
               v.indicator, v.level, v.org_code, v.org_name, v.period, v.numerator, v.denominator, v.value,
               v.ci95_low, v.ci95_high, v.decile, v.comparison, v.synthetic
        FROM result_values v JOIN latest l ON l.indicator = v.indicator AND l.period = v.period
        WHERE (v.level = ? AND v.org_code IN (SELECT org_code FROM kids)) OR v.org_code IN (?, ?)
        ORDER BY v.indicator, role, v.org_name, v.org_code
        """,
        [level, parent_code, level, benchmark, parent_code, level, benchmark, parent_code],
    )


#: what a row of the changes chart has (read.changes.change_series), when org_deciles is asked for it too
CHANGE_COLUMNS = ("percentile", "cusum_increase", "cusum_decrease", "threshold_increase", "threshold_decrease",
                  "alert")


def org_deciles(cur: Cursor, org_code: str, level: str, indicator: str | None = None, *,
                with_changes: bool = False) -> list[Row]:
    """The deciles of ``level`` each period beside the organisation's own value (None in a period it has
    none), for every indicator it has results for at that level (or only ``indicator``), in indicator and
    period order: the deciles chart and its table. ``with_changes`` (result_changes is there) adds the
    organisation's percentile series with its CUSUMs and alert (``CHANGE_COLUMNS``, as
    read.changes.change_series; ``in_changes`` says whether result_changes has the period), so the
    organisation page asks one question for both its charts over time."""
    only, chosen = ("AND d.indicator = ?", [indicator]) if indicator is not None else ("", [])
    changes, join, joined = "", "", []
    if with_changes:
        changes = (", c.period IS NOT NULL AS in_changes, c.percentile, c.cusum_increase, c.cusum_decrease, "
                   "c.threshold_increase, c.threshold_decrease, coalesce(c.alert, '') AS alert")
        join = ("LEFT JOIN result_changes c ON c.indicator = d.indicator AND c.level = d.level "
                "AND c.period = d.period AND c.org_code = ?")
        joined = [org_code]
    return rows(
        cur,
        f"""
        SELECT d.indicator, d.period, d.organisations, d.p10, d.p20, d.p30, d.p40, d.p50, d.p60, d.p70, d.p80,
               d.p90, v.value, v.ci95_low, v.ci95_high, v.decile{changes}
        FROM result_deciles d
        LEFT JOIN result_values v ON v.indicator = d.indicator AND v.level = d.level AND v.period = d.period
            AND v.org_code = ?
        {join}
        WHERE d.level = ? {only}
          AND d.indicator IN (SELECT DISTINCT indicator FROM result_values WHERE org_code = ? AND level = ?)
        ORDER BY d.indicator, d.period
        """,
        [org_code, *joined, level, *chosen, org_code, level],
    )
