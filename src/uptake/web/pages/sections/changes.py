"""The changes detected by CUSUM: the innovation page's section (each organisation's latest change, with
counts by direction) and the organisation page's (its every change, and its percentile chart)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from uptake.catalogue.schemas import Indicator
from uptake.results import read
from uptake.web import charts
from uptake.web.formatting import level_label
from uptake.web.pages.common import how
from uptake.web.tables.base import Context
from uptake.web.tables.changes import change_series, changes, org_changes

CHANGES_SHOWN = 25


def cusum_settings(cur, snapshot) -> dict[str, str]:
    """The CUSUM settings of the latest pipeline run, for "how was this calculated"."""
    raw = read.runs.pipeline_settings(cur) if snapshot.has("pipeline_runs") else None
    try:
        settings = json.loads(raw) if raw else {}
        settings = settings if isinstance(settings, dict) else {}
    except ValueError:
        settings = {}
    out = {}
    if settings.get("cusum_window") is not None:
        out["Reference window"] = f"{settings['cusum_window']} periods"
    if settings.get("cusum_sensitivity") is not None:
        out["Threshold"] = f"{settings['cusum_sensitivity']:g} standard deviations (allowance 0.5)"
    return out


def changes_section(cur, snapshot, tctx: Context, ind: Indicator, level: str, day: dt.date,
                    inputs: dict) -> dict[str, Any]:
    table = changes(tctx, ind.id, level, day, per_page=CHANGES_SHOWN)
    counts = read.changes.change_counts(cur, ind.id, level, day)
    summary = {
        "total": sum(r["n"] for r in counts),
        "up": sum(r["n"] for r in counts if r["direction"] == "up"),
        "down": sum(r["n"] for r in counts if r["direction"] == "down"),
        "ongoing": sum(r["n"] for r in counts if r["ongoing"]),
        "ongoing_up": sum(r["n"] for r in counts if r["ongoing"] and r["direction"] == "up"),
        "ongoing_down": sum(r["n"] for r in counts if r["ongoing"] and r["direction"] == "down"),
    }
    return {
        "changes": table, "changes_summary": summary,
        "how_changes": how(cur, ind, ["changes"], {**inputs, **cusum_settings(cur, snapshot)}, day),
    }


def changes_of(over_time: list[dict]) -> list[dict]:
    """The changes chart's rows (as read.changes.change_series) from read.profile.org_deciles(...,
    with_changes=True): the periods result_changes has, with their percentile, CUSUMs and alert."""
    keys = ("period", *read.profile.CHANGE_COLUMNS)
    return [{k: r[k] for k in keys} for r in over_time if r.get("in_changes")]


def org_changes_section(cur, snapshot, tctx: Context, org: dict, ind: Indicator, inputs: dict,
                        latest: dt.date | None, series: list[dict] | None = None) -> dict[str, Any]:
    """Its every change, and its percentile chart (``series``: the chart's rows, when the page has read them
    already with its deciles chart's)."""
    code = org["code"]
    out: dict[str, Any] = {"changes": org_changes(tctx, code)}
    out["how_changes"] = how(cur, ind, ["changes"], {
        "Organisation": f"{org['name']} ({code})",
        "Compared with": level_label(org["level"], plural=True),
        **cusum_settings(cur, snapshot)}, latest)
    if series is None:
        series = read.changes.change_series(cur, ind.id, org["level"], code)
    if any(r["percentile"] is not None for r in series):
        mine = [r for r in out["changes"].rows if r["indicator"] == ind.id]
        out["change_chart"] = charts.change_series(ind, org["name"], org["level"], series, mine)
        out["change_table"] = change_series(tctx, code, ind.id, rows=series)
        out["change_count"] = len(mine)
        out["how_change_chart"] = how(cur, ind, ["changes"], {
            **inputs, "Compared with": level_label(org["level"], plural=True),
            **cusum_settings(cur, snapshot)}, latest)
    return out
