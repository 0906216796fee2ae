"""The stroke pathway page (/models/stroke-pathway): SAMueL-1's pathway model of 132 stroke units under the
published what-if scenarios (base, speed, onset known, both), nationally and per unit, each figure with its
95% interval and how it was calculated, beside SAMueL's published figures; and what one more patient
thrombolysed is worth (the stroke outcome model). The scenario tables are read from the published results
(``uptake compute`` writes them: uptake.models.pathway.results); downloads at /download/pathway-*.csv|xlsx."""

from __future__ import annotations

from functools import lru_cache

from fastapi import APIRouter, Request
from fastapi.responses import Response

from uptake.models.outcomes.base import summarise
from uptake.models.outcomes.stroke import load_parameters, parameters_table, stroke_model
from uptake.models.pathway.model import SCENARIOS
from uptake.models.pathway.summary import SOURCE
from uptake.web.charts import NHS_BLUE, NHS_GREY, NHS_PALE_BLUE
from uptake.web.pages.common import web_of
from uptake.web.tables.base import Context
from uptake.web.tables.pathway import check_scenario, pathway_national, pathway_units

router = APIRouter(include_in_schema=False)

#: Draws of the outcome model for "one more patient thrombolysed" (percentiles stable to about 1%).
OUTCOME_DRAWS = 10_000
OUTCOME_SEED = 20140301


@lru_cache(maxsize=1)
def per_patient() -> list[dict]:
    """Each outcome per ONE extra patient thrombolysed: mean and 95% interval (a few milliseconds, once)."""
    model = stroke_model()
    draws = model.draws(OUTCOME_DRAWS, OUTCOME_SEED)
    out = []
    for outcome in model.outcomes:
        s = summarise(draws[outcome.key])
        out.append({"key": outcome.key, "label": outcome.label, "counts": outcome.counts, "unit": outcome.unit,
                    "mean": s.mean, "low": s.low, "high": s.high})
    return out


def scenario_chart(rows: list[dict], key: str, published: str, title: str, axis: str) -> dict:
    """One bar per scenario with its 95% interval, and SAMueL's published figure beside it."""
    names = [r["title"] for r in rows]
    data = [
        {"type": "bar", "name": "Uptake's run: mean, 95% interval", "x": names, "y": [r[key] for r in rows],
         "marker": {"color": NHS_BLUE},
         "error_y": {"type": "data", "symmetric": False, "color": NHS_PALE_BLUE, "thickness": 3,
                     "array": [r[f"{key}_high"] - r[key] for r in rows],
                     "arrayminus": [r[key] - r[f"{key}_low"] for r in rows]},
         "hovertemplate": "%{x}: %{y:.2f}<extra></extra>"},
        {"type": "bar", "name": "SAMueL-1 published", "x": names, "y": [r[published] for r in rows],
         "marker": {"color": NHS_GREY}, "hovertemplate": "%{x}: %{y:.2f} (SAMueL)<extra></extra>"},
    ]
    layout = {"title": {"text": title}, "barmode": "group", "height": 360,
              "yaxis": {"title": {"text": axis}, "rangemode": "tozero"},
              "margin": {"l": 60, "r": 20, "t": 50, "b": 50}, "legend": {"orientation": "h", "y": -0.2}}
    return {"data": data, "layout": layout}


def units_chart(rows: list[dict], title: str) -> dict:
    """Each unit's base against the scenario (thrombolysis %), with the line of no change."""
    base = [r["base_thrombolysis_pct"] for r in rows]
    top = max([*base, *(r["thrombolysis_pct"] for r in rows), 1.0]) * 1.05
    data = [
        {"type": "scatter", "mode": "lines", "x": [0, top], "y": [0, top], "name": "No change",
         "line": {"color": NHS_GREY, "dash": "dot", "width": 1}, "hoverinfo": "skip"},
        {"type": "scatter", "mode": "markers", "x": base, "y": [r["thrombolysis_pct"] for r in rows],
         "text": [r["stroke_team"] for r in rows], "name": "Units", "marker": {"color": NHS_BLUE, "size": 7},
         "error_y": {"type": "data", "symmetric": False, "color": NHS_PALE_BLUE, "thickness": 1,
                     "array": [r["thrombolysis_pct_high"] - r["thrombolysis_pct"] for r in rows],
                     "arrayminus": [r["thrombolysis_pct"] - r["thrombolysis_pct_low"] for r in rows]},
         "hovertemplate": "%{text}: base %{x:.1f}%, scenario %{y:.1f}%<extra></extra>"},
    ]
    layout = {"title": {"text": f"Each unit's thrombolysis: base and {title.lower()}"}, "height": 420,
              "xaxis": {"title": {"text": "Base (% of admissions)"}, "range": [0, top]},
              "yaxis": {"title": {"text": f"{title} (% of admissions)"}, "range": [0, top]},
              "margin": {"l": 60, "r": 20, "t": 50, "b": 50}, "showlegend": False}
    return {"data": data, "layout": layout}


@router.get("/models/stroke-pathway")
async def stroke_pathway(request: Request, scenario: str | None = None) -> Response:
    web = web_of(request)
    chosen = check_scenario(scenario)

    def build() -> Response:
        with web.snapshots.cursor() as (snapshot, cur):
            computed = snapshot.has("result_pathway_national") and snapshot.has("result_pathway_units")
            tctx = Context(cur, web.catalogue, web.principal(request))
            national = pathway_national(tctx) if computed else None
            units = pathway_units(tctx, chosen) if computed else None
        charts = {}
        if national is not None and national.rows:
            rows = national.rows
            charts = {
                "rate": scenario_chart(rows, "thrombolysis_pct", "samuel_thrombolysis_pct",
                                       "Thrombolysis by scenario (% of admissions)", "% of admissions thrombolysed"),
                "good": scenario_chart(rows, "good_outcomes_per_1000", "samuel_good_outcomes_per_1000",
                                       "Good outcomes added by thrombolysis per 1,000 admissions",
                                       "Good outcomes (mRS 0-1) per 1,000 admissions"),
                "units": units_chart(units.rows, SCENARIOS[chosen].title),
            }
        params = load_parameters()
        return web.render(
            request, "stroke_pathway.html", national=national, units=units, charts=charts,
            scenarios=list(SCENARIOS.values()), chosen=chosen, per_patient=per_patient(),
            parameters=parameters_table(params), params_version=params.version, source=SOURCE,
            draws=OUTCOME_DRAWS, nav="data",
        )

    return await web.cached_page(request, build)
