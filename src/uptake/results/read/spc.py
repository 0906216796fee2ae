"""result_spc and result_spc_series: SPC charts with their icons (the organisation page, the API's /spc) and
the limits the mission's assurance is judged against."""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pandas as pd

from uptake.results.read._sql import Cursor, Row, in_list, one, rows, select_list
from uptake.results.schema import SPC
from uptake.stats import xmr


def spc(cur: Cursor, indicator: str, level: str, org_code: str) -> list[Row]:
    """Each point of an organisation's SPC chart, with its series' basis, icons and target. ``basis`` is
    'value' or 'difference from England' (then ``england_value`` is England's value that period, and the centre
    and limits, on the value scale, are England's value plus those of the charted difference)."""
    return rows(
        cur,
        "SELECT p.period, p.value, p.basis, p.england_value, p.centre, p.lower_limit AS lower, "
        "p.upper_limit AS upper, p.segment, "
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


def value_chart(cur: Cursor, indicator: str, level: str, org_code: str) -> list[Row]:
    """The whole-series chart on the organisation's own values, computed on request (uptake.stats.xmr) with
    the run's SPC settings: what result_spc holds for indicators charted on their values, and the old chart of
    a spread-curve indicator, whose result_spc series chart the difference from England. The same row shape as
    :func:`spc` (basis 'value'); empty when the series has fewer than 2 points."""
    found = rows(
        cur,
        "SELECT v.period, v.value, i.polarity FROM result_values v JOIN result_indicators i USING (indicator) "
        "WHERE v.indicator = ? AND v.level = ? AND v.org_code = ? AND v.value IS NOT NULL "
        "AND v.ci95_low IS NOT NULL AND v.comparison <> 'not eligible' ORDER BY v.period",
        [indicator, level, org_code],
    )
    if len(found) < 2:
        return []
    run = one(cur, "SELECT settings FROM pipeline_runs ORDER BY run_id DESC LIMIT 1", [])
    settings = json.loads(run["settings"]) if run and run.get("settings") else {}
    series = one(cur, "SELECT target FROM result_spc_series WHERE indicator = ? AND level = ? AND org_code = ?",
                 [indicator, level, org_code])
    target = series["target"] if series else None
    periods = [r["period"] for r in found]
    cuts, last = [], 0
    for day in sorted(settings.get("spc_rebase_dates") or []):
        pos = sum(1 for p in periods if p.isoformat() < str(day))
        if pos - last >= 2 and len(periods) - pos >= 2:  # as the pipeline applies a stated rebase
            cuts.append(pos)
            last = pos
    improvement = {"high-is-good": "increase", "low-is-good": "decrease"}.get(found[0]["polarity"], "neutral")
    chart = xmr(
        np.array([r["value"] for r in found], dtype=float), improvement,
        None if target is None or (isinstance(target, float) and np.isnan(target)) else float(target),
        baseline=settings.get("spc_baseline"), rebase_at=cuts or None,
        rule_length=int(settings.get("spc_rule_length") or 7),
        screen_moving_ranges=bool(settings.get("spc_screen_moving_ranges")),
    )
    return [
        {"period": r["period"], "value": r["value"], "basis": "value", "england_value": None,
         "centre": float(chart.mean[j]), "lower": float(chart.lower_limit[j]), "upper": float(chart.upper_limit[j]),
         "segment": int(chart.segment[j]), "special_cause": str(chart.special_cause[j]), "rule": str(chart.rule[j]),
         "variation_icon": chart.variation_icon, "assurance_icon": chart.assurance_icon, "target": target,
         "warnings": "; ".join(chart.warnings) or None}
        for j, r in enumerate(found)
    ]


def latest_special_causes(cur: Cursor, indicators: Sequence[str]) -> list[Row]:
    """For each of ``indicators`` and each level charted, at the latest period charted at that level: how many
    organisations' SPC charts have a point there (``charted``), and of them how many show special-cause
    improvement, concern or neutral variation at that point (``improvement``, ``concern``, ``neutral``), and
    England's own point's special cause (``england``, None when England is not charted at that level)."""
    cond, params = in_list("indicator", list(indicators))
    return rows(
        cur,
        f"WITH pts AS (SELECT indicator, level, org_code, period, special_cause FROM result_spc WHERE {cond}), "
        "latest AS (SELECT indicator, level, max(period) AS period FROM pts GROUP BY indicator, level) "
        "SELECT p.indicator, p.level, p.period, count(*) AS charted, "
        "count(*) FILTER (WHERE p.special_cause = 'improvement') AS improvement, "
        "count(*) FILTER (WHERE p.special_cause = 'concern') AS concern, "
        "count(*) FILTER (WHERE p.special_cause = 'neutral') AS neutral, "
        "any_value(p.special_cause) FILTER (WHERE p.org_code = 'ENG') AS england "
        "FROM pts p JOIN latest l USING (indicator, level, period) "
        "GROUP BY p.indicator, p.level, p.period ORDER BY p.indicator, p.level",
        params,
    )
