"""The health and wealth page (/health-and-wealth): IPPR's tables 2.1, 2.2 and 2.3 as a model, the report's
figures beside the model's with the Monte Carlo uncertainty, the cells the report's inputs do not determine,
and "if every organisation matched the best" from Uptake's own measured gaps (result_impact)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from uptake.models import wealth
from uptake.web.charts import NHS_BLUE, NHS_GREY, NHS_PALE_BLUE
from uptake.web.pages.common import web_of
from uptake.web.tables.base import Context
from uptake.web.tables.outcomes import (
    WEALTH_DRAWS,
    impact,
    wealth_claims,
    wealth_inputs,
    wealth_table,
    wealth_totals,
)

router = APIRouter(include_in_schema=False)

TABLES = (
    ("2.1", "Table 2.1: deaths avoided and their economic value",
     "Working-age deaths x the reduction possible; of them employed x the employment share; x the value per "
     "employed death."),
    ("2.2", "Table 2.2: illness avoided and its value",
     "Prevalence per 100,000 x the population it applies to x the reduction possible; x the value per case."),
    ("2.3", "Table 2.3: avoided health and care costs",
     "People with the condition (prevalence x population) x (health + social care + incurred costs per person) x "
     "the reduction possible; attributable to healthcare: x the healthcare share."),
    ("figure 2.1", "Figure 2.1: the economic contribution", "Table 2.1's value plus table 2.2's, per condition."),
)


def contribution_chart(rows: list[dict]) -> dict:
    """Figure 2.1 per condition: the report's figure beside the model's mean with its 95% interval."""
    rows = [r for r in rows if r["condition"] != "Total"]
    conditions = [r["condition"] for r in rows]
    data = [
        {"type": "bar", "name": "Report (figure 2.1)", "x": conditions, "y": [r["printed"] for r in rows],
         "marker": {"color": NHS_GREY}, "hovertemplate": "%{x}: £%{y:.1f}bn (report)<extra></extra>"},
        {"type": "bar", "name": f"Model: mean of {WEALTH_DRAWS:,} draws, 95% interval", "x": conditions,
         "y": [r["mc_mean"] for r in rows], "marker": {"color": NHS_BLUE},
         "error_y": {"type": "data", "symmetric": False, "color": NHS_PALE_BLUE,
                     "array": [r["mc_high"] - r["mc_mean"] for r in rows],
                     "arrayminus": [r["mc_mean"] - r["mc_low"] for r in rows]},
         "hovertemplate": "%{x}: £%{y:.2f}bn (model)<extra></extra>"},
    ]
    layout = {"title": {"text": "Economic contribution of matching the best peer country (£bn a year)"},
              "barmode": "group", "height": 380, "yaxis": {"title": {"text": "£ billion a year"}, "rangemode": "tozero"},
              "margin": {"l": 60, "r": 20, "t": 50, "b": 50}, "legend": {"orientation": "h", "y": -0.15}}
    return {"data": data, "layout": layout}


@router.get("/health-and-wealth")
async def health_and_wealth(request: Request) -> Response:
    web = web_of(request)

    def build() -> Response:
        with web.snapshots.cursor() as (snapshot, cur):
            tctx = Context(cur, web.catalogue, web.principal(request))
            tables = [(key, title, how, wealth_table(tctx, key)) for key, title, how in TABLES]
            measured = impact(tctx) if snapshot.has("result_impact") else None
        chart = contribution_chart(tables[-1][3].rows)
        cells = wealth.report_cells()
        counts = {s: sum(1 for c in cells if c.status == s) for s in
                  ("reproduced", "reproduced from the printed cell before it", "not determined", "differs")}
        return web.render(request, "health_and_wealth.html", tables=tables, totals=wealth_totals(tctx),
                          claims=wealth_claims(tctx), inputs=wealth_inputs(tctx), measured=measured, chart=chart,
                          counts=counts, draws=WEALTH_DRAWS, nav="health-and-wealth")

    return await web.cached_page(request, build)
