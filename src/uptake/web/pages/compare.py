"""The compare page: up to 8 chosen organisations side by side, with a chart of one indicator over time."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from uptake.results import read
from uptake.web import charts
from uptake.web.pages.common import how, partial, web_of
from uptake.web.tables.base import Context
from uptake.web.tables.values import compare as compare_table

router = APIRouter(include_in_schema=False)


@router.get("/compare")
async def compare(
    request: Request,
    codes: Annotated[str | None, Query(max_length=200)] = None,
    indicator: str | None = None,
) -> Response:
    web = web_of(request)
    chosen = [c.strip().upper() for c in (codes or "").replace(" ", ",").split(",") if c.strip()][:8]
    if indicator is not None and indicator not in web.catalogue.indicators:
        raise HTTPException(404, f"unknown indicator {indicator!r}")

    def build() -> Response:
        ctx: dict[str, Any] = {"codes": ", ".join(chosen), "nav": "compare", "indicator_id": indicator or ""}
        with web.snapshots.cursor() as (snapshot, cur):
            _compare_context(ctx, snapshot, cur, Context(cur, web.catalogue, web.principal(request)), chosen,
                             indicator)
        template = "partials/compare_results.html" if partial(request) else "compare.html"
        return web.render(request, template, **ctx)

    return await web.cached_page(request, build)


def _compare_context(ctx: dict[str, Any], snapshot, cur, tctx: Context, chosen: list[str],
                     indicator: str | None) -> None:
    unknown = ([c for c in chosen if read.organisations.organisation(cur, c) is None]
               if snapshot.has("organisations") else chosen)
    ctx["unknown"] = unknown
    known = [c for c in chosen if c not in unknown]
    if not (known and snapshot.has("result_values")):
        return
    table = compare_table(tctx, known, indicator)
    ctx["table"] = table
    ind_id = indicator or (table.rows[0]["indicator"] if table.rows else None)
    if not ind_id:
        return
    ind = tctx.indicator(ind_id)
    series: dict[str, list[dict]] = {}
    for c in known:
        org = read.organisations.organisation(cur, c)
        series[f"{org['name']} ({c})"] = read.values.series(cur, ind_id, org["level"], [c])
    ctx["chart"] = charts.compare(ind, series, read.values.series(cur, ind_id, "england"))
    ctx["chart_indicator"] = ind
    ctx["how"] = how(cur, ind, ["value", "interval"], {
        "Indicator": f"{ind.title} ({ind.id})", "Organisations": ", ".join(known)}, None)
