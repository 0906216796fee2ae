"""Data and methods (the indicators, every load into the analytics store, the pipeline runs and the methods)
and About."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from uptake.web.methods import METHODS
from uptake.web.pages.common import web_of
from uptake.web.tables.base import Context
from uptake.web.tables.provenance import batches as batches_table
from uptake.web.tables.provenance import indicators as indicators_table
from uptake.web.tables.provenance import runs as runs_table

router = APIRouter(include_in_schema=False)


@router.get("/data")
async def data_and_methods(request: Request) -> Response:
    web = web_of(request)

    def build() -> Response:
        with web.snapshots.cursor() as (snapshot, cur):
            tctx = Context(cur, web.catalogue, web.principal(request))
            batches = batches_table(tctx) if snapshot.has("batches") else None
            runs = runs_table(tctx) if snapshot.has("pipeline_runs") else None
        return web.render(request, "data.html", indicators_table=indicators_table(Context(None, web.catalogue, None)),
                          batches=batches, runs=runs, methods=METHODS, nav="data")

    return await web.cached_page(request, build)


@router.get("/about")
async def about(request: Request) -> Response:
    web = web_of(request)
    synthetic = [i for i in web.catalogue.indicators.values() if i.synthetic]
    return await web.cached_page(request, lambda: web.render(request, "about.html", synthetic=synthetic, nav="about"))
