"""The slope index of inequality across deprivation (IMD) quintiles, per level and period (result_equity)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from uptake.results import read
from uptake.results.schema import EQUITY_ROW
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

#: sii_ci95_low/high and rii_ci95_low/high are simulated 95% intervals: see docs/methods.md
EquityOut = shape_model(EQUITY_ROW, "EquityOut", "The slope index of inequality across IMD quintiles (1 = "
                        "most deprived) for one period.")


@router.get("/equity", response_model=Page[EquityOut],
            summary="Slope index of inequality across deprivation (IMD) quintiles, per level and period",
            responses=responses(404))
async def equity(
    request: Request,
    indicator: str,
    level: LevelParam | None = None,
    period: PeriodParam = None,
    page: PageParam = 1,
    per_page: PerPageParam = 100,
) -> Response:
    web = web_of(request)
    known_indicator(web, indicator)

    def build(principal):
        with web.snapshots.cursor() as (snapshot, cur):
            need(snapshot, "result_equity")
            rows, total = read.equity.equity(cur, indicator=indicator, level=level.value if level else None,
                                             period=date_param(period), limit=per_page, offset=(page - 1) * per_page)
        return paged(request, rows, total, page, per_page)

    return await respond(request, build)
