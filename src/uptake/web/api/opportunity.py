"""Opportunity: by organisation (innovation-pack data: signed in, only the organisations the role covers),
and the national, regional and ICB totals (public)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from uptake.results import read
from uptake.results.schema import OPPORTUNITY_ROW
from uptake.web.api.common import (
    LevelParam,
    Page,
    PageParam,
    PerPageParam,
    PeriodParam,
    known_indicator,
    need,
    org_page,
    respond,
    shape_model,
    web_of,
)
from uptake.web.api.errors import responses
from uptake.web.params import date_param

router = APIRouter(prefix="/api/v1", tags=["results"])


class Benchmark(str, Enum):
    median = "median"
    top_decile = "top-decile"
    peers = "peers"
    target = "target"


OpportunityOut = shape_model(OPPORTUNITY_ROW, "OpportunityOut")


@router.get("/opportunity", response_model=Page[OpportunityOut],
            summary="Opportunity by organisation (signed in; only the organisations your role covers)",
            responses=responses(403, 404, d403="Not signed in, or not in your role's scope"))
async def opportunity(
    request: Request,
    indicator: str,
    level: LevelParam | None = None,
    period: PeriodParam = None,
    benchmark: Benchmark | None = None,
    org_code: Annotated[str | None, Query(max_length=64)] = None,
    page: PageParam = 1,
    per_page: PerPageParam = 100,
) -> Response:
    web = web_of(request)
    ind = known_indicator(web, indicator)

    def build(principal):
        return org_page(request, principal, web, ind, org_code=org_code, table="result_opportunity",
                        reader=read.opportunity.opportunity, page=page, per_page=per_page,
                        not_signed_in="opportunity by organisation needs an API token or a signed-in session",
                        level=level.value if level else None, period=date_param(period),
                        benchmark=benchmark.value if benchmark else None)

    return await respond(request, build, private=True)


@router.get("/opportunity/totals", summary="National and ICB totals of the opportunity (positive gaps only)",
            responses=responses(404))
async def opportunity_totals(
    request: Request,
    indicator: str,
    period: PeriodParam = None,
    area_level: Annotated[str, Query(pattern="^(england|region|icb)$")] = "england",
) -> Response:
    web = web_of(request)
    known_indicator(web, indicator)

    def build(principal):
        with web.snapshots.cursor() as (snapshot, cur):
            need(snapshot, "result_opportunity_totals")
            rows = read.opportunity.opportunity_totals(cur, indicator, date_param(period), area_level)
        return {"items": rows}, {}

    return await respond(request, build)
