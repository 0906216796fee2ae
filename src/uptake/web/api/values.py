"""Values with their intervals, ranks and comparisons (result_values)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from uptake.results import read
from uptake.results.schema import VALUE_ROW
from uptake.web.api.common import (
    LevelParam,
    Page,
    PageParam,
    PerPageParam,
    PeriodParam,
    known_indicator,
    need,
    paged,
    respond,
    shape_model,
    web_of,
)
from uptake.web.api.errors import responses
from uptake.web.params import date_param

router = APIRouter(prefix="/api/v1", tags=["results"])

ValueOut = shape_model(VALUE_ROW, "ValueOut")


@router.get("/values", response_model=Page[ValueOut], summary="Values with intervals, ranks and comparisons",
            responses=responses(404))
async def values(
    request: Request,
    indicator: str,
    level: LevelParam | None = None,
    period: PeriodParam = None,
    org_code: Annotated[list[str] | None, Query(description="One or more ODS codes.")] = None,
    page: PageParam = 1,
    per_page: PerPageParam = 100,
) -> Response:
    web = web_of(request)
    known_indicator(web, indicator)

    def build(principal):
        with web.snapshots.cursor() as (snapshot, cur):
            need(snapshot, "result_values")
            rows, total = read.values.values(cur, indicator=indicator, level=level.value if level else None,
                                             period=date_param(period), org_codes=org_code or None, limit=per_page,
                                             offset=(page - 1) * per_page)
        return paged(request, rows, total, page, per_page)

    return await respond(request, build)
