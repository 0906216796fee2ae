"""The improvement ranking: organisations ranked by the change in their value between two periods, with the
change's 95% interval (none for share-only indicators)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from uptake.web.api.common import (
    LevelParam,
    Links,
    PageParam,
    PerPageParam,
    PeriodParam,
    known_indicator,
    need,
    paged,
    respond,
    web_of,
)
from uptake.web.api.errors import responses
from uptake.web.tables.base import Context
from uptake.web.tables.improvement import METHOD
from uptake.web.tables.improvement import improvement as improvement_table


class ImprovementOut(BaseModel):
    """One organisation's change: values are fractions as stored (0.42, not 42%), the change in the same units
    (end minus start), ``change_low``/``change_high`` its 95% interval (null for a share-only indicator), and
    the counts behind each end (null for share-only)."""

    rank: int
    org_code: str
    org_name: str | None = None
    period_start: dt.date
    period_end: dt.date
    value_start: float
    value_end: float
    change: float
    change_low: float | None = None
    change_high: float | None = None
    verdict: str
    numerator_start: float | None = None
    denominator_start: float | None = None
    numerator_end: float | None = None
    denominator_end: float | None = None


class ImprovementPage(BaseModel):
    indicator: str
    level: str
    start: dt.date | None
    end: dt.date | None
    method: str
    items: list[ImprovementOut]
    page: int
    per_page: int
    total: int
    pages: int
    links: Links


router = APIRouter(prefix="/api/v1", tags=["results"])


@router.get("/improvement", response_model=ImprovementPage,
            summary="Organisations ranked by the change in their value between two periods (improvement ranking)",
            responses=responses(404))
async def improvement(
    request: Request,
    indicator: str,
    level: LevelParam,
    start: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$", description=(
        "First period (YYYY-MM-DD); default a year before the end (the earliest period if fewer)."))] = None,
    end: PeriodParam = None,
    page: PageParam = 1,
    per_page: PerPageParam = 100,
) -> Response:
    web = web_of(request)
    known_indicator(web, indicator)
    ind = web.catalogue.indicators[indicator]

    def build(principal):
        with web.snapshots.cursor() as (snapshot, cur):
            need(snapshot, "result_values")
            table = improvement_table(Context(cur, web.catalogue, principal), indicator, level.value, start, end,
                                      page=page, per_page=per_page)
        body, headers = paged(request, [{k: r[k] for k in ImprovementOut.model_fields} for r in table.rows],
                              table.total or 0, page, per_page)
        body.update(indicator=indicator, level=level.value, start=table.params["start"], end=table.params["end"],
                    method=METHOD[ind.measure])
        return body, headers

    return await respond(request, build)
