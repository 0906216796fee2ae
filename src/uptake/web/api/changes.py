"""Changes detected by CUSUM on organisations' percentiles (result_changes), newest first."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from uptake.results import read
from uptake.results.schema import CHANGE_ROW
from uptake.web.api.common import (
    LevelParam,
    Page,
    PageParam,
    PerPageParam,
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


class Direction(str, Enum):
    up = "up"
    down = "down"
    both = "both"


ChangeOut = shape_model(CHANGE_ROW, "ChangeOut", "A change detected by CUSUM: a run of alerts in one direction "
                        "on the organisation's percentile.")


@router.get("/changes", response_model=Page[ChangeOut],
            summary="Changes detected by CUSUM on organisations' percentiles (OpenPrescribing-style), newest first",
            responses=responses(404))
async def changes(
    request: Request,
    indicator: str | None = None,
    level: LevelParam | None = None,
    org_code: Annotated[str | None, Query(max_length=64, description="ODS code of one organisation.")] = None,
    period: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$", description=(
        "See the changes as they stood in this period (YYYY-MM-DD): later periods are ignored and "
        "`ongoing` means the latest alert is in it."))] = None,
    direction: Direction | None = None,
    history: Annotated[bool, Query(description=(
        "false (default): each organisation's latest change per indicator and level; true: every change."))] = False,
    page: PageParam = 1,
    per_page: PerPageParam = 100,
) -> Response:
    web = web_of(request)
    if indicator is not None:
        known_indicator(web, indicator)

    def build(principal):
        with web.snapshots.cursor() as (snapshot, cur):
            need(snapshot, "result_changes")
            rows, total = read.changes.changes(
                cur, indicator=indicator, level=level.value if level else None, org_code=org_code,
                period=date_param(period), direction=direction.value if direction else None, latest_only=not history,
                limit=per_page, offset=(page - 1) * per_page)
        return paged(request, rows, total, page, per_page)

    return await respond(request, build)
