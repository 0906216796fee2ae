"""The value-across-organisations page (/value-across-organisations, M20): per ICB, what closing the DOAC gap
costs primary care and saves NHS trusts and social care (uptake.models.value over result_outcomes' gaps), the
net, and the transfer a pooled budget would need for each side to gain; a chart, the inputs with sources,
downloads."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from uptake.models import value
from uptake.web.charts import NHS_BLUE, NHS_LIGHT_BLUE, NHS_RED
from uptake.web.formatting import pounds
from uptake.web.pages.common import web_of
from uptake.web.tables.base import Context
from uptake.web.tables.value import value_icbs, value_inputs

router = APIRouter(include_in_schema=False)

#: ICBs drawn in the chart (largest gaps first); the table has every ICB
CHART_ICBS = 15


def value_chart(rows: list[dict]) -> dict:
    """Per ICB (largest gaps first): the cost to primary care beside the savings to trusts and social care
    (stacked), means of the draws with the cost's and the total saving's 95% intervals."""
    rows = rows[:CHART_ICBS]
    names = [r["icb_name"].removeprefix("NHS ").removesuffix(" ICB") for r in rows]
    savings = [r["saving_nhs_trusts"] + r["saving_social_care"] for r in rows]
    data = [
        {"type": "bar", "name": "Cost to primary care (DOAC items)", "x": names, "y": [r["cost_primary_care"] for r in rows],
         "offsetgroup": "cost", "marker": {"color": NHS_RED},
         "error_y": {"type": "data", "symmetric": False,
                     "array": [r["cost_primary_care_high"] - r["cost_primary_care"] for r in rows],
                     "arrayminus": [r["cost_primary_care"] - r["cost_primary_care_low"] for r in rows]},
         "hovertemplate": "%{x}: £%{y:,.0f} a year cost to primary care<extra></extra>"},
        {"type": "bar", "name": "Saving to NHS trusts (strokes avoided)", "x": names,
         "y": [r["saving_nhs_trusts"] for r in rows], "offsetgroup": "saving", "marker": {"color": NHS_BLUE},
         "hovertemplate": "%{x}: £%{y:,.0f} a year saved by NHS trusts<extra></extra>"},
        {"type": "bar", "name": "Saving to social care (strokes avoided)", "x": names,
         "y": [r["saving_social_care"] for r in rows], "offsetgroup": "saving",
         "base": [r["saving_nhs_trusts"] for r in rows], "marker": {"color": NHS_LIGHT_BLUE},
         "error_y": {"type": "data", "symmetric": False,
                     "array": [r["saving_nhs_trusts_high"] + r["saving_social_care_high"] - s
                               for r, s in zip(rows, savings)],
                     "arrayminus": [max(s - r["saving_nhs_trusts_low"] - r["saving_social_care_low"], 0)
                                    for r, s in zip(rows, savings)]},
         "hovertemplate": "%{x}: £%{y:,.0f} a year saved by social care<extra></extra>"},
    ]
    layout = {"title": {"text": "Who pays and who saves: closing the DOAC gap, per ICB (£ a year)"},
              "barmode": "group", "height": 420, "yaxis": {"title": {"text": "£ a year"}, "rangemode": "tozero"},
              "margin": {"l": 70, "r": 20, "t": 50, "b": 120}, "legend": {"orientation": "h", "y": -0.45}}
    return {"data": data, "layout": layout}


@router.get("/value-across-organisations")
async def value_across_organisations(request: Request, benchmark: str = "top-decile") -> Response:
    web = web_of(request)

    def build() -> Response:
        with web.snapshots.cursor() as (snapshot, cur):
            tctx = Context(cur, web.catalogue, web.principal(request))
            table = value_icbs(tctx, benchmark) if snapshot.has("result_outcomes") else None
            inputs = value_inputs(tctx)
        rows = table.rows if table is not None else []
        totals = {k: sum(r[k] for r in rows) for k in ("cost_primary_care", "saving_nhs_trusts",
                                                         "saving_social_care", "net", "strokes_avoided")}
        return web.render(request, "value.html", table=table, inputs=inputs,
                          chart=value_chart(rows) if rows else None, totals=totals,
                          money={k: pounds(v) for k, v in totals.items()},
                          synthetic=any(r["synthetic"] for r in rows), draws=value.DRAWS,
                          measures=value.MEASURES, benchmark=benchmark, nav="value-across-organisations")

    return await web.cached_page(request, build)
