"""Every query the web app and API run against the analytics store snapshot, in one place.

The pipeline (`uptake compute`) writes the result tables; this module reads them. If a result table's
columns change, this is the only file to adjust. Queries take a DuckDB cursor on the snapshot
(`uptake.web.snapshot`) and return plain rows (lists of dicts), never build HTML.

Tables read (see docs/web.md for the columns used):
    organisations, relationships, batches                 (analytics store)
    result_values, result_deciles, result_funnel, result_funnel_curve, result_spc, result_peers,
    result_changes, result_opportunity, result_opportunity_totals, result_adoption, result_equity,
    pipeline_runs
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import duckdb

Row = dict[str, Any]


def _rows(cur: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> list[Row]:
    result = cur.execute(sql, list(params))
    names = [d[0] for d in result.description]
    return [dict(zip(names, values, strict=True)) for values in result.fetchall()]


def _one(cur: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> Row | None:
    rows = _rows(cur, sql, params)
    return rows[0] if rows else None


def _equal_to(*pairs: tuple[str, Any]) -> tuple[list[str], list[Any]]:
    """SQL conditions "column = ?" and their parameters, for each (column, value) whose value is given."""
    given = [(name, value) for name, value in pairs if value is not None]
    return [f"{name} = ?" for name, _ in given], [value for _, value in given]


def _in_list(name: str, values: Sequence[Any] | None) -> tuple[str, list[Any]]:
    """A ``name IN (...)`` condition (or TRUE when values is None)."""
    if values is None:
        return "TRUE", []
    if not values:
        return "FALSE", []
    return f"{name} IN ({', '.join('?' for _ in values)})", list(values)


# ---------------------------------------------------------------------- organisations
CURRENT_ORG = "valid_to IS NULL"


def organisation(cur, code: str) -> Row | None:
    """The current (else latest) version of one organisation."""
    return _one(
        cur,
        "SELECT code, level, name, ons_code, postcode, lat, lon, imd_score, imd_quintile, population, "
        "trust_type, valid_from, valid_to FROM organisations WHERE code = ? "
        "ORDER BY valid_to IS NULL DESC, valid_from DESC LIMIT 1",
        [code],
    )


def parents(cur, code: str) -> list[Row]:
    """The current parents of an organisation, one per level (ordered nearest first by the caller)."""
    return _rows(
        cur,
        "SELECT o.code, o.level, o.name FROM relationships r JOIN organisations o "
        "ON o.code = r.parent_code AND o.level = r.parent_level AND o.valid_to IS NULL "
        "WHERE r.child_code = ? AND r.valid_to IS NULL",
        [code],
    )


def children_count(cur, code: str) -> list[Row]:
    return _rows(
        cur,
        "SELECT child_level AS level, count(*) AS n FROM relationships "
        "WHERE parent_code = ? AND valid_to IS NULL GROUP BY child_level ORDER BY n",
        [code],
    )


def descendants(cur, code: str) -> list[str]:
    """Codes of every organisation currently linked under ``code`` (links are flat: one hop)."""
    rows = cur.execute(
        "SELECT DISTINCT child_code FROM relationships WHERE parent_code = ? AND valid_to IS NULL", [code]
    ).fetchall()
    return [r[0] for r in rows]


def search_organisations(
    cur, text: str | None, level: str | None, limit: int, offset: int
) -> tuple[list[Row], int]:
    conditions, params = [CURRENT_ORG], []
    if level:
        conditions.append("level = ?")
        params.append(level)
    if text:
        conditions.append("(code ILIKE ? OR name ILIKE ?)")
        params += [f"%{text}%", f"%{text}%"]
    where = " AND ".join(conditions)
    total = cur.execute(f"SELECT count(*) FROM organisations WHERE {where}", params).fetchone()[0]
    rows = _rows(
        cur,
        f"SELECT code, level, name, ons_code, imd_quintile, population, trust_type FROM organisations "
        f"WHERE {where} ORDER BY level, name, code LIMIT ? OFFSET ?",
        params + [limit, offset],
    )
    return rows, int(total)


def organisation_names(cur, codes: Sequence[str]) -> dict[str, str]:
    cond, params = _in_list("code", list(codes))
    return dict(cur.execute(f"SELECT code, name FROM organisations WHERE {cond} AND {CURRENT_ORG}", params).fetchall())


def level_counts(cur) -> list[Row]:
    return _rows(cur, f"SELECT level, count(*) AS n FROM organisations WHERE {CURRENT_ORG} GROUP BY level")


# ---------------------------------------------------------------------- provenance
def batches(cur, indicator: str | None = None) -> list[Row]:
    cond, params = ("indicator = ?", [indicator]) if indicator else ("TRUE", [])
    return _rows(
        cur,
        "SELECT batch_id, indicator, source, file_name, file_sha256, row_count, "
        "list_min(periods) AS first_period, list_max(periods) AS last_period, len(periods) AS periods, "
        f"loaded_at, loaded_by FROM batches WHERE {cond} ORDER BY batch_id",
        params,
    )


def batches_for_period(cur, indicator: str, period: dt.date | None) -> list[Row]:
    """The batches whose rows made the results of ``indicator`` for ``period`` (the current version)."""
    if period is None:
        return []
    return _rows(
        cur,
        "SELECT batch_id, source, file_name, file_sha256, loaded_at, loaded_by FROM batches "
        "WHERE indicator = ? AND list_contains(periods, ?::DATE) ORDER BY batch_id DESC LIMIT 1",
        [indicator, period],
    )


def pipeline_settings(cur) -> str | None:
    """The settings (JSON) of the latest pipeline run."""
    row = cur.execute("SELECT settings FROM pipeline_runs ORDER BY run_id DESC LIMIT 1").fetchone()
    return row[0] if row else None


def pipeline_runs(cur, limit: int = 10) -> list[Row]:
    return _rows(
        cur,
        "SELECT run_id, engine, started_at, finished_at, input_rows, len(indicators) AS indicators, "
        "uptake_version FROM pipeline_runs ORDER BY run_id DESC LIMIT ?",
        [limit],
    )


# ---------------------------------------------------------------------- values
VALUE_COLUMNS = (
    "indicator, level, org_code, org_name, period, numerator, denominator, value, ci95_low, ci95_high, "
    "ci998_low, ci998_high, percent_rank, decile, comparison, synthetic"
)


def indicator_levels(cur) -> list[Row]:
    """Each indicator and level with results, with their first and last period."""
    return _rows(
        cur,
        "SELECT indicator, level, min(period) AS first_period, max(period) AS last_period, "
        "count(DISTINCT org_code) AS organisations FROM result_values GROUP BY indicator, level "
        "ORDER BY indicator, level",
    )


def periods(cur, indicator: str, level: str) -> list[dt.date]:
    rows = cur.execute(
        "SELECT DISTINCT period FROM result_values WHERE indicator = ? AND level = ? ORDER BY period",
        [indicator, level],
    ).fetchall()
    return [r[0] for r in rows]


def latest_period(cur, indicator: str, level: str | None = None) -> dt.date | None:
    if level is None:
        return cur.execute("SELECT max(period) FROM result_values WHERE indicator = ?", [indicator]).fetchone()[0]
    return cur.execute(
        "SELECT max(period) FROM result_values WHERE indicator = ? AND level = ?", [indicator, level]
    ).fetchone()[0]


def series(cur, indicator: str, level: str, org_codes: Sequence[str] | None = None) -> list[Row]:
    """Every period's value of the organisations of one level (all, or those listed)."""
    cond, params = _in_list("org_code", org_codes)
    return _rows(
        cur,
        f"SELECT {VALUE_COLUMNS} FROM result_values WHERE indicator = ? AND level = ? AND {cond} "
        "ORDER BY org_code, period",
        [indicator, level, *params],
    )


def values(
    cur,
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
    conditions, params = _equal_to(("indicator", indicator), ("level", level), ("period", period))
    cond, extra = _in_list("org_code", org_codes)
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
    return _rows(cur, sql, params + tail), int(total)


def value_of(cur, indicator: str, level: str, org_code: str, period: dt.date) -> Row | None:
    return _one(
        cur,
        f"SELECT {VALUE_COLUMNS} FROM result_values WHERE indicator = ? AND level = ? AND org_code = ? "
        "AND period = ?",
        [indicator, level, org_code, period],
    )


def organisation_latest_values(cur, org_code: str) -> list[Row]:
    """The latest value of every indicator for one organisation, beside England's for the same period."""
    return _rows(
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


def deciles(cur, indicator: str, level: str) -> list[Row]:
    return _rows(
        cur,
        "SELECT period, p10, p20, p30, p40, p50, p60, p70, p80, p90 FROM result_deciles "
        "WHERE indicator = ? AND level = ? ORDER BY period",
        [indicator, level],
    )


def deciles_at(cur, indicator: str, level: str, period: dt.date) -> Row | None:
    return _one(
        cur,
        "SELECT period, p10, p20, p30, p40, p50, p60, p70, p80, p90 FROM result_deciles "
        "WHERE indicator = ? AND level = ? AND period = ?",
        [indicator, level, period],
    )


def comparison_counts(cur, indicator: str, level: str, period: dt.date) -> list[Row]:
    return _rows(
        cur,
        "SELECT comparison, count(*) AS n FROM result_values WHERE indicator = ? AND level = ? AND period = ? "
        "GROUP BY comparison ORDER BY comparison",
        [indicator, level, period],
    )


# ---------------------------------------------------------------------- funnel
def funnel_points(cur, indicator: str, level: str, period: dt.date) -> list[Row]:
    return _rows(
        cur,
        "SELECT f.org_code, o.name AS org_name, f.numerator, f.denominator, f.value, f.band, f.side, f.z, "
        "f.lower95, f.upper95, f.lower998, f.upper998 FROM result_funnel f "
        f"LEFT JOIN organisations o ON o.code = f.org_code AND o.{CURRENT_ORG} "
        "WHERE f.indicator = ? AND f.level = ? AND f.period = ? ORDER BY f.org_code",
        [indicator, level, period],
    )


def funnel_curve(cur, indicator: str, level: str, period: dt.date) -> list[Row]:
    return _rows(
        cur,
        "SELECT denominator, lower95, upper95, lower998, upper998 FROM result_funnel_curve "
        "WHERE indicator = ? AND level = ? AND period = ? ORDER BY denominator",
        [indicator, level, period],
    )


def funnel_summary(cur, indicator: str, level: str, period: dt.date) -> Row | None:
    """The funnel's centre (England's value), method and overdispersion (phi, tau2)."""
    return _one(
        cur,
        "SELECT benchmark, units, method, phi, tau2, overdispersion_adjusted, warnings FROM result_funnel_summary "
        "WHERE indicator = ? AND level = ? AND period = ?",
        [indicator, level, period],
    )


# ---------------------------------------------------------------------- SPC
def spc(cur, indicator: str, level: str, org_code: str) -> list[Row]:
    """Each point of an organisation's SPC chart, with its series' icons and target."""
    return _rows(
        cur,
        "SELECT p.period, p.value, p.centre, p.lower_limit AS lower, p.upper_limit AS upper, p.segment, "
        "p.special_cause, p.rule, s.variation_icon, s.assurance_icon, s.target, s.warnings "
        "FROM result_spc p LEFT JOIN result_spc_series s "
        "ON s.indicator = p.indicator AND s.level = p.level AND s.org_code = p.org_code "
        "WHERE p.indicator = ? AND p.level = ? AND p.org_code = ? ORDER BY p.period",
        [indicator, level, org_code],
    )


def spc_points(cur, indicator: str, level: str, org_code: str) -> list[Row]:
    """The SPC points as stored (for the API)."""
    return _rows(
        cur,
        "SELECT * EXCLUDE (indicator, level, org_code) FROM result_spc "
        "WHERE indicator = ? AND level = ? AND org_code = ? ORDER BY period",
        [indicator, level, org_code],
    )


def spc_series(cur, indicator: str, level: str, org_code: str) -> Row | None:
    return _one(
        cur,
        "SELECT * EXCLUDE (indicator, level, org_code) FROM result_spc_series "
        "WHERE indicator = ? AND level = ? AND org_code = ?",
        [indicator, level, org_code],
    )


# ---------------------------------------------------------------------- peers
def peers(cur, org_code: str, level: str) -> list[Row]:
    return _rows(
        cur,
        "SELECT p.peer_code, o.name AS peer_name, p.rank, p.distance FROM result_peers p "
        "LEFT JOIN organisations o ON o.code = p.peer_code AND o.valid_to IS NULL "
        "WHERE p.org_code = ? AND p.level = ? ORDER BY p.rank",
        [org_code, level],
    )


def peer_values(cur, org_code: str, level: str) -> list[Row]:
    """For each indicator: the organisation's latest value and its peers' median, min and max then."""
    return _rows(
        cur,
        """
        WITH latest AS (
            SELECT indicator, max(period) AS period FROM result_values
            WHERE org_code = ? AND level = ? GROUP BY indicator
        ), peer AS (
            SELECT peer_code FROM result_peers WHERE org_code = ? AND level = ?
        )
        SELECT l.indicator, l.period,
               median(v.value) AS peer_median, min(v.value) AS peer_min, max(v.value) AS peer_max,
               count(v.value) AS peers
        FROM latest l JOIN result_values v
          ON v.indicator = l.indicator AND v.period = l.period AND v.level = ?
        WHERE v.org_code IN (SELECT peer_code FROM peer)
        GROUP BY l.indicator, l.period ORDER BY l.indicator
        """,
        [org_code, level, org_code, level, level],
    )


# ---------------------------------------------------------------------- nearby
def nearby(cur, indicator: str, level: str, period: dt.date, org_code: str, count: int = 10) -> list[Row]:
    """The ``count`` nearest organisations of the same level (great-circle km between coordinates), with
    their value for the period; the caller orders them by polarity ("who nearby does it best")."""
    return _rows(
        cur,
        f"""
        WITH me AS (SELECT lat, lon FROM organisations WHERE code = ? AND {CURRENT_ORG} LIMIT 1)
        SELECT v.org_code, v.org_name, v.value, v.ci95_low, v.ci95_high, v.comparison, v.denominator,
               round(2 * 6371 * asin(sqrt(
                   pow(sin(radians(o.lat - me.lat) / 2), 2)
                   + cos(radians(me.lat)) * cos(radians(o.lat)) * pow(sin(radians(o.lon - me.lon) / 2), 2)
               )), 1) AS distance_km
        FROM result_values v
        JOIN organisations o ON o.code = v.org_code AND o.{CURRENT_ORG}, me
        WHERE v.indicator = ? AND v.level = ? AND v.period = ? AND v.org_code <> ?
          AND o.lat IS NOT NULL AND me.lat IS NOT NULL
        ORDER BY distance_km LIMIT ?
        """,
        [org_code, indicator, level, period, org_code, count],
    )


# ---------------------------------------------------------------------- opportunity
#: result_opportunity is wide (one row per organisation and period, a gap per benchmark); the web shows it
#: long, one row per benchmark. Gaps are extra patients (positive: below the benchmark).
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
    SELECT l.indicator, l.level, l.org_code, o.name AS org_name, l.period, l.benchmark, l.benchmark_value,
           l.value, l.numerator, l.denominator, l.extra_patients, l.extra_pounds
    FROM long l LEFT JOIN organisations o ON o.code = l.org_code AND o.{CURRENT_ORG}
    WHERE l.benchmark_value IS NOT NULL AND {{benchmark}}
"""
OPPORTUNITY_COLUMNS = (
    "indicator, level, org_code, org_name, period, benchmark, benchmark_value, value, numerator, denominator, "
    "extra_patients, extra_pounds"
)


def opportunity(
    cur,
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
    conditions, params = _equal_to(("indicator", indicator), ("level", level), ("period", period))
    for name, values_ in (("org_code", org_codes), ("indicator", indicators)):
        cond, extra = _in_list(name, values_)
        conditions.append(cond)
        params += extra
    bench_sql = "l.benchmark = ?" if benchmark else "TRUE"
    if benchmark:
        params.append(benchmark)
    sql = OPPORTUNITY_LONG.format(where=" AND ".join(conditions), benchmark=bench_sql)
    total = cur.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()[0]
    sql += " ORDER BY l.indicator, l.level, l.period, l.benchmark, l.extra_patients DESC NULLS LAST, l.org_code"
    tail: list[Any] = []
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        tail = [limit, offset]
    return _rows(cur, sql, params + tail), int(total)


def opportunity_totals(
    cur, indicator: str | None = None, period: dt.date | None = None, area_level: str = "england"
) -> list[Row]:
    """National (area_level 'england') or per-ICB ('icb') totals of the positive gaps."""
    conditions, params = ["area_level = ?"], [area_level]
    if indicator is not None:
        conditions.append("indicator = ?")
        params.append(indicator)
    if period is not None:
        conditions.append("period = ?")
        params.append(period)
    return _rows(
        cur,
        "SELECT indicator, level, period, benchmark, area_level, area_code, organisations, "
        "gap_patients AS extra_patients, gap_pounds AS extra_pounds "
        f"FROM result_opportunity_totals WHERE {' AND '.join(conditions)} "
        "ORDER BY indicator, level, period, benchmark, area_code",
        params,
    )


def latest_national_opportunity(cur, indicator: str) -> list[Row]:
    """The national totals of the latest period for one indicator (one row per level and benchmark)."""
    return _rows(
        cur,
        """
        SELECT indicator, level, period, benchmark, organisations, gap_patients AS extra_patients,
               gap_pounds AS extra_pounds
        FROM result_opportunity_totals
        WHERE indicator = ? AND area_level = 'england'
          AND period = (SELECT max(period) FROM result_opportunity_totals WHERE indicator = ?)
        ORDER BY level, benchmark
        """,
        [indicator, indicator],
    )


# ---------------------------------------------------------------------- adoption
ADOPTION_COLUMNS = (
    "a.indicator, a.level, a.org_code, o.name AS org_name, a.threshold, a.adopted, a.first_adopted, "
    "a.months_from_launch, a.category_normal AS category, a.category_quantile"
)
_ADOPTION_FROM = f"FROM result_adoption a LEFT JOIN organisations o ON o.code = a.org_code AND o.{CURRENT_ORG}"


def adoption(
    cur,
    *,
    indicator: str | None = None,
    level: str | None = None,
    org_codes: Sequence[str] | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[Row], int]:
    conditions, params = _equal_to(("a.indicator", indicator), ("a.level", level))
    cond, extra = _in_list("a.org_code", org_codes)
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
    return _rows(cur, sql, params + tail), int(total)


def adoption_categories(cur, indicator: str, level: str) -> list[Row]:
    return _rows(
        cur,
        "SELECT category_normal AS category, count(*) AS n, min(first_adopted) AS first, "
        "max(first_adopted) AS last FROM result_adoption WHERE indicator = ? AND level = ? "
        "GROUP BY category_normal",
        [indicator, level],
    )


def adoption_curve(cur, indicator: str, level: str) -> list[Row]:
    """The cumulative number of adopters per period (the S-curve of adoption)."""
    return _rows(
        cur,
        """
        SELECT first_adopted AS period, count(*) AS adopters,
               sum(count(*)) OVER (ORDER BY first_adopted) AS cumulative
        FROM result_adoption WHERE indicator = ? AND level = ? AND first_adopted IS NOT NULL
        GROUP BY first_adopted ORDER BY first_adopted
        """,
        [indicator, level],
    )


# ---------------------------------------------------------------------- changes (CUSUM)
#: result_changes holds one row per organisation and period with that period's CUSUM alert. A detected
#: change is a run of consecutive alert periods in one direction (OpenPrescribing's "changes"). It started
#: after the last period before the first alert whose CUSUM (on the alert's side) was zero - the standard
#: CUSUM estimate of when a shift began (Montgomery); its size is the percentile at the latest alert minus
#: the percentile in that last zero period.
CHANGES_RUNS = """
    WITH latest AS (
        SELECT indicator, level, max(period) AS latest_period FROM result_changes
        WHERE {scope} GROUP BY indicator, level
    ), s AS (
        SELECT indicator, level, org_code, period, percentile, coalesce(alert, '') AS alert,
               coalesce(lag(coalesce(alert, '')) OVER w, '') AS previous_alert,
               sum(CASE WHEN coalesce(cusum_increase, 0) = 0 THEN 1 ELSE 0 END) OVER w AS zero_up,
               sum(CASE WHEN coalesce(cusum_decrease, 0) = 0 THEN 1 ELSE 0 END) OVER w AS zero_down
        FROM result_changes WHERE {scope} AND {where}
        WINDOW w AS (PARTITION BY indicator, level, org_code ORDER BY period ROWS UNBOUNDED PRECEDING)
    ), marked AS (
        SELECT *,
               sum(CASE WHEN alert <> previous_alert THEN 1 ELSE 0 END) OVER w AS run,
               -- where each side's CUSUM was last zero (the row opening its group) and the period after it
               first(period) OVER up AS zero_up_period, first(percentile) OVER up AS zero_up_percentile,
               nth_value(period, 2) OVER up AS up_started,
               first(period) OVER down AS zero_down_period, first(percentile) OVER down AS zero_down_percentile,
               nth_value(period, 2) OVER down AS down_started
        FROM s
        WINDOW w AS (PARTITION BY indicator, level, org_code ORDER BY period ROWS UNBOUNDED PRECEDING),
               up AS (PARTITION BY indicator, level, org_code, zero_up ORDER BY period
                      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING),
               down AS (PARTITION BY indicator, level, org_code, zero_down ORDER BY period
                        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
    ), runs AS (
        SELECT indicator, level, org_code, run, any_value(alert) AS alert, min(period) AS first_alert,
               max(period) AS last_alert, count(*) AS alert_periods,
               first(CASE WHEN alert = 'decrease' THEN down_started ELSE up_started END ORDER BY period)
                   AS change_started,
               first(CASE WHEN alert = 'decrease' THEN zero_down_period ELSE zero_up_period END ORDER BY period)
                   AS period_before,
               first(CASE WHEN alert = 'decrease' THEN zero_down_percentile ELSE zero_up_percentile END
                     ORDER BY period) AS percentile_before,
               last(percentile ORDER BY period) AS percentile_latest
        FROM marked WHERE alert <> '' GROUP BY indicator, level, org_code, run
    )
    SELECT r.indicator, r.level, r.org_code, o.name AS org_name,
           CASE r.alert WHEN 'increase' THEN 'up' WHEN 'decrease' THEN 'down' ELSE 'both' END AS direction,
           r.change_started, r.first_alert, r.last_alert, r.alert_periods, r.period_before, r.percentile_before,
           r.percentile_latest, r.percentile_latest - r.percentile_before AS percentile_change,
           vb.value AS value_before, vl.value AS value_latest, r.last_alert = l.latest_period AS ongoing,
           l.latest_period
    FROM runs r JOIN latest l ON l.indicator = r.indicator AND l.level = r.level
    LEFT JOIN result_values vb ON vb.indicator = r.indicator AND vb.level = r.level AND vb.org_code = r.org_code
        AND vb.period = r.period_before
    LEFT JOIN result_values vl ON vl.indicator = r.indicator AND vl.level = r.level AND vl.org_code = r.org_code
        AND vl.period = r.last_alert
    LEFT JOIN organisations o ON o.code = r.org_code AND o.{current}
    {latest_only}
"""
CHANGES_COLUMNS = (
    "indicator, level, org_code, org_name, direction, change_started, first_alert, last_alert, alert_periods, "
    "period_before, percentile_before, percentile_latest, percentile_change, value_before, value_latest, ongoing"
)


def _changes_sql(indicator, level, org_code, period, latest_only) -> tuple[str, list[Any]]:
    scope, params = _equal_to(("indicator", indicator), ("level", level))
    if period is not None:
        scope.append("period <= ?")
        params.append(period)
    scope_sql = " AND ".join(scope) or "TRUE"
    where, extra = ("org_code = ?", [org_code]) if org_code is not None else ("TRUE", [])
    sql = CHANGES_RUNS.format(
        scope=scope_sql, where=where, current=CURRENT_ORG,
        latest_only="QUALIFY row_number() OVER (PARTITION BY r.indicator, r.level, r.org_code "
                    "ORDER BY r.last_alert DESC) = 1" if latest_only else "",
    )
    return sql, params + params + extra


def changes(
    cur,
    *,
    indicator: str | None = None,
    level: str | None = None,
    org_code: str | None = None,
    period: dt.date | None = None,
    direction: str | None = None,
    latest_only: bool = True,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[Row], int]:
    """Changes detected by CUSUM (runs of alerts), newest first: with ``latest_only`` each organisation's
    latest change per indicator and level, else every change. ``period`` sees the results as they stood
    then (later periods are ignored), so a change is ``ongoing`` when its latest alert is in that period."""
    sql, params = _changes_sql(indicator, level, org_code, period, latest_only)
    outer, tail_params = ("TRUE", []) if direction is None else ("direction = ?", [direction])
    total = cur.execute(f"SELECT count(*) FROM ({sql}) WHERE {outer}", params + tail_params).fetchone()[0]
    full = (f"SELECT {CHANGES_COLUMNS} FROM ({sql}) WHERE {outer} ORDER BY last_alert DESC, "
            "abs(percentile_change) DESC NULLS LAST, indicator, level, org_code, first_alert DESC")
    tail: list[Any] = []
    if limit is not None:
        full += " LIMIT ? OFFSET ?"
        tail = [limit, offset]
    return _rows(cur, full, params + tail_params + tail), int(total)


def change_counts(cur, indicator: str, level: str, period: dt.date | None = None) -> list[Row]:
    """How many organisations' latest changes (up to the period) go each way, and how many are ongoing."""
    sql, params = _changes_sql(indicator, level, None, period, True)
    return _rows(cur, f"SELECT direction, ongoing, count(*) AS n FROM ({sql}) GROUP BY ALL ORDER BY ALL", params)


def change_series(cur, indicator: str, level: str, org_code: str) -> list[Row]:
    """One organisation's percentile series with its CUSUMs, thresholds and alerts (result_changes)."""
    return _rows(
        cur,
        "SELECT period, percentile, cusum_increase, cusum_decrease, threshold_increase, threshold_decrease, "
        "coalesce(alert, '') AS alert FROM result_changes WHERE indicator = ? AND level = ? AND org_code = ? "
        "ORDER BY period",
        [indicator, level, org_code],
    )


# ---------------------------------------------------------------------- equity
EQUITY_COLUMNS = (
    "indicator, level, period, organisations, quintiles, sii, rii, intercept, sii_ci95_low, sii_ci95_high, "
    "rii_ci95_low, rii_ci95_high, value_q1, value_q2, value_q3, value_q4, value_q5"
)
#: Columns added after the first release of result_equity: a store computed before them reads them as NULL
#: until the next ``uptake compute``.
_EQUITY_LATER = ("sii_ci95_low", "sii_ci95_high", "rii_ci95_low", "rii_ci95_high")


def _equity_select(cur) -> str:
    have = {r[0] for r in cur.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'result_equity'").fetchall()}
    return ", ".join(name if name in have or name not in _EQUITY_LATER else f"CAST(NULL AS DOUBLE) AS {name}"
                     for name in EQUITY_COLUMNS.replace(" ", "").split(","))


def equity(
    cur,
    *,
    indicator: str | None = None,
    level: str | None = None,
    period: dt.date | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[Row], int]:
    """The slope index of inequality across IMD quintiles (result_equity), per indicator, level and period."""
    conditions, params = _equal_to(("indicator", indicator), ("level", level), ("period", period))
    where = " AND ".join(conditions) or "TRUE"
    total = cur.execute(f"SELECT count(*) FROM result_equity WHERE {where}", params).fetchone()[0]
    sql = f"SELECT {_equity_select(cur)} FROM result_equity WHERE {where} ORDER BY indicator, level, period"
    tail: list[Any] = []
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        tail = [limit, offset]
    return _rows(cur, sql, params + tail), int(total)


def equity_levels(cur, indicator: str) -> list[str]:
    """The levels with an equity result for the indicator."""
    rows = cur.execute(
        "SELECT DISTINCT level FROM result_equity WHERE indicator = ? ORDER BY level", [indicator]
    ).fetchall()
    return [r[0] for r in rows]


def equity_groups(cur, indicator: str, level: str, period: dt.date) -> list[Row]:
    """Each IMD quintile's organisations, population (summed denominators) and pooled value, from the values
    and the organisations' quintiles, as the pipeline pools them for the slope index (only to place the
    quintiles on the chart's population axis; result_equity does not store the populations)."""
    return _rows(
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
