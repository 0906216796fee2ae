"""result_changes: changes detected by CUSUM on organisations' percentiles (the innovation and organisation
pages' "changes detected", the API's /changes)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from uptake.results.read._sql import CURRENT_ORG, Cursor, Row, equal_to, rows, select_list
from uptake.results.schema import CHANGE_ROW

#: result_changes holds one row per organisation and period with that period's CUSUM alert. A detected
#: change is a run of consecutive alert periods in one direction (OpenPrescribing's "changes"). It started
#: after the last period before the first alert whose CUSUM (on the alert's side) was zero - the standard
#: CUSUM estimate of when a shift began (Montgomery); its size is the percentile at the latest alert minus
#: the percentile in that last zero period.
CHANGES_RUNS = """
    WITH s AS (
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
    ), latest AS (
        -- the latest period of each indicator and level in scope (``latest_periods``: read once per snapshot)
        {latest}
    ), v AS (
        -- the values at the periods the runs need (the view narrowed to the scope and organisation asked for,
        -- not joined whole)
        SELECT indicator, level, org_code, period, value FROM result_values WHERE {scope} AND {where}
    )
    SELECT r.indicator, r.level, r.org_code, o.name AS org_name,
           CASE r.alert WHEN 'increase' THEN 'up' WHEN 'decrease' THEN 'down' ELSE 'both' END AS direction,
           r.change_started, r.first_alert, r.last_alert, r.alert_periods, r.period_before, r.percentile_before,
           r.percentile_latest, r.percentile_latest - r.percentile_before AS percentile_change,
           vb.value AS value_before, vl.value AS value_latest, r.last_alert = l.latest_period AS ongoing,
           l.latest_period
    FROM runs r JOIN latest l ON l.indicator = r.indicator AND l.level = r.level
    LEFT JOIN v vb ON vb.indicator = r.indicator AND vb.level = r.level AND vb.org_code = r.org_code
        AND vb.period = r.period_before
    LEFT JOIN v vl ON vl.indicator = r.indicator AND vl.level = r.level AND vl.org_code = r.org_code
        AND vl.period = r.last_alert
    LEFT JOIN organisations o ON o.code = r.org_code AND o.{current}
    {latest_only}
"""
#: ``CHANGE_ROW``: what a change row has.
CHANGES_COLUMNS = select_list(CHANGE_ROW)


LATEST_PERIODS = ("SELECT indicator, level, max(period) AS latest_period FROM result_changes WHERE {scope} "
                  "GROUP BY indicator, level ORDER BY indicator, level")


def _scope(indicator: str | None, level: str | None, period: dt.date | None) -> tuple[str, list[Any]]:
    scope, params = equal_to(("indicator", indicator), ("level", level))
    if period is not None:
        scope.append("period <= ?")
        params.append(period)
    return " AND ".join(scope) or "TRUE", params


def latest_periods(cur: Cursor, indicator: str | None, level: str | None, period: dt.date | None) -> list[Row]:
    """The latest period of result_changes for each indicator and level in scope (up to ``period``): a change
    whose latest alert is then is ongoing. Without ``period``, a fact of the snapshot, remembered for its life
    (``lasting``): for one organisation's changes it would otherwise be a scan of every indicator's rows at
    its level. With one (any date a caller asks for), remembered for the request only, so callers cannot grow
    the snapshot's memo without bound; a page asks it for one indicator, a cheap scan."""
    scope, params = _scope(indicator, level, period)
    return rows(cur, LATEST_PERIODS.format(scope=scope), params, lasting=period is None)


def _changes_sql(
    cur: Cursor, indicator: str | None, level: str | None, org_code: str | None, period: dt.date | None,
    latest_only: bool,
) -> tuple[str, list[Any]]:
    scope_sql, params = _scope(indicator, level, period)
    where, extra = ("org_code = ?", [org_code]) if org_code is not None else ("TRUE", [])
    latest = latest_periods(cur, indicator, level, period)
    if latest:
        latest_sql = ("SELECT * FROM (VALUES " + ", ".join("(?, ?, ?)" for _ in latest)
                      + ") AS t(indicator, level, latest_period)")
        latest_params = [value for row in latest for value in (row["indicator"], row["level"], row["latest_period"])]
    else:
        latest_sql = "SELECT NULL::VARCHAR AS indicator, NULL::VARCHAR AS level, NULL::DATE AS latest_period WHERE FALSE"
        latest_params = []
    sql = CHANGES_RUNS.format(
        scope=scope_sql, where=where, current=CURRENT_ORG, latest=latest_sql,
        latest_only="QUALIFY row_number() OVER (PARTITION BY r.indicator, r.level, r.org_code "
                    "ORDER BY r.last_alert DESC) = 1" if latest_only else "",
    )
    return sql, params + extra + latest_params + params + extra


_ORDER = "ORDER BY last_alert DESC, abs(percentile_change) DESC NULLS LAST, indicator, level, org_code, first_alert DESC"


def _cell(cur: Cursor, indicator: str, level: str, period: dt.date | None, latest_only: bool) -> list[Row]:
    """Every change of one indicator at one level (up to ``period``), in the listing's order: one query that a
    page's table and its counts share (``rows`` remembers it for the request), rather than one each."""
    sql, params = _changes_sql(cur, indicator, level, None, period, latest_only)
    return rows(cur, f"SELECT {CHANGES_COLUMNS} FROM ({sql}) {_ORDER}", params)


def changes(
    cur: Cursor,
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
    if indicator is not None and level is not None and org_code is None:  # one cell: read whole, paged here
        found = [row for row in _cell(cur, indicator, level, period, latest_only)
                 if direction is None or row["direction"] == direction]
        return (found if limit is None else found[offset:offset + limit]), len(found)
    sql, params = _changes_sql(cur, indicator, level, org_code, period, latest_only)
    outer, tail_params = ("TRUE", []) if direction is None else ("direction = ?", [direction])
    full = f"SELECT {CHANGES_COLUMNS} FROM ({sql}) WHERE {outer} {_ORDER}"
    if limit is None:  # every row: the count is the rows' number, no second query
        found = rows(cur, full, params + tail_params)
        return found, len(found)
    total = cur.execute(f"SELECT count(*) FROM ({sql}) WHERE {outer}", params + tail_params).fetchone()[0]
    return rows(cur, full + " LIMIT ? OFFSET ?", params + tail_params + [limit, offset]), int(total)


def change_counts(
    cur: Cursor, indicator: str, level: str, period: dt.date | None = None
) -> list[Row]:
    """How many organisations' latest changes (up to the period) go each way, and how many are ongoing."""
    counted: dict[tuple[str, bool], int] = {}
    for row in _cell(cur, indicator, level, period, True):
        key = (row["direction"], row["ongoing"])
        counted[key] = counted.get(key, 0) + 1
    return [{"direction": direction, "ongoing": ongoing, "n": n} for (direction, ongoing), n in sorted(counted.items())]


def change_series(cur: Cursor, indicator: str, level: str, org_code: str) -> list[Row]:
    """One organisation's percentile series with its CUSUMs, thresholds and alerts (result_changes)."""
    return rows(
        cur,
        "SELECT period, percentile, cusum_increase, cusum_decrease, threshold_increase, threshold_decrease, "
        "coalesce(alert, '') AS alert FROM result_changes WHERE indicator = ? AND level = ? AND org_code = ? "
        "ORDER BY period",
        [indicator, level, org_code],
    )
