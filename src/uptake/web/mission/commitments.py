"""A commitment of a framework, /nsf/{id}/{commitment}: its trajectory chart (the spread of organisations
against the trajectory and the minimum standard), a map of attainment and the attainment table of the latest
period (weakest first)."""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from uptake.errors import UptakeError
from uptake.mission.schemas import Framework
from uptake.mission.trajectory import trajectory_points
from uptake.results import read
from uptake.store.db import session_scope
from uptake.web.formatting import indicator_value, level_label, period_label
from uptake.web.methods import METHODS
from uptake.web.tables.base import Context
from uptake.web.tables.forecasts import forecast_targets
from uptake.web.mission.common import cached, ratings_freshness, records, render, results_cursor, web_of, who_of
from uptake.web.mission.frameworks import attainment_rows, visible_framework

router = APIRouter(tags=["mission pages"], include_in_schema=False)

#: Map colours of the attainment statuses (NHS identity colours, matching the status tags).
STATUS_MAP_COLOURS = {"met": "#007f3b", "on-trajectory": "#005eb8", "not-distinguishable": "#aeb7bd",
                      "off-trajectory": "#ed8b00", "missed": "#d5281b"}
MAP_LEVELS = ("icb", "sub-icb")
#: Rows of the attainment table a commitment page shows (weakest first); the download has them all.
COMMITMENT_ROWS = 300


@router.get("/nsf/{framework_id}/{commitment_id}")
async def commitment_page(request: Request, framework_id: str, commitment_id: str, level: str | None = None) -> Response:
    return await cached(request, lambda: _commitment_page(request, framework_id, commitment_id, level))


def _commitment_page(request: Request, framework_id: str, commitment_id: str, level: str | None = None) -> Response:
    who = who_of(request)
    with session_scope(web_of(request).engine) as session:
        row = visible_framework(session, who, framework_id)
        fresh = ratings_freshness(request, session)
    framework = Framework.model_validate(row.definition)
    try:
        commitment = framework.commitment(commitment_id)
    except KeyError:
        raise HTTPException(404, f"no commitment {commitment_id} in {framework_id}") from None
    indicator = web_of(request).catalogue.indicator(commitment.indicator)
    levels = [lv.value for lv in commitment.scope.levels]
    level = level if level in levels else levels[0]
    attainment = attainment_rows(request, framework=framework_id, commitment=commitment_id)
    chart = _commitment_chart(framework, commitment, attainment, indicator, level)
    rows = attainment.loc[attainment["level"] == level] if not attainment.empty else attainment
    latest_period = rows["period"].max() if not rows.empty else None
    latest = rows.loc[rows["period"] == latest_period].sort_values(["rank", "value"]) if not rows.empty else rows
    attainment_map, how_map = _attainment_map(request, framework, commitment, indicator, level, latest)
    forecast = _forecast(request, framework_id, commitment_id, indicator, level)
    return render(request, "mission/commitment.html", framework=framework, commitment=commitment,
                  indicator=indicator, levels=levels, level=level, chart=chart,
                  rows=records(latest.head(COMMITMENT_ROWS)), total=len(latest),
                  attainment_map=attainment_map, how_map=how_map, freshness=fresh,
                  latest_period=latest_period.date() if latest_period is not None else None, **forecast)


#: Map colours of the forecast outlooks (the chance of meeting the deadline), in the order of the key.
OUTLOOK_COLOURS = {"likely": "#007f3b", "more likely than not": "#005eb8", "unlikely": "#ed8b00",
                   "very unlikely": "#d5281b", "deadline passed": "#aeb7bd", "beyond the forecast": "#768692"}


def _forecast(request: Request, framework_id: str, commitment_id: str, indicator, level: str) -> dict[str, Any]:
    """The forecast part of a commitment page: each organisation's probability of meeting the deadline (a
    table, least likely first, and a map where the level has boundaries), with how it was calculated."""
    try:
        with results_cursor(request) as cur:
            tctx = Context(cur, web_of(request).catalogue, web_of(request).principal(request))
            table = forecast_targets(tctx, framework_id, commitment_id, level, per_page=COMMITMENT_ROWS)
            points = read.forecasts.commitment_map(cur, framework_id, commitment_id, level)
            national = read.forecasts.targets(cur, framework=framework_id, commitment=commitment_id,
                                              level="england")[0]
    except (UptakeError, duckdb.Error):
        return {}
    if not table.rows:
        return {}
    likely = sum(1 for p in points if p["probability"] is not None and p["probability"] >= 0.5)
    judged = sum(1 for p in points if p["probability"] is not None)
    out: dict[str, Any] = {"forecast_table": table, "forecast_likely": likely, "forecast_judged": judged,
                           "forecast_synthetic": any(p["synthetic"] for p in points)}
    if level in MAP_LEVELS:
        names = {r["org_code"]: r.get("org_name") or r["org_code"] for r in table.rows}
        values = {
            p["org_code"]: {"category": p["status"], "name": names.get(p["org_code"], p["org_code"]),
                            "label": (f"{100 * p['probability']:.0f}% chance of meeting the deadline"
                                      if p["probability"] is not None else p["status"])}
            for p in points
        }
        out["forecast_map"] = {
            "geo": f"/geo/{level}.json", "values": values,
            "categories": [{"key": k, "label": k.capitalize(), "colour": c} for k, c in OUTLOOK_COLOURS.items()],
            "title": f"{_sentence(level_label(level, plural=True))}: chance of meeting the deadline at today's pace",
            "link": "/organisations/",
        }
    out["forecast_national"] = national[0] if national else None
    out["how_forecast"] = {"methods": [METHODS["forecast"], METHODS["forecast_target"]],
                           "inputs": {"Indicator": f"{indicator.title} ({indicator.id})",
                                      "Organisations forecast": f"{judged:,} {level_label(level, plural=True)}",
                                      "Target": indicator_value(indicator, table.rows[0]["target"]),
                                      "Deadline": f"{table.rows[0]['deadline']:%d %B %Y}"},
                           "indicator": indicator, "batches": []}
    return out


def _commitment_chart(framework, commitment, attainment: pd.DataFrame, indicator, level: str) -> dict[str, Any]:
    scale = indicator.multiplier
    series = attainment.loc[attainment["level"] == level]
    traces: list[dict[str, Any]] = []
    if not series.empty:
        spread = series.groupby("as_of")["value"].quantile([0.1, 0.5, 0.9]).unstack()
        x = [str(d)[:10] for d in spread.index]
        traces += [
            {"type": "scatter", "mode": "lines", "name": "10th centile", "x": x, "y": list(spread[0.1] * scale),
             "line": {"width": 0}, "showlegend": False},
            {"type": "scatter", "mode": "lines", "name": "10th to 90th centile", "x": x, "y": list(spread[0.9] * scale),
             "fill": "tonexty", "line": {"width": 0}, "fillcolor": "rgba(0,94,184,0.15)"},
            {"type": "scatter", "mode": "lines+markers", "name": "median organisation", "x": x,
             "y": list(spread[0.5] * scale), "line": {"color": "#005eb8"}},
        ]
    points = trajectory_points(framework, commitment)
    traces.append({"type": "scatter", "mode": "lines+markers", "name": "trajectory",
                   "x": [p[0].isoformat() for p in points], "y": [p[1] * scale for p in points],
                   "line": {"color": "#007f3b", "dash": "dash"}})
    traces.append({"type": "scatter", "mode": "lines", "name": "minimum standard",
                   "x": [points[0][0].isoformat(), commitment.deadline.isoformat()],
                   "y": [commitment.minimum_standard * scale] * 2, "line": {"color": "#d5281b", "dash": "dot"}})
    return {"data": traces, "layout": {"height": 380, "margin": {"t": 20, "r": 10, "b": 40, "l": 50},
                                       "yaxis": {"title": {"text": indicator.unit}}, "legend": {"orientation": "h"}}}


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _geographic_parents(request: Request, level: str, codes: list[str]) -> pd.DataFrame:
    """For organisations with no boundary of their own (practices, stroke units, trusts): the sub-ICB (where
    the hierarchy reaches one) or ICB each belongs to now, following current relationships upwards."""
    try:
        with results_cursor(request) as cur:
            links = read.organisations.current_links_frame(cur)
            names = read.organisations.names_frame(cur)
    except (UptakeError, duckdb.Error):
        return pd.DataFrame(columns=["org_code", "parent_code", "parent_level", "parent_name"])
    target = "sub-icb" if level in ("practice", "pcn") else "icb"
    frontier = pd.DataFrame({"org_code": codes, "code": codes, "level": level})
    found = []
    for _ in range(4):  # practice -> pcn -> sub-icb -> icb at most
        step = frontier.merge(links, left_on=["code", "level"], right_on=["child_code", "child_level"])
        if step.empty:
            break
        step = step[["org_code", "parent_code", "parent_level"]].rename(
            columns={"parent_code": "code", "parent_level": "level"})
        found.append(step.loc[step["level"] == target])
        frontier = step.loc[step["level"] != target]
    if not found:
        return pd.DataFrame(columns=["org_code", "parent_code", "parent_level", "parent_name"])
    parents = pd.concat(found).drop_duplicates("org_code").rename(
        columns={"code": "parent_code", "level": "parent_level"})
    return parents.merge(names.rename(columns={"code": "parent_code", "level": "parent_level",
                                               "name": "parent_name"}), how="left")


def _attainment_map(request: Request, framework, commitment, indicator, level: str,
                    latest: pd.DataFrame) -> tuple[dict[str, Any] | None, str]:
    """The map on a commitment page and a sentence on how it was drawn. ICBs and sub-ICB locations are
    coloured by their own status; organisations without a boundary (stroke units, practices) are summarised
    in the area that contains them: the share of them that met the commitment or are on trajectory."""
    if latest.empty:
        return None, ""
    period = latest["period"].iloc[0]
    when = period_label(period.date() if hasattr(period, "date") else period, indicator)
    if level in MAP_LEVELS:
        return _status_map(indicator, level, latest, when)
    return _share_map(request, level, latest, when)


def _status_map(indicator, level: str, latest: pd.DataFrame, when: str) -> tuple[dict[str, Any], str]:
    """Areas with boundaries of their own (ICBs, sub-ICB locations), each coloured by its status."""
    values = {
        r["org_code"]: {"category": r["status"], "name": r["org_name"] or r["org_code"],
                        "label": f"{r['status'].replace('-', ' ')}, {indicator_value(indicator, r['value'])}"}
        for r in records(latest)
    }
    spec = {"geo": f"/geo/{level}.json", "values": values,
            "categories": [{"key": k, "label": k.replace("-", " ").capitalize(), "colour": c}
                           for k, c in STATUS_MAP_COLOURS.items()],
            "title": f"{_sentence(level_label(level, plural=True))} by status, {when}",
            "link": f"/ratings/{level}/"}
    how = (f"Each {level_label(level)} is coloured by its status in {when} (see the table below); white areas "
           "have no result.")
    return spec, how


def _share_map(request: Request, level: str, latest: pd.DataFrame, when: str) -> tuple[dict[str, Any] | None, str]:
    """Organisations without a boundary, summarised in the area that holds them: the share of them that met
    the commitment or are on trajectory."""
    parents = _geographic_parents(request, level, latest["org_code"].tolist())
    if parents.empty:
        return None, ""
    joined = latest.merge(parents, on="org_code")
    joined["good"] = joined["status"].isin(["met", "on-trajectory"])
    area_level = joined["parent_level"].iloc[0]
    summary = joined.groupby(["parent_code", "parent_name"]).agg(good=("good", "sum"), n=("good", "size"))
    values = {
        code: {"v": 100.0 * row.good / row.n, "name": name or code,
               "label": f"{int(row.good)} of {int(row.n)} {level_label(level, plural=row.n != 1)} met or on trajectory"}
        for (code, name), row in summary.iterrows()
    }
    spec = {"geo": f"/geo/{area_level}.json", "values": values, "reverse": False, "suffix": "%", "range": [0, 100],
            "title": f"Share of {level_label(level, plural=True)} met or on trajectory, by {level_label(area_level)}, {when}",
            "link": "/organisations/"}
    how = (f"{_sentence(level_label(level, plural=True))} have no boundaries, so each {level_label(area_level)} is "
           f"shaded by the share of its {level_label(level, plural=True)} (by their current place in the "
           f"hierarchy) whose status in {when} is met or on trajectory; {len(joined):,} of {len(latest):,} "
           f"{level_label(level, plural=True)} are placed. White areas have none in scope.")
    return spec, how
